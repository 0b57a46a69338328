"""Real two-mouse recordings with real human labels (cuts in tests/data/social), end to end."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from behavtrack.cli import main
from behavtrack.errors import InputError
from behavtrack.io.boris import load_boris
from behavtrack.strategies.pipeline import boris_frame_labels, labeled_from_boris

DATA = Path(__file__).resolve().parents[1] / "data" / "social"
A, B = DATA / "120637-121213", DATA / "123521-124106"
MAP = {"interact": "interaction"}


def _truth(session: Path, n: int) -> np.ndarray:
    bouts = load_boris(session / "boris.csv", behavior_map=MAP, fps=30)
    y = np.zeros(n, dtype=bool)
    for r in bouts.itertuples():
        y[int(r.start_frame):int(r.stop_frame)] = True
    return y


def _f1(y: np.ndarray, p: np.ndarray) -> float:
    tp = (y & p).sum()
    return 2 * tp / (2 * tp + (~y & p).sum() + (y & ~p).sum())


def test_interaction_is_mutual_and_an_uncoded_subject_is_unlabelled():
    bouts = load_boris(A / "boris.csv", behavior_map=MAP, fps=30)
    assert set(bouts["individual"]) == {"adult"}
    labels, notes = boris_frame_labels(bouts, ["adult", "juvenile"], 1500, 30.0)
    np.testing.assert_array_equal(labels["adult"], labels["juvenile"])
    assert set(labels["juvenile"]) == {"interaction", "other"} and not notes
    # without mutual behaviours, the juvenile (no rows of its own) is unlabelled, not "other"
    labels, _ = boris_frame_labels(bouts, ["adult", "juvenile"], 1500, 30.0, mutual=())
    assert set(labels["juvenile"]) == {""}
    assert set(labels["adult"]) == {"interaction", "other"}


def test_boris_longer_than_the_pose_is_cut_with_a_note():
    bouts = load_boris(A / "boris.csv", behavior_map=MAP, fps=30)
    labels, notes = boris_frame_labels(bouts, ["adult", "juvenile"], 900, 30.0)
    assert len(labels["adult"]) == 900
    assert len(notes) == 1 and "runs" in notes[0] and "beyond the pose (30.0 s)" in notes[0]


def test_boris_subject_matching_no_individual_names_both_lists():
    bouts = load_boris(A / "boris.csv", behavior_map=MAP, fps=30)
    with pytest.raises(InputError) as err:
        boris_frame_labels(bouts, ["mouse1", "mouse2"], 1500, 30.0, source="b.csv")
    msg = str(err.value)
    assert "['adult']" in msg and "['mouse1', 'mouse2']" in msg
    assert "subject_map={'adult': 'mouse1'}" in msg and "\n" not in msg


def test_labelled_session_from_a_real_dlc_file_with_tail_and_no_fps_in_it():
    s = labeled_from_boris(A / "boris.csv", A / "pose_dlc.csv", fps=30, behavior_map=MAP)
    f = s.features
    assert f.attrs["body_axis"] == ["nose", "tail_base"]  # "tail" is the tail base
    assert f.attrs["scale_source"].startswith("estimated from the body axis")
    assert 15 < f.attrs["px_per_cm"] < 25
    assert f["body_length"].notna().mean() > 0.9 and f["turn_rate"].notna().mean() > 0.9
    assert "dist__neck__left_hip" in f.columns and "nose_nose__mean1000ms" in f.columns
    with pytest.raises(InputError, match="has no frame rate.*pass fps="):
        labeled_from_boris(A / "boris.csv", A / "pose_dlc.csv", behavior_map=MAP)


@pytest.mark.slow
def test_train_and_classify_from_real_labels_the_users_way(tmp_path, capsys):
    model = tmp_path / "model.json"
    assert main(["-q", "train", "--boris", str(A / "boris.csv"), "--pose",
                 str(A / "pose_dlc.csv"), "--boris", str(B / "boris.csv"), "--pose",
                 str(B / "pose_dlc.csv"), "--fps", "30", "--behavior-map",
                 "interact=interaction", "--out", str(model)]) == 0
    data = json.loads(model.read_text())
    assert data["kind"] == "behavtrack.HybridHMMClassifier"
    assert data["behaviors"] == ["interaction", "other"]
    assert data["metrics"]["n_test_sessions"] == 2
    out = tmp_path / "cls"
    assert main(["classify", str(B / "pose_dlc.csv"), "--fps", "30", "--model", str(model),
                 "--out", str(out)]) == 0
    eth = pd.read_csv(out / "ethogram.csv")
    adult = eth[eth["individual"] == "adult"].sort_values("frame")
    juvenile = eth[eth["individual"] == "juvenile"].sort_values("frame")
    p = adult["behavior"].to_numpy() == "interaction"
    np.testing.assert_array_equal(p, juvenile["behavior"].to_numpy() == "interaction")
    assert _f1(_truth(B, len(p)), p) > 0.6  # in-sample: the model saw this session
    bouts = pd.read_csv(out / "bouts.csv")
    assert (bouts["Behavior"] == "interaction").any()


def test_the_shipped_social_model_is_chosen_without_an_arena_and_finds_interaction(
        tmp_path, capsys):
    out = tmp_path / "cls"
    assert main(["classify", str(A / "pose_dlc.csv"), "--fps", "30", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "model: the shipped social model (social.json: two animals and no arena)" in printed
    eth = pd.read_csv(out / "ethogram.csv")
    p = eth[eth["individual"] == "adult"].sort_values("frame")["behavior"].to_numpy()
    assert _f1(_truth(A, len(p)), p == "interaction") > 0.5
    assert "waiting" not in set(eth["behavior"])
    prov = json.loads((out / "provenance.json").read_text())
    assert prov["model"]["path"].endswith("social.json")
    assert prov["parameters"]["scale_source"].startswith("estimated from the body axis")
    assert 15 < prov["parameters"]["px_per_cm"] < 25


def test_train_without_a_frame_rate_is_one_line_exit_2(tmp_path, capsys):
    assert main(["train", "--boris", str(A / "boris.csv"), "--pose", str(A / "pose_dlc.csv"),
                 "--behavior-map", "interact=interaction", "--out",
                 str(tmp_path / "m.json")]) == 2
    err = capsys.readouterr().err.strip()
    assert "has no frame rate" in err and "--fps" in err and len(err.splitlines()) == 1
    assert not (tmp_path / "m.json").exists()


def test_train_with_an_unknown_subject_shows_the_subject_map(tmp_path, capsys):
    assert main(["train", "--boris", str(A / "boris.csv"), "--pose", str(A / "pose_dlc.csv"),
                 "--fps", "30", "--subject-map", "adult=mouse9", "--behavior-map",
                 "interact=interaction", "--out", str(tmp_path / "m.json")]) == 2
    err = capsys.readouterr().err.strip()
    assert "['mouse9']" in err and "['adult', 'juvenile']" in err and "--subject-map" in err


def test_quiet_is_accepted_after_the_command_too(tmp_path, capsys, monkeypatch):
    from behavtrack.files import progress_enabled

    monkeypatch.delenv("BEHAVTRACK_QUIET", raising=False)  # bars on, as in a terminal
    classify = ["classify", str(B / "pose_dlc.csv"), "--fps", "30", "--out"]
    assert main([*classify, str(tmp_path / "bars")]) == 0
    captured = capsys.readouterr()
    assert "wrote" in captured.out and "classify:" in captured.err and "%|" in captured.err
    for argv in ([*classify, str(tmp_path / "o"), "-q"], ["-q", *classify, str(tmp_path / "p")]):
        assert main(argv) == 0
        captured = capsys.readouterr()
        assert captured.out == "" and captured.err == ""  # -q: no bar, no message
        assert progress_enabled()  # the switch is back as it was once the command is done
    assert main(["info", str(B / "pose_dlc.csv"), "--fps", "30", "-q"]) == 0
