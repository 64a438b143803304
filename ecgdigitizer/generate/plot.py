"""Where each lead's samples land on the flat page, and drawing them.

Geometry in millimetres: a row shows ``span`` seconds at ``speed`` mm/s after an optional 7 mm calibration
area; rows are evenly spaced between the top and bottom margins; sample ``i`` of a cell is at
``x = row_start + col * span_mm / ncols + (i / fs - t0) * speed`` and ``y = baseline - value * gain``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..layouts import make_layout
from ..types import LIMB_LEADS, Cell, Layout
from .config import PageConfig

_SHIFT = 4
_ONE = 1 << _SHIFT


def pulse_area_mm(speed_mm_s: float) -> float:
    """The calibration pulse's area at a row's start: 1 mm flat, 0.2 s at 1 mV (5 mm at 25 mm/s), 1 mm flat."""
    return 2.0 + 0.2 * speed_mm_s


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
    pulse = pulse_area_mm(cfg.speed_mm_s) if cfg.calibration_pulse else 0.0
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
               (x0 + pulse_area_mm(cfg.speed_mm_s), base)]
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


Coverage = tuple[np.ndarray, tuple[int, int]]  # a crop of pen cover (0..1) and its origin (x, y) on the page


def _runs(xy: np.ndarray) -> list[np.ndarray]:
    """The pieces of a polyline between NaN samples (two points or more each)."""
    finite = np.isfinite(xy).all(axis=1)
    if finite.all():
        return [xy] if len(xy) > 1 else []
    edges = np.flatnonzero(np.diff(np.concatenate([[0], finite.astype(int), [0]])))
    return [xy[a:b] for a, b in zip(edges[::2], edges[1::2]) if b - a > 1]


def pen_coverage(shape: tuple[int, int], xy: np.ndarray, width_px: float) -> Coverage | None:
    """How much of each pixel a round pen ``width_px`` (>= 1) wide covers (float32, 0..1) along the polyline
    ``xy`` (pixel centres at integer coordinates; NaN samples break the line): the crop around the line and
    its origin (x, y), or None when the line is off the page.

    A pixel's cover falls from 1 to 0 as its centre's distance to the line goes from half a pen less half a
    pixel to half a pen plus half a pixel: the exact area for a straight stroke along a row or a column, and
    symmetric about the line at any slope, so the ink is centred where the ground truth says it is.
    (OpenCV's anti-aliased thick polylines draw every segment over its neighbours: the partly covered pixels at
    a stroke's edges darkened with each overlap, and a 2 px pen came out as three full pixels and a fourth,
    up to 0.15 px off the line depending on where it fell within a pixel.)
    """
    h, w = shape
    r = 0.5 * max(width_px, 1.0)
    runs = _runs(np.asarray(xy, dtype=np.float64))
    if not runs:
        return None
    p = np.concatenate([run[:-1] for run in runs])
    q = np.concatenate([run[1:] for run in runs])
    lo = np.floor(np.minimum(p, q) - r - 0.5).astype(np.int64)
    hi = np.ceil(np.maximum(p, q) + r + 0.5).astype(np.int64)
    lo = np.maximum(lo, 0)
    hi = np.minimum(hi, [w - 1, h - 1])
    size = hi - lo + 1
    inside = (size > 0).all(axis=1)
    if not inside.any():
        return None
    p, q, lo, size = p[inside], q[inside], lo[inside], size[inside]
    # every pixel of every segment's bounding box, and its distance to that segment
    count = size[:, 0] * size[:, 1]
    seg = np.repeat(np.arange(count.size), count)
    k = np.arange(int(count.sum())) - np.repeat(np.cumsum(count) - count, count)
    px = lo[seg, 0] + k % size[seg, 0]
    py = lo[seg, 1] + k // size[seg, 0]
    d = q - p
    length2 = np.maximum((d ** 2).sum(axis=1), 1e-12)
    t = np.clip(((px - p[seg, 0]) * d[seg, 0] + (py - p[seg, 1]) * d[seg, 1]) / length2[seg], 0.0, 1.0)
    dist = np.hypot(px - (p[seg, 0] + t * d[seg, 0]), py - (p[seg, 1] + t * d[seg, 1]))
    x0, y0 = int(px.min()), int(py.min())
    nearest = np.full((int(py.max()) - y0 + 1, int(px.max()) - x0 + 1), np.inf)
    np.minimum.at(nearest, (py - y0, px - x0), dist)
    cover = np.clip(r + 0.5 - nearest, 0.0, 1.0).astype(np.float32)
    return cover, (x0, y0)


def apply_ink(canvas: np.ndarray, coverage: Coverage | None, colour: tuple[int, ...] | int) -> None:
    """Mix the ink's colour into ``canvas`` (in place) in proportion to the pen's cover of each pixel."""
    if coverage is None:
        return
    cover, (x0, y0) = coverage
    region = canvas[y0:y0 + cover.shape[0], x0:x0 + cover.shape[1]]
    ink = np.asarray(colour, np.float32)
    c = cover if region.ndim == 2 else cover[:, :, None]
    region[:] = np.rint(region * (1.0 - c) + ink * c).astype(canvas.dtype)


def draw_pen(canvas: np.ndarray, xy: np.ndarray, colour: tuple[int, ...] | int, width_px: float) -> None:
    """Ink a polyline onto ``canvas`` (in place) with a round pen ``width_px`` wide (:func:`pen_coverage`)."""
    apply_ink(canvas, pen_coverage(canvas.shape[:2], xy, width_px), colour)
