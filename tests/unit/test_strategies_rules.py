"""Unit tests of ``behavtrack.strategies.rules``: the transparent rule baseline.

Hand-made feature tables check :class:`RuleClassifier`: each rule at its threshold, the
rules' order (interaction, then waiting, then approach), the fallback to
``partner_approach``, rules whose features are absent or NaN never firing, the shortest
bout (``min_bout_s`` with ``fps`` given or from ``X.attrs``), an empty table, and the
scikit-learn conventions (``fit`` returns self, ``clone`` and ``get_params`` round-trip).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from behavtrack.strategies.rules import RuleClassifier

FAR = 100.0


def table(n, **cols):
    """A feature table of ``n`` frames where nothing fires unless a column says so."""
    base = {"nose_nose": FAR, "dist_partition": FAR, "partner_dist_partition": FAR,
            "partition_approach": 0.0, "dist_poke": FAR, "speed": FAR}
    base.update(cols)
    return pd.DataFrame({k: np.broadcast_to(np.asarray(v, float), n) for k, v in base.items()})


def test_interaction_needs_noses_close_and_both_at_the_partition():
    X = table(4, nose_nose=[3.9, 3.9, 3.9, 4.0], dist_partition=[2.0, 2.0, 3.0, 2.0],
              partner_dist_partition=[2.0, 5.0, 2.0, 2.0])
    got = RuleClassifier(min_bout_s=0).predict(X)
    assert got.tolist() == ["interaction", "other", "other", "other"]


def test_interaction_without_partition_columns_uses_noses_only():
    X = pd.DataFrame({"nose_nose": [1.0, 10.0]})
    assert RuleClassifier(min_bout_s=0).predict(X).tolist() == ["interaction", "other"]


def test_waiting_is_near_the_poke_port_and_still():
    X = table(4, dist_poke=[3.0, 3.0, 5.0, 4.0], speed=[1.0, 3.0, 1.0, 1.0])
    assert RuleClassifier(min_bout_s=0).predict(X).tolist() == [
        "waiting", "other", "other", "other"]


def test_approach_on_the_partition_or_else_on_the_partner():
    X = table(3, partition_approach=[6.5, 6.0, -10.0])
    assert RuleClassifier(min_bout_s=0).predict(X).tolist() == ["approach", "other", "other"]
    X = pd.DataFrame({"partner_approach": [7.0, 1.0]})
    assert RuleClassifier(min_bout_s=0).predict(X).tolist() == ["approach", "other"]
    # partition_approach wins over partner_approach when both are there
    X = pd.DataFrame({"partition_approach": [0.0], "partner_approach": [50.0]})
    assert RuleClassifier(min_bout_s=0).predict(X).tolist() == ["other"]


def test_the_first_rule_that_holds_wins():
    X = table(3, nose_nose=[1.0, FAR, FAR], dist_partition=1.0, partner_dist_partition=1.0,
              dist_poke=1.0, speed=0.0, partition_approach=50.0)
    assert RuleClassifier(min_bout_s=0).predict(X).tolist() == [
        "interaction", "waiting", "waiting"]
    X = table(1, partition_approach=50.0)
    assert RuleClassifier(min_bout_s=0).predict(X).tolist() == ["approach"]


def test_thresholds_are_parameters():
    X = table(1, dist_poke=7.0, speed=1.0)
    assert RuleClassifier(min_bout_s=0).predict(X).tolist() == ["other"]
    assert RuleClassifier(port_cm=8.0, min_bout_s=0).predict(X).tolist() == ["waiting"]


def test_absent_or_nan_features_never_fire():
    assert RuleClassifier().predict(pd.DataFrame({"x": [1.0, 2.0]}), fps=30).tolist() == [
        "other", "other"]
    X = table(2, nose_nose=np.nan, dist_poke=np.nan, speed=0.0, partition_approach=np.nan)
    assert RuleClassifier(min_bout_s=0).predict(X).tolist() == ["other", "other"]
    # waiting needs both dist_poke and speed
    assert RuleClassifier(min_bout_s=0).predict(
        pd.DataFrame({"dist_poke": [0.0]})).tolist() == ["other"]


def test_short_runs_are_merged_at_the_given_fps():
    approach = np.zeros(10)
    approach[4] = 50.0  # a single approach frame
    X = table(10, partition_approach=approach)
    clf = RuleClassifier(min_bout_s=0.3)
    assert clf.predict(X).tolist()[4] == "approach"  # no fps: no merging
    assert clf.predict(X, fps=10).tolist() == ["other"] * 10  # 0.3 s = 3 frames
    X.attrs["fps"] = 10.0
    assert clf.predict(X).tolist() == ["other"] * 10
    # a run as long as the shortest bout is kept
    approach[4:7] = 50.0
    X = table(10, partition_approach=approach)
    assert clf.predict(X, fps=10).tolist()[4:7] == ["approach"] * 3


def test_output_is_behaviour_names_and_empty_input_gives_empty_output():
    got = RuleClassifier().predict(table(2), fps=30)
    assert got.dtype == object and got.shape == (2,)
    assert RuleClassifier().predict(table(0), fps=30).shape == (0,)


def test_scikit_learn_conventions():
    clf = RuleClassifier(port_cm=5.5)
    assert clf.fit([table(2)], [np.array(["other", "other"])]) is clf
    copy = clone(clf)
    assert copy is not clf and copy.get_params() == clf.get_params()
    assert copy.get_params()["port_cm"] == 5.5
    copy.set_params(min_bout_s=1.0)
    assert copy.min_bout_s == 1.0 and clf.min_bout_s == pytest.approx(0.3)
