"""Trace extraction on strokes drawn as the generator (and a printer) draws them: a pen several pixels wide."""

from __future__ import annotations

import numpy as np
import pytest

from ecgdigitizer.binarize import ink_density
from ecgdigitizer.extract import SPLINE_TIME_S, cell_rows, smoothing_spline, trace_path
from ecgdigitizer.generate.plot import draw_pen
from ecgdigitizer.types import Box, Cell, LeadBox

PX_PER_MM = 7.87  # 200 dpi
PX_PER_SAMPLE = 0.39  # 25 mm/s at 500 Hz


def spike(height_px: float, half_width_samples: int, n: int = 400) -> np.ndarray:
    """A flat trace with one narrow triangular spike (up for a positive height): (x, y) per sample."""
    x = 20.0 + PX_PER_SAMPLE * np.arange(n)
    y = np.full(n, 200.0)
    k = np.arange(-half_width_samples, half_width_samples + 1)
    y[n // 2 + k] -= height_px * (1 - np.abs(k) / half_width_samples)
    return np.stack([x, y], axis=1)


def read(xy: np.ndarray, pen_px: int) -> tuple[np.ndarray, np.ndarray]:
    """Draw the samples as a dark anti-aliased polyline on white; the extractor's value at every sample."""
    page = np.full((320, 220, 3), 250, np.uint8)
    draw_pen(page, xy, (20, 20, 60), pen_px)
    prob = ((255 - page.max(axis=2)) > 100).astype(np.float32)
    trace = trace_path(prob, 200.0, 150.0, PX_PER_MM, ink_density(page, prob > 0.5, PX_PER_MM))
    return np.interp(xy[:, 0], trace.x, trace.y), trace.y


@pytest.mark.parametrize("pen", [2, 3])
@pytest.mark.parametrize("height, half_width", [(80.0, 20), (-60.0, 15), (40.0, 8), (120.0, 25)])
def test_a_spike_narrower_than_the_pen_keeps_its_peak_and_both_strokes(height: float, half_width: int,
                                                                        pen: int) -> None:
    """Near the tip of a QRS spike its up- and down-strokes are closer than a pen and merge into one blob of
    ink: a column's centroid (or median) puts the peak far too low. The peak comes back within a pixel, the
    spike within a few (its strokes are 5-15 px per column steep), the whole trace within a pixel RMS."""
    xy = spike(height, half_width)
    y, ys = read(xy, pen)
    peak = int(xy[:, 1].argmin() if height > 0 else xy[:, 1].argmax())
    tip = ys.min() if height > 0 else ys.max()
    assert abs(tip - xy[peak, 1]) < 1.0
    err = np.abs(y - xy[:, 1])
    assert np.sqrt(np.mean(err ** 2)) < 1.0
    assert err[peak - half_width:peak + half_width + 1].max() < 5.0


def test_cell_rows_span_the_cells_own_trace_not_its_neighbours() -> None:
    """The rows of a lead's box come from the path through its ink: from its spike's tip to the foot of its line,
    though the next row's trace lies in the rows searched (1.1 pitches either side of the baseline)."""
    own = np.full((320, 220, 3), 250, np.uint8)
    draw_pen(own, spike(80.0, 20), (20, 20, 60), 3)
    ink = own.max(axis=2) < 155
    rows = np.flatnonzero(ink.any(axis=1))
    page = own.copy()
    draw_pen(page, np.stack([np.arange(20.0, 180.0), np.full(160, 290.0)], axis=1), (20, 20, 60), 3)
    prob = (page.max(axis=2) < 155).astype(np.float32)
    cell = LeadBox(Box(20.0, 150.0, 175.0, 215.0, "II"), Cell("II", 0, 0, 1, 0.0, 2.5), baseline_y=200.0,
                   pitch=90.0)
    assert cell_rows(prob, cell, PX_PER_MM) == (rows[0], rows[-1])
    dot = np.zeros_like(prob)
    dot[195:205, 100] = 1.0  # a single column of ink is no trace
    assert cell_rows(dot, cell, PX_PER_MM) is None


def _column_readings(curve, px_per_mm: float, offset_px: float):
    """A lead read once per pixel column (as the extractor reads a clean page): points at the columns' times."""
    px_per_s = px_per_mm * 25.0
    t = (np.arange(int(2.5 * px_per_s)) + offset_px) / px_per_s
    return t, curve(t)


@pytest.mark.parametrize("fs", [500.0, 1000.0, 250.0])
def test_samples_between_column_readings_follow_the_curve_not_a_straight_line(fs: float) -> None:
    """A narrow QRS (Gaussian R, sigma 12 ms, 1.5 mV, and an S wave) at 200 dpi is read once per column; the
    samples between the readings come from the smoothing spline (39-41 dB at these rates); linear interpolation
    cuts the peak and the troughs (36-37 dB). (A spike of sigma 8 ms the shipped stiffness cuts 2 dB more than
    linear interpolation does: the stiffness trades such spikes for the noise of real readings.)"""
    def curve(t):
        return 1.5 * np.exp(-0.5 * ((t - 1.2345) / 0.012) ** 2) - 0.3 * np.exp(-0.5 * ((t - 1.27) / 0.018) ** 2)

    px_per_mm = 200 / 25.4
    t, v = _column_readings(curve, px_per_mm, 0.37)
    ts = np.arange(int(0.5 * fs), int(2.0 * fs)) / fs
    x = curve(ts)

    def snr(y: np.ndarray) -> float:
        return float(10 * np.log10(np.sum(x ** 2) / np.sum((y - x) ** 2)))

    spline = snr(smoothing_spline(t, v, ts, (fs * SPLINE_TIME_S) ** 3))
    assert spline >= 38.0 and spline >= snr(np.interp(ts, t, v)) + 2.0


def test_smoothing_spline_keeps_straight_lines_and_smooths_sub_pixel_noise() -> None:
    ts = np.arange(1000) / 500.0
    t = np.sort(np.random.default_rng(3).uniform(0, ts[-1], 800))
    line = 0.2 + 0.5 * t
    assert np.allclose(smoothing_spline(t, line, ts, 1.0), 0.2 + 0.5 * ts, atol=1e-6)
    noisy = line + np.random.default_rng(4).normal(0, 0.01, t.size)
    assert np.std(smoothing_spline(t, noisy, ts, 1.0) - (0.2 + 0.5 * ts)) < 0.75 * 0.01
