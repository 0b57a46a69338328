"""The committed labelled examples: intact, complete, and recreated by their command."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from behavtrack.files import sha256
from behavtrack.io.bouts import BEHAVIORS
from behavtrack.io.session import load_session
from behavtrack.simulate.examples import EXAMPLES, make_labeled_examples

ROOT = Path(__file__).resolve().parents[2] / "labeled_examples"


def test_checksums_match_the_committed_files():
    lines = (ROOT / "SHA256SUMS").read_text().splitlines()
    assert len(lines) == 5 * len(EXAMPLES)  # every file but pose.h5
    for line in lines:
        digest, name = line.split("  ", 1)
        assert sha256(ROOT / name) == digest, name


def test_every_example_loads_and_all_behaviours_occur():
    folders = sorted(p for p in ROOT.iterdir() if p.is_dir())
    assert len(folders) == len(EXAMPLES)
    counts = pd.Series(0, index=list(BEHAVIORS))
    size = 0
    for folder in folders:
        s = load_session(folder)
        assert s.pose_path.name == "pose.h5" and s.labels is not None and s.events is not None
        counts = counts.add(s.labels["behavior"].value_counts(), fill_value=0)
        size += sum(f.stat().st_size for f in folder.iterdir())
    assert (counts > 500).all(), counts
    assert size < 8e6  # a few MB


def test_the_command_recreates_the_examples(tmp_path, monkeypatch):
    # recreate one early example (cheap) and compare it file by file
    import behavtrack.simulate.examples as ex

    monkeypatch.setattr(ex, "EXAMPLES", ((3, 1),))
    (folder,) = make_labeled_examples(tmp_path)
    ref = ROOT / folder.name
    for f in sorted(folder.iterdir()):
        if f.suffix == ".h5":
            a, b = pd.read_hdf(f), pd.read_hdf(ref / f.name)
            assert a.columns.equals(b.columns)
            np.testing.assert_array_equal(a.to_numpy(), b.to_numpy())
        else:
            assert f.read_bytes() == (ref / f.name).read_bytes(), f.name
