"""Classifying from features computed at the trees' frames only: the same labels, less work.

The hybrid model evaluates its trees at every k-th frame (``emission_rows``), so the classify
path computes the feature table at those frames only (``compute_features(rows=...)``). These
tests check what a user relies on: the values are those of the full table bit for bit, the
decoded labels and posteriors are identical, and a wrong call is refused in one line.
"""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from behavtrack.errors import InputError
from behavtrack.features import compute_features
from behavtrack.features.pair import keypoint_distances
from behavtrack.features.table import feature_request
from behavtrack.features.windows import window_table
from behavtrack.io.pose import load_pose
from behavtrack.io.session import load_session
from behavtrack.simulate import simulate_session
from behavtrack.strategies import HybridHMMClassifier, load_model
from behavtrack.strategies.pipeline import classify_features

SOCIAL = Path(__file__).resolve().parents[1] / "data" / "social" / "120637-121213"


@pytest.fixture(scope="module")
def session():
    return simulate_session(duration_s=90, seed=11)


def _at(table: pd.DataFrame, rows: np.ndarray) -> pd.DataFrame:
    return table[table.index.get_level_values("frame").isin(rows)]


def test_emission_rows_every_kth_frame_and_the_last():
    model = HybridHMMClassifier(emission_hz=5.0)
    assert model.emission_rows(14, fps=30.0).tolist() == [0, 6, 12, 13]
    assert model.emission_rows(12, fps=30.0).tolist() == [0, 6, 11]
    assert model.emission_rows(10, fps=4.0).tolist() == list(range(10))  # rate below 5 Hz
    assert HybridHMMClassifier(emission_hz=None).emission_rows(5, 30.0).tolist() == [0, 1, 2,
                                                                                        3, 4]


def test_window_statistics_at_rows_equal_the_full_computation():
    rng = np.random.default_rng(0)
    v = rng.normal(size=(500, 2))
    v[rng.random(v.shape) < 0.2] = np.nan
    v[40:90, 0] = np.nan  # a gap longer than the windows
    spec = {st: [0.333, 1.0, 3.0] for st in ("mean", "std", "min", "max")}
    rows = np.array([0, 1, 7, 44, 60, 250, 498, 499])
    full, part = window_table(v, 30.0, spec), window_table(v, 30.0, spec, rows=rows)
    assert set(full) == set(part)
    for key in full:
        np.testing.assert_array_equal(part[key], full[key][rows])


def test_keypoint_distances_at_rows_keep_the_minimum_at_every_frame(session):
    from behavtrack.features.clean import pose_array

    pos = pose_array(session.pose)
    kps = [str(k) for k in session.pose["keypoint"].values]
    rows = np.arange(0, pos.shape[0], 7)
    full = keypoint_distances(pos, kps, np.array([1, 0]), 0.1)
    part = keypoint_distances(pos, kps, np.array([1, 0]), 0.1, rows=rows)
    np.testing.assert_array_equal(part["pair_min_dist"], full["pair_min_dist"])
    for name in full:
        if name != "pair_min_dist":
            np.testing.assert_array_equal(part[name], full[name][rows])


@pytest.mark.parametrize("name", ["default", "social"])
def test_feature_table_at_rows_is_the_full_table_at_those_frames(session, name):
    model = load_model(Path(__file__).resolve().parents[2] / "models" / f"{name}.json")
    arena = session.arena if name == "default" else None
    req = feature_request(model.feature_names_)
    full = compute_features(session.pose, arena, session.events, **req)
    n = full.attrs["n_frames"]
    rows = model.emission_rows(n, 30.0)
    part = compute_features(session.pose, arena, session.events, rows=rows, **req)
    assert len(rows) < n / 5
    assert list(part.columns) == list(full.columns)
    expected = _at(full, rows)
    assert part.index.equals(expected.index)
    np.testing.assert_array_equal(part.to_numpy(), expected.to_numpy())
    assert part.attrs["n_frames"] == n
    tracked = part.attrs["tracked_frames"]
    assert tracked.shape == (n, 2)
    for j, ind in enumerate(part.attrs["individuals"]):
        np.testing.assert_array_equal(
            tracked[:, j], full.xs(ind, level="individual")["tracked"].to_numpy() > 0.5)


def test_decoding_the_row_table_gives_the_labels_of_the_full_table():
    """Real recording (cut), shipped social model: identical labels and posteriors."""
    model = load_model(Path(__file__).resolve().parents[2] / "models" / "social.json")
    pose = load_pose(SOCIAL / "pose_dlc.csv", fps=30.0)
    req = feature_request(model.feature_names_)
    full = compute_features(pose, None, None, **req)
    n = full.attrs["n_frames"]
    part = compute_features(pose, None, None, rows=model.emission_rows(n, 30.0), **req)
    lab_full, p_full, _ = classify_features(full, model)
    lab_part, p_part, _ = classify_features(part, model)
    assert list(lab_full) == list(lab_part)
    for ind in lab_full:
        assert len(lab_part[ind]) == n
        np.testing.assert_array_equal(lab_part[ind], lab_full[ind])
        np.testing.assert_array_equal(p_part[ind], p_full[ind])
    assert any((lab == "interaction").any() for lab in lab_full.values())


def test_bad_rows_and_a_row_table_for_a_gaussian_model_are_refused(session):
    with pytest.raises(InputError, match="rows: must be sorted, unique frame indices"):
        compute_features(session.pose, session.arena, session.events, rows=[5, 3])
    with pytest.raises(InputError, match="rows: must be sorted"):
        compute_features(session.pose, session.arena, session.events, rows=[0, 10**7])
    part = compute_features(session.pose, session.arena, session.events, rows=[0, 5, 9])
    from behavtrack.strategies import HMMClassifier

    with pytest.raises(InputError, match="holds some frames only"):
        classify_features(part, HMMClassifier())


def test_classify_does_not_read_frame_labels(tmp_path, session):
    """A session's ``labels.csv`` (truth, often huge) is not needed to classify it."""
    from behavtrack.simulate import write_session
    from behavtrack.workflows.classify import classify_session

    folder = write_session(session, tmp_path / "s", pose_formats=("pose.h5",))
    (folder / "labels.csv").write_text("not,a\nlabels,table\n")  # unreadable as labels
    with pytest.raises(InputError, match="labels.csv"):
        load_session(folder)
    assert load_session(folder, labels=False).labels is None
    res = classify_session(folder, tmp_path / "out", png=False)
    assert (tmp_path / "out" / "ethogram.csv").is_file()
    assert len(res.labels) == 2 * session.pose.sizes["time"]


def test_a_model_file_is_parsed_once_per_process_until_it_changes(tmp_path):
    import os
    import shutil

    from behavtrack.strategies.model_file import load_model_shared

    src = Path(__file__).resolve().parents[2] / "models" / "social.json"
    path = tmp_path / "m.json"
    shutil.copy(src, path)
    first = load_model_shared(path)
    assert load_model_shared(path) is first
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))  # the file was rewritten
    again = load_model_shared(path)
    assert again is not first and again.feature_names_ == first.feature_names_
    with pytest.raises(InputError, match="no such model file"):
        load_model_shared(tmp_path / "missing.json")
