"""The shipped models: load, are complete, and their stored held-out figures are sound."""

import json

import numpy as np
import pytest

from behavtrack.features.table import is_feature_name
from behavtrack.io.bouts import BEHAVIORS
from behavtrack.strategies import (
    HybridHMMClassifier,
    choose_model,
    default_model_path,
    load_model,
    shipped_model_path,
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
