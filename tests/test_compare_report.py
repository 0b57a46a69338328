"""Mice vs agents: curves on one progress axis, trend agreement and a self-contained report."""

from __future__ import annotations

import base64
import re

import pandas as pd
import pytest
from _stats_helpers import synthetic_cohort

from behavtrack.cli import main
from behavtrack.compare.report import compare
from behavtrack.learning import compute_stats


@pytest.fixture(scope="module")
def mice_stats(tmp_path_factory):
    root = tmp_path_factory.mktemp("mice")
    synthetic_cohort(root / "in", 3, 5, duration_s=400, seed=2)
    compute_stats([root / "in"], root / "stats", n_shifts=200, n_boot=200, quiet=True,
                  figures=False)
    return root


def test_compare_report(mice_stats, shared_data, tmp_path):
    res = compare(mice_stats / "stats", shared_data / "marl" / "rollouts_seed0.csv",
                  tmp_path / "cmp", n_boot=200, n_shifts=200, quiet=True)
    ag = res.agreement.set_index("metric")
    # both sides learn: success rises with progress for mice and agents
    assert ag.loc["success_rate", "rho_mice"] > 0.5
    assert ag.loc["success_rate", "rho_agents"] > 0.5
    assert ag.loc["success_rate", "sign_agree"] and ag.loc["success_rate", "curve_r"] > 0.5
    assert bool(ag.loc["success_rate", "agree"])
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


def test_cli_compare_and_bad_input(mice_stats, shared_data, tmp_path, capsys):
    code = main(["-q", "compare", "--mice", str(mice_stats / "stats"), "--agents",
                 str(shared_data / "marl"), "--out", str(tmp_path / "c"), "--boot", "100",
                 "--shifts", "100"])
    assert code == 0 and (tmp_path / "c" / "report.html").is_file()
    assert "trends agree on" in capsys.readouterr().out
    # agents given where mice are expected: a one-line error, nothing written
    code = main(["-q", "compare", "--mice", str(shared_data / "marl"), "--agents",
                 str(shared_data / "marl"), "--out", str(tmp_path / "bad")])
    err = capsys.readouterr().err
    assert code == 2 and "no mice sessions" in err and err.count("\n") == 1
    assert not (tmp_path / "bad").exists()
    code = main(["-q", "compare", "--mice", str(mice_stats / "stats"), "--agents",
                 str(shared_data / "marl"), "--out", str(tmp_path / "bad"), "--bins", "0"])
    err = capsys.readouterr().err
    assert code == 2 and "--bins: must be at least 1" in err and err.count("\n") == 1
    assert not (tmp_path / "bad").exists()
    # no usable mouse session: the error says why
    (tmp_path / "broken" / "s1").mkdir(parents=True)
    (tmp_path / "broken" / "s1" / "session.json").write_text("[]")
    code = main(["-q", "compare", "--mice", str(tmp_path / "broken"), "--agents",
                 str(shared_data / "marl"), "--out", str(tmp_path / "bad")])
    err = capsys.readouterr().err
    assert code == 2 and "must hold a JSON object" in err and err.count("\n") == 1
    assert not (tmp_path / "bad").exists()
    (tmp_path / "afile").write_text("mine")
    code = main(["-q", "compare", "--mice", str(mice_stats / "stats"), "--agents",
                 str(shared_data / "marl"), "--out", str(tmp_path / "afile")])
    err = capsys.readouterr().err
    assert code == 2 and "is a file, not an output folder" in err and err.count("\n") == 1
    assert (tmp_path / "afile").read_text() == "mine"
