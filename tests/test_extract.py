"""Trace extraction on strokes drawn as the generator (and a printer) draws them: a pen several pixels wide."""

from __future__ import annotations

import numpy as np
import pytest

from ecgdigitizer.binarize import ink_density
from ecgdigitizer.extract import trace_path
from ecgdigitizer.generate.plot import draw_polyline

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
    draw_polyline(page, xy, (20, 20, 60), pen_px)
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
