"""The in-memory API: ``import behavtrack as bt`` in a notebook, nothing written."""

import doctest
from pathlib import Path

import numpy as np
import pytest

import behavtrack as bt
import behavtrack.strategies.frames as frames

SOCIAL = Path(__file__).resolve().parents[1] / "data" / "social" / "123521-124106"


def test_every_api_name_resolves_and_is_documented():
    for name in bt._API:
        obj = getattr(bt, name)
        assert callable(obj) and obj.__doc__, name
    with pytest.raises(AttributeError):
        bt.no_such_function  # noqa: B018


def test_api_examples_run_as_doctests():
    result = doctest.testmod(frames, optionflags=doctest.ELLIPSIS)
    assert result.attempted >= 5 and result.failed == 0


def test_classify_a_real_pose_in_memory_then_bouts(tmp_path):
    pose = bt.load_pose(SOCIAL / "pose_dlc.csv", fps=30)
    labels = bt.classify(pose)
    assert any("social" in n for n in labels.attrs["notes"])
    assert list(labels.columns) == frames.LABEL_COLUMNS
    assert len(labels) == 2 * 1500 and (labels["behavior"] == "interaction").any()
    adult = labels[labels["individual"] == "adult"]
    np.testing.assert_allclose(adult[["p_interaction", "p_other"]].sum(axis=1), 1, atol=1e-3)
    bouts = bt.bouts_from_labels(labels)
    assert set(bouts["individual"]) == {"adult", "juvenile"}
    assert bouts.groupby("individual")["stop_frame"].max().tolist() == [1500, 1500]
    assert not list(tmp_path.iterdir())  # nothing written anywhere we look
    with pytest.raises(bt.InputError, match="must be a pose Dataset or a feature table"):
        bt.classify([1, 2, 3])
