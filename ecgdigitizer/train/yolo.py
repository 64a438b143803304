"""Train the YOLO lead-box detector on generated pages (per-lead classes, boxes from the generator).

Classes: one ``lead`` class by default (converges much faster from scratch than twelve look-alike lead
classes whose printed names are a few pixels tall at the training size; post-processing names the leads from
the layout), or the twelve leads (``ECGD_YOLO_CLASSES=leads``). Pages are stored once, down-sized to the training image size (decoding 2200x1700 PNGs every epoch would cost
more than the network), in an ultralytics dataset folder. Mosaic and left-right flips are off: a flipped or
tiled ECG page is not a page, and a flip would swap the lead classes' columns. Training stops at the time
budget (ultralytics' ``time``); the best weights are written as plain fp16 tensors with a JSON description.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import cv2
import numpy as np

from .. import yolo as detector
from .config import TrainConfig
from .pages import PageFiles


def build_dataset(pages_train: list[PageFiles], pages_val: list[PageFiles], folder: Path, imgsz: int,
                  names: tuple[str, ...]) -> Path:
    """An ultralytics dataset: images down-sized to ``imgsz`` on their long side; labels per lead (12 classes)
    or, with a single class, every box class 0 (post-processing names leads from the layout)."""
    for split, pages in (("train", pages_train), ("val", pages_val)):
        (folder / "images" / split).mkdir(parents=True, exist_ok=True)
        (folder / "labels" / split).mkdir(parents=True, exist_ok=True)
        for p in pages:
            target = folder / "images" / split / (p.image.stem + ".jpg")
            if not target.exists():
                img = cv2.imread(str(p.image), cv2.IMREAD_COLOR)
                scale = imgsz / max(img.shape[:2])
                small = cv2.resize(img, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
                cv2.imwrite(str(target), small, [cv2.IMWRITE_JPEG_QUALITY, 92])
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
    names = ("lead",) if cfg.yolo_classes == "lead" else detector.CLASSES
    data = build_dataset(pages_train, pages_val, work / "dataset", cfg.yolo_imgsz, names)
    prep = (time.monotonic() - start) / 60
    model = YOLO(cfg.yolo_model)  # built from its YAML: no pretrained weights exist here, none are downloaded
    last = work / "runs" / "train" / "weights" / "last.pt"
    hours = max(minutes - prep, 0.5) / 60
    args = dict(data=str(data), imgsz=cfg.yolo_imgsz, epochs=cfg.yolo_epochs, batch=cfg.yolo_batch, time=hours,
                device="cpu", workers=0, amp=False, plots=False, seed=cfg.seed, deterministic=True,
                project=str((work / "runs").resolve()), name="train", exist_ok=True, verbose=verbose, patience=1000,
                mosaic=0.0, fliplr=0.0, degrees=0.0, translate=0.05, scale=0.2, hsv_h=0.02, hsv_s=0.5, hsv_v=0.3,
                close_mosaic=0, val=True)
    if last.exists():  # an interrupted run goes on where it stopped
        model = YOLO(str(last))
        args["resume"] = True
    model.train(**args)
    torch.set_num_threads(max(1, torch.get_num_threads()))
    trained = model.model  # ultralytics reloads its best checkpoint at the end of training
    state = {k: v.half() if v.is_floating_point() else v for k, v in trained.state_dict().items()}
    out.mkdir(parents=True, exist_ok=True)
    torch.save(state, out / "yolo.pt")
    metrics = getattr(model.trainer, "metrics", {}) or {}
    meta = {"yaml": cfg.yolo_model, "names": list(names), "imgsz": cfg.yolo_imgsz,
            "val_map50": float(metrics.get("metrics/mAP50(B)", np.nan)),
            "val_map50_95": float(metrics.get("metrics/mAP50-95(B)", np.nan)),
            "epochs": int(getattr(model.trainer, "epoch", -1)) + 1}
    (out / "yolo.json").write_text(json.dumps(meta, indent=1))
    return {**meta, "minutes": (time.monotonic() - start) / 60}
