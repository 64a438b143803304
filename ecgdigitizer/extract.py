"""Extract: one lead's trace from the binarized page, scaled to millivolts at its true sample indices.

In each pixel column of a lead's box the ink forms vertical runs: the trace, and maybe a neighbour's QRS, a
label or a pen mark. A Viterbi path picks one run per column (or none), paying for vertical jumps between
consecutive columns and, weakly, for distance from the row's baseline, so the trace is followed by continuity
where traces cross or touch. A pen of width p draws a steep stroke over p columns, so a run's centre
is the trace's value in its column; where the trace turns (a QRS peak) the run's far end, half a pen in, is
the peak, which a median or a centroid would flatten. Values are sub-pixel (probability-weighted) and are interpolated onto the
record's samples only across gaps of a few pixels; elsewhere they stay NaN.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .types import GridScale, LeadBox, PaperSettings

JUMP_COST_PER_MM = 1.0  # a vertical gap of 1 mm between the runs of neighbouring columns
SMOOTH_COST_PER_MM = 0.1  # a shift of 1 mm between their centres (decides between touching runs)
PRIOR_COST = 1.2  # per (distance from the baseline / row pitch)^2: a neighbour row costs more than a gap
GAP_COST = 0.3  # a column without trace
RESTART_COST = 2.5  # picking up a trace again after a gap (its position is then free)
MAX_GAP_PX = 4.0  # interpolate across gaps up to this many pixels


@dataclass
class Trace:
    """A lead's pixel path: x (columns, sub-column points for steep strokes) and y, in page pixels."""

    x: np.ndarray
    y: np.ndarray
    coverage: float  # share of the box's columns where the trace was found
    jumps: int  # columns where the path jumped more than 1 mm


def find_runs(ink: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Vertical runs of ink in a crop: arrays (column, top row, bottom row), ordered by column then top."""
    padded = np.zeros((ink.shape[0] + 2, ink.shape[1]), np.int8)
    padded[1:-1] = ink
    d = np.diff(padded, axis=0).T  # (columns, rows + 1)
    col_s, top = np.nonzero(d == 1)
    col_e, end = np.nonzero(d == -1)
    assert np.array_equal(col_s, col_e)
    return col_s, top, end - 1


def trace_path(prob: np.ndarray, baseline: float, pitch: float, px_per_mm: float) -> Trace:
    """The Viterbi path through the ink runs of a crop; ``baseline`` and the result are in crop rows."""
    ink = prob > 0.5
    w = ink.shape[1]
    cols, tops, bots = find_runs(ink)
    if cols.size == 0:
        return Trace(np.zeros(0), np.zeros(0), 0.0, 0)
    # probability-weighted centroid of every run
    rows = np.arange(ink.shape[0], dtype=np.float64)[:, None]
    cum_p = np.vstack([np.zeros((1, w)), np.cumsum(prob, axis=0)])
    cum_py = np.vstack([np.zeros((1, w)), np.cumsum(prob * rows, axis=0)])
    mass = cum_p[bots + 1, cols] - cum_p[tops, cols]
    centre = np.where(mass > 0, (cum_py[bots + 1, cols] - cum_py[tops, cols]) / np.maximum(mass, 1e-9),
                      0.5 * (tops + bots))
    unary = PRIOR_COST * ((centre - baseline) / pitch) ** 2
    starts = np.searchsorted(cols, np.arange(w + 1))

    # Viterbi: state per column = one of its runs, or "none" (last index)
    best_prev: list[np.ndarray] = []
    prev_cost = np.array([0.0])  # "none" before the first column
    prev_lo = prev_hi = prev_c = np.zeros(0)
    for j in range(w):
        a, b = starts[j], starts[j + 1]
        lo, hi, c = tops[a:b].astype(np.float64), bots[a:b].astype(np.float64), centre[a:b]
        n_prev = prev_lo.size
        cost = np.empty(b - a + 1)
        back = np.empty(b - a + 1, np.int64)
        if b > a:
            # from a run: the vertical gap between the two intervals (0 when they touch) and the centre shift;
            # from "none": a restart
            gap = np.maximum(0.0, np.maximum(lo[None, :] - prev_hi[:, None] - 1, prev_lo[:, None] - hi[None, :] - 1))
            shift = np.abs(c[None, :] - prev_c[:, None])
            trans = prev_cost[:n_prev, None] + (JUMP_COST_PER_MM * gap + SMOOTH_COST_PER_MM * shift) / px_per_mm
            all_c = np.vstack([trans, np.full((1, b - a), prev_cost[n_prev] + RESTART_COST)])
            k = np.argmin(all_c, axis=0)
            cost[:-1] = all_c[k, np.arange(b - a)] + unary[a:b]
            back[:-1] = k  # k == n_prev is the previous column's "none"
        k_none = int(np.argmin(prev_cost))
        cost[-1] = prev_cost[k_none] + GAP_COST
        back[-1] = k_none
        best_prev.append(back)
        prev_cost = cost - cost.min()
        prev_lo, prev_hi, prev_c = lo, hi, c

    # backtrack
    state = int(np.argmin(prev_cost))
    chosen = np.full(w, -1, np.int64)
    for j in range(w - 1, -1, -1):
        a, b = starts[j], starts[j + 1]
        if state < b - a:
            chosen[j] = a + state
        state = int(best_prev[j][state])
    return _points(chosen, tops, bots, centre, prob, px_per_mm)


def _points(chosen: np.ndarray, tops: np.ndarray, bots: np.ndarray, centre: np.ndarray, prob: np.ndarray,
            px_per_mm: float) -> Trace:
    """Turn the chosen runs into sub-pixel (x, y) points along the trace.

    Where the trace is flat a column's run is a pen wide and its centroid is the value. Where it is steep a
    column holds a piece of a stroke, and the rows do the measuring instead: in each row of the stroke the ink
    is a short horizontal run whose centre is where the trace crosses that level - exact timing for QRS
    strokes. Where the trace turns inside a stroke (a peak) the tip, half a pen in from the run's end, is added.
    """
    w = chosen.size
    cols = np.flatnonzero(chosen >= 0)
    if cols.size == 0:
        return Trace(np.zeros(0), np.zeros(0), 0.0, 0)
    r = chosen[cols]
    top, bot, c = tops[r], bots[r], centre[r]
    length = bot - top + 1
    pen = float(np.median(length))  # the pen: most columns are flat-ish
    half = 0.5 * pen
    steep = length > pen + 2
    xs, ys = [cols[~steep].astype(np.float64)], [c[~steep]]
    if steep.any():
        # the lead's own ink (the chosen runs only), and its horizontal runs
        lead = np.zeros_like(prob, dtype=bool)
        for x, a, b in zip(cols, top, bot):
            lead[a:b + 1, x] = True
        hrow, hx0, hx1 = find_runs(lead.T)  # on the transpose: (row, first column, last column)
        weights = np.where(lead, prob, 0.0)
        cum = np.hstack([np.zeros((lead.shape[0], 1)), np.cumsum(weights, axis=1)])
        cumx = np.hstack([np.zeros((lead.shape[0], 1)), np.cumsum(weights * np.arange(lead.shape[1]), axis=1)])
        short = (hx1 - hx0 + 1) <= 2 * pen + 2
        in_steep = np.zeros(lead.shape, bool)
        for x, a, b in zip(cols[steep], top[steep], bot[steep]):
            in_steep[int(a + half):int(b - half) + 1, x] = True
        pick = short & in_steep[hrow, hx0] | short & in_steep[hrow, hx1]
        mass = cum[hrow[pick], hx1[pick] + 1] - cum[hrow[pick], hx0[pick]]
        cx = np.where(mass > 0, (cumx[hrow[pick], hx1[pick] + 1] - cumx[hrow[pick], hx0[pick]]) / np.maximum(mass, 1e-9),
                      0.5 * (hx0[pick] + hx1[pick]))
        cy = hrow[pick].astype(np.float64)
        # binary runs put centres on half pixels; along a stroke x changes smoothly with y, so each column's
        # share of the stroke gets its x from a straight-line fit
        home = np.rint(cx).astype(np.int64)
        for x in np.unique(home):
            sel = home == x
            if sel.sum() >= 4 and np.ptp(cy[sel]) > 0:
                slope, icpt = np.polyfit(cy[sel], cx[sel], 1)
                cx[sel] = np.clip(icpt + slope * cy[sel], x - 0.5, x + 0.5)
        xs.append(cx)
        ys.append(cy)
        # a steep column whose rows gave no point (strokes merged there) keeps its centroid
        lonely = cols[steep][~np.isin(cols[steep], home)]
        xs.append(lonely.astype(np.float64))
        ys.append(c[steep][~np.isin(cols[steep], home)])
        # tips: a steep run reaching past both neighbours' runs
        prev_top = np.concatenate([[np.inf], top[:-1]])
        next_top = np.concatenate([top[1:], [np.inf]])
        prev_bot = np.concatenate([[-np.inf], bot[:-1]])
        next_bot = np.concatenate([bot[1:], [-np.inf]])
        up = steep & (top < prev_top) & (top < next_top)
        down = steep & (bot > prev_bot) & (bot > next_bot) & ~up
        xs += [cols[up].astype(np.float64), cols[down].astype(np.float64)]
        ys += [top[up] + half - 0.5, bot[down] - half + 0.5]
    x_all, y_all = np.concatenate(xs), np.concatenate(ys)
    order = np.argsort(x_all, kind="stable")
    steps = np.abs(np.diff(c))[np.diff(cols) == 1]
    return Trace(x_all[order], y_all[order], cols.size / max(w, 1), int(np.sum(steps > px_per_mm * 3)))


def to_signal(trace: Trace, lead_box: LeadBox, scale: GridScale, paper: PaperSettings, fs: float,
              n_samples: int, x_offset: float, y_offset: float) -> tuple[np.ndarray, np.ndarray]:
    """The lead's samples (indices, mV) from its pixel path: time from x, millivolts from y."""
    cell, box = lead_box.cell, lead_box.box
    start, stop = int(round(cell.t0 * fs)), min(int(round(cell.t1 * fs)), n_samples)
    idx = np.arange(start, max(stop, start))
    if trace.x.size < 2 or idx.size == 0:
        return idx, np.full(idx.size, np.nan)
    px_per_s = scale.px_per_mm_x * paper.speed_mm_s
    t = cell.t0 + (trace.x + x_offset - box.x0) / px_per_s
    baseline = lead_box.baseline_y if lead_box.baseline_y is not None else box.cy
    mv = (baseline - (trace.y + y_offset)) / (scale.px_per_mm_y * paper.gain_for(cell.lead))
    order = np.argsort(t, kind="stable")
    t, mv = t[order], mv[order]
    ts = idx / fs
    values = np.interp(ts, t, mv)
    # no values across gaps wider than a few pixels, nor far beyond the ends
    pos = np.searchsorted(t, ts)
    left = t[np.clip(pos - 1, 0, t.size - 1)]
    right = t[np.clip(pos, 0, t.size - 1)]
    values[(right - left) > MAX_GAP_PX / px_per_s] = np.nan
    reach = (0.3 * scale.px_per_mm_x + 1.5) / px_per_s  # the trimmed edge columns, held at the edge value
    values[(ts < t[0] - reach) | (ts > t[-1] + reach)] = np.nan
    return idx, values


def extract_lead(prob: np.ndarray, lead_box: LeadBox, scale: GridScale, paper: PaperSettings, fs: float,
                 n_samples: int) -> tuple[np.ndarray, np.ndarray, float]:
    """Samples (indices, mV) and a confidence for one box of the layout."""
    box = lead_box.box
    h, w = prob.shape
    pitch = max(box.height, 5 * scale.px_per_mm_y)
    baseline = lead_box.baseline_y if lead_box.baseline_y is not None else box.cy
    y0 = int(max(0, np.floor(baseline - 1.1 * pitch)))
    y1 = int(min(h, np.ceil(baseline + 1.1 * pitch)))
    # only columns strictly inside the cell: its edge columns hold the neighbouring lead and separators
    trim = max(1.0, 0.3 * scale.px_per_mm_x)
    x0, x1 = int(max(0, np.floor(box.x0 + trim))), int(min(w, np.ceil(box.x1 - trim)))
    if x1 - x0 < 2 or y1 - y0 < 2:
        return np.zeros(0, np.int64), np.zeros(0), 0.0
    crop = prob[y0:y1, x0:x1].astype(np.float64)
    trace = trace_path(crop, baseline - y0, pitch, scale.px_per_mm_y)
    idx, values = to_signal(trace, lead_box, scale, paper, fs, n_samples, x0, y0)
    confidence = float(trace.coverage * np.exp(-0.2 * trace.jumps))
    return idx, values, confidence
