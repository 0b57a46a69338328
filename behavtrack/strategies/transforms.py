"""Feature tables on the scale the Gaussian HMM models them.

:class:`~behavtrack.strategies.hmm.HMMClassifier` describes each behaviour by Gaussians, which
fit raw features badly: distances and speeds are non-negative and right-skewed, times to or
since an event are unbounded, and poke timing means something only at the poke port. Before
the Gaussians see them, the features are

1. gated (:data:`PORT_FEATURES` are missing, i.e. marginalised out, away from the own port),
2. put on a log scale (:data:`LOG_FEATURES`: ``log1p(max(x, 0))``),
3. turned into "soon-ness" (:data:`SOON_FEATURES`: ``exp(-max(t, 0) / tau)``, 0 = long ago),

all by :func:`transform_features`, then standardised (:func:`standard_scale` fits the centre
and scale on the training data, :func:`standardise` applies them). :func:`as_frame` accepts an
array with the model's column names as well as a feature table.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from behavtrack.errors import InputError

__all__ = ["LOG_FEATURES", "PORT_FEATURES", "SOON_FEATURES", "as_frame", "standard_scale",
           "standardise", "transform_features"]

#: Non-negative, right-skewed features modelled on a log scale (``log1p``).
LOG_FEATURES: tuple[str, ...] = (
    "speed", "turn_rate", "nose_nose", "nose_partner_body", "partner_speed", "dist_partition",
    "dist_poke", "dist_water", "partner_dist_partition", "partner_dist_poke", "since_poke",
    "body_length",
)
#: Times to or since an event, modelled as "soon-ness" ``exp(-t / soon_tau_s)`` (0 = long ago).
SOON_FEATURES: tuple[str, ...] = (
    "since_poke", "since_partner_poke", "to_poke", "to_partner_poke", "to_partition",
)
#: Poke-timing features that only count while the nose is near the own poke port (see
#: ``port_gate_cm``): whether a mouse waits depends on the partner's poke, whether it
#: approaches the partition or interacts does not.
PORT_FEATURES: tuple[str, ...] = (
    "since_poke", "since_partner_poke", "to_poke", "to_partner_poke", "poke_order",
)


def as_frame(X: Any, names: Sequence[str] | None) -> pd.DataFrame:
    """Return ``X`` as a feature table: a DataFrame as it is, an array with ``names`` columns.

    Raises
    ------
    InputError
        ``X`` is neither a DataFrame nor a 2-D array with one column per name.

    Examples
    --------
    >>> as_frame(np.zeros((2, 1)), ["speed"]).columns.tolist()
    ['speed']

    """
    if isinstance(X, pd.DataFrame):
        return X
    arr = np.asarray(X, dtype=float)
    if names is None or arr.ndim != 2 or arr.shape[1] != len(names):
        raise InputError("features", f"expected a DataFrame or an array with "
                         f"{len(names or [])} columns, got shape {arr.shape}")
    return pd.DataFrame(arr, columns=list(names))


def transform_features(
    X: pd.DataFrame,
    names: Sequence[str],
    *,
    log_features: Sequence[str] = LOG_FEATURES,
    soon_features: Sequence[str] = SOON_FEATURES,
    soon_tau_s: float = 10.0,
    port_features: Sequence[str] = PORT_FEATURES,
    port_gate_cm: float = 6.0,
) -> np.ndarray:
    """Return the ``names`` columns of ``X`` gated, on log scale and as soon-ness.

    Parameters
    ----------
    X
        Feature table (one row per frame); ``dist_poke`` gates the port features.
    names
        Columns to return, in order.
    log_features
        Those modelled as ``log1p(max(x, 0))``.
    soon_features, soon_tau_s
        Times (s) modelled as ``exp(-max(t, 0) / soon_tau_s)``.
    port_features, port_gate_cm
        Those set missing (NaN) wherever the nose is farther than ``port_gate_cm`` from the
        own poke port (``dist_poke``; everywhere without it).

    Returns
    -------
    numpy.ndarray
        ``(len(X), len(names))`` float array, NaN where missing.

    Raises
    ------
    InputError
        ``X`` lacks a column of ``names``.

    Examples
    --------
    >>> x = pd.DataFrame({"speed": [0.0, np.e - 1], "to_poke": [0.0, 0.0],
    ...                   "dist_poke": [1.0, 9.0]})
    >>> transform_features(x, ["speed", "to_poke"]).tolist()
    [[0.0, 1.0], [1.0, nan]]

    """
    missing = [f for f in names if f not in X.columns]
    if missing:
        raise InputError(
            "features", f"the model needs feature(s) {missing} that the input lacks",
            "classify with the arena/events the model was trained with, or use "
            "restrict() / a model trained without them")
    arr = X[list(names)].to_numpy(dtype=float, copy=True)
    gated = [i for i, f in enumerate(names) if f in set(port_features)]
    if gated:
        far = (~(X["dist_poke"].to_numpy(dtype=float) <= port_gate_cm)
               if "dist_poke" in X.columns else np.ones(len(X), dtype=bool))
        arr[np.ix_(far, gated)] = np.nan
    logs = [i for i, f in enumerate(names) if f in set(log_features)]
    if logs:
        arr[:, logs] = np.log1p(np.maximum(arr[:, logs], 0.0))
    soon = [i for i, f in enumerate(names) if f in set(soon_features)]
    if soon:
        arr[:, soon] = np.exp(-np.maximum(arr[:, soon], 0.0) / soon_tau_s)
    return arr


def standard_scale(arr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Centre and scale of each column of ``arr``, ignoring NaN.

    The centre is the mean (0 for a column without a value), the scale the standard deviation
    (1 for a column without spread or without a value).

    Examples
    --------
    >>> centre, scale = standard_scale(np.array([[1.0, 5.0], [3.0, 5.0]]))
    >>> centre.tolist(), scale.tolist()
    ([2.0, 5.0], [1.0, 1.0])

    """
    center = np.nanmean(arr, axis=0)
    sd = np.nanstd(arr, axis=0)
    scale = np.where(np.isfinite(sd) & (sd > 0), sd, 1.0)
    center = np.where(np.isfinite(center), center, 0.0)
    return center, scale


def standardise(arr: np.ndarray, center: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """Return ``(arr - center) / scale``, NaN wherever that is not finite.

    Examples
    --------
    >>> standardise(np.array([[4.0, np.inf]]), np.array([2.0, 0.0]), np.array([2.0, 1.0]))
    array([[ 1., nan]])

    """
    out = (arr - center) / scale
    out[~np.isfinite(out)] = np.nan
    return out
