"""HistGradientBoostingClassifier <-> JSON: bit-exact round trip, both predictors, validation."""

from __future__ import annotations

import copy
import json
import warnings

import numpy as np
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier
from threadpoolctl import threadpool_limits

from behavtrack.errors import InputError
from behavtrack.strategies import gbm_json
from behavtrack.strategies.gbm_json import GBMPosterior, gbm_to_dict

try:  # the compiled walker is optional: built at install where there is a C compiler
    from behavtrack.strategies import _treewalk  # noqa: F401
    WALKER = True
except ImportError:
    WALKER = False
needs_walker = pytest.mark.skipif(not WALKER, reason="behavtrack.strategies._treewalk was not "
                                  "built (no C compiler at install)")
BACKENDS = [pytest.param("compiled", marks=needs_walker), "sklearn", "numpy"]

N_FEATURES = 7
NAMES = [f"feat_{i}" for i in range(N_FEATURES)]


@pytest.fixture(scope="module", autouse=True)
def _one_openmp_thread():
    """Fit and predict with one OpenMP thread: on a busy 2-core box, 2 threads spin-wait."""
    with threadpool_limits(limits=1, user_api="openmp"):
        yield


def _features(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    X = rng.normal(size=(n, N_FEATURES))
    missing = rng.random(n) < 0.3  # feature 0 is missing often, and that is informative
    X[missing, 0] = np.nan
    X[rng.random((n, N_FEATURES)) < 0.05] = np.nan  # scattered NaN everywhere
    return X, missing


def _fit(n_classes: int) -> HistGradientBoostingClassifier:
    rng = np.random.default_rng(n_classes)
    X, missing = _features(rng, 1500)
    score = np.nan_to_num(X[:, 1]) - np.nan_to_num(X[:, 2]) + 1.5 * missing
    score = score + 0.4 * rng.normal(size=len(score))
    cuts = [0.5] if n_classes == 2 else [-0.6, 0.4, 1.4]
    labels = np.array(["explore", "lead", "follow", "wait"])[np.digitize(score, cuts)]
    return HistGradientBoostingClassifier(max_iter=30, max_leaf_nodes=15,
                                          early_stopping=False,
                                          random_state=0).fit(X, labels)


@pytest.fixture(scope="module", params=[2, 4], ids=["binary", "4-class"])
def fitted(request) -> tuple[HistGradientBoostingClassifier, dict]:
    est = _fit(request.param)
    data = json.loads(json.dumps(gbm_to_dict(est, NAMES), allow_nan=False))
    return est, data


@pytest.fixture(scope="module")
def fresh_X() -> np.ndarray:
    X, _ = _features(np.random.default_rng(99), 2500)
    X[:3] = np.nan  # whole rows missing
    X[3] = np.inf
    X[4] = -np.inf
    X[5, ::2] = np.inf
    return X


def test_dict_is_plain_json(fitted):
    est, data = fitted
    assert data["kind"] == "behavtrack.GBMPosterior" and data["schema_version"] == 1
    assert data["n_iter"] == est.n_iter_ == len(data["trees"]) == 30
    assert data["classes"] == est.classes_.tolist()
    assert data["loss"] == ("binary_logistic" if len(est.classes_) == 2
                            else "multiclass_softmax")
    # a "split on NaN" (threshold +inf) is stored as null and survives the round trip
    assert any(t is None for it in data["trees"] for tree in it for t in tree["num_threshold"])


@pytest.mark.parametrize("backend", BACKENDS)
def test_round_trip_is_bit_exact(fitted, fresh_X, backend):
    est, data = fitted
    model = GBMPosterior.from_dict(data, source="m.json", backend=backend)
    assert model.backend_ == backend
    proba = model.predict_proba(fresh_X)
    assert proba.shape == (len(fresh_X), len(est.classes_))
    assert np.array_equal(proba, est.predict_proba(fresh_X))
    raw = est.decision_function(fresh_X).reshape(len(fresh_X), -1)
    assert np.array_equal(model.decision_function(fresh_X), raw)
    assert np.array_equal(model.predict(fresh_X), est.predict(fresh_X))
    assert model.classes_.tolist() == est.classes_.tolist()
    assert model.feature_names_ == NAMES and model.n_features_in_ == N_FEATURES
    assert model.to_dict() == data


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_pickled_model_predicts_the_same_on_the_same_backend(fitted, fresh_X, backend):
    """A batch sends its model to the workers pickled (the compiled walker is a module)."""
    import pickle

    _, data = fitted
    model = GBMPosterior.from_dict(data, source="m.json", backend=backend)
    copy_ = pickle.loads(pickle.dumps(model, protocol=pickle.HIGHEST_PROTOCOL))
    assert copy_.backend_ == model.backend_ == backend
    if backend == "compiled":
        assert copy_._walker[0] is gbm_json._treewalk()
    assert np.array_equal(copy_.predict_proba(fresh_X), model.predict_proba(fresh_X))


def test_backends_and_threads_agree(fitted, fresh_X):
    _, data = fitted
    ref = GBMPosterior.from_dict(data, backend="numpy", n_threads=1).predict_proba(fresh_X)
    for backend in ("compiled", "sklearn", "numpy") if WALKER else ("sklearn", "numpy"):
        model = GBMPosterior.from_dict(data, backend=backend, n_threads=2)
        model._BLOCK_BYTES = 8 * N_FEATURES * 300  # many small blocks over 2 threads
        model._BLOCK_PAIRS = 300 * model.n_iter_ * model.n_trees_per_iteration_
        model._BLOCK_ROWS = 299
        assert np.array_equal(model.predict_proba(fresh_X), ref)


def _not_built():
    raise ImportError("behavtrack.strategies._treewalk was not built")


def test_auto_falls_back_to_numpy(fitted, fresh_X, monkeypatch):
    est, data = fitted

    def gone():
        raise ImportError("no TreePredictor in this scikit-learn")

    monkeypatch.setattr(gbm_json, "_treewalk", _not_built)
    monkeypatch.setattr(gbm_json, "_sklearn_tree_predictor", gone)
    with pytest.warns(RuntimeWarning, match="numpy traversal"):
        model = GBMPosterior.from_dict(data, source="m.json")
    assert model.backend_ == "numpy"
    assert np.array_equal(model.predict_proba(fresh_X), est.predict_proba(fresh_X))
    with pytest.raises(InputError, match="TreePredictor is not usable"):
        GBMPosterior.from_dict(data, source="m.json", backend="sklearn")
    with pytest.raises(InputError, match="compiled tree walker is not usable .*not built"):
        GBMPosterior.from_dict(data, source="m.json", backend="compiled")


@needs_walker
def test_auto_prefers_the_compiled_walker_silently(fitted, monkeypatch):
    _, data = fitted
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert GBMPosterior.from_dict(data).backend_ == "compiled"
        assert GBMPosterior.from_dict(data, backend="loaded").backend_ == "compiled"
        monkeypatch.setattr(gbm_json, "_treewalk", _not_built)
        assert GBMPosterior.from_dict(data).backend_ == "sklearn"


@needs_walker
def test_the_compiled_walker_refuses_indices_outside_its_arrays(fitted, fresh_X):
    _, data = fitted
    model = GBMPosterior.from_dict(data, backend="compiled")
    walker, nodes, roots, depths = model._walker
    X = np.ascontiguousarray(fresh_X[:5])
    raw = np.zeros((5, model.n_trees_per_iteration_))
    for field, value in (("child", len(nodes)), ("child", -1), ("feature", N_FEATURES)):
        bad = nodes.copy()
        bad[field][1] = value
        with pytest.raises(ValueError, match="outside the arrays"):
            walker.add_trees(X, bad, roots, depths, model.n_trees_per_iteration_, raw)
    with pytest.raises(ValueError, match="root is outside"):
        walker.add_trees(X, nodes, roots + len(nodes), depths, model.n_trees_per_iteration_,
                         raw)
    with pytest.raises(ValueError, match="shape"):
        walker.add_trees(X, nodes, roots, depths, model.n_trees_per_iteration_, raw[:4])
    with pytest.raises(ValueError, match="float64"):
        walker.add_trees(X.astype(np.float32), nodes, roots, depths,
                         model.n_trees_per_iteration_, raw)
    assert not raw.any()  # nothing was walked


def test_a_walker_that_disagrees_is_not_used(fitted, fresh_X, monkeypatch):
    est, data = fitted

    class Off:  # adds nothing: disagrees with the numpy traversal on the probe rows
        @staticmethod
        def add_trees(*args):
            return None

    monkeypatch.setattr(gbm_json, "_treewalk", lambda: Off)
    with pytest.raises(InputError, match="disagrees with the numpy traversal"):
        GBMPosterior.from_dict(data, backend="compiled")
    model = GBMPosterior.from_dict(data, backend="auto")
    assert model.backend_ == "sklearn"
    assert np.array_equal(model.predict_proba(fresh_X), est.predict_proba(fresh_X))


def test_dataframe_columns_are_matched_by_name(fitted, fresh_X):
    pd = pytest.importorskip("pandas")
    est, data = fitted
    model = GBMPosterior.from_dict(data)
    df = pd.DataFrame(fresh_X, columns=NAMES)[NAMES[::-1]].assign(extra=1.0)
    assert np.array_equal(model.predict_proba(df), est.predict_proba(fresh_X))
    with pytest.raises(InputError, match="lack 1 column"):
        model.predict_proba(df.drop(columns=[NAMES[3]]))


# ---- validation ------------------------------------------------------------------------
def _first_split(tree: dict) -> int:
    return tree["is_leaf"].index(0)


def _first_leaf(tree: dict) -> int:
    return tree["is_leaf"].index(1)


def _wrong_kind(d):
    d["kind"] = "behavtrack.HMMClassifier"


def _wrong_version(d):
    d["schema_version"] = 99


def _truncated_trees(d):
    d["trees"] = d["trees"][:-1]


def _truncated_iteration(d):
    d["trees"][3] = d["trees"][3][:-1] if len(d["trees"][3]) > 1 else []


def _truncated_node_list(d):
    d["trees"][0][0]["left"].pop()


def _feature_out_of_range(d):
    tree = d["trees"][2][0]
    tree["feature_idx"][_first_split(tree)] = N_FEATURES


def _non_finite_value(d):
    tree = d["trees"][1][0]
    tree["value"][_first_leaf(tree)] = float("inf")


def _nan_threshold(d):
    tree = d["trees"][1][0]
    tree["num_threshold"][_first_split(tree)] = float("nan")


def _non_finite_baseline(d):
    d["baseline"][0] = float("nan")


def _cyclic_child(d):
    tree = d["trees"][0][0]
    tree["right"][_first_split(tree)] = 0


def _child_out_of_range(d):
    tree = d["trees"][0][0]
    tree["left"][_first_split(tree)] = len(tree["left"]) + 5


def _string_in_node_list(d):
    d["trees"][0][0]["feature_idx"][0] = "3"


def _bad_loss(d):
    d["loss"] = "softmax"


def _classes_not_list(d):
    d["classes"] = "ab"


def _missing_field(d):
    del d["baseline"]


@pytest.mark.parametrize("breaker", [
    _wrong_kind, _wrong_version, _truncated_trees, _truncated_iteration, _truncated_node_list,
    _feature_out_of_range, _non_finite_value, _nan_threshold, _non_finite_baseline,
    _cyclic_child, _child_out_of_range, _string_in_node_list, _bad_loss, _classes_not_list,
    _missing_field,
])
def test_broken_model_is_refused_in_one_line(fitted, breaker):
    _, data = fitted
    bad = copy.deepcopy(data)
    breaker(bad)
    with pytest.raises(InputError) as info:
        GBMPosterior.from_dict(bad, source="models/gbm.json")
    msg = str(info.value)
    assert msg.startswith("models/gbm.json: ") and "\n" not in msg


def test_not_a_dict_is_refused():
    with pytest.raises(InputError, match=r"^x\.json: is not a behavtrack GBM model"):
        GBMPosterior.from_dict([1, 2], source="x.json")


@pytest.mark.parametrize("X, match", [
    (np.zeros((4, N_FEATURES + 1)), "have 8 columns but the model expects 7"),
    (np.zeros((4, N_FEATURES - 1)), "have 6 columns but the model expects 7"),
    (np.zeros(N_FEATURES), "1 dimension"),
    (np.array([["a"] * N_FEATURES]), "not numeric"),
])
def test_bad_features_in_predict(fitted, X, match):
    _, data = fitted
    model = GBMPosterior.from_dict(data, source="models/gbm.json")
    with pytest.raises(InputError, match=match) as info:
        model.predict_proba(X)
    msg = str(info.value)
    assert msg.startswith("models/gbm.json: ") and "\n" not in msg


# ---- export refusals ---------------------------------------------------------------------
def test_export_refuses_bad_input():
    est = _fit(2)
    with pytest.raises(InputError, match="fitted on 7 features"):
        gbm_to_dict(est, NAMES[:-1])
    with pytest.raises(InputError, match="duplicate"):
        gbm_to_dict(est, [*NAMES[:-1], NAMES[0]])
    with pytest.raises(InputError, match="not fitted"):
        gbm_to_dict(HistGradientBoostingClassifier(), NAMES)
    with pytest.raises(InputError, match="not a HistGradientBoostingClassifier"):
        gbm_to_dict(object(), NAMES)


def test_export_refuses_categorical_features():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(400, 3))
    X[:, 0] = rng.integers(0, 4, 400)
    y = (X[:, 0] >= 2).astype(int)
    est = HistGradientBoostingClassifier(max_iter=5, categorical_features=[0],
                                         early_stopping=False, random_state=0).fit(X, y)
    with pytest.raises(InputError, match="categorical"):
        gbm_to_dict(est, ["a", "b", "c"])
