import json
import re
import shutil

import numpy as np
import pandas as pd
import pytest

from behavtrack.cli import main
from behavtrack.errors import InputError
from behavtrack.files import sha256
from behavtrack.io.bouts import BEHAVIORS, BORIS_COLUMNS
from behavtrack.strategies import load_model
from behavtrack.strategies.metrics import bout_scores, frame_scores
from behavtrack.strategies.pipeline import detect_pokes, train_model
from behavtrack.workflows.classify import classify_session

ETHOGRAM = ["frame", "time_s", "individual", "behavior", "p_approach", "p_waiting",
            "p_interaction", "p_other"]


@pytest.fixture(scope="module")
def session(tmp_path_factory):
    """A simulated session not used to train the shipped model (new seed and pair)."""
    from behavtrack.simulate import simulate_session, write_session

    sess = simulate_session(day=7, pair=30, duration_s=120, seed=4242)
    folder = tmp_path_factory.mktemp("sim") / "pair30_day08"
    write_session(sess, folder, pose_formats=("pose.h5",))
    return sess, folder


def _truth(labels, ind):
    return labels[labels["individual"] == ind].sort_values("frame")["behavior"].to_numpy(object)


def test_classify_session_folder_writes_the_contract(session, tmp_path):
    sess, folder = session
    before = {p.name: sha256(p) for p in folder.iterdir()}
    res = classify_session(folder, tmp_path / "out")
    out = tmp_path / "out"
    assert {p.name for p in out.iterdir()} == {
        "ethogram.csv", "bouts.csv", "binary.csv", "provenance.json", "ethogram.png",
        "session.json", "events.csv"}
    assert {p.name: sha256(p) for p in folder.iterdir()} == before  # inputs untouched
    eth = pd.read_csv(out / "ethogram.csv")
    assert list(eth.columns) == ETHOGRAM
    n = sess.meta["n_frames"]
    assert len(eth) == 2 * n and set(eth["behavior"]) <= set(BEHAVIORS)
    np.testing.assert_allclose(eth[ETHOGRAM[4:]].sum(axis=1), 1.0, atol=2e-3)
    # the chosen behaviour is the one a user sees as most probable most of the time
    top = np.array(BEHAVIORS)[eth[ETHOGRAM[4:]].to_numpy().argmax(1)]
    assert (top == eth["behavior"].to_numpy()).mean() > 0.95
    # bouts.csv: BORIS columns, tiles each animal's frames, agrees with the ethogram
    bouts = pd.read_csv(out / "bouts.csv")
    assert list(bouts.columns[:len(BORIS_COLUMNS)]) == BORIS_COLUMNS
    assert bouts.columns[len(BORIS_COLUMNS)] == "confidence"
    assert set(bouts["Behavior type"]) == {"STATE"}
    for ind, b in bouts.groupby("Subject"):
        lengths = b["Image index stop"] - b["Image index start"] + 1
        assert lengths.sum() == n
        e = eth[eth["individual"] == ind]["behavior"].to_numpy()
        first = b.iloc[len(b) // 2]
        assert set(e[first["Image index start"]:first["Image index stop"] + 1]) == {
            first["Behavior"]}
    # binary.csv is the ethogram as 0/1 columns
    binary = pd.read_csv(out / "binary.csv")
    assert len(binary) == n and binary.columns[0] == "time"
    m1 = eth[eth["individual"] == "mouse1"]["behavior"].to_numpy()
    assert (binary["mouse1|waiting"].to_numpy() == (m1 == "waiting")).all()
    # session.json and events.csv for the statistics
    meta = json.loads((out / "session.json").read_text())
    assert meta["poke_source"] == "log" and meta["n_frames"] == n and meta["fps"] == 30.0
    assert meta["window_s"] == sess.arena.window_s and meta["pair"] == sess.meta["pair"]
    assert meta["individuals"] == ["mouse1", "mouse2"]
    ev = pd.read_csv(out / "events.csv")
    assert (ev["event"] == "poke").sum() == (sess.events["event"] == "poke").sum()
    prov = json.loads((out / "provenance.json").read_text())
    assert prov["inputs"]["pose"]["sha256"] == sha256(folder / "pose.h5")
    assert prov["inputs"]["events"]["sha256"] == sha256(folder / "events.csv")
    assert prov["model"]["sha256"] == sha256(load_model.__globals__["default_model_path"]())
    assert prov["behavtrack_version"]
    # accuracy on this unseen session against the simulator's truth
    truth = [_truth(sess.labels, i) for i in ("mouse1", "mouse2")]
    pred = [_truth(res.labels, i) for i in ("mouse1", "mouse2")]
    assert frame_scores(truth, pred)["macro_f1"] > 0.8
    assert bout_scores(truth, pred)["macro_f1"] > 0.7


def test_without_log_pokes_come_from_the_pose(session, tmp_path):
    sess, folder = session
    res = classify_session(folder / "pose.h5", tmp_path / "o", arena=folder / "arena.yaml",
                           png=False)
    assert res.meta["poke_source"] == "pose"
    log = sess.events[sess.events["event"] == "poke"]
    for ind in ("mouse1", "mouse2"):
        a = np.sort(log[log["subject"] == ind]["frame"].to_numpy())
        b = np.sort(res.events[res.events["subject"] == ind]["frame"].to_numpy())
        assert len(a) == len(b) and np.abs(a - b).max() <= 2
    assert json.loads((tmp_path / "o" / "session.json").read_text())["poke_source"] == "pose"


def test_detect_pokes_counts_entries(session):
    sess, folder = session
    pokes = detect_pokes(sess.truth_pose, sess.arena)
    assert set(pokes.columns) >= {"time_s", "subject", "event", "frame"}
    assert (pokes["event"] == "poke").all()
    # a scripted nose: in the own poke port at frames 100-109 and 113-119 (out for 3 frames,
    # less than min_gap_s = 0.2 s at 30 fps: one poke) and 200-204; mouse2 never pokes
    ds = sess.truth_pose.copy(deep=True)
    n = ds.sizes["time"]
    for ind in ("mouse1", "mouse2"):
        port = sess.arena.compartment_of_individual(ind).poke_port
        far = np.asarray(port.center) + 1000.0
        nose = np.tile(far, (n, 1))
        if ind == "mouse1":
            for lo, hi in ((100, 110), (113, 120), (200, 205)):
                nose[lo:hi] = port.center
        ds["position"].loc[{"keypoint": "nose", "individual": ind}] = nose
    pokes = detect_pokes(ds, sess.arena, min_gap_s=0.2)
    assert pokes["subject"].tolist() == ["mouse1", "mouse1"]
    assert pokes["frame"].tolist() == [100, 200]
    np.testing.assert_allclose(pokes["time_s"], [100 / 30.0, 200 / 30.0])


def test_without_arena_there_is_no_waiting(session, tmp_path):
    import h5py

    sess, folder = session
    # alone and without the frame rate behavtrack stores in it, the file does not say it
    (tmp_path / "bare").mkdir()
    bare = shutil.copy(folder / "pose.h5", tmp_path / "bare" / "pose.h5")
    with h5py.File(bare, "r+") as f:
        del f.attrs["fps"]
    with pytest.raises(InputError, match="no frame rate"):
        classify_session(bare, tmp_path / "o", png=False)
    assert not (tmp_path / "o").exists()
    res = classify_session(bare, tmp_path / "o", fps=30.0, png=False)
    # the file as behavtrack wrote it carries its rate
    assert classify_session(folder / "pose.h5", tmp_path / "o2", png=False).meta["fps"] == 30.0
    assert "waiting" not in set(res.labels["behavior"])
    assert any("waiting" in n for n in res.notes)
    assert (tmp_path / "o" / "events.csv").is_file()


def test_single_animal_file_has_no_interaction(session, tmp_path):
    from behavtrack.io.pose import load_pose

    sess, folder = session
    one = load_pose(folder / "pose.h5", fps=30.0).isel(individual=[0])
    res = classify_session(one, tmp_path / "o", arena=sess.arena, events=sess.events,
                           png=False)
    assert set(res.labels["individual"]) == {"mouse1"}
    assert "interaction" not in set(res.labels["behavior"])
    assert any("interaction" in n for n in res.notes)


def test_animal_missing_for_minutes_is_other_with_unknown_probabilities(session, tmp_path):
    from behavtrack.io.pose import load_pose

    sess, folder = session
    ds = load_pose(folder / "pose.h5", fps=30.0)
    pos = ds["position"].values.copy()
    pos[600:2700, :, :, 1] = np.nan  # mouse2 gone for 70 s
    ds["position"] = (ds["position"].dims, pos)
    res = classify_session(ds, tmp_path / "o", arena=sess.arena, events=sess.events,
                           png=False)
    m2 = res.labels[res.labels["individual"] == "mouse2"].set_index("frame")
    # (a few frames may come back: the tracker's injected identity swaps put mouse2's body
    # on mouse1's track there, and the compartment repair gives it back to mouse2)
    lost = m2.loc[700:2600, "p_other"].isna()
    assert lost.mean() > 0.95
    assert (m2.loc[700:2600, "behavior"][lost] == "other").all()
    pattern = r"mouse2 is not tracked for (6[0-9]|70) s"
    assert any(re.match(pattern, n) for n in res.notes), res.notes
    m1 = res.labels[res.labels["individual"] == "mouse1"]
    assert m1["p_other"].notna().all()  # the partner's absence is marginalised out


def test_events_that_disagree_on_fps_or_overrun(session, tmp_path):
    sess, folder = session
    ev = sess.events.copy()
    ev["frame"] = (ev["time_s"] * 25).round().astype(int)  # a 25 fps log for a 30 fps video
    with pytest.raises(InputError, match="imply 25 fps"):
        classify_session(folder, tmp_path / "o", events=ev)
    assert not (tmp_path / "o").exists()
    late = pd.concat([sess.events, pd.DataFrame(
        {"time_s": [500.0], "frame": [15000], "subject": ["mouse1"], "event": ["poke"],
         "value": [np.nan]})], ignore_index=True)
    res = classify_session(folder, tmp_path / "o2", events=late, png=False)
    assert any("after the pose ends" in n for n in res.notes)


def test_model_with_unknown_feature_is_exit_2(session, tmp_path, capsys):
    sess, folder = session
    data = json.loads(load_model.__globals__["default_model_path"]().read_text())
    data["feature_names"][0] = "tail_wag"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(data))
    code = main(["classify", str(folder), "--model", str(bad), "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "tail_wag" in err and len(err.splitlines()) == 1
    assert not (tmp_path / "o").exists()


def test_out_that_is_a_file_is_exit_2_and_untouched(session, tmp_path, capsys):
    sess, folder = session
    out = tmp_path / "notes.txt"
    out.write_text("mine")
    code = main(["-q", "classify", str(folder), "--out", str(out)])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "is a file" in err and len(err.splitlines()) == 1
    assert out.read_text() == "mine"


def test_cli_classify_and_train(session, tmp_path, capsys):
    sess, folder = session
    assert main(["-q", "classify", str(folder), "--out", str(tmp_path / "o")]) == 0
    assert (tmp_path / "o" / "bouts.csv").is_file()
    # train on two labelled sessions: a copy of ours and one labelled example
    root = tmp_path / "labeled"
    shutil.copytree(folder, root / "a")
    from pathlib import Path

    shutil.copytree(Path(__file__).parents[2] / "labeled_examples" / "pair01_day10", root / "b")
    # (the gaussian classifier trains in seconds; the default hybrid is trained from the CLI
    # in test_classify_social.py)
    code = main(["-q", "train", str(root / "a"), str(root / "b"), "--folds", "2",
                 "--classifier", "gaussian", "--out", str(tmp_path / "m.json")])
    assert code == 0
    model = load_model(tmp_path / "m.json")
    assert model.metrics_["n_test_sessions"] == 2 and 0 <= model.metrics_[
        "hmm_frame_macro_f1"] <= 1
    assert model.metrics_["sessions"] == ["a", "b"]
    assert main(["train", str(tmp_path / "nothing_here"), "--out", str(tmp_path / "x")]) == 2
    capsys.readouterr()
    for bad, message in ((["--em-iter", "-1"], "--em-iter: must be 0 or more"),
                         (["--min-bout-s", "-0.5"], "--min-bout-s: must be 0 or more"),
                         (["--unlabeled", str(root / "b")], "--unlabeled: is used only by"),
                         (["--em-iter", "2"], "--em-iter: EM refinement is for the gaussian"),
                         (["--fps", "0"], "--fps: frame rate must be a positive number")):
        code = main(["-q", "train", str(root / "a"), "--out", str(tmp_path / "x"), *bad])
        err = capsys.readouterr().err
        assert code == 2 and message in err and err.count("\n") == 1
    assert not (tmp_path / "x").exists()
    (tmp_path / "x").mkdir()
    code = main(["-q", "train", str(root / "a"), "--out", str(tmp_path / "x")])
    err = capsys.readouterr().err
    assert code == 2 and "is a folder, not a model file" in err and err.count("\n") == 1


def test_train_model_is_deterministic(session, tmp_path):
    sess, folder = session
    a = train_model([folder], tmp_path / "a.json")
    b = train_model([folder], tmp_path / "b.json")
    assert (tmp_path / "a.json").read_text() == (tmp_path / "b.json").read_text()
    assert a.training_checksum_ == b.training_checksum_


def test_train_with_em_refinement_on_unlabeled_sessions(session, tmp_path):
    sess, folder = session
    unl = tmp_path / "unl"
    shutil.copytree(folder, unl)
    (unl / "labels.csv").unlink()
    (unl / "bouts.csv").unlink()
    (unl / "events.csv").unlink()  # pokes then come from the pose
    m = train_model([folder], None, classifier="gaussian", em_iter=2, unlabeled=[unl],
                    folds=0)
    assert m.metrics_["em"]["iterations"] == 2 and len(m.metrics_["em"]["unlabeled_sessions"])
    plain = train_model([folder], None, classifier="gaussian", folds=0)
    with pytest.raises(InputError, match="gaussian classifier only"):
        train_model([folder], None, em_iter=2, folds=0)
    assert not np.allclose(m.means_, plain.means_)  # EM moved the emissions
    pred = m.predict(plain_features(folder))
    assert set(pred) <= set(BEHAVIORS)


def plain_features(folder):
    from behavtrack.strategies.pipeline import unlabeled_tables

    return unlabeled_tables(folder)[0]


def test_tracker_names_are_mapped_to_the_arena_individuals(session, tmp_path):
    from behavtrack.io.pose import load_pose

    sess, folder = session
    ds = load_pose(folder / "pose.h5", fps=30.0)
    ds = ds.assign_coords(individual=["track_b", "track_a"])  # a tracker's own names
    res = classify_session(ds, tmp_path / "o", arena=sess.arena, events=sess.events,
                           png=False)
    assert set(res.labels["individual"]) == {"mouse1", "mouse2"}
    assert any("track_b -> mouse1" in n for n in res.notes)
    truth = [_truth(sess.labels, i) for i in ("mouse1", "mouse2")]
    pred = [_truth(res.labels, i) for i in ("mouse1", "mouse2")]
    assert frame_scores(truth, pred)["macro_f1"] > 0.8


def test_a_failed_write_leaves_the_previous_outputs(session, tmp_path, monkeypatch):
    import behavtrack.export

    sess, folder = session
    out = tmp_path / "o"
    classify_session(folder, out)
    before = {p.name: sha256(p) for p in out.iterdir()}

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(behavtrack.export, "plot_ethogram", broken)
    with pytest.raises(OSError, match="disk full"):
        classify_session(folder, out, events=sess.events.iloc[:5])
    assert {p.name: sha256(p) for p in out.iterdir()} == before
    assert [p.name for p in tmp_path.iterdir()] == ["o"]  # no staging folder left
    monkeypatch.undo()
    classify_session(folder, out, png=False)
    assert not (out / "ethogram.png").exists()  # no stale PNG from the earlier run


def test_a_failed_write_beside_the_spare_process_leaves_nothing_half_written(session, tmp_path,
                                                                            monkeypatch):
    # jobs=2: a forked process draws ethogram.png and writes binary.csv into the staging
    # folder while this one writes the rest; this one fails (a full disk, Ctrl-C): the
    # staging folder is removed only once the other process is done writing in it
    import behavtrack.export

    sess, folder = session
    out = tmp_path / "o"
    classify_session(folder, out, jobs=2)
    before = {p.name: sha256(p) for p in out.iterdir()}
    assert {"ethogram.png", "binary.csv"} <= set(before)

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(behavtrack.export, "write_ethogram", broken)
    with pytest.raises(OSError, match="disk full"):
        classify_session(folder, out, jobs=2, events=sess.events.iloc[:5])
    assert {p.name: sha256(p) for p in out.iterdir()} == before
    assert [p.name for p in tmp_path.iterdir()] == ["o"]  # no staging folder left


def test_wrong_fps_for_a_session_is_caught_by_its_log(session, tmp_path, capsys):
    sess, folder = session
    code = main(["classify", str(folder), "--fps", "25", "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert code == 2 and "events imply 30 fps" in err and "25 fps" in err
    truncated = sess.events[sess.events["time_s"] < 30]
    res = classify_session(folder, tmp_path / "o2", events=truncated, png=False)
    assert any("truncated" in n for n in res.notes)
    assert not (tmp_path / "o2" / "ethogram.png").exists()


def test_a_session_folder_given_its_own_arena_reads_it_once(session, tmp_path, monkeypatch):
    """A batch names each session folder's own ``arena.yaml``: the outputs are those of the
    folder read alone, the file parsed once; another arena file named is the one used."""
    import yaml

    sess, folder = session
    own_text = (folder / "arena.yaml").read_text(encoding="utf-8")
    parsed = []
    safe_load = yaml.safe_load

    def counting(text, *args, **kwargs):
        parsed.append(text)
        return safe_load(text, *args, **kwargs)

    monkeypatch.setattr(yaml, "safe_load", counting)
    classify_session(folder, tmp_path / "named", arena=str(folder / "arena.yaml"), png=False)
    assert parsed.count(own_text) == 1
    classify_session(folder, tmp_path / "alone", png=False)
    for name in ("ethogram.csv", "bouts.csv", "events.csv", "binary.csv"):
        assert sha256(tmp_path / "named" / name) == sha256(tmp_path / "alone" / name), name

    other = tmp_path / "other_arena.yaml"  # the same chamber filmed at another scale
    other.write_text(own_text.replace("px_per_cm: 15.0", "px_per_cm: 10.0"), encoding="utf-8")
    classify_session(folder, tmp_path / "other", arena=other, png=False)
    prov = json.loads((tmp_path / "other" / "provenance.json").read_text())
    assert prov["inputs"]["arena"]["path"] == str(other)
    other_ethogram, alone = (tmp_path / d / "ethogram.csv" for d in ("other", "alone"))
    assert sha256(other_ethogram) != sha256(alone)


def test_a_session_folder_given_another_log_does_not_read_its_own(session, tmp_path):
    """The events given replace the folder's ``events.csv``, which is then not read: a
    broken log in the folder is no obstacle once a good one is named (and is read once per
    session in a batch, which names the folder's own)."""
    sess, folder = session
    broken = tmp_path / "broken_log"
    shutil.copytree(folder, broken)
    (broken / "events.csv").write_text("not,an\nevents,log\n")
    with pytest.raises(InputError, match="events.csv"):
        classify_session(broken, tmp_path / "o1", png=False)
    res = classify_session(broken, tmp_path / "o2", events=folder / "events.csv", png=False)
    alone = classify_session(folder, tmp_path / "o3", png=False)
    assert res.events.equals(alone.events)
    assert sha256(tmp_path / "o2" / "ethogram.csv") == sha256(tmp_path / "o3" / "ethogram.csv")
