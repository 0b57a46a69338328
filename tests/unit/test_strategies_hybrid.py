"""The hybrid classifier: boosted frame posteriors decoded by a duration-aware HMM."""

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from behavtrack.errors import InputError
from behavtrack.strategies import HMMClassifier, HybridHMMClassifier, RuleClassifier, load_model
from behavtrack.strategies.hybrid import duration_hmm
from behavtrack.strategies.metrics import runs_of

FPS = 30.0


def _sequence(seed: int, n: int = 1500, noise: float = 1.0):
    """Alternating bouts of interaction (nose_nose ~ +1) and other (~ -1), noisy frames."""
    rng = np.random.default_rng(seed)
    lab = np.empty(n, dtype=object)
    i, state = 0, "other"
    while i < n:
        length = int(rng.integers(20, 60) if state == "interaction" else rng.integers(60, 150))
        lab[i:i + length] = state
        i += length
        state = "interaction" if state == "other" else "other"
    mean = np.where(lab == "interaction", 1.0, -1.0)
    x = pd.DataFrame({"nose_nose": mean + rng.normal(0, noise, n),
                      "speed": rng.normal(0, 1, n)})
    x.attrs["fps"] = FPS
    return x, lab


@pytest.fixture(scope="module")
def fitted():
    data = [_sequence(s) for s in range(6)]
    X, y = [d[0] for d in data], [d[1] for d in data]
    groups = ["a", "a", "b", "b", "c", "c"]
    model = HybridHMMClassifier(max_iter=30, inner_folds=3, random_state=0).fit(X, y, groups)
    return model, X, y


def test_duration_hmm_chains_states_and_matches_mean_durations():
    start, trans, sb = duration_hmm([3, 1], [10.0, 5.0], np.ones((2, 2)), np.array([0.2, 0.8]))
    assert sb.tolist() == [0, 0, 0, 1]
    np.testing.assert_allclose(trans.sum(1), 1)
    assert trans[0, 1] == 1 and trans[1, 2] == 1  # no way out before the chain's end
    # expected run of behaviour 0: 2 chain frames + 1 / (1 - stay) in the last state = 10
    assert 2 + 1 / (1 - trans[2, 2]) == pytest.approx(10)
    assert 1 / (1 - trans[3, 3]) == pytest.approx(5)
    np.testing.assert_allclose(start, [0.2, 0, 0, 0.8])


def test_hybrid_recovers_noisy_bouts_better_than_frames_alone(fitted):
    model, _, _ = fitted
    x, truth = _sequence(99)
    labels, proba = model.decode(x)
    assert proba.shape == (len(x), 2) and np.allclose(proba.sum(1), 1)
    frame_only = np.asarray(model.behaviors_, dtype=object)[model.frame_proba(x).argmax(1)]
    acc = np.mean(labels == truth)
    assert acc > 0.9 and acc > np.mean(frame_only == truth)
    # far fewer fragments than per-frame decisions, and no bout shorter than the minimum
    runs = runs_of(labels, "interaction")
    assert len(runs) < len(runs_of(frame_only, "interaction")) / 2
    min_frames = round(min(model.min_bout_used_s_, model.short_bout_s_[0]) * FPS)
    assert (np.diff(runs, axis=1) >= min_frames).all()
    assert model.selection_["method"].startswith("3-fold cross-validation over 3 training")
    assert len(model.selection_["candidates"]) == 27


def test_pair_decoding_gives_both_animals_the_same_interaction(fitted):
    model, _, _ = fitted
    xa, _ = _sequence(7)
    xb, _ = _sequence(8)
    (la, pa), (lb, pb) = model.decode_group([xa, xb])
    np.testing.assert_array_equal(la == "interaction", lb == "interaction")
    np.testing.assert_allclose(pa, pb)


def test_saved_model_decodes_exactly_as_in_memory(fitted, tmp_path):
    model, X, _ = fitted
    path = model.save(tmp_path / "m.json")
    loaded = load_model(path)
    assert isinstance(loaded, HybridHMMClassifier)
    for x in X[:2]:
        a, b = model.decode(x), loaded.decode(x)
        np.testing.assert_array_equal(a[0], b[0])
        np.testing.assert_array_equal(a[1], b[1])
    data = json.loads(path.read_text())
    assert data["kind"] == "behavtrack.HybridHMMClassifier"
    assert data["behaviors"] == ["interaction", "other"]


@pytest.mark.parametrize("edit, message", [
    (lambda d: d.update(kind="other"), "is not a behavtrack model"),
    (lambda d: d.pop("prior_power"), "model field 'prior_power' is missing"),
    (lambda d: d["arrays"].update(prior=[0.5]), "model array 'prior' has shape"),
    (lambda d: d.update(feature_names=["nose_nose", "no_such_feature"]),
     "are not features this behavtrack computes"),
    (lambda d: d["emission"]["trees"].pop(), "m.json"),
])
def test_broken_model_files_are_one_line_errors(fitted, tmp_path, edit, message):
    model, _, _ = fitted
    data = model.to_dict()
    edit(data)
    path = tmp_path / "m.json"
    path.write_text(json.dumps(data))
    with pytest.raises(InputError, match=message) as err:
        load_model(path)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("estimator", [
    HybridHMMClassifier(max_iter=7, posterior_scale=0.5),
    HMMClassifier(min_bout_s=0.3, n_substates={"other": 3}),
    RuleClassifier(interaction_cm=3.0),
])
def test_every_classifier_follows_sklearn_conventions(estimator):
    c = clone(estimator)
    assert c.get_params() == estimator.get_params() and c is not estimator
    name, value = next(iter(c.get_params().items()))
    assert c.set_params(**{name: value}) is c
    with pytest.raises(ValueError):
        c.set_params(no_such_parameter=1)


def test_one_behaviour_or_mismatched_labels_are_refused():
    x, lab = _sequence(1)
    with pytest.raises(InputError, match="a classifier needs 2 or more"):
        HybridHMMClassifier().fit([x], [np.full(len(x), "other", dtype=object)])
    with pytest.raises(InputError, match="unknown behaviour"):
        HybridHMMClassifier().fit([x], [np.full(len(x), "sniffing", dtype=object)])
    with pytest.raises(InputError, match="has 10 frames"):
        HybridHMMClassifier().fit([x], [lab[:10]])
