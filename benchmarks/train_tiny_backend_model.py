"""Train a tiny DeepLabCut model offline, to exercise ``behavtrack track --backend`` for real.

Run it with the Python of the backend's own environment (not behavtrack's)::

    /tmp/dlcenv/bin/python benchmarks/train_tiny_backend_model.py deeplabcut \
        --video /work/shared/data/video/openfield/m3v1mp4.mp4 \
        --labels /work/shared/data/video/openfield/m3v1mp4_dlc_predictions.csv \
        --dest /tmp/dlcproj

It labels a few frames of the video with the given DeepLabCut predictions (frames where every
body part is confident), builds the network with random weights (``pretrained_backbone=False``:
no model hub is reachable offline) and trains it for a couple of epochs. The point is a real
trained model for the pipeline, not accuracy. The last line printed is the model to pass to
``--model`` (the project's ``config.yaml``). Nothing is written outside ``--dest``.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def _pick_frames(labels_csv: Path, n_frames: int, min_likelihood: float = 0.9):
    """Return (frame indices, labels table) of ``n_frames`` confident frames spread evenly."""
    import numpy as np
    import pandas as pd

    table = pd.read_csv(labels_csv, header=[0, 1, 2], index_col=0)
    likelihood = table.xs("likelihood", axis=1, level=2)
    confident = np.flatnonzero((likelihood.to_numpy() >= min_likelihood).all(axis=1))
    if len(confident) < n_frames:
        raise SystemExit(f"{labels_csv}: only {len(confident)} confident frames")
    chosen = confident[np.linspace(0, len(confident) - 1, n_frames).round().astype(int)]
    return chosen, table


def train_deeplabcut(video: Path, labels_csv: Path, dest: Path, n_frames: int,
                     epochs: int) -> Path:
    """Create, label and train a single-animal DeepLabCut 3 (PyTorch) project; return config."""
    import cv2
    import deeplabcut
    import pandas as pd
    import torch
    import yaml
    from deeplabcut.core.config.utils import edit_config
    from deeplabcut.core.engine import Engine
    from deeplabcut.pose_estimation_pytorch.models.model import PoseModel

    chosen, table = _pick_frames(labels_csv, n_frames)
    bodyparts = list(dict.fromkeys(table.columns.get_level_values(1)))
    dest.mkdir(parents=True, exist_ok=True)
    config = Path(deeplabcut.create_new_project(
        "openfield", "behavtrack", [str(video)], working_directory=str(dest),
        copy_videos=False, multianimal=False))
    scorer = "behavtrack"
    edit_config(str(config), {"bodyparts": bodyparts, "skeleton": [], "numframes2pick": n_frames,
                              "TrainingFraction": [0.9], "batch_size": 4})

    # label the chosen frames (PNG + CollectedData_<scorer>.h5/.csv, DeepLabCut's layout)
    folder = config.parent / "labeled-data" / video.stem
    folder.mkdir(parents=True, exist_ok=True)
    cap = cv2.VideoCapture(str(video))
    width = len(str(int(cap.get(cv2.CAP_PROP_FRAME_COUNT))))
    names = []
    for index in chosen:
        cap.set(cv2.CAP_PROP_POS_FRAMES, int(index))
        ok, frame = cap.read()
        if not ok:
            raise SystemExit(f"{video}: frame {index} cannot be read")
        name = f"img{int(index):0{width}d}.png"
        cv2.imwrite(str(folder / name), frame)
        names.append(name)
    cap.release()
    xy = table.drop(columns="likelihood", level=2).iloc[chosen]
    columns = pd.MultiIndex.from_tuples(
        [(scorer, bp, c) for _, bp, c in xy.columns], names=["scorer", "bodyparts", "coords"])
    rows = pd.MultiIndex.from_tuples([("labeled-data", video.stem, n) for n in names])
    collected = pd.DataFrame(xy.to_numpy(dtype=float), index=rows, columns=columns)
    collected.to_hdf(folder / f"CollectedData_{scorer}.h5", key="df_with_missing", mode="w")
    collected.to_csv(folder / f"CollectedData_{scorer}.csv")

    deeplabcut.create_training_dataset(str(config), num_shuffles=1, net_type="resnet_50",
                                       engine=Engine.PYTORCH, userfeedback=False)
    (model_cfg,) = (config.parent / "dlc-models-pytorch").glob("**/train/pytorch_config.yaml")
    with open(model_cfg) as f:
        run_config = yaml.safe_load(f)
    # random initial weights: ImageNet weights would come from a hub unreachable offline
    model = PoseModel.build(run_config["model"], pretrained_backbone=False)
    start = model_cfg.parent / "random-init.pt"
    torch.save({"model": model.state_dict()}, start)
    deeplabcut.train_network(str(config), shuffle=1, epochs=epochs, save_epochs=epochs,
                             batch_size=4, device="cpu", snapshot_path=str(start))
    start.unlink()
    return config


def train_sleap(video: Path, labels_csv: Path, dest: Path, n_frames: int, epochs: int,
                steps: int = 10, scale: float = 0.5) -> Path:
    """Label frames in a SLEAP ``.slp`` and train a single-instance UNet; return its folder."""
    import sleap_io as sio
    from sleap_nn.train import train

    chosen, table = _pick_frames(labels_csv, n_frames)
    bodyparts = list(dict.fromkeys(table.columns.get_level_values(1)))
    xy = table.drop(columns="likelihood", level=2).iloc[chosen].to_numpy(dtype=float)
    dest.mkdir(parents=True, exist_ok=True)
    skeleton = sio.Skeleton(nodes=bodyparts)
    source = sio.load_video(str(video))
    frames = [
        sio.LabeledFrame(video=source, frame_idx=int(index), instances=[
            sio.Instance.from_numpy(row.reshape(len(bodyparts), 2), skeleton=skeleton)])
        for index, row in zip(chosen, xy, strict=True)
    ]
    labels = sio.Labels(labeled_frames=frames, videos=[source], skeletons=[skeleton])
    slp = dest / "labels.slp"
    sio.save_slp(labels, str(slp))
    run = "unet_tiny"
    # random initial weights (init_weight="default"), reduced resolution, a few steps per
    # epoch, no augmentation (it slows down fitting a handful of frames)
    train(train_labels_path=[str(slp)], validation_fraction=0.2, backbone_config="unet",
          head_configs="single_instance", scale=scale, use_augmentations_train=False,
          max_epochs=epochs,
          train_steps_per_epoch=steps, min_train_steps_per_epoch=steps, batch_size=2,
          trainer_accelerator="cpu",
          save_ckpt=True, ckpt_dir=str(dest), run_name=run, use_wandb=False)
    return dest / run


def main() -> None:
    """Parse the command line and train."""
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("backend", choices=["deeplabcut", "sleap"])
    p.add_argument("--video", type=Path, required=True)
    p.add_argument("--labels", type=Path, required=True,
                   help="DeepLabCut predictions CSV of the video (used as labels)")
    p.add_argument("--dest", type=Path, required=True, help="folder for the project")
    p.add_argument("--frames", type=int, default=12, help="labelled frames (default 12)")
    p.add_argument("--epochs", type=int, default=2, help="training epochs (default 2)")
    p.add_argument("--steps", type=int, default=10,
                   help="sleap: training steps (batches of 2) per epoch (default 10)")
    p.add_argument("--scale", type=float, default=0.5,
                   help="sleap: image scale for the network (default 0.5)")
    args = p.parse_args()
    if args.backend == "deeplabcut":
        model = train_deeplabcut(args.video.resolve(), args.labels, args.dest.resolve(),
                                 args.frames, args.epochs)
    else:
        model = train_sleap(args.video.resolve(), args.labels, args.dest.resolve(),
                            args.frames, args.epochs, args.steps, args.scale)
    print(model)


if __name__ == "__main__":
    main()
