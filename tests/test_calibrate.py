"""Calibration pulses found in a binary trace map."""

from __future__ import annotations

import numpy as np

from ecgdigitizer.calibrate import find_pulse, find_pulses


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

def test_every_pulse_down_the_margin_is_found_once() -> None:
    rows = [120 + 115 * k for k in range(12)]  # a 12x1 page: rows 14 mm apart, pulses 10 mm high
    ink = pulse_map(rows)
    found = find_pulses(ink, (20.0, 120.0), (0.0, float(ink.shape[0])), 8.0, 115.0)
    assert len(found) == 12
    assert np.max(np.abs(np.array([p.bottom for p in found]) - (np.array(rows) - 0.5))) <= 0.5  # the stroke's middle
