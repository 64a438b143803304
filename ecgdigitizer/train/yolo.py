"""Train the YOLO lead-box detector on generated pages (per-lead classes, boxes from the generator).

Classes: one ``lead`` class by default (converges much faster from scratch than twelve look-alike lead
classes whose printed names are a few pixels tall at the training size; post-processing names the leads from
the layout), or the twelve leads (``ECGD_YOLO_CLASSES=leads``). Pages are stored once, down-sized to the
training image size (decoding 2200x1700 PNGs every epoch would cost more than the network), in an ultralytics
dataset folder. Mosaic and left-right flips are off: a flipped or tiled ECG page is not a page, and a flip
would swap the lead classes' columns. Training stops at the time budget (ultralytics' ``time``) or after
``cfg.yolo_epochs``, whichever comes first; the best weights are written as plain fp16 tensors with a JSON
description. On a CUDA GPU it trains in bf16 with ``cfg.workers`` data loaders; on the CPU in fp32 in the
main process. With ``cfg.yolo_init`` it starts from an earlier model's weights (fine-tuning).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import cv2
import numpy as np
from joblib import Parallel, delayed

from .. import yolo as detector
from .config import TrainConfig, torch_device
from .pages import PageFiles


def _shrink(image: Path, target: Path, imgsz: int) -> None:
    if not target.exists():
        img = cv2.imread(str(image), cv2.IMREAD_COLOR)
        if img is None:
            raise OSError(f"cannot read {image}")
        scale = imgsz / max(img.shape[:2])
        small = cv2.resize(img, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        cv2.imwrite(str(target), small, [cv2.IMWRITE_JPEG_QUALITY, 92])


def _epoch_cap(epochs: int):  # type: ignore[no-untyped-def]
    """A callback that keeps ultralytics' time mode within ``epochs``: after each epoch that mode re-plans its
    epoch count (and learning-rate schedule) to fill the time given, ignoring ``epochs``; shortening the time to
    ``epochs`` times the mean epoch so far makes its own plan end there, with the schedule fitted to it."""

    def shorten(trainer) -> None:  # type: ignore[no-untyped-def]
        if trainer.args.time:
            per_epoch = (time.time() - trainer.train_time_start) / (trainer.epoch - trainer.start_epoch + 1)
            left = max(epochs - trainer.start_epoch, 1)
            trainer.args.time = min(trainer.args.time, left * per_epoch / 3600)

    return shorten


def _start_from(state: dict):  # type: ignore[no-untyped-def,type-arg]
    """A callback that puts an earlier model's weights into the network ultralytics built from the YAML (and into
    its moving average) before the first step: fine-tuning without a pickled checkpoint."""

    def load(trainer) -> None:  # type: ignore[no-untyped-def]
        trainer.model.load_state_dict(state)
        trainer.ema.ema.load_state_dict(state)

    return load


def build_dataset(pages_train: list[PageFiles], pages_val: list[PageFiles], folder: Path, imgsz: int,
                  names: tuple[str, ...], workers: int = 1) -> Path:
    """An ultralytics dataset: images down-sized to ``imgsz`` on their long side (``workers`` processes);
    labels per lead (12 classes) or, with a single class, every box class 0 (post-processing names leads from
    the layout)."""
    for split, pages in (("train", pages_train), ("val", pages_val)):
        (folder / "images" / split).mkdir(parents=True, exist_ok=True)
        (folder / "labels" / split).mkdir(parents=True, exist_ok=True)
        Parallel(n_jobs=max(1, workers))(delayed(_shrink)(p.image, folder / "images" / split / f"{p.image.stem}.jpg",
                                                          imgsz) for p in pages)
        for p in pages:
            labels = p.yolo.read_text().split("\n")
            if len(names) == 1:
                labels = [" ".join(["0"] + ln.split()[1:]) for ln in labels if ln.strip()]
            (folder / "labels" / split / (p.image.stem + ".txt")).write_text("\n".join(labels) + "\n")
    data = folder / "data.yaml"
    listed = "\n".join(f"  {i}: {n}" for i, n in enumerate(names))
    data.write_text(f"path: {folder.resolve()}\ntrain: images/train\nval: images/val\nnames:\n{listed}\n")
    return data


def train_yolo(pages_train: list[PageFiles], pages_val: list[PageFiles], cfg: TrainConfig, out: Path, work: Path,
               minutes: float, verbose: bool = True) -> dict:
    import torch

    detector.ultralytics_offline(threads=max(1, torch.get_num_threads()))
    from ultralytics import YOLO

    start = time.monotonic()
    yaml, imgsz = cfg.yolo_model, cfg.yolo_imgsz
    names = ("lead",) if cfg.yolo_classes == "lead" else detector.CLASSES
    if cfg.yolo_init:  # fine-tuning: the network, classes and image size of the earlier model
        init = json.loads((Path(cfg.yolo_init) / "yolo.json").read_text())
        yaml, imgsz, names = init["yaml"], int(init["imgsz"]), tuple(init["names"])
    data = build_dataset(pages_train, pages_val, work / "dataset", imgsz, names, cfg.workers)
    gpu = torch_device(cfg) == "cuda"
    prep = (time.monotonic() - start) / 60
    model = YOLO(yaml)  # built from its YAML: no pretrained weights exist here, none are downloaded
    last = work / "runs" / "train" / "weights" / "last.pt"
    hours = max(minutes - prep, 0.5) / 60
    args = dict(data=str(data), imgsz=imgsz, epochs=cfg.yolo_epochs, batch=cfg.yolo_batch, time=hours,
                device=0 if gpu else "cpu", workers=cfg.workers if gpu else 0, amp="bf16" if gpu else False,
                plots=False, seed=cfg.seed, deterministic=True,
                project=str((work / "runs").resolve()), name="train", exist_ok=True, verbose=verbose, patience=1000,
                mosaic=0.0, fliplr=0.0, degrees=0.0, translate=0.05, scale=0.2, hsv_h=0.02, hsv_s=0.5, hsv_v=0.3,
                close_mosaic=0, val=True)
    model.add_callback("on_train_epoch_end", _epoch_cap(cfg.yolo_epochs))
    if last.exists():  # an interrupted run goes on where it stopped
        model = YOLO(str(last))
        args["resume"] = True
    elif cfg.yolo_init:  # no warm-up: its high bias learning rate would undo what the earlier model learnt
        state = torch.load(Path(cfg.yolo_init) / "yolo.pt", map_location="cpu", weights_only=True)
        model.add_callback("on_pretrain_routine_end", _start_from({k: v.float() for k, v in state.items()}))
        args["warmup_epochs"] = 0.0
    model.train(**args)
    torch.set_num_threads(max(1, torch.get_num_threads()))
    trained = model.model  # ultralytics reloads its best checkpoint at the end of training
    state = {k: (v.half() if v.is_floating_point() else v).cpu() for k, v in trained.state_dict().items()}
    out.mkdir(parents=True, exist_ok=True)
    torch.save(state, out / "yolo.pt")
    metrics = getattr(model.trainer, "metrics", {}) or {}
    meta = {"yaml": yaml, "names": list(names), "imgsz": imgsz,
            "val_map50": float(metrics.get("metrics/mAP50(B)", np.nan)),
            "val_map50_95": float(metrics.get("metrics/mAP50-95(B)", np.nan)),
            "epochs": int(getattr(model.trainer, "epoch", -1)) + 1, "device": "cuda" if gpu else "cpu",
            **({"init": cfg.yolo_init} if cfg.yolo_init else {})}
    (out / "yolo.json").write_text(json.dumps(meta, indent=1))
    return {**meta, "minutes": (time.monotonic() - start) / 60}
