"""The cohort pipeline on classified-session folders: tables, figures, bad input, CLI."""

from __future__ import annotations

import json
import os

import numpy as np
import pandas as pd
import pytest
from _stats_helpers import synthetic_session, write_classified

from behavtrack.cli import main
from behavtrack.errors import InputError
from behavtrack.learning.sessions import SESSION_COLUMNS
from behavtrack.workflows.stats import compute_stats

FORMATS_SESSIONS = ("source, pair, session, progress, n_pokes, success_rate, chance_rate, "
                    "chance_p, median_abs_delta_s").split(", ")
FORMATS_TRIALS = ("source, pair, session, subject, time_s, partner_time_s, delta_s, window_s, "
                  "success, waited, interacted, approached").split(", ")


@pytest.fixture(scope="module")
def cohort(tmp_path_factory):
    """3 pairs x 4 sessions with skill rising over sessions; truth kept per session."""
    root = tmp_path_factory.mktemp("cohort")
    rng = np.random.default_rng(11)
    truth = {}
    for p in range(3):
        for s in range(4):
            ev, bouts, tr = synthetic_session(rng, skill=0.1 + 0.27 * s, duration_s=600)
            write_classified(root / f"p{p}" / f"s{s}", pair=f"p{p}", session=s, events=ev,
                             bouts=bouts, duration_s=600)
            truth[(f"p{p}", s)] = (tr, bouts)
    return root, truth


def test_cohort_tables_match_truth(cohort, tmp_path):
    root, truth = cohort
    res = compute_stats([root], tmp_path / "out", n_shifts=1000, n_boot=500)
    sessions = pd.read_csv(tmp_path / "out" / "sessions.csv")
    trials = pd.read_csv(tmp_path / "out" / "trials.csv")
    assert list(sessions.columns[:len(SESSION_COLUMNS)]) == SESSION_COLUMNS
    assert list(sessions.columns[:9]) == FORMATS_SESSIONS
    assert all(c in trials.columns for c in FORMATS_TRIALS)
    for b in ("approach", "waiting", "interaction"):
        for m in ("bouts_per_min", "frac_time", "mean_bout_s"):
            assert f"{b}_{m}" in sessions
    assert len(sessions) == 12 and res.failures.empty
    for row in sessions.itertuples():
        tr, bouts = truth[(row.pair, row.session)]
        assert row.n_pokes == len(tr)
        assert np.isclose(row.success_rate, tr["coordinated"].mean())
        assert np.isclose(row.waited_frac, tr["waited"].mean())
        assert np.isclose(row.progress, row.session / 3)
        # strategy use from the bouts, computed independently here
        inter = bouts[bouts["behavior"] == "interaction"]
        assert np.isclose(row.interaction_frac_time, inter["duration_s"].sum() / (2 * 600))
        assert np.isclose(row.interaction_bouts_per_min, len(inter) / 2 / 10)
        assert np.isclose(row.interaction_mean_bout_s, inter["duration_s"].mean())
        assert row.window_s == 1.0 and row.poke_source == "log"
    late = sessions[sessions["session"] == 3]
    assert (late["chance_p"] < 0.01).all() and (late["success_rate"] > late["chance_rate"]).all()
    # curves: pooled mean over pairs per session equals the table's mean
    c = pd.read_csv(tmp_path / "out" / "curves.csv")
    sr = c[c["metric"] == "success_rate"].set_index("x")["mean"]
    np.testing.assert_allclose(sr.to_numpy(),
                               sessions.groupby("session")["success_rate"].mean().to_numpy())
    t = pd.read_csv(tmp_path / "out" / "trends.csv")
    assert t[(t["metric"] == "success_rate") & (t["pair"] == "all")]["direction"].item() == "up"
    for name in ("fits.csv", "criterion.csv", "failures.csv", "curves_progress.csv",
                 "learning_curves_mice.png", "stats.json"):
        assert (tmp_path / "out" / name).is_file(), name
    png = (tmp_path / "out" / "learning_curves_mice.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 20_000
    assert json.loads((tmp_path / "out" / "stats.json").read_text())["n_sessions"] == 12


def test_bad_sessions_are_defined_and_the_rest_is_computed(tmp_path):
    rng = np.random.default_rng(5)
    root = tmp_path / "in"
    for s in (0, 1, 3):  # pair a misses day 2
        ev, b, _ = synthetic_session(rng, skill=0.5, duration_s=300)
        write_classified(root / f"a{s}", pair="a", session=s, events=ev, bouts=b,
                         duration_s=300)
    # no pokes at all
    write_classified(root / "b0", pair="b", session=0, events=pd.DataFrame(
        {"time_s": [0.0], "subject": [""], "event": ["window"], "value": [1.0]}), bouts=None,
        duration_s=300)
    # the window changes mid-session (mixed settings)
    ev, b, _ = synthetic_session(rng, skill=0.9, duration_s=300, window_s=1.0)
    ev = pd.concat([ev, pd.DataFrame({"time_s": [150.0], "subject": [""], "event": ["window"],
                                      "value": [0.1]})]).sort_values("time_s")
    write_classified(root / "b1", pair="b", session=1, events=ev, bouts=b, duration_s=300)
    # pokes by subjects that are not the session's individuals
    ev, b, _ = synthetic_session(rng, skill=0.5, duration_s=300)
    write_classified(root / "d0", pair="d", session=0, events=ev, bouts=b, duration_s=300,
                     individuals=["left", "right"])
    # broken folders: unreadable session.json, missing events.csv
    (root / "c0").mkdir()
    (root / "c0" / "session.json").write_text("{not json")
    (root / "c1").mkdir()
    (root / "c1" / "session.json").write_text(json.dumps({"pair": "c", "session": 1}))
    res = compute_stats([root], tmp_path / "out", n_shifts=200, n_boot=100, figures=False)
    s = res.sessions.set_index(["pair", "session"])
    assert np.isnan(s.loc[("b", 0), "success_rate"]) and s.loc[("b", 0), "n_pokes"] == 0
    assert "no pokes" in s.loc[("b", 0), "notes"]
    assert "misses session(s) 2" in s.loc[("a", 3), "notes"]
    assert np.isclose(s.loc[("a", 1), "progress"], 1 / 3)  # day index over the pair's span
    assert "window changed" in s.loc[("b", 1), "notes"] and s.loc[("b", 1), "window_s"] == 0.1
    tb = res.trials[(res.trials["pair"] == "b") & (res.trials["session"] == 1)]
    assert set(tb.loc[tb["time_s"] >= 150, "window_s"]) == {0.1}
    assert set(tb.loc[tb["time_s"] < 150, "window_s"]) == {1.0}
    fails = pd.read_csv(tmp_path / "out" / "failures.csv")
    assert len(fails) == 3
    assert any("not the session's individuals" in e for e in fails["error"])
    assert any("not valid JSON" in e for e in fails["error"])
    assert any("events.csv" in e for e in fails["error"])
    assert "\n" not in "".join(fails["error"])


def test_sessions_analysed_on_two_processes_give_the_same_files(tmp_path):
    # 2 processes x SESSIONS_PER_PROCESS sessions, a failing folder among them: the same
    # files, byte for byte, as in one process
    from behavtrack.learning.cohort import SESSIONS_PER_PROCESS

    rng = np.random.default_rng(8)
    root = tmp_path / "in"
    for k in range(2 * SESSIONS_PER_PROCESS):
        ev, b, _ = synthetic_session(rng, skill=0.1 + 0.05 * k, duration_s=120)
        write_classified(root / f"q{k % 3}_{k:02d}", pair=f"q{k % 3}", session=k // 3,
                         events=ev, bouts=b, duration_s=120)
    (root / "q9_99").mkdir()
    (root / "q9_99" / "session.json").write_text("{not json")
    kw = {"n_shifts": 100, "n_boot": 50}
    one = compute_stats([root], tmp_path / "one", **kw, jobs=1)
    two = compute_stats([root], tmp_path / "two", **kw, jobs=2)
    pd.testing.assert_frame_equal(one.trials, two.trials)
    names = sorted(p.name for p in (tmp_path / "one").iterdir())
    assert names == sorted(p.name for p in (tmp_path / "two").iterdir())
    for name in names:
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes()
    assert len(pd.read_csv(tmp_path / "two" / "failures.csv")) == 1


def test_no_usable_session_is_one_line_error(tmp_path):
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "session.json").write_text("[]")
    with pytest.raises(InputError, match="no usable session"):
        compute_stats([tmp_path / "x"], tmp_path / "out")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="no session folder"):
        compute_stats([tmp_path / "empty"], tmp_path / "o2")
    assert not (tmp_path / "out").exists() and not (tmp_path / "o2").exists()


def test_cli_stats(cohort, tmp_path, capsys):
    root, _ = cohort
    code = main(["-q", "stats", str(root / "p0"), str(root / "p1" / "s*"), "--out",
                 str(tmp_path / "o"), "--shifts", "200", "--boot", "100"])
    assert code == 0
    out = capsys.readouterr().out
    assert "8 sessions of 2 pairs" in out
    assert (tmp_path / "o" / "sessions.csv").is_file()
    code = main(["-q", "stats", str(tmp_path / "missing"), "--out", str(tmp_path / "o2")])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err
    assert not (tmp_path / "o2").exists()
    for option in ("--boot", "--bins", "--shifts", "--consecutive", "--episode-steps",
                   "--jobs"):
        code = main(["-q", "stats", str(root / "p0"), "--out", str(tmp_path / "o3"),
                     option, "0"])
        err = capsys.readouterr().err
        assert code == 2 and err.strip().endswith(f"{option}: must be at least 1, got 0")
        assert err.count("\n") == 1
    code = main(["-q", "stats", str(root / "p0"), "--out", str(tmp_path / "o3"),
                 "--sync-limit", "-1"])
    err = capsys.readouterr().err
    assert code == 2 and err.strip().endswith("--sync-limit: must be 0 or more, got -1")
    assert not (tmp_path / "o3").exists()
    # a list file names folders relative to itself; a binary one is a one-line error
    lst = tmp_path / "lists" / "cohort.txt"
    lst.parent.mkdir()
    rel = [os.path.relpath(root / p, lst.parent) for p in ("p0", "p1")]
    lst.write_text(f"# two pairs\n{rel[0]}\n\n{rel[1]}\n")
    code = main(["-q", "stats", str(lst), "--out", str(tmp_path / "o4"), "--shifts", "50",
                 "--boot", "50"])
    assert code == 0 and "8 sessions of 2 pairs" in capsys.readouterr().out
    (tmp_path / "bin.txt").write_bytes(b"\xff\xfe\x00")
    code = main(["-q", "stats", str(tmp_path / "bin.txt"), "--out", str(tmp_path / "o5")])
    err = capsys.readouterr().err
    assert code == 2 and "is not a text list" in err and err.count("\n") == 1
    (tmp_path / "afile").write_text("mine")
    code = main(["-q", "stats", str(root / "p0"), "--out", str(tmp_path / "afile")])
    err = capsys.readouterr().err
    assert code == 2 and "is a file, not an output folder" in err and err.count("\n") == 1
    assert (tmp_path / "afile").read_text() == "mine"
