"""Classifying with a model file without scikit-learn's estimators: the same numbers.

``load_fitted`` gives a :class:`HybridModel` (decoding only) that must decode exactly as the
estimator ``load_model`` gives; the HMM is decoded with hmmlearn's kernels, which must equal
hmmlearn's public ``decode``/``predict_proba``; and a fresh ``behavtrack classify`` must not
import scikit-learn for a short recording.
"""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from behavtrack.errors import InputError
from behavtrack.features import compute_features
from behavtrack.features.table import feature_request
from behavtrack.io.pose import load_pose
from behavtrack.strategies.gbm_json import GBMPosterior
from behavtrack.strategies.hmm_decode import state_posteriors, viterbi_path
from behavtrack.strategies.hybrid_model import HybridModel
from behavtrack.strategies.model_file import load_fitted, load_model, read_model_json
from behavtrack.strategies.pipeline import classify_features

ROOT = Path(__file__).resolve().parents[2]
SOCIAL = ROOT / "tests" / "data" / "social" / "120637-121213" / "pose_dlc.csv"


def _reference_hmm(startprob, transmat):
    """hmmlearn's public API on a model whose log-likelihood is the observation itself."""
    from hmmlearn.base import BaseHMM

    class Scored(BaseHMM):
        def _compute_log_likelihood(self, X):
            return X

        def _get_n_fit_scalars_per_param(self):
            return {"s": 1, "t": 1}

    hmm = Scored(n_components=len(startprob), implementation="scaling")
    hmm.startprob_, hmm.transmat_ = startprob, transmat
    return hmm


def test_kernels_equal_hmmlearns_decode_and_predict_proba_bit_for_bit():
    model = load_model(ROOT / "models" / "social.json")
    start, trans, _ = model._topology(30.0, model.min_bout_used_s_)
    rng = np.random.default_rng(3)
    scores = 0.7 * np.log(rng.dirichlet(np.ones(len(start)), size=3000))
    scores[100:140, 2] = -1e9  # a state ruled out, as a dropped behaviour is
    ref = _reference_hmm(start, trans)
    with np.errstate(divide="ignore", under="ignore"):
        lp, path = ref.decode(scores, algorithm="viterbi")
        post = ref.predict_proba(scores)
    lp2, path2 = viterbi_path(start, trans, scores)
    assert lp2 == lp
    np.testing.assert_array_equal(path2, path)
    np.testing.assert_array_equal(state_posteriors(start, trans, scores), post)
    with pytest.raises(ValueError, match="shapes do not match"):
        viterbi_path(start, trans, scores[:, :3])


def test_the_fitted_model_decodes_as_the_estimator_on_a_real_recording():
    path = ROOT / "models" / "social.json"
    est, light = load_model(path), load_fitted(path)
    assert isinstance(light, HybridModel) and type(est).__name__ == "HybridHMMClassifier"
    assert light.feature_names_ == est.feature_names_ and light.get_params() == est.get_params()
    pose = load_pose(SOCIAL, fps=30.0)
    n = int(pose.sizes["time"])
    feats = compute_features(pose, None, None, rows=light.emission_rows(n, 30.0),
                             **feature_request(light.feature_names_))
    lab_e, p_e, _ = classify_features(feats, est)
    lab_l, p_l, _ = classify_features(feats, light)
    for ind in lab_e:
        np.testing.assert_array_equal(lab_l[ind], lab_e[ind])
        np.testing.assert_array_equal(p_l[ind], p_e[ind])
    # a restricted copy (a behaviour the recording cannot show) decodes alike too
    assert light.restrict(light.feature_names_, ["interaction"]).dropped_ == ("interaction",)


def test_every_backend_gives_the_same_posteriors_of_the_shipped_model():
    data = read_model_json(ROOT / "models" / "default.json")["emission"]
    rng = np.random.default_rng(0)
    X = rng.normal(size=(500, len(data["feature_names"])))
    X[rng.random(X.shape) < 0.1] = np.nan
    numpy_p = GBMPosterior.from_dict(data, backend="numpy").predict_proba(X)
    sk_p = GBMPosterior.from_dict(data, backend="sklearn").predict_proba(X)
    loaded = GBMPosterior.from_dict(data, backend="loaded")  # the walker where it was built
    np.testing.assert_array_equal(numpy_p, sk_p)
    np.testing.assert_array_equal(loaded.predict_proba(X), sk_p)
    if loaded.backend_ == "compiled":
        compiled_p = GBMPosterior.from_dict(data, backend="compiled").predict_proba(X)
        np.testing.assert_array_equal(compiled_p, sk_p)
    else:  # not built (no C compiler at install): scikit-learn, imported by this test
        assert loaded.backend_ == "sklearn"
    with pytest.raises(InputError, match="backend: must be 'auto', 'compiled', 'sklearn', "):
        GBMPosterior.from_dict(data, backend="gpu")


def test_a_fresh_classify_of_a_short_recording_imports_no_scikit_learn_nor_movement(tmp_path):
    from behavtrack.simulate import simulate_session, write_session

    folder = write_session(simulate_session(duration_s=20, seed=2), tmp_path / "s",
                           pose_formats=("pose.h5",))
    script = ("import sys; from behavtrack.cli import main\n"
              "code = main(['-q', 'classify', sys.argv[1], '--out', sys.argv[2], '--no-png'])\n"
              "print(code, sorted(m for m in ('sklearn', 'matplotlib', 'dask', 'scipy.ndimage', "
              "'scipy.special', 'movement') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", script, str(folder), str(tmp_path / "o")],
                         capture_output=True, text=True, check=True).stdout.strip()
    assert out.endswith("[]"), out
    assert (tmp_path / "o" / "ethogram.csv").is_file()
