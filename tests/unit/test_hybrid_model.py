"""HybridDecoding's chunked decoding gives what decoding the whole recording gives."""

import numpy as np
import pytest

from behavtrack.features import compute_features
from behavtrack.features.table import feature_request
from behavtrack.simulate import simulate_session
from behavtrack.strategies.hmm_decode import viterbi_path, viterbi_path_chunked
from behavtrack.strategies.hybrid_model import HybridDecoding
from behavtrack.strategies.model_file import load_model_shared, shipped_model_path

pytestmark = pytest.mark.slow  # a 10-minute simulated session's features: a few seconds


@pytest.fixture(scope="module")
def session():
    """The shipped model and one animal's frame posteriors in a simulated session."""
    model = load_model_shared(shipped_model_path("default"))
    assert isinstance(model, HybridDecoding)
    ses = simulate_session(duration_s=600, seed=1)
    feats = compute_features(ses.pose, ses.arena, ses.events,
                             **feature_request(model.feature_names_))
    x = feats.xs("mouse1", level="individual")
    x.attrs = dict(feats.attrs)
    return model, model.frame_proba(x, 30.0)


def _scores(model, proba):
    """The HMM's scores as ``_decode_scores`` builds them."""
    start, trans, sb = model._topology(30.0, model.min_bout_used_s_)
    score = model.posterior_scale_ * (np.log(np.clip(proba, 1e-6, 1.0))
                                      - model.prior_power_ * np.log(model.prior_))
    return start, trans, np.ascontiguousarray(score[:, sb])


def test_chunked_viterbi_equals_the_whole_on_the_shipped_models_hmm(session):
    model, proba = session
    start, trans, obs = _scores(model, proba)
    assert obs.shape == (18000, 12)
    ref = viterbi_path(start, trans, obs)[1]
    for chunk, overlap in [(4096, 256), (1000, 64), (777, 16)]:
        info = {}
        got = viterbi_path_chunked(start, trans, lambda a, b: obs[a:b], len(obs), chunk,
                                   overlap, info=info)
        np.testing.assert_array_equal(got, ref)
        assert info["method"] == "windows"  # the windows agreed, no fallback
    got = viterbi_path_chunked(start, trans, lambda a, b: obs[a:b], len(obs), 3000,
                               method="exact")
    np.testing.assert_array_equal(got, ref)


def test_decode_chunked_equals_decode_scores(session):
    model, proba = session
    n = len(proba)
    calls = []

    def proba_of(a, b):
        calls.append((a, b))
        return proba[a:b]

    allowed = np.ones(len(model.behaviors_), dtype=bool)
    codes, post = model._decode_scores(proba, 30.0, model.posterior_scale_,
                                       model.min_bout_used_s_, model.prior_power_, allowed)
    for chunk in (4096, 1000, 777):
        got_codes, got_post = model.decode_chunked(proba_of, n, 30.0, chunk=chunk)
        np.testing.assert_array_equal(got_codes, codes)
        assert got_post.shape == post.shape and np.abs(got_post - post).max() < 1e-12
        assert max(b - a for a, b in calls) <= chunk + 2 * 256  # never the whole recording
        calls.clear()
    # a behaviour ruled out, codes only, and posteriors written into a given array
    allowed[model.behaviors_.index("interaction")] = False
    codes, post = model._decode_scores(proba, 30.0, model.posterior_scale_,
                                       model.min_bout_used_s_, model.prior_power_, allowed)
    out = np.full((n, len(model.behaviors_)), np.nan)
    got_codes, got_post = model.decode_chunked(proba_of, n, 30.0, allowed, 2000, out=out)
    assert got_post is out and np.abs(out - post).max() < 1e-12
    np.testing.assert_array_equal(got_codes, codes)
    only, none = model.decode_chunked(proba_of, n, 30.0, allowed, 2000, posteriors=False)
    np.testing.assert_array_equal(only, codes)
    assert none is None
