"""Where each lead's samples land on the flat page, and drawing them.

Geometry in millimetres: a row shows ``span`` seconds at ``speed`` mm/s after an optional 7 mm calibration
area; rows are evenly spaced between the top and bottom margins; sample ``i`` of a cell is at
``x = row_start + col * span_mm / ncols + (i / fs - t0) * speed`` and ``y = baseline - value * gain``.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ..layouts import make_layout
from ..types import LIMB_LEADS, Cell, Layout
from .config import PageConfig

PULSE_AREA_MM = 7.0  # calibration pulse: 1 mm flat, 5 mm (0.2 s at 25 mm/s) at 1 mV, 1 mm flat
_SHIFT = 4
_ONE = 1 << _SHIFT


@dataclass
class Placement:
    """One plotted cell: which samples, and their positions on the flat page (pixels)."""

    cell: Cell
    gain_mm_mv: float
    baseline_px: float
    x0_px: float  # x of the cell's first time (t0)
    px_per_s: float
    samples: np.ndarray  # sample indices plotted
    xy: np.ndarray  # (n, 2) float64 pixel positions of those samples


@dataclass
class PageGeometry:
    layout: Layout
    span_s: float
    row_start_mm: float  # x where a row's calibration area starts
    trace_start_mm: float  # x where a row's traces start
    baselines_mm: list[float]


def page_geometry(cfg: PageConfig) -> PageGeometry:
    """Row positions and the time span of a row for this page."""
    w_mm, h_mm = cfg.size_mm
    span = 10.0 if cfg.speed_mm_s <= 25 else 5.0
    layout = make_layout(cfg.layout, span=span, column_time=cfg.column_time)
    pulse = PULSE_AREA_MM if cfg.calibration_pulse else 0.0
    need = pulse + span * cfg.speed_mm_s
    left, right, top, bottom = cfg.margin_mm
    spare = w_mm - need
    if left + right > spare:  # keep the ratio of the margins, shrink them to fit
        left = spare * left / (left + right)
    nrows = layout.nrows
    pitch = (h_mm - top - bottom) / nrows
    baselines = [top + (r + 0.55) * pitch for r in range(nrows)]
    return PageGeometry(layout, span, left, left + pulse, baselines)


def gain_for(cfg: PageConfig, lead: str) -> float:
    return cfg.gain_limb if lead in LIMB_LEADS else cfg.gain_chest


def place_cells(cfg: PageConfig, geom: PageGeometry, signal: np.ndarray, fs: float,
                lead_index: dict[str, int]) -> list[Placement]:
    """Pixel positions of every plotted sample; cells whose lead is absent or beyond the record are skipped."""
    ppm = cfg.px_per_mm
    n = signal.shape[0]
    out = []
    for cell in geom.layout.cells:
        j = lead_index.get(cell.lead)
        if j is None:
            continue
        start, stop = int(round(cell.t0 * fs)), min(int(round(cell.t1 * fs)), n)
        if stop - start < 2:
            continue
        samples = np.arange(start, stop)
        gain = gain_for(cfg, cell.lead)
        x0_mm = geom.trace_start_mm + cell.col * geom.span_s * cfg.speed_mm_s / cell.ncols
        base_mm = geom.baselines_mm[cell.row]
        x = (x0_mm + (samples / fs - cell.t0) * cfg.speed_mm_s) * ppm
        y = (base_mm - signal[samples, j] * gain) * ppm
        out.append(Placement(cell, gain, base_mm * ppm, x0_mm * ppm, cfg.speed_mm_s * ppm,
                             samples, np.stack([x, y], axis=1)))
    return out


def pulse_polylines(cfg: PageConfig, geom: PageGeometry) -> list[np.ndarray]:
    """The 1 mV calibration pulse at the start of every row (pixels), with the row's first lead's gain."""
    if not cfg.calibration_pulse:
        return []
    ppm = cfg.px_per_mm
    x0 = geom.row_start_mm
    width = 0.2 * cfg.speed_mm_s
    lines = []
    for r, base in enumerate(geom.baselines_mm):
        first = geom.layout.row(r)[0].lead
        top = base - gain_for(cfg, first)
        pts = [(x0, base), (x0 + 1, base), (x0 + 1, top), (x0 + 1 + width, top), (x0 + 1 + width, base),
               (x0 + PULSE_AREA_MM, base)]
        lines.append(np.array(pts) * ppm)
    return lines


def separator_lines(cfg: PageConfig, geom: PageGeometry) -> list[np.ndarray]:
    """Short vertical ticks where the lead changes within a row."""
    if not cfg.separators:
        return []
    ppm = cfg.px_per_mm
    lines = []
    for r, base in enumerate(geom.baselines_mm):
        row = geom.layout.row(r)
        for cell in row[1:]:
            x = geom.trace_start_mm + cell.col * geom.span_s * cfg.speed_mm_s / cell.ncols
            lines.append(np.array([(x, base - 2.5), (x, base + 2.5)]) * ppm)
    return lines


def draw_polyline(canvas: np.ndarray, xy: np.ndarray, colour: tuple[int, ...] | int, thickness: int) -> None:
    """Anti-aliased polyline at sub-pixel positions; NaN samples break the line."""
    finite = np.isfinite(xy).all(axis=1)
    if finite.all():
        runs = [xy]
    else:
        edges = np.flatnonzero(np.diff(np.concatenate([[0], finite.astype(int), [0]])))
        runs = [xy[a:b] for a, b in zip(edges[::2], edges[1::2])]
    pts = [np.rint(np.clip(r, -1e5, 1e5) * _ONE).astype(np.int32).reshape(-1, 1, 2) for r in runs if len(r) > 1]
    if pts:
        cv2.polylines(canvas, pts, False, colour, thickness, cv2.LINE_AA, _SHIFT)
