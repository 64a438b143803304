"""Extract: one lead's trace from the binarized page, scaled to millivolts at its true sample indices.

In each pixel column of a lead's box the ink forms vertical runs: the trace, and maybe a neighbour's QRS, a
label or a pen mark. A Viterbi path picks one run per column (or none), paying for vertical jumps between
consecutive columns and, weakly, for distance from the row's baseline, so the trace is followed by continuity
where traces cross or touch. A pen of width p draws a steep stroke over p columns, so a run's centre is the
trace's value in its column; where the trace turns (a QRS peak) the run's far end, half a pen in, is the peak,
which a median or a centroid would flatten. Values are sub-pixel (probability-weighted) and are interpolated
onto the record's samples by a smoothing spline (a cubic between columns, which linear interpolation is not at
a peak, and the reading's sub-pixel noise smoothed away: +1.3 dB on clean pages), only across gaps of a few
pixels; elsewhere they stay NaN. A separator tick at a cell's end hides the trace in its columns: the value
beside it is held there.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from scipy.linalg import solveh_banded
from scipy.signal import find_peaks

from .types import GridScale, LeadBox, PaperSettings

JUMP_COST_PER_MM = 1.0  # a vertical gap of 1 mm between the runs of neighbouring columns
SMOOTH_COST_PER_MM = 0.1  # a shift of 1 mm between their centres (decides between touching runs)
PRIOR_COST = 5.0  # per (distance from the baseline beyond 0.4 row pitch / pitch)^2: a neighbour row costs more
# than a gap; a tall QRS of the row's own (within 0.4 pitch) costs nothing
GAP_COST = 0.3  # a column without trace
RESTART_COST = 2.5  # picking up a trace again after a gap (its position is then free)
MAX_GAP_PX = 4.0  # interpolate across gaps up to this many pixels
SPLINE_TIME_S = 0.0027  # the smoothing spline's time scale (its stiffness is this many samples, cubed): between
# the columns the curve bends as a cubic does (linear interpolation cut every peak short), and the reading's
# noise is smoothed away. On the standard suite (10 pages each of clean 200 dpi, 90 dpi, scan, wrinkles) a
# stiffness per pixel column (0.06 per column cubed) read 0.25 dB worse on average, 3.4 ms 0.08 dB better;
# but exact column readings of the same records score 26.5 / 24.6 / 22.3 dB (median lead) at 0.06 per column /
# 2.7 ms / 3.4 ms: smoothing more caps what better readings can reach.


@dataclass
class Trace:
    """A lead's pixel path: x (columns, sub-column points for steep strokes) and y, in page pixels."""

    x: np.ndarray
    y: np.ndarray
    coverage: float  # share of the box's columns where the trace was found
    jumps: int  # columns where the path jumped more than 1 mm
    pen: float = 0.0  # the pen's width (px): how tall the path's runs are where it is flattest


def find_runs(ink: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Vertical runs of ink in a crop: arrays (column, top row, bottom row), ordered by column then top."""
    padded = np.zeros((ink.shape[1], ink.shape[0] + 2), np.int8)  # column-major, so one pass finds both ends
    padded[:, 1:-1] = ink.T
    d = np.diff(padded, axis=1)  # (columns, rows + 1): +1 where a run starts, -1 a row past its end
    flat = np.flatnonzero(d)  # (twice as fast as a 2-d nonzero)
    col, row = np.divmod(flat, d.shape[1])
    start = d.ravel()[flat] > 0
    return col[start], row[start], row[~start] - 1


def span_positions(lo: np.ndarray, lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every position of the spans ``lo .. lo + length - 1``, span after span, and where each span starts in that
    list (for ``np.add.reduceat``): many short runs of an array gathered and summed at once. Lengths > 0."""
    first = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    return np.repeat(lo - first, lengths) + np.arange(int(lengths.sum())), first


def trace_path(prob: np.ndarray, baseline: float, pitch: float, px_per_mm: float,
               density: np.ndarray | None = None) -> Trace:
    """The Viterbi path through the ink runs of a crop; ``baseline`` and the result are in crop rows.

    ``density`` (the page's ink density, 0..1, same crop) weighs the rows of a run and the pixel either side
    of it: the anti-aliased edges of a stroke place it to a fraction of a pixel. Without it, ``prob`` does.
    """
    runs = _path_runs(prob, baseline, pitch, px_per_mm, density)
    if runs is None:
        return Trace(np.zeros(0), np.zeros(0), 0.0, 0)
    return _points(*runs, px_per_mm)


def _path_runs(prob: np.ndarray, baseline: float, pitch: float, px_per_mm: float, density: np.ndarray | None
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, int] | None:
    """The Viterbi path of :func:`trace_path` as runs: the run chosen in each column (its index, -1 for none),
    every run's top and bottom row and weighted centre, the weights and their pad; None without ink."""
    ink = prob > 0.5
    h, w = ink.shape
    cols, tops, bots = find_runs(ink)
    if cols.size == 0:
        return None
    weight, pad = (prob, 0) if density is None else (density, 1)
    # weighted centroid of every run (with its edge pixels when the density is known), summed over the runs'
    # own pixels, gathered run after run
    lo_r, hi_r = np.maximum(tops - pad, 0), np.minimum(bots + pad, h - 1)
    lengths = hi_r - lo_r + 1
    rr, first = span_positions(lo_r, lengths)
    values = weight[rr, np.repeat(cols, lengths)]
    mass = np.add.reduceat(values, first)
    centre = np.where(mass > 0, np.add.reduceat(values * rr, first) / np.maximum(mass, 1e-9), 0.5 * (tops + bots))
    unary = PRIOR_COST * np.maximum(np.abs(centre - baseline) / pitch - 0.4, 0.0) ** 2
    starts = np.searchsorted(cols, np.arange(w + 1))
    chosen = _cheapest_path(cols, tops, bots, centre, unary, starts,
                            JUMP_COST_PER_MM / px_per_mm, SMOOTH_COST_PER_MM / px_per_mm)
    return chosen, tops, bots, centre, weight, pad


def _cheapest_path(cols: np.ndarray, tops: np.ndarray, bots: np.ndarray, centre: np.ndarray, unary: np.ndarray,
                   starts: np.ndarray, jump: float, smooth: float) -> np.ndarray:
    """The Viterbi path through a crop's runs: the run chosen in each column (its index, -1 for none).

    A column's states are its runs and "none". From a run of the previous column to one of this column costs
    ``jump`` per pixel of vertical gap between the two (0 where they touch) and ``smooth`` per pixel their
    centres shift; from the previous "none" to a run, a restart; from any state to "none", a gap; each run adds
    its ``unary`` cost. Every cost is non-negative, so the cheapest path through this layered graph is found by
    Dijkstra's algorithm (scipy's, in compiled code: with a Python loop over the columns a cell took twice as
    long, the gathering of its runs included). Each path crosses every column once, so the 1 added to every
    edge (an explicit zero is no edge to scipy) moves all paths' costs alike."""
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import dijkstra

    n_runs, w = cols.size, starts.size - 1
    none = n_runs + np.arange(w)  # column j's "none"
    source, sink = n_runs + w, n_runs + w + 1
    none_before = np.concatenate([[source], none[:-1]])  # the "none" of the column before each column
    # run -> run: every run of a column from every run of the column before
    counts = np.diff(starts)
    fan = np.where(cols > 0, counts[np.maximum(cols - 1, 0)], 0)
    to = np.repeat(np.arange(n_runs), fan)
    fro = starts[cols[to] - 1] + np.arange(to.size) - np.repeat(np.cumsum(fan) - fan, fan)
    gap = np.maximum(0, np.maximum(tops[to] - bots[fro] - 1, tops[fro] - bots[to] - 1))
    moved = jump * gap + smooth * np.abs(centre[to] - centre[fro]) + unary[to]
    before_last = np.arange(starts[w - 1])  # runs of every column but the last: -> the next column's "none"
    last = np.append(np.arange(starts[w - 1], n_runs), none[-1])  # the last column's states -> sink
    edge_from = np.concatenate([fro, none_before[cols], before_last, none_before, last])
    edge_to = np.concatenate([to, np.arange(n_runs), none[cols[before_last] + 1], none, np.full(last.size, sink)])
    cost = np.concatenate([moved, RESTART_COST + unary, np.full(before_last.size + w, GAP_COST),
                           np.zeros(last.size)]) + 1.0
    graph = csr_matrix((cost, (edge_from, edge_to)), shape=(sink + 1, sink + 1))
    _, previous = dijkstra(graph, indices=source, return_predecessors=True)
    chosen = np.full(w, -1, np.int64)
    node = previous[sink]
    while node != source:
        if node < n_runs:
            chosen[cols[node]] = node
        node = previous[node]
    return chosen


def _points(chosen: np.ndarray, tops: np.ndarray, bots: np.ndarray, centre: np.ndarray, weight: np.ndarray,
            pad: int, px_per_mm: float) -> Trace:
    """Turn the chosen runs into sub-pixel (x, y) points along the trace.

    Where the trace is flat a column's run is a pen wide and its centroid is the value. Where it is steep a
    column holds a piece of a stroke, and the rows do the measuring instead: in each row of the stroke the ink
    is a short horizontal run whose centre is where the trace crosses that level - exact timing for QRS
    strokes. Near a sharp peak the up- and down-strokes are closer than a pen and their rows merge into one
    run: its two strokes lie half a pen in from its ends. The peak itself, half a pen in from the top (or
    bottom) of the columns that reach furthest, is added.
    """
    w = chosen.size
    cols = np.flatnonzero(chosen >= 0)
    if cols.size == 0:
        return Trace(np.zeros(0), np.zeros(0), 0.0, 0)
    r = chosen[cols]
    # the rows the trace spans and one either side (the edge pixels): every array below covers only these
    r0, r1 = max(int(tops[r].min()) - 1, 0), min(int(bots[r].max()) + 2, weight.shape[0])
    weight = weight[r0:r1]
    top, bot, c = tops[r] - r0, bots[r] - r0, centre[r] - r0
    length = bot - top + 1
    pen = float(np.percentile(length, 20))  # the pen: where the trace is flattest, its run is a pen tall
    half = 0.5 * pen
    steep = length > pen + 2
    xs, ys = [cols[~steep].astype(np.float64)], [c[~steep]]
    if steep.any():
        tips_x, tips_y, tip_up = _tips(cols, top, bot, steep, pen, weight, pad)
        # the lead's own ink (the chosen runs only), and its horizontal runs
        lead = np.zeros(weight.shape, dtype=bool)
        for x, a, b in zip(cols, top, bot):
            lead[a:b + 1, x] = True
        hrow, hx0, hx1 = find_runs(lead.T)  # on the transpose: (row, first column, last column)
        in_steep = np.zeros(lead.shape, bool)
        for x, a, b in zip(cols[steep], top[steep], bot[steep]):
            in_steep[int(a + half):int(b - half) + 1, x] = True
        # a row run cut by the crop's side is the neighbouring cell's ink (or its join to it), not a crossing
        pick = (in_steep[hrow, hx0] | in_steep[hrow, hx1]) & (hx0 > 0) & (hx1 < w - 1)
        hrow, hx0, hx1 = hrow[pick], hx0[pick], hx1[pick]
        # each run's ink mass and centroid (with the pixel either side when the density is known): a run of
        # mass m about centroid c spans c - m/2 .. c + m/2
        near = lead if pad == 0 else lead | np.roll(lead, 1, axis=1) | np.roll(lead, -1, axis=1)
        weights = np.where(near, weight, 0.0)
        cum = np.hstack([np.zeros((lead.shape[0], 1)), np.cumsum(weights, axis=1)])
        cumx = np.hstack([np.zeros((lead.shape[0], 1)), np.cumsum(weights * np.arange(lead.shape[1]), axis=1)])
        a0 = np.maximum(hx0 - pad, 0)
        a1 = np.minimum(hx1 + pad, lead.shape[1] - 1)
        mass = cum[hrow, a1 + 1] - cum[hrow, a0]
        cx = np.where(mass > 0, (cumx[hrow, a1 + 1] - cumx[hrow, a0]) / np.maximum(mass, 1e-9), 0.5 * (hx0 + hx1))
        width = np.where(mass > 0, mass, hx1 - hx0 + 1.0)
        # a steep stroke is as wide along a row as a flat one is tall along a column
        flat_mass = _column_mass(cols[~steep], top[~steep], bot[~steep], weight, pad)
        pen_h = float(np.percentile(flat_mass, 20)) if flat_mass.size else pen
        single = width <= pen_h + 1.0
        # a wider run with a peak above it (or a trough below) inside its columns holds two strokes
        merged = np.zeros(hrow.size, bool)
        for tx, ty, up in zip(tips_x, tips_y, tip_up):
            merged |= (hx0 <= tx) & (tx <= hx1) & ((hrow > ty) if up else (hrow < ty)) & (width <= 3 * pen_h + 2)
        merged &= ~single
        cy = hrow.astype(np.float64)
        cx_s, cy_s = cx[single], cy[single]
        # binary runs put centres on half pixels; along a stroke x changes smoothly with y, so each column's
        # share of the stroke gets its x from a straight-line fit
        home = np.rint(cx_s).astype(np.int64)
        for x in np.unique(home):
            sel = home == x
            if sel.sum() >= 4 and np.ptp(cy_s[sel]) > 0:
                slope, icpt = np.polyfit(cy_s[sel], cx_s[sel], 1)
                cx_s[sel] = np.clip(icpt + slope * cy_s[sel], x - 0.5, x + 0.5)
        # a merged run's strokes lie as far inside its outer edges as a single stroke's centre lies inside
        # its own edges, measured on the single runs of near-vertical strokes (ink in the same column a row
        # above and below): however the ink density maps coverage, the two then agree
        edge0, edge1 = _row_edges(hrow, hx0, hx1, weight, pad)
        key = hrow[single] * w + np.rint(cx[single]).astype(np.int64)
        vertical = np.isin(key - w, key) & np.isin(key + w, key)
        inset = 0.5 * pen_h
        if vertical.sum() >= 40:
            c_v, e0_v, e1_v = cx[single][vertical], edge0[single][vertical], edge1[single][vertical]
            inset = float(np.median(np.concatenate([c_v - e0_v, e1_v - c_v])))
        edge0, edge1 = edge0[merged], edge1[merged]
        xs += [cx_s, edge0 + inset, edge1 - inset, tips_x]
        ys += [cy_s, cy[merged], cy[merged], tips_y]
        # a steep column whose rows gave no point, here or next door, keeps its centroid
        found = np.concatenate([home, np.rint(edge0 + inset), np.rint(edge1 - inset),
                                np.rint(tips_x)]).astype(np.int64)
        sc = cols[steep]
        lonely = ~(np.isin(sc, found) | np.isin(sc - 1, found) | np.isin(sc + 1, found)) & (sc > 0) & (sc < w - 1)
        xs.append(sc[lonely].astype(np.float64))
        ys.append(c[steep][lonely])
    x_all, y_all = np.concatenate(xs), np.concatenate(ys)
    order = np.argsort(x_all, kind="stable")
    steps = np.abs(np.diff(c))[np.diff(cols) == 1]
    return Trace(x_all[order], y_all[order] + r0, cols.size / max(w, 1), int(np.sum(steps > px_per_mm * 3)), pen)


def _row_edges(hrow: np.ndarray, hx0: np.ndarray, hx1: np.ndarray, weight: np.ndarray,
               pad: int) -> tuple[np.ndarray, np.ndarray]:
    """The sub-pixel left and right edges of row runs (row, first column, last column) of ink."""
    edge0, edge1 = hx0 - 0.5, hx1 + 0.5
    if pad:
        w = weight.shape[1]
        edge0 = edge0 + _edge_inset(weight[hrow, hx0], np.where(hx0 > 0, weight[hrow, np.maximum(hx0 - 1, 0)], 0.0))
        edge1 = edge1 - _edge_inset(weight[hrow, hx1],
                                    np.where(hx1 < w - 1, weight[hrow, np.minimum(hx1 + 1, w - 1)], 0.0))
    return edge0, edge1


def _edge_inset(inner: np.ndarray, outer: np.ndarray) -> np.ndarray:
    """How far (px) a stroke's edge lies inside the outermost pixel of its run: that pixel's uncovered share,
    less the covered share of the pixel beyond it (ink densities 0..1)."""
    return (1 - inner) - outer


def _column_mass(cols: np.ndarray, top: np.ndarray, bot: np.ndarray, weight: np.ndarray, pad: int) -> np.ndarray:
    """The ink mass of column runs, with the pixel either side when ``pad`` is 1: a sub-pixel run length."""
    if cols.size == 0:
        return np.zeros(0)
    lo = np.maximum(top - pad, 0)
    lengths = np.minimum(bot + pad, weight.shape[0] - 1) - lo + 1
    rows, first = span_positions(lo, lengths)
    return np.add.reduceat(weight[rows, np.repeat(cols, lengths)], first)


def _tips(cols: np.ndarray, top: np.ndarray, bot: np.ndarray, steep: np.ndarray, pen: float, weight: np.ndarray,
          pad: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sharp peaks and troughs: (x, y, is a peak) where the run tops (bottoms) of neighbouring columns reach
    furthest, by more than a pen, at a steep column; half a pen in from the sub-pixel edge of the ink."""
    out_x, out_y, out_up = [], [], []
    consecutive = np.concatenate([[False], np.diff(cols) == 1])
    segments = np.split(np.arange(cols.size), np.flatnonzero(~consecutive)[1:])
    for seg in segments:
        for up, ends in ((True, -top[seg]), (False, bot[seg])):
            peaks, props = find_peaks(ends, prominence=pen, plateau_size=1)
            for p, left, right in zip(peaks, props["left_edges"], props["right_edges"]):
                k = seg[left:right + 1]
                if not steep[k].any():
                    continue
                x = 0.5 * (cols[k[0]] + cols[k[-1]])
                edge = float(np.mean(top[k] - 0.5)) if up else float(np.mean(bot[k] + 0.5))
                if pad:
                    end_rows = top[k] if up else bot[k]
                    outer_rows = end_rows - 1 if up else end_rows + 1
                    ok = (outer_rows >= 0) & (outer_rows < weight.shape[0])
                    outer = np.where(ok, weight[np.clip(outer_rows, 0, weight.shape[0] - 1), cols[k]], 0.0)
                    shift = float(np.mean(_edge_inset(weight[end_rows, cols[k]], outer)))
                    edge += shift if up else -shift
                out_x.append(x)
                out_y.append(edge + 0.5 * pen if up else edge - 0.5 * pen)
                out_up.append(up)
    return np.array(out_x, np.float64), np.array(out_y, np.float64), np.array(out_up, bool)


def find_tick(density: np.ndarray, y: float, x: float, px_per_mm: float) -> float | None:
    """The x of a separator tick (a short vertical stroke centred on the row's baseline ``y``) within 1.5 mm of
    ``x``, to a hundredth of a pixel: the median centre of the pen's cover in the pixel rows 1.0-2.3 mm above
    and below the baseline, where a row's own trace rarely is (of the stroke nearest ``x`` in each row: a QRS
    may stand beside the tick). None unless both ends are seen at one x (a steep QRS stroke is slanted, or on
    one side only) in most of those pixel rows."""
    h, w = density.shape
    xa, xb = int(x - 1.5 * px_per_mm), int(x + 1.5 * px_per_mm) + 1
    if xa < 0 or xb > w or y - 2.3 * px_per_mm < 0 or y + 2.3 * px_per_mm >= h:
        return None
    widest = max(0.9 * px_per_mm, 3.0)  # a pen's width, with its anti-aliased edges
    ends = []
    for rows in (range(int(y - 2.3 * px_per_mm), int(y - 1.0 * px_per_mm)),
                 range(int(np.ceil(y + 1.0 * px_per_mm)), int(y + 2.3 * px_per_mm))):
        centres = []
        for yy in rows:
            cover = density[yy, xa:xb].astype(np.float64)
            bounds = np.flatnonzero(np.diff(np.concatenate([[0], (cover > 0.5).astype(np.int8), [0]])))
            if bounds.size == 0:
                continue
            first, last = bounds[::2], bounds[1::2] - 1
            k = int(np.argmin(np.abs(xa + 0.5 * (first + last) - x)))  # the stroke nearest x
            if last[k] - first[k] + 1 > widest:
                continue
            lo = max(first[k] - 2, last[k - 1] + 1 if k > 0 else 0)
            hi = min(last[k] + 3, first[k + 1] if k + 1 < first.size else cover.size)
            centres.append(xa + lo + float(np.average(np.arange(hi - lo), weights=cover[lo:hi])))
        if len(centres) < 0.7 * len(rows):
            return None
        ends.append(np.array(centres))
    (upper, lower), (mu, ml) = ends, (float(np.median(ends[0])), float(np.median(ends[1])))
    if abs(mu - ml) > 0.3 or max(np.median(np.abs(upper - mu)), np.median(np.abs(lower - ml))) > 0.3:
        return None
    return 0.5 * (mu + ml)


def separator_ticks(density: np.ndarray, baseline: float, lead_box: LeadBox, px_per_mm: float,
                    expected: bool = False) -> list[tuple[float, float, float]]:
    """The separator ticks at the ends of a lead's box: (x, top row, bottom row) of each, the extent being the
    ink that runs on from the baseline in the tick's column. Where the page has ticks (``expected``) a cell's
    end that meets another cell has one even where :func:`find_tick` cannot tell it from the trace beside
    it (the trace runs through the rows it looks at): it is then at the box's end."""
    h, w = density.shape
    box, cell = lead_box.box, lead_box.cell
    ticks = []
    for edge, inner in ((box.x0, cell.col > 0), (box.x1, cell.col < cell.ncols - 1)):
        xt = find_tick(density, baseline, edge, px_per_mm)
        if xt is None and expected and inner and 0 <= edge < w - 0.5:
            xt = edge
        if xt is None:
            continue
        column = density[:, int(round(xt))] > 0.5
        y = int(round(baseline))
        top, bottom = y, y
        while top > 0 and column[top - 1]:
            top -= 1
        while bottom < h - 1 and column[bottom + 1]:
            bottom += 1
        ticks.append((xt, float(top), float(bottom)))
    return ticks


def to_signal(trace: Trace, lead_box: LeadBox, scale: GridScale, paper: PaperSettings, fs: float,
              n_samples: int, x_offset: float, y_offset: float, hold_px: float | None = None
              ) -> tuple[np.ndarray, np.ndarray]:
    """The lead's samples (indices, mV) from its pixel path: time from x, millivolts from y; up to ``hold_px``
    beyond its first and last points (default: an end cap's columns) the value there is held, further on NaN."""
    cell, box = lead_box.cell, lead_box.box
    start, stop = int(round(cell.t0 * fs)), min(int(round(cell.t1 * fs)), n_samples)
    idx = np.arange(start, max(stop, start))
    if trace.x.size < 2 or idx.size == 0:
        return idx, np.full(idx.size, np.nan)
    px_per_s = scale.px_per_mm_x * paper.speed_mm_s
    t = cell.t0 + (trace.x + x_offset - box.x0) / px_per_s
    baseline = lead_box.baseline_y if lead_box.baseline_y is not None else box.cy
    mv = (baseline - (trace.y + y_offset)) / (scale.px_per_mm_y * paper.gain_for(cell.lead))
    t, inverse = np.unique(t, return_inverse=True)  # sorted; points at one time averaged
    mv = np.bincount(inverse, weights=mv) / np.bincount(inverse)
    ts = idx / fs
    keep = (t > ts[0] - 1 / fs) & (t < ts[-1] + 1 / fs)
    t, mv = t[keep], mv[keep]
    if t.size < 2:
        return idx, np.full(idx.size, np.nan)
    values = smoothing_spline(t, mv, ts, (fs * SPLINE_TIME_S) ** 3)
    # beyond the first and last points (a trimmed tick, an end cap) the curve is held, not extended along its slope
    ends = np.interp([t[0], t[-1]], ts, values)
    values = np.where(ts < t[0], ends[0], np.where(ts > t[-1], ends[1], values))
    # no values across gaps wider than a few pixels, nor far beyond the ends
    pos = np.searchsorted(t, ts)
    left = t[np.clip(pos - 1, 0, t.size - 1)]
    right = t[np.clip(pos, 0, t.size - 1)]
    values[(right - left) > MAX_GAP_PX / px_per_s] = np.nan
    reach = (hold_px or 0.3 * scale.px_per_mm_x + 1.5) / px_per_s  # the trimmed edge columns, held at the edge value
    values[(ts < t[0] - reach) | (ts > t[-1] + reach)] = np.nan
    return idx, values


def smoothing_spline(t: np.ndarray, v: np.ndarray, ts: np.ndarray, lam: float) -> np.ndarray:
    """Values at the evenly spaced times ``ts`` of the curve that passes closest to the points ``(t, v)`` while
    bending least: penalised least squares on the sample grid (a point is read by linear interpolation
    between its two samples; squared second differences of the samples cost ``lam`` each), a discrete cubic
    smoothing spline. ``t`` must be sorted and lie within ``ts`` (or less than a sample beyond).
    (Held at the ends, such points read 0.3 dB better than on a grid extended to them.)"""
    if ts.size < 3 or t.size < 2:
        return np.interp(ts, t, v)
    dt = ts[1] - ts[0]
    n = ts.size
    u = (np.clip(t, ts[0], ts[-1]) - ts[0]) / dt  # points less than a sample beyond the ends are held there
    i = np.clip(np.floor(u).astype(int), 0, n - 2)
    f = u - i
    ab = np.zeros((3, n))
    ab[2] = np.bincount(i, (1 - f) ** 2, n) + np.bincount(i + 1, f ** 2, n)
    ab[1, 1:] = np.bincount(i, (1 - f) * f, n)[:-1]
    rhs = np.bincount(i, (1 - f) * v, n) + np.bincount(i + 1, f * v, n)
    ab[2, :-2] += lam
    ab[2, 1:-1] += 4 * lam
    ab[2, 2:] += lam
    ab[1, 1:-1] -= 2 * lam
    ab[1, 2:] -= 2 * lam
    ab[0, 2:] += lam
    ab[2] += 1e-9  # the curve is pinned by the points; this keeps the system definite over long gaps
    return solveh_banded(ab, rhs)


def _cell_crop(prob: np.ndarray, lead_box: LeadBox, px_per_mm: float, density: np.ndarray | None, margin: float
               ) -> tuple[np.ndarray, np.ndarray | None, float, float, int, int] | None:
    """What a cell's trace is searched in: the probability crop and the density's (None without one), the
    baseline in the crop's rows, the row pitch, and the crop's origin (x0, y0) in the page; None if empty."""
    box = lead_box.box
    h, w = prob.shape
    pitch = max(lead_box.pitch or box.height, 5 * px_per_mm)
    baseline = lead_box.baseline_y if lead_box.baseline_y is not None else box.cy
    y0, y1 = int(max(0, np.floor(baseline - 1.1 * pitch))), int(min(h, np.ceil(baseline + 1.1 * pitch)))
    x0, x1 = int(max(0, np.floor(box.x0 - margin))), int(min(w, np.ceil(box.x1 + margin)))
    if x1 - x0 < 2 or y1 - y0 < 2:
        return None
    dens = None if density is None else density[y0:y1, x0:x1].astype(np.float64)
    return prob[y0:y1, x0:x1].astype(np.float64), dens, baseline - y0, pitch, x0, y0


def cell_trace(prob: np.ndarray, lead_box: LeadBox, px_per_mm: float, density: np.ndarray | None = None,
               margin: float = 0.0) -> tuple[Trace, int, int] | None:
    """The trace through one cell's ink (:func:`trace_path`), searched from the cell's left to its right edge
    (``margin`` px further either side) and 1.1 row pitches (at least 5 mm) either side of its baseline: a tall
    wave reaches beyond a box that hugs the ink. The trace is in the crop's pixels; with the crop's origin
    (x0, y0) in the page's. None when the crop is empty."""
    found = _cell_crop(prob, lead_box, px_per_mm, density, margin)
    if found is None:
        return None
    crop, dens, baseline, pitch, x0, y0 = found
    return trace_path(crop, baseline, pitch, px_per_mm, dens), x0, y0


def cell_rows(prob: np.ndarray, lead_box: LeadBox, px_per_mm: float, density: np.ndarray | None = None
              ) -> tuple[int, int] | None:
    """The first and last page row of the ink :func:`cell_trace`'s path runs through, without reading its
    sub-pixel points (most of the time a trace takes); None where it crosses fewer than two columns."""
    found = _cell_crop(prob, lead_box, px_per_mm, density, 0.0)
    if found is None:
        return None
    crop, dens, baseline, pitch, _, y0 = found
    runs = _path_runs(crop, baseline, pitch, px_per_mm, dens)
    if runs is None:
        return None
    chosen, tops, bots = runs[0][runs[0] >= 0], runs[1], runs[2]
    if chosen.size < 2:
        return None
    return y0 + int(tops[chosen].min()), y0 + int(bots[chosen].max())


def extract_lead(prob: np.ndarray, lead_box: LeadBox, scale: GridScale, paper: PaperSettings, fs: float,
                 n_samples: int, density: np.ndarray | None = None, ticks: bool = False
                 ) -> tuple[np.ndarray, np.ndarray, float]:
    """Samples (indices, mV) and a confidence for one box of the layout; ``ticks``: the page marks where the
    lead changes within a row with a tick (see :func:`separator_ticks`)."""
    box = lead_box.box
    baseline = lead_box.baseline_y if lead_box.baseline_y is not None else box.cy
    # the cell and a pen's reach beyond it, so that strokes at its ends are whole; then only the points that
    # lie within the cell (the neighbouring cells' strokes reach into the margin)
    found = cell_trace(prob, lead_box, scale.px_per_mm_y, density, 0.35 * scale.px_per_mm_x + 1.0)
    if found is None:
        return np.zeros(0, np.int64), np.zeros(0), 0.0
    trace, x0, y0 = found
    keep = (trace.x + x0 >= box.x0 - 0.5) & (trace.x + x0 <= box.x1 + 0.5)
    weight = prob if density is None else density
    reach = 0.5 * trace.pen + 1.0  # the pen's half and its anti-aliased edge
    hold = None
    for xt, top, bottom in separator_ticks(weight, baseline, lead_box, scale.px_per_mm_x, ticks):
        # a tick hides the trace in its columns, and its own rows read as trace there: its points go, and the
        # spline holds the value the trace has next to it
        keep &= ~((np.abs(trace.x + x0 - xt) < reach) & (trace.y + y0 > top - reach - 0.5)
                  & (trace.y + y0 < bottom + reach + 0.5))
        hold = max(0.3 * scale.px_per_mm_x + 1.5, reach + 1.0)  # a thick pen's tick hides more columns
    trace = replace(trace, x=trace.x[keep], y=trace.y[keep])
    idx, values = to_signal(trace, lead_box, scale, paper, fs, n_samples, x0, y0, hold)
    confidence = float(trace.coverage * np.exp(-0.2 * trace.jumps))
    return idx, values, confidence
