"""The pen's cover read from a page's grey levels (what places strokes to a fraction of a pixel)."""

from __future__ import annotations

import numpy as np

from ecgdigitizer.binarize import ink_density
from ecgdigitizer.generate.plot import apply_ink, pen_coverage


def test_a_grid_line_beside_a_stroke_is_not_read_as_the_pen() -> None:
    """A vertical stroke 2.6 px wide (x 100.0 to 102.6) crosses brown horizontal grid lines 2 px thick; a
    brown vertical line touches its right edge. Along every pixel row the stroke's cover sums to the pen's
    width, on the grid lines as between them: a line's darkness beside the ink (0.4 of black) is not cover.
    Read as cover it would widen rows by 0.4-0.8 px and move a stroke's edge, or a trace's end, as much."""
    page = np.full((400, 240, 3), 250, np.uint8)
    brown = np.array([150, 90, 60], np.uint8)
    for y in (40, 80, 120, 160):
        page[y:y + 2] = brown
    page[:, 103:105] = brown
    stroke = pen_coverage(page.shape[:2], np.array([[101.3, 20.0], [101.3, 180.0]]), 2.6)
    apply_ink(page, stroke, (20, 20, 20))
    cover = np.zeros(page.shape[:2], np.float32)
    crop, (x0, y0) = stroke
    cover[y0:y0 + crop.shape[0], x0:x0 + crop.shape[1]] = crop
    density = ink_density(page, cover > 0.5, 8.0)
    sums = density[30:170, 90:115].sum(axis=1)
    on_lines = np.isin(np.arange(30, 170), [40, 41, 80, 81, 120, 121, 160, 161])
    assert np.abs(sums - 2.6).max() < 0.1
    assert abs(sums[on_lines].mean() - sums[~on_lines].mean()) < 0.05
