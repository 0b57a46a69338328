import json

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

from behavtrack.errors import InputError
from behavtrack.io.bouts import BEHAVIORS
from behavtrack.strategies import HMMClassifier, RuleClassifier
from behavtrack.strategies.metrics import bout_scores, frame_scores

MEANS = np.array([[0, 0], [3, 0], [0, 3], [3, 3]], float)
FEATS = ["speed", "dist_poke"]


def _sequence(rng, n, sd=1.0, fps=30.0):
    states, cur = [], 3
    while len(states) < n:
        states += [cur] * int(rng.integers(15, 60))
        cur = int(rng.integers(0, 4))
    s = np.array(states[:n])
    x = pd.DataFrame(MEANS[s] + rng.normal(0, sd, (n, 2)), columns=FEATS)
    x.attrs["fps"] = fps
    return x, np.asarray(BEHAVIORS, dtype=object)[s]


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    train = [_sequence(rng, 3000) for _ in range(4)]
    test = _sequence(rng, 6000)
    return train, test


def _fit(train, **kw):
    kw.setdefault("features", FEATS)
    kw.setdefault("log_features", ())
    kw.setdefault("covariance_type", "diag")
    kw.setdefault("n_substates", 1)
    return HMMClassifier(**kw).fit([x for x, _ in train], [y for _, y in train])


def test_supervised_fit_estimates_counts_and_decodes(data):
    train, (x, y) = data
    m = _fit(train, transition_prior=0.0, min_bout_s=0.0)
    # transitions are the label transition counts, normalised per row
    counts = np.zeros((4, 4))
    for _, lab in train:
        s = np.array([BEHAVIORS.index(v) for v in lab])
        np.add.at(counts, (s[:-1], s[1:]), 1)
    np.testing.assert_allclose(m.transmat_, counts / counts.sum(1, keepdims=True))
    # emission means are the per-label feature means (standardised)
    allx = pd.concat([a for a, _ in train])
    ally = np.concatenate([b for _, b in train])
    z = (allx.to_numpy() - allx.to_numpy().mean(0)) / allx.to_numpy().std(0)
    np.testing.assert_allclose(m.means_[1], z[ally == "waiting"].mean(0), rtol=1e-9)
    pred, proba = m.decode(x)
    assert (pred == y).mean() > 0.97
    np.testing.assert_allclose(proba.sum(1), 1.0)
    assert frame_scores([y], [pred])["macro_f1"] > 0.97
    assert bout_scores([y], [pred])["macro_f1"] > 0.9


def test_missing_feature_values_are_marginalised(data):
    # the emission maths is tested in test_strategies_gaussian.py
    train, (x, _) = data
    m = _fit(train)
    z = m._encode(x.iloc[:5].assign(dist_poke=np.nan))
    ll = m._hmm()._compute_log_likelihood(z)
    expected = norm.logpdf(z[:, [0]], m.means_[:, 0], np.sqrt(m.covars_[:, 0]))
    np.testing.assert_allclose(ll, expected, rtol=1e-9)
    xm = x.copy()
    xm.iloc[100:400, 0] = np.nan
    pred, proba = m.decode(xm)
    assert np.isfinite(proba).all() and len(pred) == len(x)


def test_full_covariance_and_em_refinement(data):
    train, (x, y) = data
    full = _fit(train, covariance_type="full")
    assert full.covars_.shape == (4, 2, 2)
    assert (full.predict(x) == y).mean() > 0.97
    em = HMMClassifier(features=FEATS, log_features=(), em_iter=3, n_substates=1).fit(
        [a for a, _ in train], [b for _, b in train], unlabeled=[x])
    assert (em.predict(x) == y).mean() > 0.95


def test_save_load_roundtrip(data, tmp_path):
    # the file's validation is tested in test_strategies_model.py
    train, (x, _) = data
    m = _fit(train, covariance_type="full", n_substates={"other": 2})
    m.metrics_ = {"hmm_frame_macro_f1": 0.9}
    path = m.save(tmp_path / "m.json")
    m2 = HMMClassifier.load(path)
    assert m2.to_dict() == m.to_dict()
    assert (m2.predict(x) == m.predict(x)).all()
    np.testing.assert_array_equal(m2.predict_proba(x), m.predict_proba(x))
    assert m2.training_checksum_ == m.training_checksum_ and len(m.training_checksum_) == 64
    assert m2.metrics_ == {"hmm_frame_macro_f1": 0.9}
    assert m2.save(tmp_path / "again.json").read_bytes() == path.read_bytes()
    assert json.loads(path.read_text())["kind"] == "behavtrack.HMMClassifier"
    (tmp_path / "junk.json").write_text("{not json")
    with pytest.raises(InputError, match="not a JSON model"):
        HMMClassifier.load(tmp_path / "junk.json")


def test_missing_feature_is_one_line_error_and_restrict_drops_states(data):
    train, (x, y) = data
    m = _fit(train)
    with pytest.raises(InputError, match="lacks"):
        m.predict(x[["speed"]])
    r = m.restrict(["speed"], ["waiting"])
    pred = r.predict(x[["speed"]])
    assert "waiting" not in set(pred)
    assert r.transmat_[[0, 2, 3], 1].sum() == 0 and r.startprob_[1] == 0


def test_fit_rejects_unknown_labels(data):
    train, _ = data
    x, y = train[0]
    y = y.copy()
    y[0] = "grooming"
    with pytest.raises(InputError, match="grooming"):
        HMMClassifier(features=FEATS).fit([x], [y])


def test_rule_baseline_follows_its_thresholds():
    x = pd.DataFrame({
        "speed": [10, 1, 1, 10],
        "nose_nose": [20, 20, 2, 20],
        "dist_partition": [10, 10, 1, 10],
        "partner_dist_partition": [10, 10, 1, 10],
        "partition_approach": [10, 0, 0, 0],
        "dist_poke": [20, 2, 20, 20],
    })
    assert RuleClassifier(min_bout_s=0).predict(x).tolist() == [
        "approach", "waiting", "interaction", "other"]
    # without the geometry columns no waiting, and approach falls back to the partner
    y = x.drop(columns=["dist_poke", "dist_partition", "partner_dist_partition",
                        "partition_approach"]).assign(partner_approach=[10, 0, 0, 0])
    assert RuleClassifier(min_bout_s=0).predict(y).tolist() == [
        "approach", "other", "interaction", "other"]


def test_bout_f1_uses_temporal_iou():
    t = np.array(["other"] * 10 + ["approach"] * 10 + ["other"] * 10, dtype=object)
    p_good = np.array(["other"] * 12 + ["approach"] * 10 + ["other"] * 8, dtype=object)  # IoU 8/12
    p_bad = np.array(["other"] * 16 + ["approach"] * 10 + ["other"] * 4, dtype=object)  # 4/16
    assert bout_scores([t], [p_good])["per_behavior"]["approach"]["f1"] == 1.0
    assert bout_scores([t], [p_bad])["per_behavior"]["approach"]["f1"] == 0.0


def test_poke_timing_counts_only_at_the_port():
    rng = np.random.default_rng(3)
    n = 3000
    y = np.where(np.arange(n) % 600 < 300, "waiting", "other").astype(object)
    x = pd.DataFrame({
        "speed": rng.normal(2, 0.5, n),
        "dist_poke": np.where(y == "waiting", 2.0, 12.0) + rng.normal(0, 0.5, n),
        "to_poke": np.where(y == "waiting", 1.0, 20.0) + rng.normal(0, 0.3, n),
    })
    m = HMMClassifier(features=["speed", "dist_poke", "to_poke"], n_substates=1,
                      min_bout_s=0, max_gap_s=0).fit([x], [y])
    far = pd.DataFrame({"speed": [2.0, 2.0], "dist_poke": [12.0, 12.0], "to_poke": [1.0, 20.0]})
    z = m._encode(far)
    assert (z[:, 2] >= 1e299).all()  # gated out: marginalised, whatever its value
    ll = m._hmm()._compute_log_likelihood(z)
    np.testing.assert_allclose(ll[0], ll[1])
    near = far.assign(dist_poke=[2.0, 2.0])
    ll = m._hmm()._compute_log_likelihood(m._encode(near))
    assert not np.allclose(ll[0], ll[1])  # at the port the poke timing counts


def test_a_behaviour_absent_from_the_training_labels_leaves_no_nan_posterior():
    """A behaviour with no training frame keeps a state the chain can never be in (the
    standardised mean, unit variance). Frames it explains far better than every state the
    chain can be in still get finite posteriors, none of them on that behaviour (they were
    NaN: the frame likelihoods were scaled by the unreachable state's, the others'
    underflowing to 0)."""
    rng = np.random.default_rng(1)
    train = []
    for _ in range(2):
        x, y = _sequence(rng, 3000, sd=0.01)  # tight clusters: far from everything else
        keep = y != "approach"
        train.append((x[keep].reset_index(drop=True), y[keep]))
    m = _fit(train, min_bout_s=0.0)
    assert m.state_counts_[BEHAVIORS.index("approach")] == 0
    frames = pd.DataFrame([[1.5, 1.5]] * 40 + [[3.0, 3.0]] * 40 + [[1.6, 1.4]] * 40,
                          columns=FEATS)
    frames.attrs["fps"] = 30.0
    with np.errstate(invalid="raise"):
        pred, proba = m.decode(frames)
        again = m.predict_proba(frames)
    for p in (proba, again):
        assert np.isfinite(p).all()
        np.testing.assert_allclose(p.sum(1), 1.0)
        assert (p[:, BEHAVIORS.index("approach")] == 0).all()
    assert "approach" not in set(pred) and (pred[40:80] == "other").all()
