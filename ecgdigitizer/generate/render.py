"""Render one page from a signal and a :class:`PageConfig`, with ground truth that matches the final image.

Order: paper and grid, printed text, traces, ink on the page, paper shading, the geometric transform (one
resampling of the image; trace points go through the same homography), light, then the scanner or camera.
The mask is drawn last, from the transformed trace points, so it is exact in the final image's geometry.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ..types import canonical_lead
from . import artifacts as art
from .config import PageConfig
from .paper import draw_grid, draw_header, draw_text, paper
from .plot import (Coverage, Placement, apply_ink, page_geometry, pen_coverage, place_cells, pulse_polylines,
                   separator_lines)

MASK_TRACE = 255
MASK_PULSE = 128  # calibration pulses and lead separators: printed by the pen, but not signal
_MASK_LEVEL = 0.5  # the pen's coverage of a pixel from which it belongs to the mask


@dataclass
class RenderedPage:
    image: np.ndarray  # (H, W, 3) RGB, or (H, W) for black-and-white pages
    mask: np.ndarray  # (H, W) uint8: 255 trace, 128 pulse/separator, 0 elsewhere
    config: PageConfig
    placements: list[Placement]  # xy in final-image pixels
    homography: np.ndarray  # flat page pixels -> final image pixels
    span_s: float
    n_samples: int  # samples of the record the page shows (from 0)
    masked: np.ndarray  # (n_samples, n_leads) reference, NaN where nothing is plotted
    lead_names: list[str]
    meta: dict


def _label_positions(cfg: PageConfig, placements: list[Placement], rng: np.random.Generator,
                     img: np.ndarray) -> None:
    if not cfg.lead_labels:
        return
    ppm = cfg.px_per_mm
    size = cfg.label_size_mm * ppm
    above = rng.uniform(2.5, 7.0) * ppm
    colour = (int(rng.integers(0, 50)),) * 3
    for p in placements:
        draw_text(img, p.cell.lead, p.x0_px + 0.6 * ppm, p.baseline_px - above - size, size, cfg.font, colour)


def _box(xy: np.ndarray, pad: float, shape: tuple[int, ...]) -> list[float] | None:
    h, w = shape[:2]
    inside = (xy[:, 0] >= 0) & (xy[:, 0] < w) & (xy[:, 1] >= 0) & (xy[:, 1] < h)
    if inside.sum() < 2:
        return None
    x0, y0 = xy[inside].min(0) - pad
    x1, y1 = xy[inside].max(0) + pad
    return [float(max(x0, 0)), float(max(y0, 0)), float(min(x1, w - 1)), float(min(y1, h - 1))]


def _warp_points(xy: np.ndarray, hom: np.ndarray) -> np.ndarray:
    return cv2.perspectiveTransform(xy[None].astype(np.float64), hom)[0]


def _draw_mask(shape: tuple[int, int], traces: list[np.ndarray], cover_traces: list[Coverage | None],
               cover_lines: list[Coverage | None]) -> np.ndarray:
    """The trace-only mask, in the final image's geometry (the pen's cover of the ``traces`` and of the pulse and
    separator lines, computed there) so that every trace point lies on it."""
    mask = np.zeros(shape, np.uint8)
    for covers, value in ((cover_lines, MASK_PULSE), (cover_traces, MASK_TRACE)):  # a trace over a pulse is trace
        for found in covers:
            if found is not None:
                cover, (x0, y0) = found
                mask[y0:y0 + cover.shape[0], x0:x0 + cover.shape[1]][cover >= _MASK_LEVEL] = value
    if traces:  # the pixel under every sample, end caps included, where a thin pen covers least
        pix = np.rint(np.concatenate(traces)).astype(np.int64)
        ok = (pix[:, 0] >= 0) & (pix[:, 0] < shape[1]) & (pix[:, 1] >= 0) & (pix[:, 1] < shape[0])
        mask[pix[ok, 1], pix[ok, 0]] = MASK_TRACE
    return mask


def render_page(signal: np.ndarray, fs: float, lead_names: list[str], cfg: PageConfig) -> RenderedPage:
    """Draw ``signal`` (n_samples, n_leads, mV) as a paper ECG page configured by ``cfg``."""
    rng = np.random.default_rng([cfg.seed, 7])
    a = cfg.artifacts
    ppm = cfg.px_per_mm
    names = [canonical_lead(n) for n in lead_names]
    lead_index = {n: i for i, n in enumerate(names)}
    geom = page_geometry(cfg)
    n_page = min(signal.shape[0], int(round(geom.span_s * fs)))
    signal = signal[:n_page]

    img = paper(cfg)
    draw_grid(img, cfg, (float(rng.uniform(0, 5)), float(rng.uniform(0, 5))))
    draw_header(img, cfg, rng)
    placements = place_cells(cfg, geom, signal, fs, lead_index)
    _label_positions(cfg, placements, rng, img)

    pen = max(cfg.trace_width_mm * ppm, 1.0)  # the pen's width (px)
    pen_lines = pulse_polylines(cfg, geom) + separator_lines(cfg, geom)
    cover_traces = [pen_coverage(img.shape[:2], p.xy, pen) for p in placements]
    cover_lines = [pen_coverage(img.shape[:2], xy, pen) for xy in pen_lines]
    for found in cover_traces + cover_lines:
        apply_ink(img, found, cfg.trace_rgb)

    traces_flat = [p.xy for p in placements]
    if a.handwriting_words:
        art.handwriting(img, rng, a.handwriting_words, ppm, traces_flat)
    if a.scribbles:
        art.scribbles(img, rng, a.scribbles, ppm, traces_flat)
    if a.stamps:
        art.stamps(img, rng, a.stamps, ppm, cfg.font)
    if a.wrinkles or a.creases:
        img = art.shade(img, art.paper_shading(img.shape, rng, a.wrinkles, a.creases))

    transform = art.page_transform(img.shape, a, rng)
    hom = np.eye(3)
    if transform is not None:
        hom, size = transform
        img = cv2.warpPerspective(img, hom, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
                                  borderValue=tuple(int(v) for v in a.background_rgb))
        for p in placements:
            p.xy = _warp_points(p.xy, hom)
        pen_lines = [_warp_points(xy, hom) for xy in pen_lines]
        cover_traces = [pen_coverage(img.shape[:2], p.xy, pen) for p in placements]
        cover_lines = [pen_coverage(img.shape[:2], xy, pen) for xy in pen_lines]
    mask = _draw_mask(img.shape[:2], [p.xy for p in placements], cover_traces, cover_lines)

    if a.shadow or a.uneven_light:
        img = art.shade(img, art.light_shading(img.shape, rng, a.shadow, a.uneven_light))
    img = art.photometric(img, rng, a)

    masked = np.full((n_page, len(names)), np.nan)
    for p in placements:
        j = lead_index[p.cell.lead]
        masked[p.samples, j] = signal[p.samples, j]

    meta = _metadata(cfg, geom.span_s, fs, n_page, hom, img.shape, placements, pen)
    return RenderedPage(img, mask, cfg, placements, hom, geom.span_s, n_page, masked, names, meta)


def _metadata(cfg: PageConfig, span: float, fs: float, n_page: int, hom: np.ndarray, shape: tuple[int, ...],
              placements: list[Placement], pen: float) -> dict:
    leads = []
    for p in placements:
        base = np.array([[p.x0_px, p.baseline_px],
                         [p.x0_px + (p.cell.t1 - p.cell.t0) * p.px_per_s, p.baseline_px]])
        base = cv2.perspectiveTransform(base[None], hom)[0]
        leads.append({
            "lead": p.cell.lead, "row": p.cell.row, "col": p.cell.col, "ncols": p.cell.ncols,
            "t0": p.cell.t0, "t1": p.cell.t1, "sample_start": int(p.samples[0]),
            "sample_stop": int(p.samples[-1]) + 1, "gain_mm_mv": p.gain_mm_mv,
            "box": _box(p.xy, pen / 2 + 1, shape), "baseline": base.tolist(),
        })
    return {
        "image_size": [int(shape[1]), int(shape[0])],
        "layout": cfg.layout, "column_time": cfg.column_time, "span_s": span,
        "dpi": cfg.dpi, "px_per_mm": [cfg.px_per_mm, cfg.px_per_mm],
        "speed_mm_s": cfg.speed_mm_s, "gain_mm_mv": {"limb": cfg.gain_limb, "chest": cfg.gain_chest},
        "calibration_pulse": cfg.calibration_pulse, "rotation_deg": cfg.artifacts.rotation_deg,
        "homography": hom.tolist(), "artifacts": cfg.artifacts.active(), "fs": fs, "n_samples": n_page,
        "trace_width_px": pen, "leads": leads, "config": cfg.to_dict(),
    }
