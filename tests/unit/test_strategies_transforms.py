"""Unit tests of ``behavtrack.strategies.transforms``: features on the Gaussian HMM's scale.

Hand-made tables check each step of :func:`transform_features` (poke timing missing away
from the port and everywhere without ``dist_poke``, ``log1p`` of the clipped value, soon-ness),
that it never writes into its input, the one-line error for a missing column, the
standardisation (:func:`standard_scale`, :func:`standardise`) and :func:`as_frame`. The
module's examples run as doctests.
"""

from __future__ import annotations

import doctest

import numpy as np
import pandas as pd
import pytest

from behavtrack.errors import InputError
from behavtrack.strategies import transforms
from behavtrack.strategies.transforms import (
    as_frame,
    standard_scale,
    standardise,
    transform_features,
)


def test_poke_timing_is_missing_away_from_the_port():
    x = pd.DataFrame({"to_poke": [1.0, 1.0, 1.0], "speed": [2.0, 2.0, 2.0],
                      "dist_poke": [2.0, 6.0, 12.0]})
    out = transform_features(x, ["to_poke", "speed"], log_features=(), port_gate_cm=6.0)
    assert np.isfinite(out[:2, 0]).all() and np.isnan(out[2, 0])  # gate is inclusive
    assert (out[:, 1] == 2.0).all()  # other features are never gated
    no_port = transform_features(x.drop(columns="dist_poke"), ["to_poke"])
    assert np.isnan(no_port).all()  # without the distance to the port: always missing
    x.loc[0, "dist_poke"] = np.nan
    assert np.isnan(transform_features(x, ["to_poke"])[0, 0])  # port distance unknown


def test_log_and_soon_scales():
    x = pd.DataFrame({"speed": [-1.0, 0.0, 9.0], "since_poke": [0.0, 10.0, -3.0],
                      "poke_order": [1.0, 2.0, 3.0]})
    out = transform_features(x, ["speed", "since_poke", "poke_order"], log_features=["speed"],
                             soon_features=["since_poke"], soon_tau_s=10.0, port_features=())
    np.testing.assert_allclose(out[:, 0], [0.0, 0.0, np.log(10.0)])  # log1p(max(x, 0))
    np.testing.assert_allclose(out[:, 1], [1.0, np.exp(-1.0), 1.0])  # exp(-max(t, 0) / tau)
    np.testing.assert_array_equal(out[:, 2], [1.0, 2.0, 3.0])  # neither: as it is
    assert x["speed"].tolist() == [-1.0, 0.0, 9.0]  # the table is not written into


def test_a_missing_column_is_a_one_line_error():
    with pytest.raises(InputError, match=r"needs feature\(s\) \['nose_nose'\]") as err:
        transform_features(pd.DataFrame({"speed": [1.0]}), ["speed", "nose_nose"])
    assert "\n" not in str(err.value) and "restrict()" in str(err.value)


def test_standardisation_ignores_missing_values_and_constant_columns():
    arr = np.array([[1.0, 4.0, np.nan], [3.0, 4.0, np.nan], [np.nan, 4.0, np.nan]])
    with np.errstate(all="ignore"), pytest.warns(RuntimeWarning):
        center, scale = standard_scale(arr)  # numpy warns of the all-NaN column
    np.testing.assert_array_equal(center, [2.0, 4.0, 0.0])
    np.testing.assert_array_equal(scale, [1.0, 1.0, 1.0])
    z = standardise(arr, center, scale)
    np.testing.assert_array_equal(z[:2, :2], [[-1.0, 0.0], [1.0, 0.0]])
    assert np.isnan(z[2, 0]) and np.isnan(z[:, 2]).all()
    assert np.isnan(standardise(np.array([[np.inf]]), np.zeros(1), np.ones(1))).all()


def test_as_frame_takes_a_table_or_an_array_with_the_names():
    table = pd.DataFrame({"speed": [1.0]})
    assert as_frame(table, None) is table
    frame = as_frame([[1.0, 2.0]], ["speed", "dist_poke"])
    assert frame.columns.tolist() == ["speed", "dist_poke"] and frame.iloc[0, 1] == 2.0
    for bad, names in (([[1.0, 2.0]], ["speed"]), ([1.0], ["speed"]), ([[1.0]], None)):
        with pytest.raises(InputError, match="expected a DataFrame or an array"):
            as_frame(bad, names)


def test_module_examples_run():
    result = doctest.testmod(transforms)
    assert result.attempted >= 5 and result.failed == 0
