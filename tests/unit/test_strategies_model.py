"""``behavtrack.strategies.model_file``: the shipped models and the model files' layouts.

The shipped models load, are complete, and their stored held-out figures are sound; the one
that fits a recording is chosen. A Gaussian HMM model file is refused in one line naming the
file for each way it can be broken; the helpers every layout's reader shares
(``model_error``, ``check_schema``, ``rebuild_model``) word their errors alike; the module's
examples run as doctests.
"""

import doctest
import json

import numpy as np
import pandas as pd
import pytest

from behavtrack.errors import InputError
from behavtrack.features.table import is_feature_name
from behavtrack.io.bouts import BEHAVIORS
from behavtrack.strategies import (
    HMMClassifier,
    HybridHMMClassifier,
    choose_model,
    default_model_path,
    load_model,
    model_file,
    shipped_model_path,
)
from behavtrack.strategies.model_file import (
    HMM_KIND,
    HMM_SCHEMA_VERSION,
    check_schema,
    hmm_to_dict,
    load_fitted,
    model_error,
    read_hmm_dict,
    rebuild_model,
)


def test_shipped_cooperation_model_loads_with_heldout_metrics():
    path = default_model_path()
    assert path.name == "default.json" and path.is_file()
    model = load_model()
    assert isinstance(model, HybridHMMClassifier)
    assert model.behaviors_ == list(BEHAVIORS)
    assert all(is_feature_name(f) for f in model.feature_names_)
    assert len(model.training_checksum_) == 64
    m = model.metrics_
    assert m["method"].endswith("cross-validation over sessions")
    assert len(m["sessions"]) == m["n_test_sessions"] >= 4
    # goals of the issue, on sessions each fold's model never saw
    assert m["hmm_frame_macro_f1"] >= 0.90 and m["hmm_bout_macro_f1"] >= 0.85
    assert m["hmm_bout_macro_f1"] > m["rules_bout_macro_f1"]
    assert set(m["hmm"]["frame"]["per_behavior"]) == set(BEHAVIORS)
    # every behaviour was seen in training
    assert (model.state_counts_ > 0).all()


def test_shipped_social_model_is_trained_on_real_labels():
    path = shipped_model_path("social")
    model = load_model(path)
    assert model.behaviors_ == ["interaction", "other"]
    assert "pair_min_dist" in model.feature_names_
    assert any(f.startswith("dist__nose__") for f in model.feature_names_)
    m = model.metrics_
    assert m["n_test_sessions"] == 3 and m["classifier"] == "hybrid"
    # interaction on sessions each fold's model never saw
    f1 = m["hmm"]["frame"]["per_behavior"]["interaction"]["f1"]
    assert f1 >= 0.55
    assert model.selection_["method"].startswith("3-fold cross-validation over 3 training")
    assert json.loads(path.read_text())["kind"] == "behavtrack.HybridHMMClassifier"


@pytest.mark.parametrize("arena_kind, n, expected", [
    (None, 2, "social"), ("open", 2, "social"), ("chamber", 2, "default"), (None, 1, "default"),
])
def test_the_fitting_shipped_model_is_chosen(arena_kind, n, expected):
    from behavtrack.io.arena import default_arena, open_field_arena

    arena = {"open": open_field_arena(), "chamber": default_arena(), None: None}[arena_kind]
    name, why = choose_model(arena, n)
    assert name == expected and why
    assert np.isfinite(load_model(shipped_model_path(name)).prior_).all()


@pytest.fixture(scope="module")
def hmm_dict():
    """The dict of a small fitted Gaussian HMM (diagonal covariances)."""
    rng = np.random.default_rng(0)
    y = np.repeat(np.array(BEHAVIORS, dtype=object), 100)
    x = pd.DataFrame({"speed": rng.normal(np.repeat([0.0, 3, 0, 3], 100), 1),
                      "dist_poke": rng.normal(np.repeat([0.0, 0, 3, 3], 100), 1)})
    model = HMMClassifier(features=["speed", "dist_poke"], log_features=(), n_substates=1,
                          covariance_type="diag").fit([x], [y])
    return model.to_dict()


def test_an_hmm_dict_is_read_back_as_written(hmm_dict):
    assert hmm_dict["kind"] == HMM_KIND and hmm_dict["schema_version"] == HMM_SCHEMA_VERSION
    params, fitted = read_hmm_dict(hmm_dict, "m.json")
    assert params == hmm_dict["params"]
    model = rebuild_model(HMMClassifier, params, fitted, "m.json")
    assert hmm_to_dict(model) == hmm_dict == json.loads(json.dumps(hmm_dict))
    assert model.state_behavior_.dtype.kind == "i" and model.covars_.shape == (4, 2)


@pytest.mark.parametrize("edit, message", [
    (lambda d: d.update(kind="behavtrack.Other"), "is not a behavtrack (HMM )?model"),
    (lambda d: d.update(schema_version=99), "HMM model schema_version is 99; this behavtrack "
                                            "reads 1 .retrain the model with this behavtrack"),
    (lambda d: d.pop("training_checksum"), "HMM model field 'training_checksum' is missing"),
    (lambda d: d["params"].update(wingspan=2), "model params do not match this behavtrack"),
    (lambda d: d.update(feature_names=["speed", "wingspan"]), r"feature\(s\) \['wingspan'\]"),
    (lambda d: d.update(behaviors=["approach", "sleep", "interaction", "other"]), "sleep"),
    (lambda d: d["arrays"].update(state_behavior=[0, 9]), "'state_behavior' does not index"),
    (lambda d: d["arrays"].pop("center"), "model array 'center' is missing"),
    (lambda d: d["arrays"]["means"].pop(), r"'means' has shape \(3, 2\), expected \(4, 2\)"),
    (lambda d: d["arrays"]["scale"].__setitem__(0, None), "'scale' holds a non-finite value"),
    (lambda d: d["arrays"]["transmat"][0].__setitem__(0, 5.0), "do not sum to 1"),
    (lambda d: d["arrays"]["covars"][0].__setitem__(0, -1.0), "not positive definite"),
    (lambda d: d["arrays"]["scale"].__setitem__(0, -1.0), "scales must be positive"),
])
def test_a_broken_hmm_file_is_refused_in_one_line(hmm_dict, tmp_path, edit, message):
    bad = json.loads(json.dumps(hmm_dict))
    edit(bad)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(bad))
    for load in (load_model, load_fitted, HMMClassifier.load):
        with pytest.raises(InputError, match=message) as err:
            load(path)
        assert "\n" not in str(err.value) and str(err.value).startswith(str(path))


def test_the_shared_checks_word_every_layout_alike():
    fail = model_error("m.json", "the default remedy")
    layout = dict(kind="behavtrack.K", version=2, fields=["a"], name="K model",
                  kind_hint="make one", version_hint="make it again")
    assert check_schema({"kind": "behavtrack.K", "schema_version": 2, "a": 1}, fail,
                        **layout)["a"] == 1
    for data, message in [
        ([1], "m.json: is not a behavtrack K model (kind is 'list', expected 'behavtrack.K') "
              "(make one)"),
        ({"kind": "x"}, "m.json: is not a behavtrack K model (kind is 'x', expected "
                        "'behavtrack.K') (make one)"),
        ({"kind": "behavtrack.K"}, "m.json: K model schema_version is None; this behavtrack "
                                   "reads 2 (make it again)"),
        ({"kind": "behavtrack.K", "schema_version": 2},
         "m.json: K model field 'a' is missing (the default remedy)"),
    ]:
        with pytest.raises(InputError) as err:
            check_schema(data, fail, **layout)
        assert str(err.value) == message
    with pytest.raises(InputError, match=r"^m.json: no hint$"):
        fail("no hint", None)


def test_rebuild_model_refuses_parameters_the_class_does_not_take():
    model = rebuild_model(HMMClassifier, {"min_bout_s": 0.2}, {"fps_": 30.0}, "m.json")
    assert model.min_bout_s == 0.2 and model.fps_ == 30.0
    with pytest.raises(InputError, match="m.json: model params do not match this behavtrack"):
        rebuild_model(HMMClassifier, {"wingspan": 1}, {}, "m.json")


def test_module_examples_run():
    result = doctest.testmod(model_file)
    assert result.attempted >= 4 and result.failed == 0


def test_a_model_given_to_a_process_is_used_for_its_file_until_the_file_changes(tmp_path):
    """A batch's workers adopt the model their parent loaded (no JSON parsed, no trees
    rebuilt); a model file changed since is read from the file again."""
    path = tmp_path / "model.json"
    path.write_bytes(shipped_model_path("default").read_bytes())
    version, model = model_file.load_shareable(path)
    assert version == (str(path.resolve()), path.stat().st_size, path.stat().st_mtime_ns)
    assert model.emission_.source_ == str(path.resolve())  # as a worker's own load names it
    model_file.adopt_shared_model(version, model)
    try:
        assert model_file.load_model_shared(path) is model
        assert model_file.load_model_shared(str(path)) is model
        data = json.loads(path.read_text())
        path.write_text(json.dumps(data))  # another version of the file
        assert model_file.load_model_shared(path) is not model
    finally:
        model_file._ADOPTED.clear()


def test_only_hybrid_models_are_loaded_to_share(hmm_dict, tmp_path):
    gaussian = tmp_path / "gaussian.json"
    gaussian.write_text(json.dumps(hmm_dict))
    assert model_file.load_shareable(gaussian) is None  # it would import scikit-learn
    assert model_file.load_shareable(tmp_path / "missing.json") is None
