"""The data that flows between the stages of the method, in one place.

Pixel coordinates are (x, y) with x to the right and y downwards, in the image the stage received.
Times are seconds from the start of the record; amplitudes are millivolts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

#: The twelve standard leads in the order most headers list them.
LEADS_12: tuple[str, ...] = (
    "I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6",
)
LIMB_LEADS = frozenset(LEADS_12[:6])


def canonical_lead(name: str) -> str:
    """``'AVR'``, ``'avr'``, ``' aVR '`` → ``'aVR'``; names outside the twelve come back stripped."""
    key = name.strip().casefold()
    for lead in LEADS_12:
        if lead.casefold() == key:
            return lead
    return name.strip()


@dataclass(frozen=True)
class Box:
    """An axis-aligned box around one lead's trace, in pixels."""

    x0: float
    y0: float
    x1: float
    y1: float
    lead: str | None = None
    score: float = 1.0

    @property
    def width(self) -> float:
        return self.x1 - self.x0

    @property
    def height(self) -> float:
        return self.y1 - self.y0

    @property
    def cx(self) -> float:
        return 0.5 * (self.x0 + self.x1)

    @property
    def cy(self) -> float:
        return 0.5 * (self.y0 + self.y1)

    def iou(self, other: Box) -> float:
        ix = max(0.0, min(self.x1, other.x1) - max(self.x0, other.x0))
        iy = max(0.0, min(self.y1, other.y1) - max(self.y0, other.y0))
        inter = ix * iy
        union = self.width * self.height + other.width * other.height - inter
        return inter / union if union > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"lead": self.lead, "x0": self.x0, "y0": self.y0, "x1": self.x1, "y1": self.y1,
                "score": self.score}


@dataclass(frozen=True)
class Cell:
    """Where one lead sits in a printed layout and which seconds of the record it shows."""

    lead: str
    row: int
    col: int
    ncols: int  # columns in this row: 4 in a 3x4 row, 1 in a rhythm strip
    t0: float
    t1: float

    @property
    def is_rhythm(self) -> bool:
        return self.ncols == 1


@dataclass(frozen=True)
class Layout:
    """A printed page format: rows of cells. ``name`` is e.g. ``'3x4+1'``, ``'6x2'``, ``'12x1'``."""

    name: str
    cells: tuple[Cell, ...]

    @property
    def nrows(self) -> int:
        return 1 + max(c.row for c in self.cells)

    def row(self, r: int) -> list[Cell]:
        return sorted((c for c in self.cells if c.row == r), key=lambda c: c.col)

    @property
    def span(self) -> float:
        """Seconds shown across one full row."""
        return max(c.t1 for c in self.cells) - min(c.t0 for c in self.cells)


@dataclass(frozen=True)
class GridScale:
    """Pixels per millimetre on the page and where the numbers came from."""

    px_per_mm_x: float
    px_per_mm_y: float
    source: str  # 'grid'; 'page size' or 'row span' (the lead boxes' rows) where none shows; or the caller's
    confidence: float = 1.0


@dataclass(frozen=True)
class PaperSettings:
    """Paper speed and gains used to turn millimetres into seconds and millivolts."""

    speed_mm_s: float = 25.0
    gain_limb_mm_mv: float = 10.0
    gain_chest_mm_mv: float = 10.0
    from_page: bool = False  # the gains were read from the page's calibration pulses
    speed_from_page: bool = False  # the speed was read from the pulses' width

    @property
    def span_s(self) -> float:
        """Seconds a full row shows: 10 at 25 mm/s or slower, 5 faster."""
        return 10.0 if self.speed_mm_s <= 25 else 5.0

    def gain_for(self, lead: str) -> float:
        return self.gain_limb_mm_mv if canonical_lead(lead) in LIMB_LEADS else self.gain_chest_mm_mv


@dataclass
class LeadBox:
    """A box the layout stage assigned to a cell of the layout."""

    box: Box
    cell: Cell
    baseline_y: float | None = None  # pixel row of 0 mV where known (calibration pulse, layout)
    # the distance between rows' baselines (px): how far above and below its baseline the trace is looked for.
    # ``box`` may be tighter (a detector's box around the ink it saw); the box height where not known
    pitch: float | None = None


@dataclass(frozen=True)
class Pulse:
    """A calibration pulse found at the start of a row: 1 mV high, 0.2 s wide (5 mm at 25 mm/s)."""

    x0: float
    x1: float  # right edge: traces start after it
    top: float
    bottom: float  # y of 0 mV for the row

    @property
    def height(self) -> float:
        return self.bottom - self.top

    @property
    def width(self) -> float:
        return self.x1 - self.x0


@dataclass
class PageLayout:
    """Output of the lead-box stage: the layout recognised and one box per plotted cell."""

    layout: Layout
    boxes: list[LeadBox]
    source: str  # 'baseline', 'yolo', 'truth'
    confidence: float = 1.0
    pulses: list[Pulse] = field(default_factory=list)  # the rows' calibration pulses found
    # sample periods by which the boxes start before the first sample: 1 where timed from where the traces end
    # (the last sample is read at the span's end), 0.5 from the jumps between leads (detect.find_jump)
    early_samples: float = 0.0
    ticks: bool = False  # separator ticks (short vertical strokes) mark where the lead changes within a row
    scale: GridScale | None = None  # the scale the boxes were placed with, where the stage measured its own


@dataclass
class LeadResult:
    """One lead read from one page, on the record's sample grid."""

    name: str
    signal: np.ndarray  # (n_samples,), mV, NaN where not read
    confidence: float
    box: Box | None = None
    reason: str = ""

    @property
    def nan_share(self) -> float:
        return float(np.mean(np.isnan(self.signal))) if self.signal.size else 1.0


@dataclass
class PageResult:
    """What the pipeline read from one page."""

    signals: np.ndarray  # (n_samples, n_leads) in mV, NaN where not read
    lead_names: list[str]
    fs: float
    leads: dict[str, LeadResult] = field(default_factory=dict)
    layout: PageLayout | None = None
    scale: GridScale | None = None
    paper: PaperSettings | None = None
    rotation_deg: float = 0.0
    homography: np.ndarray | None = None  # maps the input image onto the straightened one
    image_shape: tuple[int, int] | None = None
    timings: dict[str, float] = field(default_factory=dict)
    reason: str = ""  # why nothing (or not everything) could be read
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return bool(np.isfinite(self.signals).any())
