"""Training pages: rendered by the generator from the training records' own signals (the records' images, if
any, carry no pixel-exact ground truth). Pages go to disk and are streamed from there, never all in memory."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..generate import generate
from .config import TrainConfig


@dataclass(frozen=True)
class PageFiles:
    image: Path
    mask: Path
    meta: Path
    yolo: Path

    def read_meta(self) -> dict:
        return json.loads(self.meta.read_text())


def page_files(folder: str | os.PathLike[str]) -> list[PageFiles]:
    """Every generated page below ``folder``, in a stable order."""
    folder = Path(folder)
    out = []
    for meta in sorted((folder / "truth").glob("*.json")):
        info = json.loads(meta.read_text())
        stem = meta.name[: -len(".json")]
        out.append(PageFiles(folder / info["image"], folder / info["mask"], meta, folder / "yolo" / f"{stem}.txt"))
    return out


def render_pages(data_folder: str, records: list[str], out: str | os.PathLike[str], cfg: TrainConfig,
                 n_pages: int, seed: int, progress: bool = True) -> list[PageFiles]:
    """Render about ``n_pages`` pages (``cfg.pages_per_record`` per record, records sampled if needed; the pages of
    ``cfg.tall_share`` of them at 20 mm/mV)."""
    if not 0.0 <= cfg.tall_share <= 1.0:
        raise ValueError(f"tall_share (ECGD_TALL_SHARE) is a share of the records, 0 to 1, not {cfg.tall_share}")
    rng = np.random.default_rng(seed)
    per = max(1, cfg.pages_per_record)
    need = max(1, -(-n_pages // per))
    chosen = list(records) if len(records) <= need else sorted(rng.choice(records, need, replace=False).tolist())
    done = page_files(out) if Path(out, "truth").is_dir() else []
    if len(done) >= min(n_pages, len(chosen) * per):  # resuming: the pages are already there
        return done[:n_pages]
    tall = set(rng.choice(chosen, round(cfg.tall_share * len(chosen)), replace=False).tolist())
    groups = [([r for r in chosen if r not in tall], None), (sorted(tall), {"gain_limb": 20.0, "gain_chest": 20.0})]
    errors = [m["error"] for records_, overrides in groups if records_
              for m in generate(data_folder, out, cfg.preset, per, seed, cfg.workers, relatives=records_,
                                overrides=overrides, progress=progress) if "error" in m]
    for e in errors:
        print(f"skipped: {e}")
    return page_files(out)[:n_pages]
