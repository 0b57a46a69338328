import json

import matplotlib.image as mpimg
import numpy as np
import pandas as pd
import pytest

from behavtrack.export import (
    binary_table,
    decimal_strings,
    ethogram_table,
    plot_ethogram,
    write_binary,
    write_binary_csv,
    write_ethogram,
    write_ethogram_csv,
    write_provenance,
)
from behavtrack.export.provenance import file_record
from behavtrack.export.raster import BEHAVIOR_COLORS
from behavtrack.files import sha256


def _labels():
    a = np.array(["other"] * 5 + ["waiting"] * 3 + ["approach"] * 2, dtype=object)
    b = np.array(["interaction"] * 4 + ["other"] * 6, dtype=object)
    p = np.tile([0.1, 0.2, 0.3, 0.4], (10, 1))
    return {"mouse1": a, "mouse2": b}, {"mouse1": p, "mouse2": p[::-1]}


def test_ethogram_and_binary_tables_roundtrip(tmp_path):
    labels, proba = _labels()
    eth = ethogram_table(labels, proba, fps=10.0)
    write_ethogram_csv(eth, tmp_path / "ethogram.csv")
    back = pd.read_csv(tmp_path / "ethogram.csv")
    assert list(back.columns) == ["frame", "time_s", "individual", "behavior", "p_approach",
                                  "p_waiting", "p_interaction", "p_other"]
    assert back["behavior"].tolist() == list(labels["mouse1"]) + list(labels["mouse2"])
    np.testing.assert_allclose(back["time_s"][:10], np.arange(10) / 10.0)
    np.testing.assert_allclose(back[["p_approach", "p_waiting"]].iloc[0], [0.1, 0.2])
    binary = binary_table(labels, fps=10.0)
    write_binary_csv(binary, tmp_path / "binary.csv")
    b = pd.read_csv(tmp_path / "binary.csv")
    assert b.columns[0] == "time" and len(b.columns) == 1 + 2 * 4
    assert b["mouse1|waiting"].tolist() == [0] * 5 + [1] * 3 + [0] * 2
    assert (b.filter(like="mouse2|").sum(axis=1) == 1).all()  # exactly one behaviour per frame


@pytest.mark.parametrize("n", [0, 1, 10])
def test_block_writers_write_the_bytes_of_the_whole_tables(tmp_path, n):
    labels, proba = _labels()
    labels = {k: v[:n] for k, v in labels.items()}
    proba = {k: v[:n].copy() for k, v in proba.items()}
    if n:
        proba["mouse2"][n // 2] = np.nan  # an untracked frame: empty cells
    for name, whole, blocks in [
        ("ethogram", lambda p: write_ethogram_csv(ethogram_table(labels, proba, 10.0), p),
         lambda p: write_ethogram(labels, proba, 10.0, p, block_frames=3)),
        ("binary", lambda p: write_binary_csv(binary_table(labels, 10.0), p),
         lambda p: write_binary(labels, 10.0, p, block_frames=3)),
    ]:
        whole(tmp_path / f"{name}_whole.csv")
        blocks(tmp_path / f"{name}_blocks.csv")
        assert (tmp_path / f"{name}_blocks.csv").read_bytes() == \
            (tmp_path / f"{name}_whole.csv").read_bytes()
    write_ethogram({}, {}, 10.0, tmp_path / "none.csv")  # no individual: the header alone
    assert (tmp_path / "none.csv").read_text().strip() == \
        "frame,time_s,individual,behavior,p_approach,p_waiting,p_interaction,p_other"


@pytest.mark.parametrize("decimals", range(7))
def test_decimal_strings_are_the_text_pandas_writes(decimals):
    rng = np.random.default_rng(decimals)
    x = np.concatenate([rng.random(20_000), rng.random(2_000) * 1e-3, rng.random(2_000) * 2e4,
                        np.arange(20_000) / 29.97, np.arange(5_000) / 7.5,
                        [np.nan, -0.0, -1e-20, 1e-20, -3.5, 1e12, 5e8, 1 - 1e-17, np.inf,
                         -np.inf, 5e-5, 1.5e-4, 2.5, 3.5, 1e-4, 0.99995e-4, 0.99995]])
    for values in (x, x[:0], x[rng.random(len(x)) < 0.5]):
        expected = pd.DataFrame({"x": np.round(values, decimals), "y": 0}).to_csv(
            index=False, header=False)
        got = "".join(f"{t},0\n" for t in decimal_strings(values, decimals))
        assert got == expected
    with pytest.raises(ValueError, match="decimals"):
        decimal_strings(x, 7)


def test_block_writers_quote_names_as_pandas_does(tmp_path):
    labels, proba = _labels()
    labels = {"mouse,1": labels["mouse1"], 'say "2"': labels["mouse2"]}
    proba = {"mouse,1": proba["mouse1"], 'say "2"': proba["mouse2"]}
    write_ethogram(labels, proba, 10.0, tmp_path / "e.csv", block_frames=4)
    write_ethogram_csv(ethogram_table(labels, proba, 10.0), tmp_path / "e_whole.csv")
    assert (tmp_path / "e.csv").read_bytes() == (tmp_path / "e_whole.csv").read_bytes()
    assert '"mouse,1"' in (tmp_path / "e.csv").read_text()
    write_binary(labels, 10.0, tmp_path / "b.csv", block_frames=4)
    write_binary_csv(binary_table(labels, 10.0), tmp_path / "b_whole.csv")
    assert (tmp_path / "b.csv").read_bytes() == (tmp_path / "b_whole.csv").read_bytes()


def test_raster_png_and_provenance(tmp_path):
    labels, _ = _labels()
    png = plot_ethogram(labels, 10.0, tmp_path / "ethogram.png", title="t")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # each behaviour's colour covers area in proportion to its frames: mouse1 is 5 other,
    # 3 waiting, 2 approach; mouse2 4 interaction, 6 other (plus one legend patch each)
    img = (mpimg.imread(png)[..., :3] * 255).round().astype(int)
    area = {b: int((np.abs(img - [int(c[i:i + 2], 16) for i in (1, 3, 5)]).sum(-1) == 0).sum())
            for b, c in BEHAVIOR_COLORS.items()}
    frame = area["waiting"] - area["approach"]  # the area of one frame of one row
    assert frame > 0
    assert (area["interaction"] - area["approach"]) / frame == pytest.approx(2.0, rel=0.05)
    assert (area["other"] - area["approach"]) / frame == pytest.approx(9.0, rel=0.05)
    src = tmp_path / "pose.csv"
    src.write_text("x\n1\n")
    write_provenance(tmp_path / "provenance.json", inputs={"pose": file_record(src),
                     "events": None}, model={"path": None}, parameters={"fps": 10.0},
                     notes=["n"])
    prov = json.loads((tmp_path / "provenance.json").read_text())
    assert prov["inputs"]["pose"]["sha256"] == sha256(src)
    assert prov["inputs"]["pose"]["bytes"] == 4 and prov["notes"] == ["n"]
    assert not list(tmp_path.glob(".*"))  # no temporary files left behind
