"""Lead boxes and layout: box recall, precision, layout and lead names per layout and preset, held-out pages.

    python -m benchmarks.detect [--pages 6] [--sample 0] [--model model] [--out benchmarks/DETECT.md]

Each page is rendered from a held-out record (each in turn, in a fixed shuffled order) with the given layout
and preset (everything else random as the preset draws it), straightened, binarized with the shipped U-Net and
scaled as the pipeline does, with the ink density the pipeline gives the lead-box stage (it finds separator
ticks and the cells' traces with it); then the YOLO detector (raw network + post-processing) and the projection
baseline each return a named layout. ``--sample`` draws other pages (another order of the records, other page
seeds): a second opinion on figures a handful of boxes decide. A true box counts as found when a returned box
overlaps it at IoU >= 0.5 (one to one, as many pairs as can be, then as many with the right lead: see
:func:`score`); its name is right when the matched box carries the true lead. True boxes are the generator's, in
the straightened page: each plotted polyline is mapped through the straightening homography and boxed there (boxing
first and mapping the corners would inflate a rotated box). Seconds: the lead-box stage alone (network, pre- and
post-processing; not the ink density, which the extraction needs anyway), 2 threads.
"""

from __future__ import annotations

import argparse
import datetime
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import torch
from scipy.optimize import linear_sum_assignment

from ecgdigitizer import calibrate
from ecgdigitizer.binarize import ink_density
from ecgdigitizer.detect import BaselineDetector, LayoutError
from ecgdigitizer.generate import load_source, render_page, sample_config
from ecgdigitizer.generate.render import RenderedPage
from ecgdigitizer.images import grey
from ecgdigitizer.layouts import LAYOUT_NAMES
from ecgdigitizer.straighten import straighten
from ecgdigitizer.types import Box, PageLayout, PaperSettings
from ecgdigitizer.unet import UNetBinarizer, load
from ecgdigitizer.yolo import YoloDetector

from .suite import DATA, held_out_records

ROOT = Path(__file__).resolve().parents[1]
PRESETS = ("clean", "scan", "photo", "mixed")


@dataclass
class Tally:
    pages: int = 0
    true_boxes: int = 0
    returned: int = 0
    matched: int = 0
    named: int = 0
    layout_ok: int = 0
    failed: int = 0
    seconds: list[float] = field(default_factory=list)

    def add(self, other: Tally) -> None:
        for name in ("pages", "true_boxes", "returned", "matched", "named", "layout_ok", "failed"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.seconds += other.seconds

    def cells(self) -> str:
        return (f"{self.pages} | {self.matched / max(self.true_boxes, 1):.3f} | "
                f"{self.matched / max(self.returned, 1):.3f} | {self.layout_ok / max(self.pages, 1):.1%} | "
                f"{self.named / max(self.true_boxes, 1):.3f} | {self.failed} | "
                f"{np.median(self.seconds) if self.seconds else float('nan'):.3f}")


def true_boxes(page: RenderedPage, homography: np.ndarray, shape: tuple[int, int]) -> list[Box]:
    """The generator's lead boxes in the straightened page: each plotted polyline mapped through the
    straightening homography, then boxed as the generator boxes it (pen half-width + 1 px, inside the page)."""
    pad = page.meta["trace_width_px"] / 2 + 1
    h, w = shape
    out = []
    for p in page.placements:
        xy = cv2.perspectiveTransform(p.xy[None].astype(np.float64), homography)[0]
        inside = (xy[:, 0] >= 0) & (xy[:, 0] < w) & (xy[:, 1] >= 0) & (xy[:, 1] < h)
        if inside.sum() < 2:
            continue
        (x0, y0), (x1, y1) = xy[inside].min(0) - pad, xy[inside].max(0) + pad
        out.append(Box(max(x0, 0.0), max(y0, 0.0), min(x1, w - 1.0), min(y1, h - 1.0), p.cell.lead))
    return out


def score(layout: PageLayout | None, truth: list[Box], layout_name: str, seconds: float) -> Tally:
    """One page's counts: returned and true boxes paired one to one at IoU >= 0.5, as many pairs as can be, then
    as many of them with the right lead, then the highest IoU (an optimal assignment: pairing the best IoU first
    leaves a true box unpaired where true boxes overlap, as tall traces of neighbouring rows do, and a returned box
    overlaps both)."""
    t = Tally(pages=1, true_boxes=len(truth), seconds=[seconds])
    if layout is None:
        t.failed = 1
        return t
    got = [lb.box for lb in layout.boxes]
    names = [lb.cell.lead for lb in layout.boxes]
    t.returned = len(got)
    t.layout_ok = int(layout.layout.name == layout_name)
    if not got or not truth:
        return t
    iou = np.array([[g.iou(b) for b in truth] for g in got])
    same = np.array([[n == b.lead for b in truth] for n in names])
    gain = np.where(iou >= 0.5, 1e6 + 1e3 * same + iou, 0.0)
    for i, j in zip(*linear_sum_assignment(gain, maximize=True)):
        if gain[i, j] > 0:
            t.matched += 1
            t.named += int(same[i, j])
    return t


def detect(detector: object, page: np.ndarray, prob: np.ndarray, scale: object, density: np.ndarray
           ) -> tuple[PageLayout | None, float]:
    t = time.perf_counter()
    try:
        layout = detector(page, prob, scale, PaperSettings(), None, density)  # type: ignore[operator]
    except LayoutError:
        layout = None
    return layout, time.perf_counter() - t


def main(argv: list[str] | None = None) -> str:
    from tqdm import tqdm

    p = argparse.ArgumentParser(prog="python -m benchmarks.detect", description=__doc__.split("\n")[0])
    p.add_argument("--pages", type=int, default=6, help="pages per layout and preset")
    p.add_argument("--sample", type=int, default=0, help="which sample of pages (0: the standing one)")
    p.add_argument("--model", default=str(ROOT / "model"))
    p.add_argument("--out", default=str(ROOT / "benchmarks" / "DETECT.md"))
    a = p.parse_args(argv)
    torch.set_num_threads(2)
    cv2.setNumThreads(2)
    t = time.perf_counter()
    yolo = YoloDetector.load(a.model)
    load_seconds = time.perf_counter() - t
    unet = UNetBinarizer(load(a.model))
    detectors = {"YOLO": yolo, "baseline": BaselineDetector()}
    recs = held_out_records()
    tallies: dict[tuple[str, str, str], Tally] = {}
    jobs = [(lay, preset, i) for lay in LAYOUT_NAMES for preset in PRESETS for i in range(a.pages)]
    # every held-out record in turn, in a fixed shuffled order (a stride of 5 through 100 records drew 20 of them,
    # each 8 or 9 times: one record's tall QRS made a fifth of the misses)
    order = np.random.default_rng(11 + a.sample).permutation(len(recs))
    for k, (lay, preset, i) in enumerate(tqdm(jobs, desc="detection pages")):
        src, rec = recs[order[k % len(recs)]]
        sig, fs, leads = load_source(DATA / src / rec)
        rendered = render_page(sig, fs, leads, sample_config(preset, 9000 + 10000 * a.sample + k, layout=lay))
        s = straighten(rendered.image)
        prob = unet(s.image)
        scale = calibrate.grid_scale(grey(s.image), prob > 0.5)
        density = ink_density(s.image, prob > 0.5, scale.px_per_mm_y)
        truth = true_boxes(rendered, s.homography, s.image.shape[:2])
        for name, detector in detectors.items():
            layout, seconds = detect(detector, s.image, prob, scale, density)
            tallies.setdefault((name, lay, preset), Tally()).add(score(layout, truth, lay, seconds))
    head = ("| detector | layout | preset | pages | box recall | box precision | layout right | names right |"
            " pages failed | s/page (median) |\n|---|---|---|---|---|---|---|---|---|---|\n")
    lines = []
    for name in detectors:
        total = Tally()
        for lay in LAYOUT_NAMES:
            for preset in PRESETS:
                cell = tallies[(name, lay, preset)]
                total.add(cell)
                if name == "YOLO":
                    lines.append(f"| {name} | {lay} | {preset} | {cell.cells()} |")
        for preset in PRESETS:
            sub = Tally()
            for lay in LAYOUT_NAMES:
                sub.add(tallies[(name, lay, preset)])
            lines.append(f"| {name} | all | {preset} | {sub.cells()} |")
        lines.append(f"| **{name}** | **all** | **all** | {total.cells()} |")
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                            cwd=ROOT).stdout.strip()
    text = (f"# Lead boxes and layout\n\n{datetime.date.today().isoformat()}, commit `{commit}`, "
            f"`python -m benchmarks.detect --pages {a.pages}{f' --sample {a.sample}' if a.sample else ''}`: {a.pages} "
            f"pages per layout and preset from held-out records. YOLO load: {load_seconds:.2f} s.\n\n"
            "Recall: true boxes found at IoU >= 0.5 / true boxes (returned and true boxes paired one to one, the most "
            "pairs, then the most with the right lead); precision: matched / returned boxes; names: "
            "true boxes matched by a box carrying the right lead / true boxes; seconds: the lead-box stage "
            "(network, pre- and post-processing) on 2 threads.\n\n" + head + "\n".join(lines) + "\n")
    Path(a.out).write_text(text)
    print(text)
    return text


if __name__ == "__main__":
    main()
