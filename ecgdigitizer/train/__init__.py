"""``train_models``: render training pages from the records' signals, train the U-Net and the YOLO detector,
and write everything ``load_models`` needs to the model folder.

Written to MODEL: ``unet.pt``/``unet.json`` (binarizer), ``yolo.pt``/``yolo.json`` (lead boxes),
``config.json`` (the options of the last run; each stage's are in ``training.json``), ``records.txt``
(records trained on), ``training.json`` (generator version, page counts, timings and validation figures, for the
last run and for each stage). Generated pages live in ``MODEL/.work`` (or ``$ECGD_WORK``) while training runs,
so that an interrupted run resumes; they are removed at the end unless ``ECGD_KEEP_WORK=1``.
``ECGD_STAGES`` picks what runs (``unet,yolo`` by default; ``pages`` renders the pages only): with the pages
rendered once, the two stages can run side by side, each writing its own part of ``training.json``.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

from .. import records as rec
from .. import splits
from ..generate import GENERATOR_VERSION
from .config import TrainConfig, from_environment
from .pages import render_pages

STAGES = ("unet", "yolo")
KNOWN_STAGES = (*STAGES, "pages")


def _log(verbose: bool, message: str) -> None:
    if verbose:
        print(message, flush=True)


def usable_records(data_folder: str) -> list[str]:
    """Records with a readable signal (labels and images are not needed); others are reported and skipped."""
    out = []
    for name in rec.find_records(data_folder):
        try:
            header = rec.read_header(os.path.join(data_folder, name))
        except rec.RecordError as e:
            print(f"skipped: {e}")
            continue
        folder = Path(data_folder, name).parent
        if header.signal_files and all((folder / f).is_file() for f in header.signal_files):
            out.append(name)
    return out


def train_models(data_folder: str, model_folder: str, verbose: bool = False, cfg: TrainConfig | None = None) -> None:
    cfg = cfg or from_environment()
    stages = [s.strip() for s in os.environ.get("ECGD_STAGES", ",".join(STAGES)).split(",") if s.strip()]
    unknown = sorted(set(stages) - set(KNOWN_STAGES))
    if unknown:
        raise ValueError(f"ECGD_STAGES: unknown stage(s) {', '.join(unknown)}; known: {', '.join(KNOWN_STAGES)}")
    start = time.monotonic()
    model = Path(model_folder)
    model.mkdir(parents=True, exist_ok=True)
    work = Path(os.environ.get("ECGD_WORK", model / ".work"))
    names = usable_records(data_folder)
    if not names:
        raise rec.RecordError(f"{data_folder}: no records with signals to train on")
    train, val = splits.split(names)
    _log(verbose, f"{len(names)} records: {len(train)} to train on, {len(val)} to validate on; options {cfg}")
    n_train = min(cfg.max_pages, len(train) * cfg.pages_per_record)
    pages_train = render_pages(data_folder, train, work / "pages_train", cfg, n_train, cfg.seed, verbose)
    pages_val = render_pages(data_folder, val, work / "pages_val", cfg, cfg.val_pages, cfg.seed + 1, verbose)
    _log(verbose, f"{len(pages_train)} training and {len(pages_val)} validation pages rendered "
                  f"({time.monotonic() - start:.0f} s)")
    if not set(stages) & set(STAGES):  # 'pages': rendered for stages that run next, kept whatever ECGD_KEEP_WORK says
        return
    report: dict = {"generator": GENERATOR_VERSION, "records_train": len(train), "records_val": len(val),
                    "pages_train": len(pages_train), "pages_val": len(pages_val)}
    pages = {k: report[k] for k in ("generator", "pages_train", "pages_val")}  # per stage too: they may run apart
    remaining = cfg.time_budget_min - (time.monotonic() - start) / 60
    if "unet" in stages:
        from .unet import train_unet

        share = 0.45 if "yolo" in stages else 0.95
        report["unet"] = train_unet(pages_train, pages_val, cfg, model, work / "unet", remaining * share, verbose)
        report["unet"] |= {**pages, "options": cfg.to_dict()}  # stages may run apart, each with its own options
        _log(verbose, f"U-Net: {report['unet']}")
    if "yolo" in stages:
        from .yolo import train_yolo

        remaining = cfg.time_budget_min - (time.monotonic() - start) / 60
        report["yolo"] = train_yolo(pages_train, pages_val, cfg, model, work / "yolo", remaining * 0.95, verbose)
        report["yolo"] |= {**pages, "options": cfg.to_dict()}
        _log(verbose, f"YOLO: {report['yolo']}")
    report[f"minutes_{'_'.join(stages)}"] = (time.monotonic() - start) / 60
    (model / "config.json").write_text(json.dumps(cfg.to_dict(), indent=1))
    (model / "records.txt").write_text("\n".join(train) + "\n")
    done = model / "training.json"  # read now, not at the start: a stage running beside this one keeps its part
    done.write_text(json.dumps((json.loads(done.read_text()) if done.is_file() else {}) | report, indent=1))
    if os.environ.get("ECGD_KEEP_WORK", "") in ("", "0") and "ECGD_WORK" not in os.environ:
        shutil.rmtree(work, ignore_errors=True)
    _log(verbose, f"done in {(time.monotonic() - start) / 60:.1f} min; model written to {model}")
