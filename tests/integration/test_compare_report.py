"""Mice vs agents: curves on one progress axis, trend agreement and a self-contained report."""

from __future__ import annotations

import base64
import re

import pandas as pd
import pytest
from _stats_helpers import synthetic_cohort

from behavtrack.cli import main
from behavtrack.compare.report import headline, trend_agreement
from behavtrack.workflows.compare import compare
from behavtrack.workflows.stats import compute_stats


@pytest.fixture(scope="module")
def mice_stats(tmp_path_factory):
    root = tmp_path_factory.mktemp("mice")
    synthetic_cohort(root / "in", 3, 5, duration_s=400, seed=2)
    compute_stats([root / "in"], root / "stats", n_shifts=200, n_boot=200, figures=False)
    return root


def test_compare_report(mice_stats, sample_data, tmp_path):
    res = compare(mice_stats / "stats", sample_data / "marl" / "rollouts_seed0.csv",
                  tmp_path / "cmp", n_boot=200, n_shifts=200)
    ag = res.agreement.set_index("metric")
    # both sides learn: success rises with progress for mice and agents
    assert ag.loc["success_rate", "rho_mice"] > 0.5
    assert ag.loc["success_rate", "rho_agents"] > 0.5
    assert ag.loc["success_rate", "sign_agree"] and ag.loc["success_rate", "curve_r"] > 0.5
    # ... but the agents have 3 checkpoints: too few for a trend test, so no agreement is
    # claimed, and the headline says why
    assert ag.loc["success_rate", "points_agents"] == 3
    assert not ag["testable"].any() and not ag["agree"].any()
    assert ag.loc["success_rate", "verdict"].startswith("no power")
    assert res.headline.startswith("Trends are not compared") and not res.testable
    assert "agents have 3 progress points" in res.headline and "no power" in res.headline
    # curves are on progress bins in 0..1 for both sources
    c = res.curves
    assert set(c["source"]) == {"mice", "agents"}
    assert c["x"].between(0, 1).all()
    mice_sr = c[(c["source"] == "mice") & (c["metric"] == "success_rate")]
    assert len(mice_sr) == 5
    page = res.report.read_text()
    assert "data:image/png;base64," in page
    assert not re.search(r"""(src|href)=["']?(https?:|//|file:)""", page)
    assert "<script" not in page and "<link" not in page
    assert "Agreement of trends" in page and "success_rate" in page
    png = (tmp_path / "cmp" / "compare.png").read_bytes()
    assert png[:4] == b"\x89PNG"
    # the report embeds that same figure
    assert f"data:image/png;base64,{base64.b64encode(png).decode('ascii')}" in page
    saved = pd.read_csv(tmp_path / "cmp" / "agreement.csv")
    assert saved["metric"].tolist() == res.agreement["metric"].tolist()


def test_cli_compare_and_bad_input(mice_stats, sample_data, tmp_path, capsys):
    code = main(["-q", "compare", "--mice", str(mice_stats / "stats"), "--agents",
                 str(sample_data / "marl"), "--out", str(tmp_path / "c"), "--boot", "100",
                 "--shifts", "100"])
    assert code == 0 and (tmp_path / "c" / "report.html").is_file()
    out = capsys.readouterr().out
    assert "Trends are not compared" in out and "no power" in out and "agree on" not in out
    # agents given where mice are expected: a one-line error, nothing written
    code = main(["-q", "compare", "--mice", str(sample_data / "marl"), "--agents",
                 str(sample_data / "marl"), "--out", str(tmp_path / "bad")])
    err = capsys.readouterr().err
    assert code == 2 and "no mice sessions" in err and err.count("\n") == 1
    assert not (tmp_path / "bad").exists()
    code = main(["-q", "compare", "--mice", str(mice_stats / "stats"), "--agents",
                 str(sample_data / "marl"), "--out", str(tmp_path / "bad"), "--bins", "0"])
    err = capsys.readouterr().err
    assert code == 2 and "--bins: must be at least 1" in err and err.count("\n") == 1
    assert not (tmp_path / "bad").exists()
    # no usable mouse session: the error says why
    (tmp_path / "broken" / "s1").mkdir(parents=True)
    (tmp_path / "broken" / "s1" / "session.json").write_text("[]")
    code = main(["-q", "compare", "--mice", str(tmp_path / "broken"), "--agents",
                 str(sample_data / "marl"), "--out", str(tmp_path / "bad")])
    err = capsys.readouterr().err
    assert code == 2 and "must hold a JSON object" in err and err.count("\n") == 1
    assert not (tmp_path / "bad").exists()
    (tmp_path / "afile").write_text("mine")
    code = main(["-q", "compare", "--mice", str(mice_stats / "stats"), "--agents",
                 str(sample_data / "marl"), "--out", str(tmp_path / "afile")])
    err = capsys.readouterr().err
    assert code == 2 and "is a file, not an output folder" in err and err.count("\n") == 1
    assert (tmp_path / "afile").read_text() == "mine"


def test_mice_analysed_on_the_spot_on_two_processes_give_the_same_files(sample_data, tmp_path,
                                                                      capsys, monkeypatch):
    # classify folders (not a stats output): their sessions are analysed here, on 2
    # processes of SESSIONS_PER_PROCESS sessions: the same files, byte for byte
    from behavtrack.learning import cohort
    from behavtrack.learning.cohort import SESSIONS_PER_PROCESS

    forked = []

    def fork_map(fn, items, workers):  # the real one, its process count recorded
        forked.append(workers)
        return real_fork_map(fn, items, workers)

    real_fork_map = cohort.fork_map
    monkeypatch.setattr(cohort, "fork_map", fork_map)

    synthetic_cohort(tmp_path / "in", 2, SESSIONS_PER_PROCESS, duration_s=120, seed=4)
    agents = sample_data / "marl" / "rollouts_seed0.csv"
    kw = {"n_boot": 50, "n_shifts": 50}
    one = compare(tmp_path / "in", agents, tmp_path / "one", **kw, jobs=1)
    assert forked == []
    two = compare(tmp_path / "in", agents, tmp_path / "two", **kw, jobs=2)
    assert forked == [2] and len(one.mice) == 2 * SESSIONS_PER_PROCESS
    pd.testing.assert_frame_equal(one.mice, two.mice)
    names = sorted(p.name for p in (tmp_path / "one").iterdir())
    assert names == sorted(p.name for p in (tmp_path / "two").iterdir())
    for name in names:
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes()
    code = main(["-q", "compare", "--mice", str(tmp_path / "in"), "--agents", str(agents),
                 "--out", str(tmp_path / "bad"), "--jobs", "0"])
    err = capsys.readouterr().err
    assert code == 2 and err.strip().endswith("--jobs: must be at least 1, got 0")
    assert err.count("\n") == 1 and not (tmp_path / "bad").exists()


def _as_agents(sessions: pd.DataFrame) -> pd.DataFrame:
    """A mice sessions table relabelled as agent checkpoints (one run per pair)."""
    out = sessions.copy()
    out["source"] = "agents"
    out["pair"] = "run-" + out["pair"].astype(str)
    return out


def test_agreement_is_claimed_only_with_five_progress_points(mice_stats, tmp_path):
    """Regression (issue 14): 'trends agree on 7 of 10 metrics' from 3 agent checkpoints."""
    sessions = pd.read_csv(mice_stats / "stats" / "sessions.csv")
    assert sessions["progress"].nunique() == 5
    _as_agents(sessions).to_csv(tmp_path / "sessions.csv", index=False)
    res = compare(mice_stats / "stats", tmp_path / "sessions.csv", tmp_path / "cmp",
                  n_boot=100)
    ag = res.agreement.set_index("metric")
    assert res.testable and ag["testable"].all()
    assert ag.loc["success_rate", "points_mice"] == ag.loc["success_rate", "points_agents"] == 5
    assert bool(ag.loc["success_rate", "agree"]) and ag.loc["success_rate", "verdict"] == "agree"
    assert res.headline == f"Trends agree on {int(ag['agree'].sum())} of {len(ag)} metrics."
    # four progress points on one side: not testable again
    few = _as_agents(sessions[sessions["progress"] < 1.0])
    agreement = trend_agreement(res.mice, few, res.curves, ["success_rate"])
    assert not agreement["testable"].any() and not agreement["agree"].any()
    assert "agents have 4 progress points" in headline(agreement, res.mice, few)


def test_figure_panels_carry_table_names_and_units(mice_stats, sample_data):
    """Regression (issue 14): unlabelled twin axes, no units, titles unlike the table names."""
    from behavtrack.compare.report import COMPARE_METRICS, compare_figure, load_side
    from behavtrack.learning.curves import bin_progress, learning_curves

    mice = load_side(mice_stats / "stats", "mice")
    agents = load_side(sample_data / "marl", "agents", n_shifts=50)
    metrics = [m for m in COMPARE_METRICS if m in mice and m in agents]
    both = pd.concat([mice, agents], ignore_index=True)
    both["progress_bin"] = bin_progress(both["progress"], 5)
    curves = learning_curves(both, metrics, x="progress_bin", n_boot=50)
    fig = compare_figure(mice, agents, curves, metrics)
    panels = [ax for ax in fig.axes if ax.get_title()]
    assert [ax.get_title().splitlines()[0] for ax in panels] == metrics
    for ax in fig.axes:  # every axis, twins included, says what it shows and in what unit
        if not ax.get_visible():
            continue
        label = ax.get_ylabel()
        assert label and "(" in label and label.endswith(")"), (ax.get_title(), label)
    by_title = {ax.get_title().splitlines()[0]: ax for ax in panels}
    assert by_title["waited_frac"].get_ylabel() == \
        "pokes after waiting (fraction of pokes, 0-1)"
    twins = [ax for ax in fig.axes if not ax.get_title() and ax.get_visible()]
    assert twins and all(ax.get_ylabel().startswith("agents: ") for ax in twins)
    assert by_title["pokes_per_min"].get_ylabel() == "mice: pokes per min (pokes / min)"
    assert any(ax.get_ylabel() == "agents: pokes per min (pokes / 60 steps)" for ax in twins)
    assert all("progress" in ax.get_xlabel() for ax in panels)


@pytest.fixture(scope="module")
def simulated(tmp_path_factory):
    """Two days of one simulated pair, never classified (bouts.csv is the truth)."""
    from behavtrack.simulate.write import write_cohort

    root = tmp_path_factory.mktemp("sim") / "sim"
    write_cohort(root, 1, 2, duration_s=20.0, seed=3, pose_formats=("pose.h5",))
    return root


def test_stats_and_compare_say_the_mice_are_simulated_and_use_truth_bouts(
        simulated, sample_data, tmp_path, capsys):
    """Regression (issue 14): unclassified simulated folders used their truth in silence."""
    assert main(["-q", "stats", str(simulated), "--out", str(tmp_path / "st"),
                 "--shifts", "50", "--boot", "50"]) == 0
    out = capsys.readouterr().out
    assert "simulated" in out and "simulator's truth bouts" in out
    sessions = pd.read_csv(tmp_path / "st" / "sessions.csv")
    assert set(sessions["data"]) == {"simulated"} and set(sessions["bouts_source"]) == {"truth"}
    assert sessions["notes"].str.contains("truth bouts").all()
    assert main(["-q", "compare", "--mice", str(simulated), "--agents",
                 str(sample_data / "marl"), "--out", str(tmp_path / "c"), "--boot", "50",
                 "--shifts", "50"]) == 0
    out = capsys.readouterr().out
    assert "simulator's truth bouts" in out
    page = (tmp_path / "c" / "report.html").read_text(encoding="utf-8")
    assert "SIMULATED" in page and "TRUTH bouts" in page
    assert (tmp_path / "c" / "ethograms.png").is_file()
    assert "Ethograms of a few sessions" in page
    assert "the simulator&#x27;s TRUTH bouts (not classified)" not in page  # in the PNG only
    assert "no power" in page
