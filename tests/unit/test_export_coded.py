"""Coded labels (``behavtrack.export.coded``): what a classify run's spare process writes from."""

import doctest
import pickle

import numpy as np

from behavtrack.export import coded as coded_module
from behavtrack.export import plot_ethogram, write_binary
from behavtrack.export.coded import (
    code_labels,
    decode_labels,
    draw_ethogram_coded,
    write_binary_coded,
)


def _labels():
    rng = np.random.default_rng(0)
    names = np.array(["approach", "waiting", "interaction", "other"], dtype=object)
    return {"mouse1": names[rng.integers(0, 4, 500)],
            "mouse2": names[rng.integers(1, 4, 500)]}  # no approach: absent names are fine


def test_codes_are_one_byte_a_frame_and_decode_to_the_labels():
    labels = _labels()
    codes, names = code_labels(labels)
    assert names.tolist() == ["approach", "interaction", "other", "waiting"]
    assert all(c.dtype == np.uint8 and len(c) == 500 for c in codes.values())
    back = decode_labels(*pickle.loads(pickle.dumps((codes, names))))  # as sent
    assert list(back) == ["mouse1", "mouse2"]
    for ind, lab in labels.items():
        assert back[ind].tolist() == lab.tolist()


def test_codes_of_no_frames_and_of_one_name():
    codes, names = code_labels({"m": np.array([], dtype=object)})
    assert names.tolist() == [] and decode_labels(codes, names)["m"].tolist() == []
    codes, names = code_labels({"m": np.array(["other"] * 3, dtype=object)})
    assert codes["m"].tolist() == [0, 0, 0] and names.tolist() == ["other"]


def test_outputs_from_codes_are_the_bytes_of_the_labels_writers(tmp_path):
    labels = _labels()
    codes, names = code_labels(labels)
    draw_ethogram_coded(codes, names, 30.0, tmp_path / "a.png", title="s1")
    plot_ethogram(labels, 30.0, tmp_path / "b.png", title="s1")
    assert (tmp_path / "a.png").read_bytes() == (tmp_path / "b.png").read_bytes()
    write_binary_coded(codes, names, 30.0, tmp_path / "a.csv")
    write_binary(labels, 30.0, tmp_path / "b.csv")
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()


def test_the_examples_run_as_doctests():
    result = doctest.testmod(coded_module)
    assert result.attempted >= 1 and result.failed == 0
