"""load_pose / save_pose / aliases checked against values read independently from the files."""

from __future__ import annotations

import csv
import json
import os
import shutil

import h5py
import numpy as np
import pandas as pd
import pytest

from behavtrack.errors import InputError
from behavtrack.io import aliases as aliases_mod
from behavtrack.io.aliases import canonical_name, canonical_names, register_aliases
from behavtrack.io.arena import default_arena
from behavtrack.io.pose import (
    load_pose,
    pose_length,
    reads_by_frames,
    require_fps,
    require_individuals,
    require_keypoints,
    save_pose,
)


def _dlc_csv_table(path):
    """Header rows and float body of a DLC CSV, read with the csv module."""
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    n_header = next(i for i, r in enumerate(rows) if r[0] == "coords") + 1
    header = {r[0]: r[1:] for r in rows[:n_header]}
    body = np.array([[float(v) if v != "" else np.nan for v in r[1:]] for r in rows[n_header:]])
    return header, body


def test_openfield_dlc_csv_values(sample_data):
    path = sample_data / "video/openfield/m3v1mp4_dlc_predictions.csv"
    header, body = _dlc_csv_table(path)
    ds = load_pose(path, fps=30)
    assert ds.attrs["fps"] == 30.0
    assert ds.attrs["source_file"] == str(path)
    assert list(ds.keypoint.values) == ["nose", "left_ear", "right_ear", "tail_base"]
    assert json.loads(ds.attrs["renamed_keypoints"])["snout"] == "nose"
    n = body.shape[0]  # the first 451 frames of the real video (tests/data/README.md)
    assert ds.sizes["time"] == n == 451
    np.testing.assert_allclose(ds.time.values, np.arange(n) / 30.0)
    originals = ["snout", "leftear", "rightear", "tailbase"]
    canon = ["nose", "left_ear", "right_ear", "tail_base"]
    for orig, name in zip(originals, canon, strict=True):
        cols = [i for i, bp in enumerate(header["bodyparts"]) if bp == orig]
        coords = [header["coords"][i] for i in cols]
        x = body[:, cols[coords.index("x")]]
        y = body[:, cols[coords.index("y")]]
        lk = body[:, cols[coords.index("likelihood")]]
        sel = ds.sel(keypoint=name, individual=ds.individual.values[0])
        np.testing.assert_allclose(sel.position.sel(space="x").values, x)
        np.testing.assert_allclose(sel.position.sel(space="y").values, y)
        np.testing.assert_allclose(sel.confidence.values, lk)


def test_multi_animal_dlc_csv_values(sample_data):
    path = sample_data / "pose/mouse_multi.csv"
    header, body = _dlc_csv_table(path)
    ds = load_pose(path)
    assert ds.attrs["fps"] is None and ds.attrs["time_unit"] == "frames"
    individuals = list(dict.fromkeys(header["individuals"]))
    assert list(ds.individual.values) == individuals
    for ind in individuals:
        cols = [i for i, (iv, bp, c) in enumerate(zip(header["individuals"], header["bodyparts"],
                                                      header["coords"], strict=True))
                if iv == ind and bp == "tailbase" and c == "x"]
        np.testing.assert_allclose(
            ds.position.sel(individual=ind, keypoint="tail_base", space="x").values,
            body[:, cols[0]],
        )


def test_sleap_analysis_values(sample_data):
    path = sample_data / "pose/SLEAP_single-mouse_EPM.analysis.h5"
    with h5py.File(path, "r") as f:
        tracks = f["tracks"][()]  # (tracks, 2, nodes, frames)
        nodes = [n.decode() for n in f["node_names"][()]]
    ds = load_pose(path, fps=30)
    expected = [canonical_name(n) for n in nodes]
    assert list(ds.keypoint.values) == expected
    assert "nose" in expected and "centroid" in expected  # snout, centre
    want = np.transpose(tracks, (3, 1, 2, 0))  # frames, space, nodes, tracks
    np.testing.assert_allclose(ds.position.values, want, equal_nan=True)
    assert ds.time.values[-1] == pytest.approx((tracks.shape[-1] - 1) / 30)


def test_reaching_dlc_h5_with_python2_pickled_metadata(sample_data):
    path = sample_data / "pose/reachingDEMO_2D.h5"
    with h5py.File(path, "r") as f:
        raw = f["df_with_missing/table"]["values_block_0"]  # (100, 33 * 3): frames cut
    ds = load_pose(path)
    assert ds.sizes["keypoint"] == 33 and ds.sizes["time"] == 100
    xyl = raw.reshape(100, 33, 3)
    np.testing.assert_allclose(ds.position.sel(space="x").values[:, :, 0], xyl[:, :, 0])
    np.testing.assert_allclose(ds.position.sel(space="y").values[:, :, 0], xyl[:, :, 1])
    np.testing.assert_allclose(ds.confidence.values[:, :, 0], xyl[:, :, 2])
    # the names come from the pickled column list, decoded without any global
    ref = pd.read_hdf(path, "df_with_missing")
    names = list(dict.fromkeys(ref.columns.get_level_values("bodyparts")))
    assert list(ds.keypoint.values) == canonical_names(names)


def test_slp_and_old_layout_and_centroids(sample_data):
    from movement.io import load_dataset

    for name in ("flies_centered_pair_predictions.slp", "flies_two_old_layout.analysis.h5",
                 "SLEAP_three-mice_Aeon_mixed-labels.analysis.h5"):
        path = sample_data / "pose" / name
        ds = load_pose(path)
        ref = load_dataset(path, source_software="SLEAP")
        np.testing.assert_allclose(ds.position.values, ref.position.values, equal_nan=True)
        assert ds.sizes["individual"] >= 2


def test_fps_sources(sample_data, tmp_path):
    path = sample_data / "pose/mouse_single.csv"
    ds = load_pose(path)
    assert ds.attrs["fps"] is None
    with pytest.raises(InputError, match="frame rate is unknown"):
        require_fps(ds)
    arena = default_arena()
    ds = load_pose(path, arena=arena)
    assert ds.attrs["fps"] == arena.fps == 30.0
    np.testing.assert_allclose(ds.time.values, np.arange(ds.sizes["time"]) / 30.0)
    ds = load_pose(path, fps=50, arena=arena)  # the argument wins
    assert require_fps(ds) == 50.0
    with pytest.raises(InputError, match="positive"):
        load_pose(path, fps=-1)


def test_aliases_table_and_extensions():
    assert canonical_name("Snout") == "nose"
    assert canonical_name("Tail_base") == canonical_name("TailBase") == "tail_base"
    assert canonical_name("tail-start") == "tail_base"
    assert canonical_name("body centre") == canonical_name("Centroid") == "centroid"
    assert canonical_name("EarL") == canonical_name("ear_left") == "left_ear"
    assert canonical_name("wingL") == "wingL"
    assert canonical_name("head", aliases={"Head": "nose"}) == "nose"
    assert canonical_names(["nose", "snout", "tailbase"]) == ["nose", "snout", "tail_base"]
    saved = dict(aliases_mod.ALIASES)
    try:
        register_aliases({"Neck-Base": "centroid"})
        assert canonical_name("neck_base") == "centroid"
    finally:
        aliases_mod.ALIASES.clear()
        aliases_mod.ALIASES.update(saved)


def test_load_pose_user_aliases(sample_data):
    ds = load_pose(sample_data / "pose/mouse_multi.csv", aliases={"spine2": "centroid"})
    assert "centroid" in ds.keypoint.values and "spine2" not in ds.keypoint.values
    require_keypoints(ds, ["nose", "left_ear", "right_ear", "centroid", "tail_base"])


def test_require_keypoints_and_individuals(sample_data):
    ds = load_pose(sample_data / "pose/SLEAP_three-mice_Aeon_mixed-labels.analysis.h5")
    with pytest.raises(InputError) as exc:
        require_keypoints(ds, ["nose", "centroid"])
    msg = str(exc.value)
    assert "'nose'" in msg and "Aeon" in msg and "\n" not in msg and "aliases=" in msg
    require_individuals(ds, min_count=3)
    with pytest.raises(InputError, match="no individual 'mouse1'"):
        require_individuals(ds, ["mouse1"])


@pytest.mark.parametrize("name", ["pose.h5", "pose.csv", "pose.analysis.h5"])
def test_save_pose_round_trip(sample_data, tmp_path, name):
    ds = load_pose(sample_data / "pose/mouse_multi.csv", fps=25)
    out = save_pose(ds, tmp_path / name)
    assert out.is_file()
    sidecar = ["pose.pose.json"] if name.endswith(".csv") else []  # the CSV's frame rate
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([name, *sidecar])  # no temp
    back = load_pose(out)  # the frame rate went with the file
    assert back.attrs["fps"] == 25.0
    assert back.attrs["fps_source"] == ("sidecar" if sidecar else "file")
    assert list(back.keypoint.values) == list(ds.keypoint.values)
    assert list(back.individual.values) == list(ds.individual.values)
    np.testing.assert_allclose(back.position.values, ds.position.values, equal_nan=True)
    np.testing.assert_allclose(back.confidence.values, ds.confidence.values, equal_nan=True)


def test_save_pose_rejects_unknown_extension(sample_data, tmp_path):
    ds = load_pose(sample_data / "pose/mouse_single.csv")
    with pytest.raises(InputError, match="cannot write"):
        save_pose(ds, tmp_path / "pose.json")
    assert not list(tmp_path.iterdir())


# ---- bad input --------------------------------------------------------------------------
def test_missing_file(tmp_path):
    with pytest.raises(InputError, match="no such pose file"):
        load_pose(tmp_path / "nope.h5")


def test_unknown_format(tmp_path):
    p = tmp_path / "pose.txt"
    p.write_text("hello\n")
    with pytest.raises(InputError, match="unknown pose format"):
        load_pose(p)


def test_truncated_hdf5(sample_data, tmp_path):
    for name in ("SLEAP_single-mouse_EPM.analysis.h5", "reachingDEMO_2D.h5"):
        src = sample_data / "pose" / name
        dst = tmp_path / name
        data = src.read_bytes()
        dst.write_bytes(data[: len(data) // 3])
        with pytest.raises(InputError) as exc:
            load_pose(dst)
        assert str(exc.value).startswith(str(dst)) and "\n" not in str(exc.value)
        assert "truncated" in str(exc.value) or "not a valid" in str(exc.value)


def test_csv_that_is_not_a_pose(tmp_path):
    p = tmp_path / "table.csv"
    p.write_text("a,b,c\n1,2,3\n")
    with pytest.raises(InputError, match="is not a pose file"):
        load_pose(p)


def test_hdf5_that_is_not_a_pose(tmp_path):
    p = tmp_path / "other.h5"
    with h5py.File(p, "w") as f:
        f["x"] = np.arange(3)
    with pytest.raises(InputError, match="neither a DeepLabCut table nor a SLEAP"):
        load_pose(p)


def test_no_individuals(sample_data, tmp_path):
    src = sample_data / "pose/SLEAP_three-mice_Aeon_mixed-labels.analysis.h5"
    dst = tmp_path / "empty.analysis.h5"
    shutil.copy(src, dst)
    with h5py.File(dst, "r+") as f:
        n_frames = f["tracks"].shape[-1]
        n_nodes = f["tracks"].shape[2]
        del f["tracks"], f["track_names"], f["track_occupancy"], f["point_scores"]
        f["tracks"] = np.zeros((0, 2, n_nodes, n_frames))
        f["track_names"] = np.array([], dtype="S1")
        f["track_occupancy"] = np.zeros((n_frames, 0), dtype=np.uint8)
        f["point_scores"] = np.zeros((0, n_nodes, n_frames))
    with pytest.raises(InputError) as exc:
        load_pose(dst)
    assert str(exc.value).startswith(str(dst)) and "holds no individuals" in str(exc.value)


def test_nwb_fps_from_file(sample_data, tmp_path):
    import pynwb
    from movement.io import save_poses

    ds = load_pose(sample_data / "pose/mouse_single.csv", fps=25)
    path = tmp_path / "pose.nwb"
    with pynwb.NWBHDF5IO(str(path), "w") as io:
        io.write(save_poses.to_nwb_file(ds))
    back = load_pose(path)
    assert back.attrs["fps"] == 25.0 and back.attrs["time_unit"] == "seconds"
    np.testing.assert_allclose(back.time.values, np.arange(ds.sizes["time"]) / 25.0)
    np.testing.assert_allclose(back.position.sel(keypoint=ds.keypoint.values).values,
                               ds.position.values, equal_nan=True)
    assert load_pose(path, fps=50).time.values[1] == pytest.approx(0.02)  # argument wins


def test_anipose_csv(tmp_path):
    rng = np.random.default_rng(1)
    n = 6
    cols = {"fnum": np.arange(n)}
    for part in ("Snout", "TailBase"):
        for s in ("x", "y", "z", "error", "score", "ncams"):
            cols[f"{part}_{s}"] = rng.random(n)
    for c in ["center_0", "center_1", "center_2"] + [f"M_{i}{j}" for i in range(3)
                                                       for j in range(3)]:
        cols[c] = 0.0
    path = tmp_path / "anipose.csv"
    pd.DataFrame(cols).to_csv(path, index=False)
    ds = load_pose(path, fps=100)
    assert list(ds.keypoint.values) == ["nose", "tail_base"]
    np.testing.assert_allclose(ds.position.sel(keypoint="nose", space="z").values[:, 0],
                               cols["Snout_z"])
    np.testing.assert_allclose(ds.confidence.sel(keypoint="tail_base").values[:, 0],
                               cols["TailBase_score"])


def test_rollout_file_is_not_a_pose(sample_data):
    with pytest.raises(InputError, match="agent rollout file, not a pose file"):
        load_pose(sample_data / "marl/rollouts_seed0.csv")
    ds = load_pose(sample_data / "pose/mouse_single.csv")
    assert ds.time.values.dtype.kind == "i" and ds.time.values[-1] == ds.sizes["time"] - 1


def test_dlc_csv_with_text_in_coordinates(tmp_path):
    p = tmp_path / "bad.csv"
    p.write_text("scorer,s,s,s\nbodyparts,snout,snout,snout\ncoords,x,y,likelihood\n"
                 "0,1.0,2.0,0.9\n1,abc,2.0,0.9\n")
    with pytest.raises(InputError, match="position value that is not a number"):
        load_pose(p)


@pytest.mark.parametrize("layout", ["table", "fixed"])
def test_dlc_h5_layouts_written_by_pandas(tmp_path, layout):
    """DeepLabCut writes pandas' table layout; movement the fixed one. Both load."""
    cols = pd.MultiIndex.from_product(
        [["DLC_sc"], ["m1", "m2"], ["snout", "tailbase"], ["x", "y", "likelihood"]],
        names=["scorer", "individuals", "bodyparts", "coords"])
    df = pd.DataFrame(np.random.default_rng(0).random((7, 12)), columns=cols)
    p = tmp_path / f"{layout}.h5"
    df.to_hdf(p, key="df_with_missing", format=layout, mode="w")
    ds = load_pose(p)
    assert list(ds.individual.values) == ["m1", "m2"]
    assert list(ds.keypoint.values) == ["nose", "tail_base"]
    for ind in ("m1", "m2"):
        np.testing.assert_allclose(
            ds.position.sel(individual=ind, keypoint="tail_base", space="y").values,
            df[("DLC_sc", ind, "tailbase", "y")].to_numpy())
        np.testing.assert_allclose(ds.confidence.sel(individual=ind, keypoint="nose").values,
                                   df[("DLC_sc", ind, "snout", "likelihood")].to_numpy())


def test_pickled_metadata_with_a_global_is_refused(tmp_path):
    """A column list whose pickle names a global (code to run) is not unpickled."""
    import pickle

    p = tmp_path / "evil.h5"
    df = pd.DataFrame(np.zeros((2, 3)), columns=pd.MultiIndex.from_product(
        [["s"], ["snout"], ["x", "y", "likelihood"]], names=["scorer", "bodyparts", "coords"]))
    df.to_hdf(p, key="df_with_missing", format="table", mode="w")
    with h5py.File(p, "r+") as f:
        t = f["df_with_missing/table"]
        t.attrs["values_block_0_kind"] = np.bytes_(pickle.dumps(os.system, protocol=0))
    with pytest.raises(InputError, match="refusing to load"):
        load_pose(p)


@pytest.mark.parametrize("name", ["pose/mouse_multi.csv", "pose/mouse_single.csv",
                                  "pose/reachingDEMO_2D.h5",
                                  "social/120637-121213/pose_dlc.csv"])
def test_direct_deeplabcut_reader_gives_movements_dataset(sample_data, name):
    """DLC files are read without movement.io (slow imports); the Dataset is movement's own."""
    import xarray as xr
    from movement.io import load_dataset

    from behavtrack.io.pose import _load_raw

    ours = _load_raw(sample_data / name, "auto")
    theirs = load_dataset(sample_data / name, source_software="DeepLabCut", fps=None)
    theirs.attrs.pop("source_file", None)
    ours.attrs.pop("source_file", None)
    xr.testing.assert_identical(ours, theirs)


# ---- frames=(start, stop) and pose_length: a long recording read in chunks -----------------
def _dlc_frame(n, seed=0):
    """A DeepLabCut multi-animal table of n frames (with gaps), raw body-part names."""
    cols = pd.MultiIndex.from_product(
        [["DLC_sc"], ["m1", "m2"], ["snout", "leftear", "tailbase"], ["x", "y", "likelihood"]],
        names=["scorer", "individuals", "bodyparts", "coords"])
    values = np.random.default_rng(seed).random((n, len(cols))) * 100
    values[n // 4: n // 4 + 5, :6] = np.nan  # a few untracked frames of m1
    return pd.DataFrame(values, columns=cols)


def _chunk_file(kind, sample_data, tmp_path, n=60):
    """A pose file of each layout load_pose reads by frames (and a CSV, loaded whole)."""
    if kind in ("fixed", "table"):  # pandas' layouts, as DeepLabCut and movement write them
        p = tmp_path / f"rec_{kind}DLC_resnet50.h5"
        _dlc_frame(n).to_hdf(p, key="df_with_missing", format=kind, mode="w")
        return p
    if kind == "save_pose":  # the simulator's pose.h5: fixed, zlib, fps stored in the file
        ds = load_pose(sample_data / "pose/mouse_multi.csv", fps=30)
        return save_pose(ds, tmp_path / "pose.h5")
    src = {"sleap": "SLEAP_single-mouse_EPM.analysis.h5", "csv": "mouse_multi.csv",
           "sleap_old": "flies_two_old_layout.analysis.h5",
           "sleap_three": "SLEAP_three-mice_Aeon_mixed-labels.analysis.h5"}[kind]
    p = tmp_path / src
    shutil.copy(sample_data / "pose" / src, p)
    if kind == "csv":  # the frame rate from a sidecar: the same for every chunk
        (tmp_path / "mouse_multi.pose.json").write_text('{"fps": 25}')
    return p


_KINDS = ["fixed", "table", "save_pose", "sleap", "sleap_old", "sleap_three", "csv"]


@pytest.mark.parametrize("kind", _KINDS)
def test_frames_equal_the_whole_load_cut(sample_data, tmp_path, kind):
    import xarray as xr

    p = _chunk_file(kind, sample_data, tmp_path)
    aliases = {"leftear": "left_ear"}
    for fps in (None, 40.0):
        whole = load_pose(p, fps=fps, aliases=aliases)
        n = whole.sizes["time"]
        assert pose_length(p) == n
        for a, b in [(0, 5), (n // 3, n // 2), (n - 4, n), (n - 3, n + 50), (7, None),
                     (n - 1, n)]:
            part = load_pose(p, fps=fps, aliases=aliases, frames=(a, b))
            want = whole.isel(time=slice(a, b))
            xr.testing.assert_identical(part, want)  # values, coords, names, attrs
            for var in ("position", "confidence", "time"):
                assert part[var].dtype == want[var].dtype
        xr.testing.assert_identical(load_pose(p, fps=fps, aliases=aliases, frames=slice(2, 9)),
                                    whole.isel(time=slice(2, 9)))
        step = max(1, n // 4)  # consecutive chunks make up the recording
        parts = [load_pose(p, fps=fps, aliases=aliases, frames=(a, a + step))
                 for a in range(0, n, step)]
        xr.testing.assert_identical(xr.concat(parts, dim="time"), whole)
    assert whole.attrs["fps_source"] == "argument"
    first = load_pose(p, frames=(0, 3))
    assert first.attrs["fps_source"] == load_pose(p).attrs["fps_source"]
    assert first.attrs["fps_source"] == {"save_pose": "file", "csv": "sidecar"}.get(kind,
                                                                                   "unknown")


@pytest.mark.parametrize("kind", ["fixed", "table", "save_pose"])
def test_a_rewritten_file_is_read_anew(sample_data, tmp_path, kind):
    """Chunks reuse what was read of a file's layout, until the file changes."""
    p = _chunk_file(kind, sample_data, tmp_path)
    first = load_pose(p, frames=(0, 3))
    assert pose_length(p) == load_pose(p).sizes["time"]
    fresh = tmp_path / "other.h5"  # another recording moved in over it (new inode, length)
    other = _dlc_frame(90, seed=5)
    other.columns = other.columns.set_levels(["a", "b"], level="individuals")
    other.to_hdf(fresh, key="df_with_missing", format="table", mode="w")
    os.replace(fresh, p)
    assert pose_length(p) == 90
    again = load_pose(p, frames=(0, 3))
    assert list(again.individual.values) == ["a", "b"] != list(first.individual.values)
    np.testing.assert_array_equal(again.position.sel(individual="a", keypoint="nose").values,
                                  other.sort_index(axis=1)[("DLC_sc", "a", "snout")]
                                  [["x", "y"]].values[:3])
    assert again.attrs["fps_source"] == "unknown"  # the old file's stored rate is gone


def test_frames_with_individuals(sample_data, tmp_path):
    import xarray as xr

    p = _chunk_file("table", sample_data, tmp_path)
    whole = load_pose(p, individuals=["m2"])
    part = load_pose(p, individuals=["m2"], frames=(10, 20))
    xr.testing.assert_identical(part, whole.isel(time=slice(10, 20)))
    assert list(part.individual.values) == ["m2"]


@pytest.mark.parametrize("kind", ["fixed", "sleap", "csv"])
def test_frames_out_of_range_or_malformed(sample_data, tmp_path, kind):
    p = _chunk_file(kind, sample_data, tmp_path)
    n = pose_length(p)
    with pytest.raises(InputError, match=rf"frames: starts at frame {n}, but .* has {n} frames"):
        load_pose(p, frames=(n, n + 10))  # a chunk wholly past the end
    for bad in [(-1, 5), (5, 5), (6, 2), (1.5, 3), "0:10", (0, 1, 2), slice(0, 10, 2)]:
        with pytest.raises(InputError, match="^frames: "):
            load_pose(p, frames=bad)


@pytest.mark.parametrize("kind", _KINDS)
def test_reads_by_frames_says_which_files_are_read_in_parts(sample_data, tmp_path, kind):
    p = _chunk_file(kind, sample_data, tmp_path)
    assert reads_by_frames(p) is (kind != "csv")  # a CSV is read whole, then cut
    assert not reads_by_frames(sample_data / "pose/flies_centered_pair_predictions.slp")
    assert not reads_by_frames(tmp_path / "nope.h5")


def test_pose_length_of_other_formats(sample_data):
    assert pose_length(sample_data / "pose/flies_centered_pair_predictions.slp") == 200
    assert pose_length(sample_data / "pose/reachingDEMO_2D.h5") == 100
    with pytest.raises(InputError, match="no such pose file"):
        pose_length(sample_data / "pose/nope.h5")


@pytest.mark.parametrize("kind", ["fixed", "table", "sleap"])
def test_frames_read_only_those_rows(sample_data, tmp_path, monkeypatch, kind):
    """A chunk of a long HDF5 reads its own rows from disk, never the whole table."""
    if kind == "sleap":
        p = _chunk_file("sleap", sample_data, tmp_path)
    else:
        p = _chunk_file(kind, sample_data, tmp_path, n=20_000)
    n = pose_length(p)
    read = []
    original = h5py.Dataset.__getitem__

    def spy(self, *args, **kwargs):
        out = original(self, *args, **kwargs)
        read.append((self.name, np.size(out)))
        return out

    monkeypatch.setattr(h5py.Dataset, "__getitem__", spy)
    load_pose(p)
    whole = max(size for _, size in read)
    read.clear()
    a, b = n // 2, n // 2 + n // 20
    part = load_pose(p, frames=(a, b))
    assert part.sizes["time"] == b - a
    biggest = max(size for _, size in read)
    assert biggest * 20 <= whole * 1.01, read  # a twentieth of the frames, a twentieth read
