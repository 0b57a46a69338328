"""Cut the small real-data samples of ``tests/data`` (outside ``social/``) from ``../shared/data``.

Every sample keeps its file's original layout, so that the tests read it exactly as a user's
file; only frames are cut:

- HDF5 files (DeepLabCut's pandas "table" layout with its Python-2 pickles, SLEAP analysis
  files, a SLEAP ``.slp``) are copied object by object with h5py (attributes, dtypes, chunks,
  compression as they are) and the per-frame datasets are cut to the first frames. The
  DeepLabCut table's PyTables index (``_i_table``), which indexes the full table, is left out
  and its ``NROWS`` set to the rows kept. The ``.slp`` keeps its first frames, their instances
  and their predicted points (the frames' and instances' start/end pointers stay valid, as
  they count from the start).
- The openfield video is cut by FFmpeg without re-encoding (``-c copy``): its first frames
  decode to exactly the original's pixels. Its DeepLabCut predictions CSV is cut to the same
  frames.
- Small files (CSV poses of a few rows, BORIS exports, agent rollouts) are copied whole.

Run from the repository root: ``.venv/bin/python scripts/cut_test_samples.py`` (needs ``ffmpeg``
on PATH or the ``imageio-ffmpeg`` package for the video).
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import h5py
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT.parent / "shared" / "data"
TARGET = ROOT / "tests" / "data"

#: Frames kept per cut file.
N_REACHING = 100
N_EPM = 300
N_FLIES_OLD = 300
N_SLP = 200
N_OPENFIELD = 450

#: Files copied whole: (source, target), relative to SOURCE and TARGET.
COPIED = [
    "pose/mouse_multi.csv",
    "pose/mouse_single.csv",
    "pose/SLEAP_three-mice_Aeon_mixed-labels.analysis.h5",
    "video/openfield/dlc_config.yaml",
    "labels/boris_old_tabular_export_1.csv",
    "labels/boris_old_tabular_export_2.csv",
    "labels/boris_project.boris",
    "labels/LICENSE-ethome-MIT",
    "marl/checkpoint_0.mat",
    "marl/checkpoint_2000.mat",
    "marl/checkpoint_4000.mat",
    "marl/rollouts_seed0.csv",
    "marl/README.md",
]

Slicer = Callable[[np.ndarray], np.ndarray]


def _copy_attrs(src: h5py.HLObject, dst: h5py.HLObject) -> None:
    """Copy every attribute with its exact HDF5 type and shape (PyTables reads by them)."""
    for key in src.attrs:
        name = key.encode()
        aid = h5py.h5a.open(src.id, name)
        if h5py.h5a.exists(dst.id, name):
            h5py.h5a.delete(dst.id, name)
        new = h5py.h5a.create(dst.id, name, aid.get_type(), aid.get_space())
        if aid.shape is None:  # an empty (null) attribute: nothing to write
            continue
        buf = np.empty(aid.shape, dtype=aid.dtype)
        aid.read(buf, mtype=aid.get_type())
        new.write(buf, mtype=aid.get_type())


def cut_hdf5(src: Path, dst: Path, cuts: dict[str, Slicer], drop: tuple[str, ...] = (),
             attrs: dict[str, dict] | None = None) -> None:
    """Copy an HDF5 file, cutting the datasets named in ``cuts`` and leaving out ``drop``.

    Parameters
    ----------
    src, dst
        The file and its cut copy.
    cuts
        Dataset path -> function returning the part of its array to keep.
    drop
        Paths of groups or datasets left out.
    attrs
        Path -> attributes to set on the copy (e.g. ``{"df/table": {"NROWS": 100}}``).

    """
    attrs = attrs or {}
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_name(f".{dst.name}.tmp")
    try:
        _cut_into(src, tmp, cuts, drop, attrs)
        tmp.replace(dst)
    finally:
        tmp.unlink(missing_ok=True)


def _cut_into(src: Path, tmp: Path, cuts: dict[str, Slicer], drop: tuple[str, ...],
              attrs: dict[str, dict]) -> None:
    with h5py.File(src, "r") as fin, h5py.File(tmp, "w", libver=fin.libver) as fout:
        _copy_attrs(fin, fout)

        def copy_group(gin: h5py.Group, gout: h5py.Group) -> None:
            for name, obj in gin.items():
                path = obj.name.lstrip("/")
                if path in drop:
                    continue
                if isinstance(obj, h5py.Group):
                    sub = gout.create_group(name)
                    _copy_attrs(obj, sub)
                    copy_group(obj, sub)
                elif path in cuts:
                    data = cuts[path](obj[()])
                    kwargs = {}
                    if obj.chunks is not None:
                        kwargs.update(
                            chunks=tuple(min(c, max(s, 1)) for c, s in zip(
                                obj.chunks, data.shape, strict=True)),
                            maxshape=obj.maxshape, compression=obj.compression,
                            compression_opts=obj.compression_opts, shuffle=obj.shuffle,
                            fletcher32=obj.fletcher32)
                    if obj.fillvalue is not None and obj.dtype.names is None:
                        kwargs["fillvalue"] = obj.fillvalue
                    out = gout.create_dataset(name, data=data, dtype=obj.dtype, **kwargs)
                    _copy_attrs(obj, out)
                else:
                    gin.copy(obj, gout, name=name)
                for key, value in attrs.get(path, {}).items():
                    gout[name].attrs.modify(key, value)

        copy_group(fin, fout)


def cut_reaching(n: int = N_REACHING) -> None:
    """DeepLabCut HDF5, pandas "table" layout with Python-2 pickles: the first ``n`` rows."""
    cut_hdf5(SOURCE / "pose/reachingDEMO_2D.h5", TARGET / "pose/reachingDEMO_2D.h5",
             cuts={"df_with_missing/table": lambda a: a[:n]},
             drop=("df_with_missing/_i_table",),
             attrs={"df_with_missing/table": {"NROWS": np.int64(n)}})


def cut_sleap_analysis(name: str, n: int) -> None:
    """SLEAP analysis HDF5: the first ``n`` frames of every per-frame dataset."""
    src = SOURCE / "pose" / name
    with h5py.File(src, "r") as f:
        n_frames = f["track_occupancy"].shape[0]
        frame_axis = {key: f[key].shape.index(n_frames) for key in
                      ("tracks", "track_occupancy", "point_scores", "instance_scores",
                       "tracking_scores") if key in f}

    def first(axis: int) -> Slicer:
        return lambda a: np.take(a, np.arange(n), axis=axis)

    cut_hdf5(src, TARGET / "pose" / name,
             cuts={key: first(axis) for key, axis in frame_axis.items()})


def cut_slp(n: int = N_SLP) -> None:
    """SLEAP ``.slp``: the first ``n`` frames, their instances and predicted points."""
    src = SOURCE / "pose/flies_centered_pair_predictions.slp"
    with h5py.File(src, "r") as f:
        frames = f["frames"][()]
        instances = f["instances"][()]
    keep = frames["frame_idx"] < n
    n_frames = int(keep.sum())
    n_inst = int(frames["instance_id_end"][:n_frames].max())
    n_pred = int(instances["point_id_end"][:n_inst].max())
    cut_hdf5(src, TARGET / "pose/flies_centered_pair_predictions.slp",
             cuts={"frames": lambda a: a[:n_frames], "instances": lambda a: a[:n_inst],
                   "pred_points": lambda a: a[:n_pred]})


def _ffmpeg() -> str:
    exe = shutil.which("ffmpeg")
    if exe:
        return exe
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def _decodes_like(cut: Path, original: Path) -> bool:
    """Whether every frame of ``cut`` decodes to the pixels of the same frame of ``original``."""
    import cv2

    a, b = cv2.VideoCapture(str(cut)), cv2.VideoCapture(str(original))
    try:
        while True:
            ok, frame = a.read()
            if not ok:
                return True
            ok_ref, ref = b.read()
            if not ok_ref or not np.array_equal(frame, ref):
                return False
    finally:
        a.release()
        b.release()


def cut_openfield(n: int = N_OPENFIELD) -> int:
    """Cut the real openfield video's first frames (no re-encoding) and their DLC rows.

    A stream copy's last frame decodes wrong when it is a B-frame whose reference was cut
    off, so the cut grows from ``n`` frames until every frame decodes to the original's
    pixels. Returns the number of frames kept.
    """
    folder = TARGET / "video/openfield"
    folder.mkdir(parents=True, exist_ok=True)
    source = SOURCE / "video/openfield/m3v1mp4.mp4"
    tmp = folder / ".m3v1mp4.tmp.mp4"
    try:
        for k in range(n, n + 32):
            subprocess.run([_ffmpeg(), "-v", "error", "-y", "-i", str(source), "-map", "0:v:0",
                            "-frames:v", str(k), "-c", "copy", "-map_metadata", "-1",
                            "-fflags", "+bitexact", str(tmp)], check=True)
            if _decodes_like(tmp, source):
                break
        else:
            raise RuntimeError(f"no cut of {n} to {n + 31} frames decodes like the original")
        tmp.replace(folder / "m3v1mp4.mp4")
    finally:
        tmp.unlink(missing_ok=True)
    lines = (SOURCE / "video/openfield/m3v1mp4_dlc_predictions.csv").read_text(
        encoding="utf-8").splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("coords")) + 1
    (folder / "m3v1mp4_dlc_predictions.csv").write_text(
        "\n".join(lines[:header + k]) + "\n", encoding="utf-8")
    return k


def main() -> None:
    """Recreate every sample of ``tests/data`` except ``social/``."""
    for rel in COPIED:
        (TARGET / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(SOURCE / rel, TARGET / rel)
    cut_reaching()
    cut_sleap_analysis("SLEAP_single-mouse_EPM.analysis.h5", N_EPM)
    cut_sleap_analysis("flies_two_old_layout.analysis.h5", N_FLIES_OLD)
    cut_slp()
    k = cut_openfield()
    print(f"openfield: the first {k} frames")
    for path in sorted(TARGET.rglob("*")):
        if path.is_file() and "social" not in path.parts:
            print(f"{path.relative_to(ROOT)}: {path.stat().st_size / 1024:.0f} KB")


if __name__ == "__main__":
    main()
