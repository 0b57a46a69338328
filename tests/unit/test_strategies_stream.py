"""Classifying a recording chunk by chunk gives what the whole recording gives.

``classify_chunks`` is the path of ``behavtrack classify`` for pose files (memory flat in the
recording's length). A user relies on it giving the labels, posteriors, cleaning report and
notes of the whole-table path; these tests compare the two on simulated sessions with chunks
much shorter than the session, with an animal lost for a long stretch and with pokes after the
pose ends, and check what cannot be chunked is refused in one line.
"""

import numpy as np
import pandas as pd
import pytest

from behavtrack.errors import InputError
from behavtrack.features import compute_features
from behavtrack.features.clean import clean_pose, merge_reports
from behavtrack.features.table import feature_request
from behavtrack.simulate import simulate_session
from behavtrack.strategies.model_file import load_model_shared, shipped_model_path
from behavtrack.strategies.pipeline import classify_features
from behavtrack.strategies.stream import (
    MAX_AUTO_JOBS,
    chunk_jobs,
    classify_chunks,
    margin_s,
    streamable,
)


@pytest.fixture(scope="module")
def model():
    return load_model_shared(shipped_model_path("default"))


@pytest.fixture(scope="module")
def session():
    return simulate_session(duration_s=240, seed=5)


def _whole(pose, arena, events, model):
    n, fps = pose.sizes["time"], float(pose.attrs["fps"])
    feats = compute_features(pose, arena, events, rows=model.emission_rows(n, fps),
                             **feature_request(model.feature_names_))
    labels, proba, notes = classify_features(feats, model)
    return labels, proba, feats.attrs["notes"] + notes, feats.attrs


def _chunked(pose, arena, events, model, **kw):
    return classify_chunks(lambda a, b: pose.isel(time=slice(a, b)), pose.sizes["time"],
                           model, arena, events, **kw)


def _assert_same(whole, res):
    labels, proba, notes, attrs = whole
    assert list(res.labels) == list(labels)
    for ind in labels:
        np.testing.assert_array_equal(res.labels[ind], labels[ind])
        assert np.array_equal(np.isnan(res.proba[ind]), np.isnan(proba[ind]))
        np.testing.assert_allclose(res.proba[ind], proba[ind], rtol=0, atol=1e-9)
        # what ethogram.csv prints: 4 decimals
        np.testing.assert_array_equal(np.round(res.proba[ind], 4), np.round(proba[ind], 4))
    assert res.notes == notes
    assert res.attrs["clean"] == attrs["clean"]
    for key in ("px_per_cm", "scale_source", "skipped", "n_frames", "fps"):
        assert res.attrs[key] == attrs[key]


def test_chunks_give_the_whole_recordings_labels(session, model):
    pose, arena, events = session.pose, session.arena, session.events
    seen = []
    res = _chunked(pose, arena, events, model, chunk_s=50.0,
                   progress=lambda done: (seen.append(1) or d for d in done))
    whole = _whole(pose, arena, events, model)
    _assert_same(whole, res)
    assert len(res.labels["mouse1"]) == pose.sizes["time"]
    assert len(seen) == 5  # five chunks of 50 s, each counted as it is done
    # chunks done by two forked processes: the same result, bit for bit
    two = _chunked(pose, arena, events, model, chunk_s=50.0, jobs=2)
    _assert_same(whole, two)
    for ind in res.labels:
        np.testing.assert_array_equal(two.proba[ind], res.proba[ind])


def test_an_animal_lost_for_long_and_late_pokes_give_the_same_notes(session, model):
    pose = session.pose.copy(deep=True)
    fps = float(pose.attrs["fps"])
    lost = slice(int(60 * fps), int(115 * fps))  # 55 s, across a chunk border
    assert pose["position"].dims[-1] == "individual"
    pose["position"].values[lost, ..., 1] = np.nan  # mouse2
    late = pd.DataFrame({"time_s": [300.0], "subject": ["mouse1"], "event": ["poke"],
                         "value": [np.nan], "frame": [int(300 * fps)]})
    events = pd.concat([session.events, late], ignore_index=True)
    whole = _whole(pose, session.arena, events, model)
    assert any("not tracked" in note for note in whole[2])
    assert any("after the pose's last frame" in note for note in whole[2])
    res = _chunked(pose, session.arena, events, model, chunk_s=40.0)
    _assert_same(whole, res)
    _assert_same(whole, _chunked(pose, session.arena, events, model, chunk_s=40.0, jobs=3))
    unknown = np.isnan(res.proba["mouse2"][lost]).all(axis=1)
    assert unknown.mean() > 0.95  # (identity repair may hand it mouse1's points at times)
    assert (res.labels["mouse2"][lost][unknown] == "other").all()


def test_merged_cleaning_reports_equal_the_whole_one(session):
    pose, arena = session.pose, session.arena
    fps, n = float(pose.attrs["fps"]), pose.sizes["time"]
    whole = clean_pose(pose, arena)[1]
    reports = []
    pad = 30
    for a in range(0, n, 1000):
        b = min(n, a + 1000)
        lo, hi = max(0, a - pad), min(n, b + pad)
        reports.append(clean_pose(pose.isel(time=slice(lo, hi)), arena,
                                  report_frames=slice(a - lo, b - lo))[1])
    merged = merge_reports(reports, ["mouse1", "mouse2"], fps)
    assert merged.to_dict() == whole.to_dict()
    assert whole.n_interpolated > 0 and whole.n_low_confidence > 0


def test_the_margin_covers_every_features_reach(model):
    # time since / until a poke is capped at 30 s, windows reach 3 s
    assert 33.0 < margin_s(model, 30.0) < 45.0


def test_what_cannot_be_chunked_is_refused(session, model):
    assert "arena" in streamable(model, None)
    assert streamable(model, session.arena) is None
    from behavtrack.strategies.hmm import HMMClassifier

    assert "whole recordings" in streamable(HMMClassifier(), session.arena)
    with pytest.raises(InputError, match="model: cannot classify in chunks"):
        _chunked(session.pose, None, session.events, model)
    with pytest.raises(InputError, match="chunk_s"):
        _chunked(session.pose, session.arena, session.events, model, chunk_s=0)


def test_a_workers_error_and_an_untracked_recording_are_raised_here(session, model):
    pose, arena, events = session.pose, session.arena, session.events
    n = pose.sizes["time"]

    def bad(a, b):
        if a > 0:
            raise InputError("pose.h5", "row 7 is broken", "fix it")
        return pose.isel(time=slice(a, b))

    with pytest.raises(InputError, match=r"^pose.h5: row 7 is broken \(fix it\)$"):
        classify_chunks(bad, n, model, arena, events, chunk_s=50.0, jobs=2)
    blank = pose.copy(deep=True)
    blank["position"].values[:] = np.nan
    for jobs in (1, 2):
        with pytest.raises(InputError, match="no tracked frame"):
            _chunked(blank, arena, events, model, chunk_s=50.0, jobs=jobs)


def test_chunk_jobs():
    assert chunk_jobs(3, 10) == 3
    assert chunk_jobs(8, 2) == 2  # never more than one per chunk
    assert chunk_jobs(None, 1) == 1
    assert 1 <= chunk_jobs(None, 100) <= MAX_AUTO_JOBS
    for bad in (0, -1, 1.5, True, "2"):
        with pytest.raises(InputError, match="jobs: must be at least 1"):
            chunk_jobs(bad, 4)
