"""Oracle stages from the generator's ground truth: the true trace mask as a binarizer and the true boxes as a
lead detector. They show what each learned or classical stage costs (benchmarks, tests); never used on real
pages. Both follow the page through straightening via :meth:`align_to`.
"""

from __future__ import annotations

import cv2
import numpy as np

from .calibrate import find_pulse, pulse_reach_mm
from .layouts import make_layout
from .types import Box, Cell, GridScale, LeadBox, PageLayout, PaperSettings


class TruthBinarizer:
    """The generator's trace mask (traces, pulses and separators) as the binarized page."""

    name = "truth"

    def __init__(self, mask: np.ndarray):
        self.mask = (mask > 0).astype(np.float32)
        self._aligned = self.mask

    def align_to(self, homography: np.ndarray, shape: tuple[int, int]) -> None:
        self._aligned = cv2.warpPerspective(self.mask, homography, (shape[1], shape[0]), flags=cv2.INTER_LINEAR)

    def __call__(self, image: np.ndarray) -> np.ndarray:
        return (self._aligned >= 0.5).astype(np.float32)


class TruthDetector:
    """The generator's cells: each box from its baseline's ends, one row pitch tall, with the true 0 mV; the rows'
    calibration pulses as the detectors find them."""

    name = "truth"

    def __init__(self, meta: dict):
        self.meta = meta
        self.homography = np.eye(3)

    def align_to(self, homography: np.ndarray, shape: tuple[int, int]) -> None:
        self.homography = homography

    def __call__(self, image: np.ndarray, trace: np.ndarray, scale: GridScale, paper: PaperSettings,
                 layout: str | None = None, density: np.ndarray | None = None) -> PageLayout:
        meta = self.meta
        layout = make_layout(meta["layout"], span=meta["span_s"], column_time=meta["column_time"])
        leads = meta["leads"]
        rows = sorted({m["row"] for m in leads})
        ys = {m["row"]: m["baseline"][0][1] for m in leads}
        pitch = float(np.median(np.diff([ys[r] for r in rows]))) if len(rows) > 1 else 40 * scale.px_per_mm_y
        boxes = []
        for m in leads:
            ends = cv2.perspectiveTransform(np.array(m["baseline"], np.float64)[None], self.homography)[0]
            (xa, ya), (xb, yb) = ends
            cell = Cell(m["lead"], m["row"], m["col"], m["ncols"], m["t0"], m["t1"])
            y = 0.5 * (ya + yb)
            boxes.append(LeadBox(Box(xa, y - 0.5 * pitch, xb, y + 0.5 * pitch, m["lead"]), cell, y, pitch))
        # the rows' calibration pulses, found as the detectors find them (they give the page's gain and speed)
        ppm, ink = scale.px_per_mm_x, trace > 0.5
        pulses = []
        firsts = [min((lb for lb in boxes if lb.cell.row == r), key=lambda lb: lb.box.x0) for r in rows]
        for k, first in enumerate(firsts):
            assert first.baseline_y is not None
            above = firsts[k - 1].baseline_y if k else None
            pulse = find_pulse(ink, first.baseline_y, (first.box.x0 - 14 * ppm, first.box.x0 + 2 * ppm), ppm,
                               above_mm=pulse_reach_mm(first.baseline_y, above, ppm))
            if pulse is not None:
                pulses.append(pulse)
        return PageLayout(layout, boxes, self.name, pulses=pulses,
                          ticks=bool(meta.get("config", {}).get("separators")))
