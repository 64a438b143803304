"""Scale: pixels per millimetre from the grid, and the calibration pulse.

The grid is read from a grid-enhanced image (the page's darkness with the traces removed), projected onto each
axis: the projection is periodic with a 1 mm (minor lines) and 5 mm (major lines) period. The period is found
by a harmonic comb on the spectrum, told apart as 1 mm or 5 mm by the presence of the 5 mm sub-harmonics,
then refined to a hundredth of a pixel from the autocorrelation's peaks at many periods. Where no grid shows,
the page size gives a first scale, and the rows the lead-box stage finds (each spans 10 s of paper) a better
one; the result says which.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .types import GridScale, Pulse

PAPER_WIDTHS_MM = (279.4, 297.0)
MIN_PX_PER_MM, MAX_PX_PER_MM = 1.6, 16.0  # 40 to 400 dpi


@dataclass(frozen=True)
class Period:
    px_per_mm: float
    strength: float  # how periodic the projection is (0: not at all)


def grid_image(grey: np.ndarray, trace_mask: np.ndarray | None) -> np.ndarray:
    """Darkness of the page with traces (and their surroundings) removed: NaN there."""
    dark = 255.0 - grey.astype(np.float32)
    if trace_mask is not None:
        near = cv2.dilate(trace_mask.astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
        dark[near] = np.nan
    return dark


def _profile(dark: np.ndarray, axis: int) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        counts = np.sum(np.isfinite(dark), axis=axis)
        prof = np.nansum(dark, axis=axis) / np.maximum(counts, 1)
    prof[counts < 0.05 * dark.shape[axis]] = np.nan
    good = np.isfinite(prof)
    if good.sum() < 16:
        return np.zeros(0)
    prof = np.interp(np.arange(prof.size), np.flatnonzero(good), prof[good])
    smooth = cv2.GaussianBlur(prof.reshape(1, -1).astype(np.float64), (0, 0), 12).ravel()
    return prof - smooth


def _peak(values: np.ndarray, k: int) -> float:
    """Sub-sample position of a local maximum at k (parabola through three points)."""
    if 0 < k < values.size - 1:
        a, b, c = values[k - 1], values[k], values[k + 1]
        den = a - 2 * b + c
        if den < 0:
            return k + 0.5 * (a - c) / den
    return float(k)


def period(profile: np.ndarray, prior_px_per_mm: float | None = None) -> Period:
    """Pixels per millimetre of a grid projection, with a periodicity strength (contrast over the noise floor).

    Each hypothesis ``h`` px/mm predicts spectral peaks at the harmonics of the 5 mm period ``5h`` (major
    lines; minor lines add to every fifth). Its score is the mean amplitude on those teeth minus the mean
    midway between them. Combs at 2, 2.5, 3 or 5 times the truth can score nearly as well (when the harmonics
    of major and minor lines partly cancel), so among the strong candidates the one nearest the page-size
    prior wins, the score breaking near-ties; without a prior, the best score.
    """
    n = profile.size
    if n < 64 or not np.any(profile):
        return Period(float("nan"), 0.0)
    pad = 8 * n
    spec = np.abs(np.fft.rfft(profile * np.hanning(n), pad))
    freqs = np.fft.rfftfreq(pad)
    floor = np.median(spec) + 1e-9
    hyps = np.exp(np.linspace(np.log(MIN_PX_PER_MM), np.log(MAX_PX_PER_MM), 2500))
    kmax = np.maximum(2, (0.45 * 5 * hyps).astype(int))  # harmonics below 0.45 cycles per px
    k = np.arange(1, int(kmax.max()) + 1)[None, :]
    on = k <= kmax[:, None]
    teeth = np.interp(k / (5 * hyps[:, None]), freqs, spec)
    between = np.interp((k - 0.5) / (5 * hyps[:, None]), freqs, spec)
    scores = (np.where(on, teeth - between, 0.0).sum(axis=1) / on.sum(axis=1)) / floor
    best = float(scores.max())
    peaks = [i for i in range(1, hyps.size - 1)
             if scores[i] >= scores[i - 1] and scores[i] >= scores[i + 1] and scores[i] >= 0.4 * best]
    if not peaks or best <= 0:
        return Period(float("nan"), 0.0)
    if prior_px_per_mm:
        pick = min(peaks, key=lambda i: abs(np.log(hyps[i] / prior_px_per_mm)) + (1 - scores[i] / best))
    else:
        pick = int(np.argmax(scores))
    return Period(_refine(profile, float(hyps[pick])), best)


def _refine(profile: np.ndarray, px_per_mm: float) -> float:
    """Refine a scale from the autocorrelation's peaks at many multiples of the 5 mm period."""
    n = profile.size
    f = np.fft.rfft(profile, 2 * n)
    acf = np.fft.irfft(f * np.conj(f))[:n]
    major = 5 * px_per_mm
    lags, ks = [], []
    for k in range(1, int(0.6 * n / major) + 1):
        centre = int(round(k * major))
        lo, hi = max(centre - 3, 1), min(centre + 4, n - 1)
        if hi - lo < 3:
            break
        j = lo + int(np.argmax(acf[lo:hi]))
        if j in (lo, hi - 1):
            continue
        lags.append(_peak(acf, j))
        ks.append(k)
    if len(ks) < 2:
        return px_per_mm
    ks_arr, lags_arr = np.array(ks, float), np.array(lags)
    slope = float(np.sum(ks_arr * lags_arr) / np.sum(ks_arr * ks_arr))  # line through the origin
    return slope / 5.0 if abs(slope / 5.0 / px_per_mm - 1) < 0.05 else px_per_mm


def page_prior(shape: tuple[int, ...]) -> float:
    """Pixels per millimetre if the image is a whole landscape page (letter or A4)."""
    h, w = shape[:2]
    ratio = w / h
    width_mm = PAPER_WIDTHS_MM[0] if abs(ratio - 279.4 / 215.9) < abs(ratio - 297 / 210) else PAPER_WIDTHS_MM[1]
    return w / width_mm


def grid_scale(grey: np.ndarray, trace_mask: np.ndarray | None = None, min_strength: float = 8.0) -> GridScale:
    """Pixels per millimetre along x and y from the printed grid; from the page size when no grid shows."""
    dark = grid_image(grey, trace_mask)
    prior = page_prior(grey.shape)
    px = period(_profile(dark, axis=0), prior)
    py = period(_profile(dark, axis=1), prior)
    ok_x = px.strength >= min_strength and np.isfinite(px.px_per_mm)
    ok_y = py.strength >= min_strength and np.isfinite(py.px_per_mm)
    if ok_x and ok_y and abs(np.log(px.px_per_mm / py.px_per_mm)) < 0.15:
        conf = float(np.clip(min(px.strength, py.strength) / 10.0, 0.0, 1.0))
        return GridScale(px.px_per_mm, py.px_per_mm, "grid", conf)
    if ok_x or ok_y:  # one axis only (the other hidden by traces, text or shading): square pixels
        v = px.px_per_mm if (ok_x and (not ok_y or px.strength >= py.strength)) else py.px_per_mm
        return GridScale(v, v, "grid", 0.5)
    return GridScale(prior, prior, "page size", 0.2)


def span_scale(row_widths: list[float], span_mm: float, scale: GridScale, agree: float = 0.03) -> GridScale:
    """Pixels per millimetre from the rows of a page whose grid did not show: every row of every layout spans
    ``span_mm`` of paper (10 s at 25 mm/s), so the median row's width in pixels gives the scale, square.

    ``scale`` is returned unchanged unless it is the page size's guess (a scale from the grid or given by the
    caller stands); when fewer than three rows are found; when under half of them lie within ``agree`` of the
    median (a row that lost a box at either end is short; rows seen in perspective differ) unless every row
    puts the page size off by more than ``agree`` the same way (a photo left in perspective: its middle row
    is nearer than the page size); and when the rows agree with the page size within ``agree``: the page size
    is exact for a whole page (a scan), the rows are good to about 0.3 %, but a photo's page size is off by up
    to a fifth.
    """
    widths = np.asarray(row_widths, np.float64)
    if scale.source != "page size" or widths.size < 3:
        return scale
    median = float(np.median(widths))
    off = widths / (span_mm * scale.px_per_mm_x) - 1.0
    if np.mean(np.abs(widths / median - 1.0) <= agree) < 0.5 and not (np.all(off > agree) or np.all(off < -agree)):
        return scale
    ppm = median / span_mm
    if not MIN_PX_PER_MM <= ppm <= MAX_PX_PER_MM or abs(ppm / scale.px_per_mm_x - 1.0) <= agree:
        return scale
    return GridScale(ppm, ppm, "row span", 0.5)


def _edges(region: np.ndarray, min_px: float, wobble: bool = False) -> list[tuple[int, int, float, float]]:
    """Vertical strokes: adjacent columns whose longest run of ink is tall; (x0, x1, top, bottom), the top and
    bottom of all of them (a gap left by binarization cuts one column's run short, rarely its neighbour's). With
    ``wobble``, runs are read a pixel either side of each column: a stroke a pixel off the vertical (or
    binarized unevenly) steps from column to column, and no single column holds it whole."""
    from .extract import find_runs

    ink = cv2.dilate(region.astype(np.uint8), np.ones((1, 3), np.uint8)) > 0 if wobble else region
    cols, tops, bots = find_runs(ink)
    length = bots - tops + 1
    best_len = np.zeros(region.shape[1], np.int64)
    np.maximum.at(best_len, cols, length)
    pick = length == best_len[cols]
    first = np.zeros(region.shape[1])
    last = np.zeros(region.shape[1])
    first[cols[pick]], last[cols[pick]] = tops[pick], bots[pick]
    tall = best_len >= min_px
    out = []
    x = 0
    while x < tall.size:
        if not tall[x]:
            x += 1
            continue
        start = x
        while x + 1 < tall.size and tall[x + 1]:
            x += 1
        span = slice(start, x + 1)
        a, b = (min(start + 1, x), max(x - 1, start)) if wobble else (start, x)  # the dilation's pixel back
        out.append((a, b, float(first[span].min()), float(last[span].max())))
        x += 1
    return out


def _pulses(region: np.ndarray, edges: list[tuple[int, int, float, float]], px_per_mm: float
            ) -> list[tuple[int, int, float, float]]:
    """Pairs of edges that make a pulse in ``region``: (x0, x1 past the falling edge, top, bottom)."""
    out = []
    for i, (a0, a1, top_a, bot_a) in enumerate(edges):
        for b0, b1, top_b, bot_b in edges[i + 1:]:
            gap = (b0 - a1) / px_per_mm
            if not 3.0 <= gap <= 12.0 or abs(top_a - top_b) > px_per_mm or abs(bot_a - bot_b) > 1.5 * px_per_mm:
                continue
            inside = region[:int(max(bot_a, bot_b)) + 1, a1 + 1:b0]  # not the next row's pulse, below the foot
            counts = inside.sum(axis=0)
            first = np.argmax(inside, axis=0)
            near_top = (counts > 0) & (np.abs(first - top_a) <= 0.8 * px_per_mm) & (counts <= 1.5 * px_per_mm)
            if near_top.mean() < 0.8:
                continue
            stroke = float(np.median(counts[near_top]))
            top = float(np.median(first[near_top] + counts[near_top] / 2.0)) - 0.5
            out.append((a0, b1 + 1, top, 0.5 * (bot_a + bot_b) - stroke / 2.0 + 0.5))
    return out


def find_pulse(trace: np.ndarray, baseline_y: float, x_search: tuple[float, float], px_per_mm: float,
               max_offset_mm: float = 5.0, above_mm: float = 25.0, wobble: bool = True) -> Pulse | None:
    """A calibration pulse (a rising and a falling edge 3..12 mm apart joined by a thin top bar) near a row's start.

    ``trace`` is the binary trace image; the search covers ``x_search`` horizontally and from ``above_mm`` above
    to 4 mm below ``baseline_y``. Returns the pulse whose bottom is closest to the baseline, or None when none
    is within ``max_offset_mm`` of it (the pulse of the row above, in a page of close rows, is not this row's).
    Edges are read column by column; with ``wobble``, where that finds no pulse, then a pixel either side (a
    stroke that steps between columns, as a scan's binarization leaves it). A row's pulse foot is its 0 mV: a
    record whose trace sits off 0 mV (a DC offset, a drifting baseline) is read at its true level only from it.
    """
    h, w = trace.shape
    x0, x1 = max(int(x_search[0]), 0), min(int(x_search[1]), w)
    y0, y1 = max(int(baseline_y - above_mm * px_per_mm), 0), min(int(baseline_y + 4 * px_per_mm), h)
    if x1 - x0 < 4 * px_per_mm or y1 <= y0:
        return None
    region = (trace[y0:y1, x0:x1] > 0).astype(np.uint8)
    # close the pixel gaps binarization leaves where the pulse crosses grid lines
    gap = max(3, int(round(0.4 * px_per_mm)) | 1)
    region = cv2.morphologyEx(region, cv2.MORPH_CLOSE, np.ones((gap, 1), np.uint8))
    region = cv2.morphologyEx(region, cv2.MORPH_CLOSE, np.ones((1, gap), np.uint8)) > 0
    # an edge that runs to the window's lower end is cut off by it, not a pulse's foot (a probe halfway down it)
    cut = region.shape[0] - 1 if y1 < h else region.shape[0]

    def whole(edges: list[tuple[int, int, float, float]]) -> list[tuple[int, int, float, float]]:
        return [e for e in edges if e[3] < cut]

    found = _pulses(region, whole(_edges(region, 2.5 * px_per_mm)), px_per_mm)
    if not found and wobble:
        found = _pulses(region, whole(_edges(region, 2.5 * px_per_mm, wobble=True)), px_per_mm)
    pulses = [Pulse(x0 + a, x0 + b, y0 + top, y0 + bottom) for a, b, top, bottom in found]
    best = min(pulses, key=lambda p: abs(p.bottom - baseline_y), default=None)
    if best is not None and abs(best.bottom - baseline_y) > max_offset_mm * px_per_mm:
        return None
    return best


def pulse_reach_mm(baseline_y: float, above_y: float | None, px_per_mm: float) -> float:
    """How far above a row's baseline :func:`find_pulse` looks for its pulse: 25 mm, or where there is a row above
    (at ``above_y``), whose pulse stands in the same columns, 0.9 of the gap to it (12x1 rows are 14 mm apart, and
    a pulse is 10 mm tall), at least 6 mm."""
    if above_y is None:
        return 25.0
    return float(np.clip(0.9 * (baseline_y - above_y) / px_per_mm, 6.0, 25.0))


def find_pulses(trace: np.ndarray, x_search: tuple[float, float], y_range: tuple[float, float],
                px_per_mm: float, pitch_px: float) -> list[Pulse]:
    """Every calibration pulse between ``y_range`` in the columns ``x_search`` (the page's left margin, where
    each row has its pulse), top down: :func:`find_pulse` probed every 4 mm, each pulse kept once. Each probe
    looks up to 0.9 ``pitch_px`` (the rows' spacing) above it: the pulse of the row above stands in the same
    columns, and only one pulse per column is seen."""
    found: list[Pulse] = []
    reach = max(0.9 * pitch_px / px_per_mm, 6.0)
    # a pulse whose foot lies within 2.5 mm of a probe has ink within 6 mm of it (its edges' lower ends lie
    # within 1.5 mm of each other and the foot within half a stroke of them; closing the binarization's gaps
    # adds under half a millimetre): probes with no ink that near in these columns are skipped (most of the
    # space between rows)
    h, w = trace.shape
    columns = trace[:, max(int(x_search[0]), 0):min(int(x_search[1]), w)] > 0
    inked = np.concatenate([[0], np.cumsum(columns.any(axis=1))])
    near = 6 * px_per_mm + 3
    for y in np.arange(y_range[0], y_range[1] + 4 * px_per_mm, 4 * px_per_mm):
        if inked[int(np.clip(y + near, 0, h))] == inked[int(np.clip(y - near, 0, h))]:
            continue
        pulse = find_pulse(trace, float(y), x_search, px_per_mm, max_offset_mm=2.5, above_mm=reach)
        if pulse is not None and all(abs(pulse.bottom - q.bottom) > 2 * px_per_mm for q in found):
            found.append(pulse)
    return sorted(found, key=lambda p: p.bottom)
