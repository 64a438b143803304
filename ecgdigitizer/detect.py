"""Lead boxes and layout: which layout the page has, where each lead is, which name it carries.

Every detector is a callable ``(image, trace, scale, paper) -> PageLayout`` where ``trace`` is the binarized
map. This module holds the baseline (rows from the projection profile of the traces, layout from the row
count and the printed lead labels, columns from the known time span of a row) and :func:`layout_from_rows`,
which the YOLO detector (:mod:`ecgdigitizer.yolo`) shares to turn rows and extents into named boxes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import cv2
import numpy as np
from scipy.signal import find_peaks

from .calibrate import find_pulse, find_pulses, pulse_reach_mm, span_scale
from .extract import find_runs, find_tick, span_positions
from .layouts import make_layout
from .types import Box, GridScale, LeadBox, PageLayout, PaperSettings

ROWS_TO_LAYOUTS = {3: ("3x4",), 4: ("3x4+1",), 5: ("3x4+2",), 6: ("6x2", "3x4+3"), 7: ("6x2+1",), 12: ("12x1",)}


class LeadDetector(Protocol):
    name: str

    def __call__(self, image: np.ndarray, trace: np.ndarray, scale: GridScale, paper: PaperSettings,
                 layout: str | None = None, density: np.ndarray | None = None) -> PageLayout: ...


class LayoutError(Exception):
    """No layout could be recognised on the page."""


@dataclass
class Row:
    y: float  # baseline (isoelectric) pixel row
    x0: float  # first trace pixel (after any calibration pulse)
    x1: float  # last trace pixel
    pulse_bottom: float | None = None  # 0 mV from the calibration pulse, when one was found


def find_rows(trace: np.ndarray, px_per_mm: float) -> list[Row]:
    """Rows of traces: peaks of the horizontal projection whose ink runs along most of the page width."""
    ink = trace > 0.5
    h, w = ink.shape
    profile = cv2.GaussianBlur(ink.sum(axis=1).astype(np.float64).reshape(-1, 1), (1, 0), 0.6 * px_per_mm).ravel()
    peaks, _ = find_peaks(profile, distance=max(int(7 * px_per_mm), 1), prominence=0.01 * w)
    _, labels, stats, _ = cv2.connectedComponentsWithStats(ink.astype(np.uint8), connectivity=8)
    widths = stats[:, cv2.CC_STAT_WIDTH].copy()
    widths[0] = 0
    rows = []
    half = int(3 * px_per_mm)
    for p in peaks:
        band = ink[max(p - half, 0):p + half + 1]
        cols = np.flatnonzero(band.any(axis=0))
        if cols.size < 0.3 * w / 2:
            continue
        # the row's trace: the longest stretch of columns without a gap over 12 mm (a thin trace that runs along
        # a grid line loses stretches to binarization; a pulse or label is separate from the trace anyway)
        gaps = np.flatnonzero(np.diff(cols) > 12 * px_per_mm)
        starts = np.concatenate([[0], gaps + 1])
        ends = np.concatenate([gaps, [cols.size - 1]])
        k = int(np.argmax(cols[ends] - cols[starts]))
        x0, x1 = float(cols[starts[k]]), float(cols[ends[k]])
        coverage = band[:, int(x0):int(x1) + 1].any(axis=0).mean()
        if (x1 - x0) < 0.4 * w or coverage < 0.5:  # header text lines are short or gappy
            continue
        ys = np.nonzero(band[:, int(x0):int(x1) + 1])[0]
        if ys.std() < 0.25 * px_per_mm:  # a ruled line, not a trace: traces wander
            continue
        touching = np.unique(labels[max(p - half, 0):p + half + 1][band])
        if widths[touching].max(initial=0) < 20 * px_per_mm:  # text: letters, not a long stroke
            continue
        rows.append(Row(float(p), x0, x1))
    return rows


def complete_rows(rows: list[Row]) -> list[Row]:
    """Fill rows missing from an evenly spaced set: a gap of k pitches gets k - 1 rows (as YOUR-Lead fills
    missing boxes), spanning the median extent of the others."""
    if len(rows) < 3:
        return rows
    rows = sorted(rows, key=lambda r: r.y)
    gaps = np.diff([r.y for r in rows])
    pitch = float(np.median(gaps))
    x0, x1 = float(np.median([r.x0 for r in rows])), float(np.median([r.x1 for r in rows]))
    out = [rows[0]]
    for row, gap in zip(rows[1:], gaps):
        k = int(round(gap / pitch))
        if k >= 2 and abs(gap / k - pitch) < 0.12 * pitch:
            out += [Row(out[-1].y + gap * i / k, x0, x1) for i in range(1, k)]
        out.append(row)
    return out


def lattice_rows(ink: np.ndarray, rows: list[Row], n: int, px_per_mm: float) -> list[Row]:
    """``n`` evenly spaced rows where the page's traces spend their time, over the rows found.

    Rows of a page are evenly spaced. Where tall traces overlap, the rows found may be too few (two boxes took
    the same baseline, one was not detected); the lattice ``y0 + j * pitch`` (j < n) that collects the most ink
    in the horizontal projection, covering the rows found, gives every row; each is then moved to the
    projection's peak within a tenth of a pitch. A row found near a lattice row keeps its extent, the others
    take the median extent.
    """
    h, w = ink.shape
    ys = np.sort([r.y for r in rows])
    x0, x1 = float(np.median([r.x0 for r in rows])), float(np.median([r.x1 for r in rows]))
    cols = ink[:, int(np.clip(x0, 0, w - 1)):int(np.clip(x1, 1, w))]
    profile = cv2.GaussianBlur(cols.sum(axis=1).astype(np.float64).reshape(-1, 1), (1, 0), 0.5 * px_per_mm).ravel()
    best = (-1.0, 0.0, 0.0)
    p_lo = max((ys[-1] - ys[0]) / max(n - 1, 1), 7 * px_per_mm)
    lo, hi = 0.9 * p_lo, max(h / max(n - 0.5, 1.0), p_lo)
    if len(ys) >= max(3, n // 2):
        # most rows found: their spacing, fitted over their row numbers, is the pitch to a few per cent (over
        # the overlapping tall traces of a 12x1 page, a finer lattice collected more ink and put the last rows
        # one row up)
        index = np.rint((ys - ys[0]) / float(np.median(np.diff(ys))))
        if np.ptp(index) > 0:
            step = float(np.polyfit(index, ys, 1)[0])
            if max(lo, 0.97 * step) <= min(hi, 1.03 * step):
                lo, hi = max(lo, 0.97 * step), min(hi, 1.03 * step)
    for pitch in np.arange(lo, hi + 0.25, 0.25):
        # the lattice covers the rows found: its first row at most one row above the first found, the rest
        # below, and it stays on the page
        starts = np.arange(max(ys[-1] - (n - 1) * pitch - 0.5 * pitch, 0.0), min(ys[0] + 0.5 * pitch, h - 1), 1.0)
        starts = starts[starts + (n - 1) * pitch < h - 1]
        if starts.size == 0:
            continue
        idx = np.rint(starts[:, None] + pitch * np.arange(n)[None, :]).astype(int)
        score = profile[idx].sum(axis=1)
        k = int(np.argmax(score))
        if score[k] > best[0]:
            best = (float(score[k]), float(starts[k]), float(pitch))
    _, y0, pitch = best
    if pitch == 0.0:
        return rows
    out = []
    for j in range(n):
        y = y0 + j * pitch
        a, b = int(max(y - 0.1 * pitch, 0)), int(min(y + 0.1 * pitch + 1, h))
        y = float(a + np.argmax(profile[a:b]))
        near = [r for r in rows if abs(r.y - y) < 0.3 * pitch]
        r = min(near, key=lambda r: abs(r.y - y)) if near else None
        out.append(Row(y, r.x0 if r else x0, r.x1 if r else x1))
    return out


def pulse_rows(ink: np.ndarray, rows: list[Row], px_per_mm: float, x_left: float) -> list[Row] | None:
    """The rows the calibration pulses mark, or None.

    Most pages print a pulse at the start of every row, its bottom at the row's 0 mV, in a column down the left
    margin (``x_left``: where the rows start). Pulses found there count the rows where tall, overlapping traces
    hide some (the detector missed rows, or two boxes took one baseline). They are taken when they are evenly
    spaced, as many as a layout has rows, at least as many as ``rows`` (the rows found), and every row found
    sits on a pulse of its own (within a third of their spacing): a row found is kept as it is, the others
    are added at their pulses' bottoms with the median extent.
    """
    if len(rows) < 2:
        return None
    ys = np.sort([r.y for r in rows])
    reach = float(np.min(np.diff(ys)))
    pulses = find_pulses(ink, (x_left - 12 * px_per_mm, x_left + 4 * px_per_mm), (0.0, float(ink.shape[0])),
                         px_per_mm, reach)
    if len(pulses) not in ROWS_TO_LAYOUTS or len(pulses) < len(rows):
        return None
    bottoms = np.array([p.bottom for p in pulses])
    steps = np.diff(bottoms)
    pitch = float(np.median(steps))
    if np.any(np.abs(steps / pitch - 1.0) > 0.1):
        return None
    on = [int(np.argmin(np.abs(bottoms - r.y))) for r in rows]
    if len(set(on)) < len(rows) or any(abs(bottoms[k] - r.y) > pitch / 3 for k, r in zip(on, rows)):
        return None
    x0, x1 = float(np.median([r.x0 for r in rows])), float(np.median([r.x1 for r in rows]))
    mine = dict(zip(on, rows))
    return [Row(mine[k].y, mine[k].x0, mine[k].x1) if k in mine else Row(float(b), x0, x1)
            for k, b in enumerate(bottoms)]


def _window(ink: np.ndarray, y0: float, y1: float, x0: float, x1: float) -> float:
    h, w = ink.shape
    win = ink[int(np.clip(y0, 0, h)):int(np.clip(y1, 0, h)), int(np.clip(x0, 0, w)):int(np.clip(x1, 0, w))]
    return float(win.mean()) if win.size else 0.0


def boundary_score(ink: np.ndarray, row: Row, f: float, px_per_mm: float) -> float:
    """Evidence that a lead starts at fraction ``f`` of a row: its printed label (above the baseline, just
    after) and a separator tick or a jump of the trace (around the baseline, right there), each compared with
    the same windows at the eighths between quarters."""
    span = row.x1 - row.x0

    def cues(x: float) -> float:
        label = _window(ink, row.y - 10 * px_per_mm, row.y - 2.5 * px_per_mm, x - px_per_mm, x + 6 * px_per_mm)
        tick = _window(ink, row.y - 3 * px_per_mm, row.y + 3 * px_per_mm, x - 0.6 * px_per_mm, x + 0.6 * px_per_mm)
        return label + 0.5 * tick

    off = np.mean([cues(row.x0 + g * span) for g in (0.125, 0.375, 0.625, 0.875)])
    return cues(row.x0 + f * span) - off


def choose_layout(ink: np.ndarray, rows: list[Row], px_per_mm: float) -> str:
    """Layout name from the row count. Six rows: 3x4 with three rhythm strips changes lead at 1/4 and 3/4 in
    its first three rows and nowhere in the last three; 6x2 changes lead at 1/2 in every row."""
    n = len(rows)
    known = sorted(ROWS_TO_LAYOUTS)
    n = min(known, key=lambda k: (abs(k - n), -k))
    names = ROWS_TO_LAYOUTS[n]
    if len(names) == 1 or len(rows) != 6:
        return names[0]
    quarters = np.mean([boundary_score(ink, r, f, px_per_mm) for r in rows[:3] for f in (0.25, 0.75)])
    halves_below = np.mean([boundary_score(ink, r, 0.5, px_per_mm) for r in rows[3:]])
    return "3x4+3" if quarters > halves_below else "6x2"


def _activity(ink: np.ndarray, row: Row, x0: float, x1: float, pitch: float, px_per_mm: float) -> np.ndarray:
    """QRS activity along a stretch of a row: by how much each column's longest vertical stroke exceeds the
    stretch's median one (the pen's) and a quarter millimetre more, smoothed over half a millimetre.

    Low and fine on purpose: a 5 mm/mV page's or a low-voltage lead's QRS complexes may rise only a few
    millimetres, and columns that show the same seconds line up to the millisecond while a rhythm's beats
    repeat only to within their RR variability (the 324 benchmark pages with columns and 120 pages alternating
    the two ways: a 3.5 mm cut and a millimetre's smoothing read 16 wrong, these none whose layout was right)."""
    h, w = ink.shape
    ya, yb = int(max(row.y - 0.45 * pitch, 0)), int(min(row.y + 0.45 * pitch, h))
    xa, xb = int(max(x0, 0)), int(min(x1, w))
    if xb - xa < 4 or yb <= ya:
        return np.zeros(max(int(x1 - x0), 1))
    cols, tops, bots = find_runs(ink[ya:yb, xa:xb])
    longest = np.zeros(xb - xa)
    np.maximum.at(longest, cols, (bots - tops + 1).astype(np.float64))
    a = np.clip(longest - np.median(longest) - 0.25 * px_per_mm, 0, None)
    a = cv2.GaussianBlur(a.reshape(1, -1), (0, 0), 0.5 * px_per_mm).ravel()
    return a - a.mean()


def _corr(a: np.ndarray, b: np.ndarray) -> float:
    n = min(a.size, b.size)
    a, b = a[:n], b[:n]
    den = float(np.sqrt(np.sum(a * a) * np.sum(b * b)))
    return float(np.sum(a * b) / den) if den > 0 else 0.0


def infer_column_time(ink: np.ndarray, rows: list[Row], layout_name: str, x_start: float, span_px: float,
                      px_per_mm: float) -> str:
    """'shifted' (column c shows its own window, the Challenge convention) or 'same' (every column from 0 s).

    All leads are recorded at once, so QRS complexes fall at the same instants in every lead: a column's
    QRS pattern matches the rhythm strip at the column's own window when shifted, at the first window when
    'same'; without a rhythm strip, 'same' makes every column match the first one. Each window's first 10 mm
    (where a lead's printed name, a separator or a calibration pulse stands) and last millimetre are left out:
    the strip's name at its first window would match every column's.
    """
    probe = make_layout(layout_name)
    multi = [r for r in range(probe.nrows) if len(probe.row(r)) > 1]
    rhythm = [r for r in range(probe.nrows) if len(probe.row(r)) == 1]
    if not multi:
        return "shifted"
    pitch = float(np.median(np.diff([r.y for r in rows]))) if len(rows) > 1 else 40 * px_per_mm
    ncols = len(probe.row(multi[0]))
    width = span_px / ncols

    def window(row: Row, c: int) -> np.ndarray:
        x0 = x_start + c * width
        return _activity(ink, row, x0 + 10 * px_per_mm, x0 + width - px_per_mm, pitch, px_per_mm)

    shifted, same = [], []
    for r in multi:
        for c in range(1, ncols):
            col = window(rows[r], c)
            if rhythm:
                shifted.append(_corr(col, window(rows[rhythm[0]], c)))
                same.append(_corr(col, window(rows[rhythm[0]], 0)))
            else:
                same.append(_corr(col, window(rows[r], 0)))
    if rhythm:
        return "same" if np.mean(same) > np.mean(shifted) + 0.15 else "shifted"
    return "same" if np.mean(same) > 0.55 else "shifted"


def trace_start(ink: np.ndarray, rows: list[Row], guess: float, span_px: float, pitch: float,
                px_per_mm: float, density: np.ndarray | None = None) -> tuple[float, bool]:
    """Where the rows' first samples are (x, px), from where their traces end: every row's last sample is
    ``span_px`` after its first, and nothing follows it (a row's start may touch its calibration pulse).

    In a band of the row the last column of ink is half a pen beyond the last sample; the pen is what the
    flattest columns of ink measure, to a pixel. Given the pen's cover (``density``), the reach of the row's
    round end cap (:func:`_end_reach`) less half the pen's width from the steep strokes (:func:`stroke_pen`) is
    the last sample to a few hundredths of a pixel (12x1 benchmark pages: median error 0.36 -> 0.03 px).
    The end is looked for within 12 mm of where ``guess`` puts it (a detector's boxes may all sit 7 mm late);
    the median over rows, if it is within 10 mm of ``guess``; else ``guess``. The flag says which: the end is
    ``span_px`` after the first sample, so the last sample, one sample period earlier, is read there too (the
    caller, who knows the rate, corrects).
    """
    h, w = ink.shape
    pen = stroke_pen(ink, density) if density is not None else None
    ends = []
    for row in rows:
        ya, yb = int(max(row.y - 0.45 * pitch, 0)), int(min(row.y + 0.45 * pitch, h))
        xa = int(np.clip(guess + span_px - 12 * px_per_mm, 0, w))
        xb = int(np.clip(guess + span_px + 12 * px_per_mm, 0, w))
        if yb - ya < 3 or xb - xa < 3:
            continue
        cols, tops, bots = find_runs(ink[ya:yb, xa:xb])
        if cols.size < 10:
            continue
        # the last column of the stretch of ink that starts in the window's first 3 mm, without a 1 mm gap;
        # a gap where the ink leaves the band and comes back (a tall QRS) is not one
        on = np.unique(cols)
        at_edge = np.isin(on, cols[(tops == 0) | (bots == yb - ya - 1)])
        gaps = np.flatnonzero((np.diff(on) > px_per_mm) & ~(at_edge[:-1] & at_edge[1:]))
        stretch_end = int(on[gaps[0]] if gaps.size else on[-1])
        if on[0] > 3 * px_per_mm:
            continue
        if pen is not None and density is not None:  # (mypy: density is known with pen)
            ends.append(xa + _end_reach(ink[ya:yb, xa:xb], density[ya:yb, xa:xb], stretch_end) - 0.5 * pen)
        else:
            ends.append(xa + stretch_end + 0.5 - 0.5 * float(np.percentile(bots - tops + 1, 20)))
    if not ends:
        return guess, False
    start = float(np.median(ends)) - span_px
    return (start, True) if abs(start - guess) < 10 * px_per_mm else (guess, False)


def stroke_pen(ink: np.ndarray, density: np.ndarray) -> float | None:
    """The pen's width (px, sub-pixel) from the traces' steep strokes: along a pixel row a stroke's cover
    (``density``) sums to the pen's width over the cosine of its slope, a peak's tip row to less. The 20th
    percentile of the sums over the pixel rows' runs of ink no longer than the median run (flat stretches make
    long runs); None without ink. On the 30 benchmark 12x1 pages within 0.05 px of the generator's pen on 26,
    0.12 at most (30 clean pages: 28, 0.06); the calibration pulses' vertical strokes, where a page has them,
    did no better."""
    ink, density = ink[::2], density[::2]  # every other pixel row: as good, in half the time
    rows, left, right = find_runs(ink.T)
    if rows.size == 0:
        return None
    short = (right - left) <= np.median(right - left)
    rows, x0, x1 = rows[short], np.maximum(left[short] - 2, 0), np.minimum(right[short] + 3, ink.shape[1])
    # each run's cover summed over its columns and two either side, gathered run after run
    lengths = x1 - x0
    cols, first = span_positions(x0, lengths)
    sums = np.add.reduceat(density[np.repeat(rows, lengths), cols].astype(np.float64), first)
    return float(np.percentile(sums, 20))


def _end_reach(ink: np.ndarray, cover: np.ndarray, last: int) -> float:
    """How far the round cap of the ink that ends in column ``last`` reaches (x, px, :func:`_cap_reach`). Where
    the row ends on a steep stroke, the stroke's edge reaches nearly as far over many pixel rows, but no further:
    unlike a jump's, this cap needs no guard against a tick's vertical edge (ticks are between leads)."""
    _, labels = cv2.connectedComponents(ink[:, :last + 1].astype(np.uint8), connectivity=8)
    ending = np.unique(labels[:, last])
    stroke = np.zeros(ink.shape, bool)
    stroke[:, :last + 1] = np.isin(labels, ending[ending > 0])
    near = cv2.dilate(stroke.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    return _cap_reach(np.where(near, cover, 0.0), stroke, True)[0]


def tick_start(density: np.ndarray, rows: list[Row], layout_name: str, guess: float, span_px: float,
               px_per_mm: float) -> float | None:
    """Where the rows' first samples are (x, px), from the ticks many printers draw where the lead changes
    within a row: a tick is exactly where its column's first sample is, and, being symmetric, places it to a
    few hundredths of a pixel (the trace's end cap, which :func:`trace_start` reads, is a pen's width whose
    shape depends on the printer). The median over the ticks found within 1.5 mm of where ``guess`` puts
    them; None if there are none."""
    layout = make_layout(layout_name)
    starts = []
    for r, row in enumerate(sorted(rows, key=lambda r: r.y)):
        cells = layout.row(r)
        width = span_px / len(cells)
        for c in range(1, len(cells)):
            x = find_tick(density, row.y, guess + c * width, px_per_mm)
            if x is not None:
                starts.append(x - c * width)
    return float(np.median(starts)) if starts else None


def _cap_reach(cover: np.ndarray, pen: np.ndarray, right: bool) -> tuple[float, int]:
    """How far one stroke's round end cap reaches (x, px, sub-pixel): in each pixel row of its binary ink
    ``pen``, from the row's last (``right``) or first ink column outwards, the pen's ``cover`` summed (a
    partly covered pixel says how much of it the pen covers); the farthest over rows. And how many rows reach
    within 0.1 px of it: a cap's tip is a row or two, a vertical stroke's edge (a separator tick joined to the
    trace) many.

    A thin pen covers no pixel fully and no pixel row passes through the cap's tip, so the reach falls short
    of the true one, by about as much at either end of a stroke. (On 24 generated 3x4+1 pages, pens 1.2-3.1
    px, the midpoint of two such reaches erred by 0.10 px (SD) per lead change; summed from one column further
    in, 0.14; at the vertex of a parabola through the farthest three rows' reaches, 0.25.)"""
    ys, xs = np.nonzero(pen)
    reach = []
    for y in np.unique(ys):
        row = xs[ys == y]
        if right:
            m = int(row.max())
            reach.append(m - 0.5 + float(cover[y, m:m + 3].sum()))
        else:
            m = int(row.min())
            reach.append(-(m + 0.5 - float(cover[y, max(m - 2, 0):m + 1].sum())))
    if not reach:
        return np.nan, 0
    far = max(reach)
    return (far if right else -far), int(np.sum(np.array(reach) > far - 0.1))


def find_jump(ink: np.ndarray, density: np.ndarray, y: float, x: float, px_per_mm: float, pitch: float
              ) -> float | None:
    """Where two leads meet in a row with baseline ``y`` near ``x`` (px), from the jump of the trace there: the
    lead on the left ends with a round cap at its last sample, the next starts with one at its first, one sample
    period later. Where the two values differ by more than a pen's width the caps are apart, and the midpoint
    of their reaches (:func:`_cap_reach`) is half a sample before the next lead's first sample, whatever the
    pen's width, to a tenth of a pixel. None unless one trace ends and another starts near ``x`` (within a
    thick pen's half and 2 px), both at least 0.8 mm long, unconnected, neither ending in a vertical edge
    (a tick the trace touches, which :func:`find_tick` cannot tell from it)."""
    h, w = ink.shape
    reach = int(np.ceil(0.35 * px_per_mm)) + 2  # beyond a thick pen's cap and a pixel's doubt about x
    half = max(1.5 * px_per_mm, 2 * reach + 3)
    xa, xb = int(x - half), int(x + half) + 1
    ya, yb = int(max(y - 0.5 * pitch, 0)), int(min(y + 0.5 * pitch, h))
    if xa < 0 or xb > w or yb - ya < 3:
        return None
    _, labels = cv2.connectedComponents(ink[ya:yb, xa:xb].astype(np.uint8), connectivity=8)
    c = int(round(x)) - xa
    left = np.unique(labels[:, c - 2 * reach:c - reach])
    right = np.unique(labels[:, c + reach + 1:c + 2 * reach + 1])
    left, right = left[left > 0], right[right > 0]
    if left.size != 1 or right.size != 1 or left[0] == right[0]:
        return None
    a, b = labels == left[0], labels == right[0]
    ax, bx = np.nonzero(a)[1], np.nonzero(b)[1]
    if ax.max() > c + reach or bx.min() < c - reach or ax.min() > c - 0.8 * px_per_mm \
            or bx.max() < c + 0.8 * px_per_mm:
        return None
    cover = density[ya:yb, xa:xb].astype(np.float64)
    kernel = np.ones((3, 3), np.uint8)
    near_a, near_b = (cv2.dilate(m.astype(np.uint8), kernel).astype(bool) for m in (a, b))
    reach_a, tip_a = _cap_reach(np.where(near_a & ~near_b | a, cover, 0.0), a, True)
    reach_b, tip_b = _cap_reach(np.where(near_b & ~near_a | b, cover, 0.0), b, False)
    if max(tip_a, tip_b) > max(3.0, 0.4 * px_per_mm) or not -1.0 < reach_a - reach_b < 6.0:
        return None
    return xa + 0.5 * (reach_a + reach_b)


def jump_start(ink: np.ndarray, density: np.ndarray, rows: list[Row], layout_name: str, guess: float,
               span_px: float, px_per_mm: float) -> float | None:
    """Where the rows' first samples are (x, px) less half a sample period, from the jumps between leads
    (:func:`find_jump`) next to where ``guess`` puts the leads' changes. The rows' end caps
    (:func:`trace_start`) read the first sample to a few tenths of a pixel at best, the pen's width being
    unknown; the jumps agree to a few hundredths, but a gap in the ink can pass for one. So: the median of the
    jumps within 0.5 px of the median of all, if they are two or more and at least half; a single jump only
    within 1.5 px of ``guess``; nothing further than 1 mm from ``guess``. None otherwise."""
    layout = make_layout(layout_name)
    rows = sorted(rows, key=lambda r: r.y)
    pitch = float(np.median(np.diff([r.y for r in rows]))) if len(rows) > 1 else 40 * px_per_mm
    starts = []
    for r, row in enumerate(rows):
        cells = layout.row(r)
        width = span_px / len(cells)
        for c in range(1, len(cells)):
            x = find_jump(ink, density, row.y, guess + c * width, px_per_mm, pitch)
            if x is not None:
                starts.append(x - c * width)
    found = np.array(starts)
    agree = found[np.abs(found - np.median(found)) <= 0.5] if found.size else found
    if agree.size >= 2 and 2 * agree.size >= found.size:
        start = float(np.median(agree))
    elif found.size == 1 and abs(found[0] - guess) <= 1.5:
        start = float(found[0])
    else:
        return None
    return start if abs(start - guess) <= px_per_mm else None


def layout_from_rows(layout_name: str, rows: list[Row], px_per_mm_x: float, paper: PaperSettings,
                     source: str, confidence: float = 1.0, column_time: str | None = None,
                     trace: np.ndarray | None = None, density: np.ndarray | None = None) -> PageLayout:
    """Named boxes for every cell of a layout, given its rows (top to bottom) and their trace extents.

    A row shows ``span`` seconds: 10 s at 25 mm/s (5 s at 50 mm/s), starting where its traces start. Where a
    row's start is uncertain (a calibration pulse, text) its end, span seconds later, anchors it. Which
    seconds a column shows is read from the traces (:func:`infer_column_time`) unless ``column_time`` is given.
    """
    span_s = paper.span_s
    span_px = span_s * paper.speed_mm_s * px_per_mm_x
    rows = sorted(rows, key=lambda r: r.y)
    nrows = make_layout(layout_name).nrows
    if len(rows) != nrows:
        raise LayoutError(f"layout {layout_name} needs {nrows} rows, {len(rows)} were found")
    pitch = np.median(np.diff([r.y for r in rows])) if len(rows) > 1 else 40 * px_per_mm_x
    # one start for the whole page: the rows share it; the median of the end-anchored and measured starts
    starts = [r.x1 - span_px if abs((r.x1 - r.x0) - span_px) < 0.06 * span_px else r.x0 for r in rows]
    x_start, end_timed = float(np.median(starts)), False
    if trace is not None:
        x_start, end_timed = trace_start(trace > 0.5, rows, x_start, span_px, pitch, px_per_mm_x, density)
    ticked = None
    early = 1.0 if end_timed else 0.0  # sample periods the start so found lies before the first sample
    if density is not None:
        ticked = tick_start(density, rows, layout_name, x_start, span_px, px_per_mm_x)
        if ticked is not None:  # the first sample itself, not the end cap
            x_start, early = ticked, 0.0
        elif end_timed and trace is not None:
            jumped = jump_start(trace > 0.5, density, rows, layout_name, x_start, span_px, px_per_mm_x)
            if jumped is not None:  # half a sample before the first one, whatever the pen
                x_start, early = jumped, 0.5
    if column_time is None:
        column_time = ("shifted" if trace is None else
                       infer_column_time(trace > 0.5, rows, layout_name, x_start, span_px, px_per_mm_x))
    layout = make_layout(layout_name, span=span_s, column_time=column_time)
    boxes = []
    for cell in layout.cells:
        row = rows[cell.row]
        width = span_px / cell.ncols
        x0 = x_start + cell.col * width
        y0, y1 = row.y - 0.5 * pitch, row.y + 0.5 * pitch
        box = Box(x0, y0, x0 + width, y1, cell.lead)
        baseline = row.pulse_bottom if row.pulse_bottom is not None else row.y
        boxes.append(LeadBox(box, cell, baseline, float(pitch)))
    return PageLayout(layout, boxes, source, confidence, early_samples=early, ticks=ticked is not None)


class BaselineDetector:
    """Rows from projection profiles; layout from row count and printed labels; columns from the time span."""

    name = "baseline"

    def __call__(self, image: np.ndarray, trace: np.ndarray, scale: GridScale, paper: PaperSettings,
                 layout: str | None = None, density: np.ndarray | None = None) -> PageLayout:
        ppm = scale.px_per_mm_y
        rows = complete_rows(find_rows(trace, ppm))
        if len(rows) < 2:
            raise LayoutError(f"found {len(rows)} rows of traces; not an ECG page, or too faint to read")
        pulses = []
        ink = trace > 0.5
        for k, row in enumerate(rows):
            # the pulse may sit left of where the row seems to start (a tall pulse leaves a gap at the baseline)
            pulse = find_pulse(ink, row.y, (row.x0 - 12 * ppm, row.x0 + 14 * ppm), ppm,
                               above_mm=pulse_reach_mm(row.y, rows[k - 1].y if k else None, ppm))
            if pulse is not None and pulse.x0 - row.x0 < 4 * ppm:
                row.pulse_bottom = pulse.bottom
                row.x0 = max(row.x0, pulse.x1 + 0.5 * ppm)
                pulses.append(pulse)
        span_mm = paper.span_s * paper.speed_mm_s
        scale = span_scale([r.x1 - r.x0 for r in rows], span_mm, scale)  # where no grid showed
        ppm = scale.px_per_mm_y
        name = layout or choose_layout(ink, rows, ppm)
        confidence = 1.0 if len(rows) in ROWS_TO_LAYOUTS else 0.4
        if len(rows) != make_layout(name).nrows:
            raise LayoutError(f"found {len(rows)} rows of traces, which fits no known layout")
        result = layout_from_rows(name, rows, scale.px_per_mm_x, paper, self.name, confidence, trace=trace,
                                  density=density)
        result.pulses = pulses
        result.scale = scale
        return result
