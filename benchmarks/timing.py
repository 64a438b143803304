"""Column timing: how far the lead boxes put each cell's first sample from the truth, by what timed them.

    python -m benchmarks.timing [--pages 30] [--model model] [--categories 'clean 200 dpi,layout 12x1']

On the suite's pages (:func:`benchmarks.suite.build`) the default pipeline (U-Net + YOLO) reads each page; a
page's error is the median over its cells of the box's start less the true first sample (px; the generator's
point taken through the straightening's homography, so rotated and photographed pages count too, their
residual tilt included), after the pipeline's shift of half or one sample. Pages are grouped by what timed
their columns: separator ticks (``detect.tick_start``), jumps between leads (``detect.jump_start``), the rows'
end caps (``detect.trace_start``), or the detector's boxes alone. The official metric aligns whole samples only, so what
counts is the error within a sample: half a sample (0.2 px at 200 dpi and 500 Hz) costs ~4 dB.
"""

from __future__ import annotations

import argparse
import datetime
import json
import subprocess
from collections import defaultdict
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from ecgdigitizer import records
from ecgdigitizer.images import load_image
from ecgdigitizer.pipeline import Digitizer
from ecgdigitizer.straighten import straighten
from ecgdigitizer.types import PageLayout

from .run import Precomputed, models
from .suite import CATEGORIES, build

ROOT = Path(__file__).resolve().parents[1]


def timed_by(layout: PageLayout) -> str:
    if layout.ticks:
        return "ticks"
    return {0.5: "jumps", 1.0: "end caps"}.get(layout.early_samples, "boxes")


def page_error(folder: Path, rec: str, learned: dict[str, Any]) -> tuple[str, float, float] | None:
    """(timed by, error px, px per sample) for one page, or None where no layout was read."""
    meta = json.loads((folder / "truth" / f"{rec}-0.json").read_text())
    header = records.read_header(folder / rec)
    page = straighten(load_image(folder / header.image_files[0]))
    prob = learned["unet"](page.image)
    digitizer = Digitizer(binarizer=Precomputed("unet", prob), detector=learned["yolo"], straighten=False)
    result = digitizer.digitize(page.image, header.fs, header.n_samples, header.lead_names)
    if result.layout is None:
        return None
    starts = np.array([m["baseline"][0] for m in meta["leads"]], np.float64)
    xs = cv2.perspectiveTransform(starts[None], page.homography)[0, :, 0]
    first = {(m["lead"], m["row"]): x for m, x in zip(meta["leads"], xs)}
    errors = [lb.box.x0 - first[(lb.cell.lead, lb.cell.row)] for lb in result.layout.boxes
              if (lb.cell.lead, lb.cell.row) in first]
    if not errors:
        return None
    px_per_sample = meta["px_per_mm"][0] * meta["speed_mm_s"] / meta["fs"]
    return timed_by(result.layout), float(np.median(errors)), px_per_sample


def main(argv: list[str] | None = None) -> str:
    p = argparse.ArgumentParser(prog="python -m benchmarks.timing", description=__doc__.split("\n")[0])
    p.add_argument("--pages", type=int, default=30)
    p.add_argument("--model", default=str(ROOT / "model"))
    p.add_argument("--categories", default=",".join(CATEGORIES))
    p.add_argument("--out", default=str(ROOT / "benchmarks" / "TIMING.md"))
    a = p.parse_args(argv)
    folders = build(a.pages)
    learned = models(a.model)
    lines = ["| category | timed by | pages | median abs. error (px) | 90th percentile | within 0.1 px | "
             "mean error (px) | px per sample (median) |", "|---|---|---|---|---|---|---|---|"]
    for name in a.categories.split(","):
        folder = folders[name] / "pages"
        groups: dict[str, list[tuple[float, float]]] = defaultdict(list)
        for rec in (r for r in records.find_records(folder) if "/" not in r):
            found = page_error(folder, rec, learned)
            if found is not None:
                groups[found[0]].append(found[1:])
        for how in ("ticks", "jumps", "end caps", "boxes"):
            if how in groups:
                e, spp = np.array(groups[how]).T
                lines.append(f"| {name} | {how} | {e.size} | {np.median(np.abs(e)):.3f} | "
                             f"{np.percentile(np.abs(e), 90):.3f} | {np.mean(np.abs(e) <= 0.1):.0%} | "
                             f"{e.mean():+.3f} | {np.median(spp):.3f} |")
        print(name, {how: len(v) for how, v in groups.items()}, flush=True)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                            text=True).stdout.strip()
    text = (f"# Column timing\n\n{datetime.date.today()}, commit `{commit}`, {a.pages} pages per category "
            f"(the truth through the straightening's homography).\n\nCommand: `python -m benchmarks.timing`\n\n"
            + "\n".join(lines) + "\n")
    Path(a.out).write_text(text)
    print(text)
    return text


if __name__ == "__main__":
    main()
