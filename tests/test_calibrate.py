"""Calibration pulses found in a binary trace map."""

from __future__ import annotations

import numpy as np

from ecgdigitizer.calibrate import find_pulse, find_pulses, span_scale
from ecgdigitizer.types import GridScale


def pulse_map(rows: list[int], ppm: float = 8.0, wobble: bool = True) -> np.ndarray:
    """Pulses 10 mm high and 5 mm wide at x = 40, their bottoms at ``rows``, a flat trace after each; with
    ``wobble`` the edges (a pixel wide) step a pixel left and right every 6 rows (a binarized scan's uneven
    stroke), so that no single column holds an edge whole."""
    ink = np.zeros((rows[-1] + 40, 300), bool)
    height, width = int(10 * ppm), int(5 * ppm)
    for bottom in rows:
        top = bottom - height
        ink[bottom - 1:bottom + 1, 30:40] = True
        ink[top - 1:top + 1, 40:40 + width] = True
        ink[bottom - 1:bottom + 1, 40 + width:300] = True
        for y in range(top, bottom + 1):
            step = (y // 6) % 2 if wobble else 0
            ink[y, 40 + step] = True
            ink[y, 40 + width - step] = True
    return ink


def test_a_pulse_whose_edges_step_between_columns_is_found() -> None:
    ink = pulse_map([150])
    assert find_pulse(ink, 150.0, (20.0, 120.0), 8.0, wobble=False) is None  # column by column: none is whole
    pulse = find_pulse(ink, 150.0, (20.0, 120.0), 8.0)
    assert pulse is not None
    assert abs(pulse.bottom - 149.5) <= 0.5 and abs(pulse.height - 80) <= 1.5  # strokes 2 px: their middles
    assert abs(pulse.x0 - 40) <= 1 and abs(pulse.x1 - 81) <= 1


def test_a_gap_in_one_column_of_an_edge_does_not_lift_the_pulse_foot() -> None:
    ink = pulse_map([150], wobble=False)
    ink[:, 41] = ink[:, 40]  # the rising edge two pixels wide ...
    ink[136:141, 40] = False  # ... and binarization left a gap in one of its columns, 1.2 mm above the foot
    pulse = find_pulse(ink, 150.0, (20.0, 120.0), 8.0)
    assert pulse is not None
    assert abs(pulse.bottom - 149.5) <= 0.5 and abs(pulse.height - 80) <= 1.5


def test_a_pulse_cut_off_by_the_search_window_is_not_taken_for_one_with_that_foot() -> None:
    """A row's baseline read 3.5 mm above its pulse's foot (the traces sit above 0 mV) sees the foot whole. Probed
    6 mm above its foot, the window ends halfway down the edges: that is no pulse (it was one with its foot at
    the window's end, and a 100 dpi page's margin was read as eight pulses for six rows)."""
    ink = pulse_map([150], wobble=False)
    pulse = find_pulse(ink, 150.0 - 3.5 * 8, (20.0, 120.0), 8.0)
    assert pulse is not None and abs(pulse.bottom - 149.5) <= 0.5
    assert find_pulse(ink, 150.0 - 6 * 8, (20.0, 120.0), 8.0) is None


def test_every_pulse_down_the_margin_is_found_once() -> None:
    rows = [120 + 115 * k for k in range(12)]  # a 12x1 page: rows 14 mm apart, pulses 10 mm high
    ink = pulse_map(rows)
    found = find_pulses(ink, (20.0, 120.0), (0.0, float(ink.shape[0])), 8.0, 115.0)
    assert len(found) == 12
    assert np.max(np.abs(np.array([p.bottom for p in found]) - (np.array(rows) - 0.5))) <= 0.5  # the stroke's middle


def test_rows_in_perspective_set_the_scale_when_all_say_the_page_size_is_off() -> None:
    """A photo left in perspective, no grid: its seven rows narrow up the page by 2.5 % a row (5.6 to 6.5 px/mm
    over 250 mm), so under half agree with their median within 3 %; the page size, background included, says
    6.91. Every row says it is 6-23 % too large: the median row is nearer. Rows that straddle the page size
    (some wider, some narrower) leave it."""
    page = GridScale(6.91, 6.91, "page size", 0.2)
    widths = [250 * 5.6 * 1.025 ** k for k in range(7)]
    got = span_scale(widths, 250.0, page)
    assert got.source == "row span" and abs(got.px_per_mm_x - np.median(widths) / 250) < 1e-9
    straddle = [250 * 6.91 * f for f in (0.9, 0.95, 1.0, 1.05, 1.1)]
    assert span_scale(straddle, 250.0, page) == page
