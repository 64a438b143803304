"""Training options. The organisers' ``train_model.py`` passes no flags, so every option can also be set from
the environment: ``ECGD_<NAME>`` (upper case), e.g. ``ECGD_TIME_BUDGET_MIN=30``; ``ECGD_QUICK=1`` selects the
minutes-long setting used by the tests. The defaults are measured for 2 CPU cores; where training runs on a CUDA GPU
they become ``GPU``'s (more pages, larger batches, more loader processes, 30 minutes).
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, fields, replace
from typing import Any


@dataclass(frozen=True)
class TrainConfig:
    seed: int = 0
    workers: int = 2  # page rendering processes (and YOLO's data loaders on a GPU)
    device: str = "auto"  # 'auto' (a CUDA GPU when there is one, else the CPU), 'cpu' or 'cuda'
    time_budget_min: float = 110.0  # whole run; the two models share it (U-Net 45 %, YOLO 55 %)
    pages_per_record: int = 2  # generated pages per training record
    max_pages: int = 1200  # cap on generated training pages (large data sets: a sample of records)
    val_pages: int = 40
    preset: str = "mixed"
    # share of the training records whose pages are all drawn at 20 mm/mV (beside the generator's own 5 % of pages):
    # waves that cross their neighbours' rows, as records of 3-5 mV do at 10 mm/mV, which the detector boxes worst
    tall_share: float = 0.0
    # U-Net: width and depth measured on this CPU (model/README.md); patches at native resolution
    unet_base: int = 8
    unet_depth: int = 5
    unet_max_width: int = 128
    unet_full_res_convs: int = 2
    unet_patch: int = 256
    unet_batch: int = 16
    unet_lr: float = 2e-3
    unet_steps: int = 6000  # upper bound; the time budget usually ends it first
    unet_pages_in_memory: int = 160
    unet_init: str = ""  # a model folder whose U-Net training starts from (fine-tuning; its network replaces the
    # unet_base .. unet_full_res_convs above): a model adapted to new pages or a new paper style in minutes
    # YOLO: per-lead classes, nano model from its YAML, image size chosen by measurement
    yolo_model: str = "yolov8n.yaml"
    yolo_classes: str = "lead"  # 'lead' (one class, names from the layout) or 'leads' (the twelve)
    yolo_imgsz: int = 512
    yolo_epochs: int = 60  # upper bound; the time budget usually ends it first
    yolo_batch: int = 16
    yolo_init: str = ""  # a model folder whose YOLO training starts from (fine-tuning, without warm-up; its YAML,
    # classes and image size replace yolo_model, yolo_classes and yolo_imgsz above)
    quick: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# the quick setting: 160 U-Net steps on 128-px patches (~0.6 min on 2 cores, half its time share: its steps, not
# the clock, end it), two YOLO epochs
QUICK = dict(time_budget_min=2.5, pages_per_record=1, max_pages=24, val_pages=6, unet_steps=160, unet_batch=8,
             unet_patch=128, unet_pages_in_memory=24, yolo_imgsz=320, yolo_epochs=2, yolo_batch=8)


# on a CUDA GPU (the shipped model's settings, model/README.md): a GPU takes ~50 U-Net steps of 32 patches a second
# and a YOLO epoch of 3,700 pages in ~13 s, so pages, not steps, are what the CPU default is short of
GPU = dict(time_budget_min=30.0, pages_per_record=8, max_pages=5000, unet_batch=32, unet_steps=400_000,
           unet_pages_in_memory=400, yolo_epochs=400, yolo_batch=32)


def gpu_workers() -> int:
    """Processes that render pages and feed the GPU: all cores but two, at most 12."""
    return max(2, min(12, (os.cpu_count() or 2) - 2))


def torch_device(cfg: TrainConfig) -> str:
    """The device training runs on: ``cfg.device``, or with 'auto' a CUDA GPU when torch sees one."""
    if cfg.device != "auto":
        return cfg.device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def from_environment(base: TrainConfig | None = None) -> TrainConfig:
    """The defaults (or ``base``), the GPU's where training will run on one, then ``ECGD_QUICK``, then any
    ``ECGD_<FIELD>`` variable."""
    cfg = base or TrainConfig()
    if base is None and torch_device(replace(cfg, device=os.environ.get("ECGD_DEVICE", cfg.device))) == "cuda":
        cfg = replace(cfg, workers=gpu_workers(), **GPU)  # type: ignore[arg-type]
    if os.environ.get("ECGD_QUICK", "") not in ("", "0", "false", "False"):
        cfg = replace(cfg, quick=True, **QUICK)  # type: ignore[arg-type]
    changes: dict[str, Any] = {}
    for f in fields(TrainConfig):
        raw = os.environ.get(f"ECGD_{f.name.upper()}")
        if raw is None or f.name == "quick":
            continue
        kind = type(getattr(cfg, f.name))
        changes[f.name] = (raw.lower() in ("1", "true", "yes")) if kind is bool else kind(raw)
    return replace(cfg, **changes)
