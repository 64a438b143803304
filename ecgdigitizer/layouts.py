"""The printed page formats the generator draws and the digitizer recognises.

A :class:`~ecgdigitizer.types.Layout` is rows of cells; each cell names a lead and the seconds of the record it
shows. ``column_time='shifted'`` is the Challenge convention (column c of a 3x4 page shows seconds
2.5c to 2.5(c+1)); ``'same'`` starts every column at 0 s.
"""

from __future__ import annotations

from .types import Cell, Layout

ROWS_3X4 = (("I", "aVR", "V1", "V4"), ("II", "aVL", "V2", "V5"), ("III", "aVF", "V3", "V6"))
COLS_6X2 = (("I", "II", "III", "aVR", "aVL", "aVF"), ("V1", "V2", "V3", "V4", "V5", "V6"))
ORDER_12X1 = ("I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6")
RHYTHM_LEADS = ("II", "V1", "V5")

#: Every layout name the generator can draw, with the number of rows each has.
LAYOUT_NAMES = ("3x4", "3x4+1", "3x4+2", "3x4+3", "6x2", "6x2+1", "12x1")


def _grid_rows(rows: tuple[tuple[str, ...], ...], span: float, column_time: str) -> list[Cell]:
    cells = []
    for r, leads in enumerate(rows):
        n = len(leads)
        for c, lead in enumerate(leads):
            width = span / n
            t0 = c * width if column_time == "shifted" else 0.0
            cells.append(Cell(lead, r, c, n, t0, t0 + width))
    return cells


def make_layout(name: str, span: float = 10.0, column_time: str = "shifted",
                rhythm_leads: tuple[str, ...] = RHYTHM_LEADS) -> Layout:
    """Build a layout by name (``'3x4+1'``, ``'6x2'``, ``'12x1'`` ...) for a row showing ``span`` seconds."""
    base, _, extra = name.partition("+")
    n_rhythm = int(extra) if extra else 0
    if base == "3x4":
        cells = _grid_rows(ROWS_3X4, span, column_time)
    elif base == "6x2":
        rows = tuple(zip(*COLS_6X2))
        cells = _grid_rows(rows, span, column_time)
    elif base == "12x1":
        cells = [Cell(lead, r, 0, 1, 0.0, span) for r, lead in enumerate(ORDER_12X1)]
    else:
        raise ValueError(f"unknown layout {name!r}; known: {', '.join(LAYOUT_NAMES)}")
    if n_rhythm > len(rhythm_leads):
        raise ValueError(f"layout {name!r} asks for {n_rhythm} rhythm strips but only {rhythm_leads} are given")
    first = 1 + max(c.row for c in cells)
    cells += [Cell(lead, first + k, 0, 1, 0.0, span) for k, lead in enumerate(rhythm_leads[:n_rhythm])]
    return Layout(name, tuple(cells))


def rows_of(name: str) -> int:
    """Number of printed rows of a layout name."""
    return make_layout(name).nrows
