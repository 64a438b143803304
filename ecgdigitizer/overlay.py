"""A picture of what was read: every extracted trace drawn back onto the input page, each box labelled.

The first thing a person looks at to trust or reject a result. Traces are mapped from signal values to the
straightened page (box start, paper speed, baseline, gain) and back through the straightening homography onto
the original image, so a good reading lies exactly on the printed trace.
"""

from __future__ import annotations

import cv2
import numpy as np

from .types import PageResult

COLOURS = [(230, 25, 75), (60, 180, 75), (0, 130, 200), (245, 130, 48), (145, 30, 180), (70, 240, 240),
           (240, 50, 230), (210, 245, 60), (0, 128, 128), (170, 110, 40), (128, 0, 0), (0, 0, 128)]


def draw_overlay(image: np.ndarray, result: PageResult) -> np.ndarray:
    """RGB copy of ``image`` (same size) with the result's traces and boxes drawn on it."""
    out = image.copy() if image.ndim == 3 else cv2.cvtColor(image, cv2.COLOR_GRAY2RGB)
    out = (out * 0.6 + 255 * 0.4).astype(np.uint8)  # fade the page so the reading stands out
    if result.layout is None or result.scale is None or result.paper is None:
        cv2.putText(out, f"not read: {result.reason}"[:120], (20, 40), cv2.FONT_HERSHEY_SIMPLEX, 0.9, (200, 0, 0), 2,
                    cv2.LINE_AA)
        return out
    back = np.linalg.inv(result.homography) if result.homography is not None else np.eye(3)
    ppm_x, ppm_y = result.scale.px_per_mm_x, result.scale.px_per_mm_y
    px_per_s = ppm_x * result.paper.speed_mm_s
    thick = max(1, int(round(out.shape[1] / 1500)))
    names = [n.casefold() for n in result.lead_names]
    for k, lb in enumerate(result.layout.boxes):
        colour = COLOURS[k % len(COLOURS)]
        cell, box = lb.cell, lb.box
        corners = np.array([[box.x0, box.y0], [box.x1, box.y0], [box.x1, box.y1], [box.x0, box.y1]], np.float64)
        poly = cv2.perspectiveTransform(corners[None], back)[0]
        cv2.polylines(out, [np.rint(poly).astype(np.int32)], True, colour, 1, cv2.LINE_AA)
        label = f"{cell.lead}"
        cv2.putText(out, label, tuple(np.rint(poly[0] + [3, 18]).astype(int)), cv2.FONT_HERSHEY_SIMPLEX, 0.6,
                    colour, 2, cv2.LINE_AA)
        if cell.lead.casefold() not in names:
            continue
        signal = result.signals[:, names.index(cell.lead.casefold())]
        start, stop = int(round(cell.t0 * result.fs)), min(int(round(cell.t1 * result.fs)), signal.size)
        idx = np.arange(start, stop)
        v = signal[idx]
        ok = np.isfinite(v)
        if ok.sum() < 2:
            continue
        baseline = lb.baseline_y if lb.baseline_y is not None else box.cy
        x = box.x0 + (idx / result.fs - cell.t0) * px_per_s
        y = baseline - v * result.paper.gain_for(cell.lead) * ppm_y
        pts = cv2.perspectiveTransform(np.stack([x, y], 1)[None], back)[0]
        edges = np.flatnonzero(np.diff(np.concatenate([[0], ok.astype(int), [0]])))
        runs = [pts[a:b] for a, b in zip(edges[::2], edges[1::2]) if b - a > 1]
        cv2.polylines(out, [np.rint(r * 16).astype(np.int32).reshape(-1, 1, 2) for r in runs], False, colour,
                      thick, cv2.LINE_AA, 4)
    return out
