"""Lead boxes with a YOLO detector (ultralytics YOLOv8n, trained from its YAML on generated pages), then
post-processing that turns raw boxes into a consistent, named layout.

Post-processing, as YOUR-Lead does and then more: low-confidence and duplicate boxes go, and so do boxes
without trace ink along them (the network can take an empty band of grid for a strip); boxes are grouped into
rows, each box joining the row it overlaps in y beside it (so a row may drift across a slightly skewed page);
the layout (1x12, 6x2, 3x4 with 0-3 rhythm strips) follows from the number of
rows and how many boxes of what width each holds (columns by KMeans on the short boxes), with the detector's
lead classes breaking ties (6x2 and 3x4+3 both have six rows); each row's baseline comes from the traces
inside its band and its calibration pulse; every cell of the layout then gets its box, aligned with its row and
column, via :func:`ecgdigitizer.detect.layout_from_rows` (so missing boxes are filled and aberrant ones
replaced), as tall as its trace where the trace stands alone on the page, else as its detection. The weights
are plain tensors (loaded with ``weights_only=True``) for a network rebuilt from its YAML, run by OpenVINO where
it is installed (:mod:`ecgdigitizer.yolo_net`).
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from scipy.optimize import linear_sum_assignment

from .calibrate import find_pulse, pulse_reach_mm, span_scale
from .detect import ROWS_TO_LAYOUTS, LayoutError, Row, complete_rows, lattice_rows, layout_from_rows, pulse_rows
from .extract import cell_rows
from .layouts import make_layout
from .types import LEADS_12, Box, GridScale, LeadBox, PageLayout, PaperSettings
from .yolo_net import runner

CLASSES = LEADS_12


def ultralytics_offline(threads: int = 2) -> None:
    """Keep ultralytics off the network and at ``threads`` threads; call before (and instead of) importing it."""
    cache = Path(os.environ.get("YOLO_CONFIG_DIR") or Path.home() / ".cache" / "ecgdigitizer" / "ultralytics")
    os.environ.setdefault("YOLO_CONFIG_DIR", str(cache))
    os.environ.setdefault("YOLO_OFFLINE", "1")
    os.environ.setdefault("YOLO_AUTOINSTALL", "0")
    os.environ.setdefault("MPLCONFIGDIR", str(cache.parent / "matplotlib"))
    fonts = Path(os.environ["YOLO_CONFIG_DIR"]) / "Ultralytics"
    fonts.mkdir(parents=True, exist_ok=True)
    import matplotlib

    dejavu = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"
    for name in ("Arial.ttf", "Arial.Unicode.ttf"):  # ultralytics would download these on every train/val
        if not (fonts / name).exists():
            shutil.copy(dejavu, fonts / name)
    import ultralytics.utils.torch_utils as torch_utils
    from ultralytics import settings

    settings.update({"sync": False, "clearml": False, "comet": False, "dvc": False, "mlflow": False,
                     "raytune": False, "tensorboard": False, "wandb": False, "vscode_msg": False,
                     "openvino_msg": False})
    torch_utils.NUM_THREADS = threads
    try:  # importing ultralytics wraps PIL.Image.open to install a HEIF plugin on the first unknown file; undo it
        from PIL import Image
        from ultralytics.utils import patches

        Image.open = patches._image_open
    except (ImportError, AttributeError):
        pass


# a row of boxes is wider than its traces by half a pen and a pixel either side (the generator's boxes, which
# the network learned): 3.5 px median over the benchmark's detection pages with a grid (0.6 mm; pens vary)
BOX_OVERHANG_PX = 3.5

# where a lead's 0 mV sits in its box, as a share of the box's height from the top: the median over the 231
# training records (PTB-XL at 500 Hz, first 2.5 s) of max / (max - min) with 0 mV inside. V1 and aVR are mostly
# negative (their 0 mV near the top), V5, V6, I and II mostly positive
ZERO_IN_BOX = {"I": 0.76, "II": 0.77, "III": 0.56, "aVR": 0.20, "aVL": 0.65, "aVF": 0.70,
               "V1": 0.21, "V2": 0.28, "V3": 0.44, "V4": 0.67, "V5": 0.81, "V6": 0.84}


@dataclass(frozen=True)
class Detection:
    box: Box
    cls: int

    @property
    def lead(self) -> str | None:
        """The lead class, for a detector trained on the twelve leads (``box.lead`` is None otherwise)."""
        return self.box.lead


def letterbox(image: np.ndarray, size: int) -> tuple[np.ndarray, float, tuple[float, float]]:
    """Resize keeping the aspect ratio into a ``size`` square, grey-padded; returns the scale and padding."""
    h, w = image.shape[:2]
    scale = size / max(h, w)
    nh, nw = int(round(h * scale)), int(round(w * scale))
    resized = cv2.resize(image, (nw, nh), interpolation=cv2.INTER_AREA)
    out = np.full((size, size, 3), 114, np.uint8)
    top, left = (size - nh) // 2, (size - nw) // 2
    out[top:top + nh, left:left + nw] = resized if resized.ndim == 3 else resized[:, :, None]
    return out, scale, (left, top)


def nms(boxes: np.ndarray, scores: np.ndarray, iou: float) -> np.ndarray:
    """Indices kept by greedy non-maximum suppression over all classes."""
    import torch
    from torchvision.ops import nms as tv_nms

    return tv_nms(torch.from_numpy(boxes).float(), torch.from_numpy(scores).float(), iou).numpy()


class YoloDetector:
    """The lead-box stage with the trained detector: raw boxes, then the layout post-processing."""

    name = "yolo"

    def __init__(self, model: object, imgsz: int, conf: float = 0.25, iou: float = 0.5,
                 names: tuple[str, ...] = CLASSES, backend: str = "auto"):
        self.model, self.imgsz, self.conf, self.iou, self.names = model, imgsz, conf, iou, names
        self.net = runner(model, backend)  # OpenVINO where it is installed (yolo_net), else PyTorch
        self.candidate_conf = 0.05  # raw candidates kept for post-processing

    @classmethod
    def load(cls, folder: str | os.PathLike[str], backend: str = "auto") -> YoloDetector:
        import torch

        ultralytics_offline()
        from ultralytics.nn.tasks import DetectionModel
        from ultralytics.utils import LOGGER

        folder = Path(folder)
        meta = json.loads((folder / "yolo.json").read_text())
        level = LOGGER.level
        LOGGER.setLevel("WARNING")  # building from the YAML announces its class count otherwise
        try:
            model = DetectionModel(meta["yaml"], nc=len(meta["names"]), verbose=False)
        finally:
            LOGGER.setLevel(level)
        state = torch.load(folder / "yolo.pt", map_location="cpu", weights_only=True)
        model.load_state_dict({k: v.float() for k, v in state.items()})
        model.eval()
        return cls(model.fuse(verbose=False), int(meta["imgsz"]), names=tuple(meta["names"]), backend=backend)

    def raw(self, image: np.ndarray) -> list[Detection]:
        """Candidate boxes the network finds (above a low confidence, before NMS), in image pixels."""
        img = image if image.ndim == 3 else np.repeat(image[:, :, None], 3, axis=2)
        boxed, scale, (left, top) = letterbox(img, self.imgsz)
        pred = self.net(boxed)  # (4 + nc, anchors)
        scores = pred[4:].max(axis=0)
        keep = scores >= self.candidate_conf
        cx, cy, w, h = pred[:4, keep]
        cls = pred[4:, keep].argmax(axis=0)
        boxes = (np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=1) - [left, top, left, top]) / scale
        lead = (lambda c: self.names[c]) if self.names == CLASSES else (lambda c: None)
        return [Detection(Box(*map(float, b), lead=lead(int(c)), score=float(s)), int(c))
                for b, c, s in zip(boxes, cls, scores[keep])]

    def __call__(self, image: np.ndarray, trace: np.ndarray, scale: GridScale, paper: PaperSettings,
                 layout: str | None = None, density: np.ndarray | None = None) -> PageLayout:
        return postprocess(self.raw(image), trace, scale, paper, layout, self.conf, self.iou, density)


def filter_boxes(detections: list[Detection], conf: float = 0.25, iou: float = 0.5) -> list[Detection]:
    """Confident boxes only, duplicates (of any class) removed by non-maximum suppression."""
    confident = [d for d in detections if d.box.score >= conf]
    if not confident:
        return []
    boxes = np.array([[d.box.x0, d.box.y0, d.box.x1, d.box.y1] for d in confident])
    kept = nms(boxes, np.array([d.box.score for d in confident]), iou)
    return [confident[int(k)] for k in kept]


def on_traces(detections: list[Detection], trace: np.ndarray, min_share: float = 0.6) -> list[Detection]:
    """Boxes with trace ink in most of their columns (an empty band of grid between rows has none)."""
    ink = trace > 0.5
    h, w = ink.shape
    out = []
    for d in detections:
        x0, x1 = int(np.clip(d.box.x0, 0, w)), int(np.clip(d.box.x1, 0, w))
        y0, y1 = int(np.clip(d.box.y0, 0, h)), int(np.clip(d.box.y1, 0, h))
        if x1 > x0 and y1 > y0 and ink[y0:y1, x0:x1].any(axis=0).mean() >= min_share:
            out.append(d)
    return out


def postprocess(detections: list[Detection], trace: np.ndarray, scale: GridScale, paper: PaperSettings,
                layout: str | None = None, conf: float = 0.25, iou: float = 0.5,
                density: np.ndarray | None = None) -> PageLayout:
    """Raw boxes -> filtered boxes (confident, not duplicated, on traces) -> a consistent, named layout."""
    kept = on_traces(filter_boxes(detections, conf, iou), trace)
    if len(kept) < 2:
        raise LayoutError(f"the detector found {len(kept)} lead boxes")
    return assemble(kept, trace, scale, paper, layout, density)


def _overlap(a: Box, b: Box) -> tuple[float, float]:
    """Overlap in x and in y, each as a share of the smaller box's width or height."""
    ox = (min(a.x1, b.x1) - max(a.x0, b.x0)) / max(min(a.width, b.width), 1.0)
    oy = (min(a.y1, b.y1) - max(a.y0, b.y0)) / max(min(a.height, b.height), 1.0)
    return ox, oy


def _gap(a: Box, b: Box) -> float:
    """Horizontal distance between two boxes (negative when they overlap in x)."""
    return max(a.x0 - b.x1, b.x0 - a.x1)


def _least_confident(rows: list[list[Detection]]) -> int:
    return min(range(len(rows)), key=lambda k: float(np.mean([d.box.score for d in rows[k]])))


def drop_duplicates(detections: list[Detection]) -> list[Detection]:
    """Of two boxes over the same column and mostly the same height (pairs NMS keeps when their IoU is
    under its threshold), the more confident one."""
    widest = max((d.box.width for d in detections), default=0.0)

    def same(a: Box, b: Box) -> bool:
        ox, oy = _overlap(a, b)
        if ox <= 0.2 or oy <= 0.5:
            return False
        # full-width strips (12x1, rhythm strips) of neighbouring rows overlap when their traces are tall, and
        # so does a quarter box whose tall trace reaches into the rhythm strip below it; their centres stay
        # apart. (A strip's partial duplicate shares its centre.)
        strips = min(a.width, b.width) > 0.75 * widest
        unlike = min(a.width, b.width) < 0.6 * max(a.width, b.width)
        return not (strips or unlike) or abs(a.cy - b.cy) < 0.35 * min(a.height, b.height)

    kept: list[Detection] = []
    for d in sorted(detections, key=lambda d: -d.box.score):
        if not any(same(d.box, e.box) for e in kept):
            kept.append(d)
    return kept


def group_rows(detections: list[Detection]) -> list[list[Detection]]:
    """Boxes grouped into rows, top to bottom. Boxes of one row sit side by side (they do not overlap in x)
    and each overlaps its horizontal neighbour in y, so a row may drift across a page that is still a little
    skewed; boxes of different rows overlap in x (traces of neighbouring rows may overlap in y)."""
    rows: list[list[Detection]] = []
    for d in sorted(drop_duplicates(detections), key=lambda d: d.box.cy):
        best, best_overlap = None, 0.3
        for row in rows:
            if any(_overlap(d.box, e.box)[0] > 0.2 for e in row):
                continue  # side by side only
            near = min(row, key=lambda e: _gap(d.box, e.box))
            y0, y1 = min(e.box.y0 for e in row), max(e.box.y1 for e in row)
            overlap = max(_overlap(d.box, near.box)[1],  # with its neighbour
                          (min(d.box.y1, y1) - max(d.box.y0, y0)) / max(d.box.height, 1.0))  # with the row
            if overlap > best_overlap:
                best, best_overlap = row, overlap
        if best is None:
            rows.append([d])
        else:
            best.append(d)
    rows = _drop_close_strips(sorted(_join_pieces(rows), key=lambda r: float(np.median([d.box.cy for d in r]))))
    # one row too many for a layout (header text, a stamp), or more than any layout has: the least
    # confident row goes
    while len(rows) not in ROWS_TO_LAYOUTS and (len(rows) - 1 in ROWS_TO_LAYOUTS or len(rows) > 12):
        rows.pop(_least_confident(rows))
    return rows


def _drop_close_strips(rows: list[list[Detection]]) -> list[list[Detection]]:
    """Of two lone full-width strips overlapping over half the smaller one's height whose centres are under 0.3 of
    the rows' median spacing apart (two boxes of one rhythm strip, offset too far for ``drop_duplicates``), the
    more confident one. Rows sorted top down."""
    while len(rows) >= 3:
        centres = [float(np.median([d.box.cy for d in r])) for r in rows]
        pitch = float(np.median(np.diff(centres)))
        widest = max(d.box.width for r in rows for d in r)
        close = [k for k in range(len(rows) - 1) if len(rows[k]) == len(rows[k + 1]) == 1
                 and min(rows[k][0].box.width, rows[k + 1][0].box.width) > 0.75 * widest
                 and _overlap(rows[k][0].box, rows[k + 1][0].box)[1] > 0.5
                 and centres[k + 1] - centres[k] < 0.3 * pitch]
        if not close:
            break
        k = close[0]
        rows.pop(k if rows[k][0].box.score < rows[k + 1][0].box.score else k + 1)
    return rows


def _join_pieces(rows: list[list[Detection]]) -> list[list[Detection]]:
    """Join pieces of one row that a skew split: side by side (no box over another) and overlapping in y
    where they meet, the best-overlapping pair first."""
    def meet(a: list[Detection], b: list[Detection]) -> float:
        if any(_overlap(d.box, e.box)[0] > 0.2 for d in a for e in b):
            return 0.0
        d, e = min(((d, e) for d in a for e in b), key=lambda p: _gap(p[0].box, p[1].box))
        return _overlap(d.box, e.box)[1]

    while len(rows) > 1:
        score, i, j = max((meet(rows[i], rows[j]), i, j) for i in range(len(rows)) for j in range(i + 1, len(rows)))
        if score <= 0.0:
            break
        rows[i] = rows[i] + rows.pop(j)
    return rows


def choose_layout(rows: list[list[Detection]], span_px: float, page_height_px: float = np.inf,
                  n_rows: int | None = None) -> str:
    """The layout that fits the rows: their count (or ``n_rows``, counted otherwise: by the calibration
    pulses), the widths of their boxes, and the classes detected."""
    n = n_rows or len(rows)
    centres = sorted(float(np.median([d.box.cy for d in r])) for r in rows)
    closest = min(np.diff(centres), default=0.0)
    if sum(len(r) == 1 and r[0].box.width >= 0.75 * span_px for r in rows) >= 4 and 11 * closest < page_height_px:
        # only 12x1 has more than three full-width strips (rows its tall traces hid are filled in), if twelve
        # rows that close fit on the page: a blurred low-resolution 6x2+1 photo had each row boxed whole
        return "12x1"
    known = sorted(ROWS_TO_LAYOUTS)
    n_fit = min(known, key=lambda k: (abs(k - n), -k))
    names = ROWS_TO_LAYOUTS[n_fit]
    if len(names) == 1:
        return names[0]
    # six rows: 6x2 has two half-width boxes in every row; 3x4+3 four quarter-width boxes in the first three
    # and a full-width rhythm strip (II, V1, V5) in the last three
    quarter = sum(1 for r in rows[:3] for d in r if d.box.width < 0.37 * span_px)
    half = sum(1 for r in rows for d in r if 0.37 * span_px <= d.box.width < 0.75 * span_px)
    votes = {"3x4+3": quarter, "6x2": half}
    for name in names:  # lead classes, when the detector has them: which lead opens rows 4-6
        expected = [c.lead for c in make_layout(name).cells if c.row >= 3 and c.col == 0]
        firsts = [min(r, key=lambda d: d.box.x0).lead for r in rows[3:6]]
        votes[name] += 2 * sum(a == b for a, b in zip(expected, firsts) if b is not None)
    return max(names, key=lambda k: votes[k])


def _profile(trace: np.ndarray, y0: float, y1: float, x0: float, x1: float) -> tuple[int, np.ndarray]:
    """A band's horizontal projection of the trace ink, lightly smoothed: (first row, profile)."""
    h, w = trace.shape
    ya, yb = int(max(y0, 0)), int(min(y1, h))
    xa, xb = int(max(x0, 0)), int(min(x1, w))
    if yb - ya < 3 or xb - xa < 3:
        return ya, np.zeros(max(yb - ya, 0))
    profile = (trace[ya:yb, xa:xb] > 0.5).sum(axis=1).astype(np.float64)
    return ya, cv2.GaussianBlur(profile.reshape(-1, 1), (1, 0), 1.5).ravel()


def _candidates(trace: np.ndarray, band: tuple[float, float, float, float]) -> list[tuple[float, float]]:
    """Where a band's row may have its isoelectric line: the projection's peaks of at least 0.4 of its
    highest, as (row, share of the highest), the highest first; the band's middle when it holds no ink."""
    ya, profile = _profile(trace, *band)
    if profile.size == 0 or profile.max() <= 0:
        return [(0.5 * (band[0] + band[1]), 1.0)]
    top = float(profile.max())
    inner = profile[1:-1]
    peak = np.flatnonzero((inner >= profile[:-2]) & (inner > profile[2:]) & (inner >= 0.4 * top)) + 1
    peaks = {int(np.argmax(profile))} | {int(i) for i in peak}
    return sorted(((ya + float(i), float(profile[i]) / top) for i in peaks), key=lambda c: -c[1])


def _band(detections: list[Detection]) -> tuple[float, float, float, float]:
    """A row of boxes' band (median top and bottom) and horizontal extent: y0, y1, x0, x1."""
    return (float(np.median([d.box.y0 for d in detections])), float(np.median([d.box.y1 for d in detections])),
            min(d.box.x0 for d in detections), max(d.box.x1 for d in detections))


def row_baselines(rows: list[list[Detection]], trace: np.ndarray) -> tuple[list[list[Detection]], list[Row]]:
    """Each row of boxes' baseline, one row per baseline, top to bottom.

    A row's baseline is where its traces spend most time: a peak of its band's horizontal projection. Over
    tall, overlapping traces a band can hold a neighbouring row's baseline more than its own (a rhythm strip
    below a tall one), or the network boxed one row's trace twice, once offset into the next row's band.
    So the peaks of all bands are pooled into baselines (peaks within a third of the rows' spacing are one),
    and rows and baselines are matched one to one: as many rows as can have one, then the strongest peaks,
    then rows with more boxes and more confident. A row left without one is dropped (a duplicate)."""
    bands = [_band(r) for r in rows]
    cands = [_candidates(trace, b) for b in bands]
    firsts = sorted(c[0][0] for c in cands)
    gap = float(np.median(np.diff(firsts))) / 3 if len(rows) >= 3 else 0.0
    slot: dict[float, int] = {}  # a peak's row -> its baseline (a chain of peaks under ``gap`` apart is one)
    count, last = 0, -np.inf
    for y in sorted(y for c in cands for y, _ in c):
        count += y - last >= gap
        slot[y], last = count - 1, y
    value = np.zeros((len(rows), count))
    where = np.zeros_like(value)
    for k, c in enumerate(cands):
        rank = 0.01 * len(rows[k]) + 0.001 * float(np.mean([d.box.score for d in rows[k]]))
        for y, share in c:
            j = slot[y]
            if 100 + share + rank > value[k, j]:
                value[k, j], where[k, j] = 100 + share + rank, y
    chosen = {k: float(where[k, j]) for k, j in zip(*linear_sum_assignment(-value)) if value[k, j] > 0}
    keep = sorted(chosen, key=lambda k: chosen[k])
    return [rows[k] for k in keep], [Row(chosen[k], bands[k][2], bands[k][3]) for k in keep]


def assemble(detections: list[Detection], trace: np.ndarray, scale: GridScale, paper: PaperSettings,
             layout: str | None = None, density: np.ndarray | None = None) -> PageLayout:
    """Raw boxes -> rows -> layout (or the one given) -> one aligned, named box per cell. Where no grid showed,
    the rows' width sets the scale (the layout's ``scale``)."""
    rows_d, found = row_baselines(group_rows(detections), trace)
    span_mm = paper.span_s * paper.speed_mm_s
    scale = span_scale([r.x1 - r.x0 - BOX_OVERHANG_PX for r in found], span_mm, scale)
    ppm = scale.px_per_mm_x
    span_px = span_mm * ppm
    x_left = float(np.median([min(d.box.x0 for d in r) for r in rows_d]))
    ink = trace > 0.5
    pulsed = pulse_rows(ink, found, ppm, x_left)
    name = layout or choose_layout(rows_d, span_px, trace.shape[0], len(pulsed) if pulsed else None)
    n = make_layout(name).nrows
    if pulsed is not None and len(pulsed) == n:
        rows = pulsed
    else:
        while True:
            rows = complete_rows(list(found))
            if len(rows) <= n or len(rows_d) <= n // 2:
                break
            # more rows than the layout has (a spurious box, or two rows read as one leaving an odd gap): the
            # least confident row goes, and the rest are completed again
            k = _least_confident(rows_d)
            rows_d.pop(k)
            found.pop(k)
    if len(rows) != n and len(rows) >= max(3, n // 2 + 1):
        # tall traces overlap: two boxes took one baseline, or a row was missed where the gaps are uneven
        # (most rows must have been found: two boxes on a photo of a wall are not a page of three rows)
        rows = lattice_rows(ink, rows, n, ppm)
    pulses = []
    for k, row in enumerate(rows):
        above = pulse_reach_mm(row.y, rows[k - 1].y if k else None, ppm)
        pulse = find_pulse(ink, row.y, (min(row.x0, x_left) - 12 * ppm, row.x0 + 4 * ppm), ppm, above_mm=above)
        if pulse is not None:
            row.pulse_bottom = pulse.bottom
            row.x0 = max(row.x0, pulse.x1 + 0.5 * ppm)
            pulses.append(pulse)
    if len(rows) != n:
        raise LayoutError(f"{len(rows)} rows of lead boxes, but layout {name} has {n}")
    confidence = float(np.mean([d.box.score for d in detections]))
    result = layout_from_rows(name, rows, scale.px_per_mm_x, paper, "yolo", confidence, trace=trace,
                              density=density)
    result.pulses = pulses
    result.scale = scale
    _fit_heights(result, detections, trace, scale.px_per_mm_y, density)
    return result


def _fit_heights(layout: PageLayout, detections: list[Detection], trace: np.ndarray, px_per_mm: float,
                 density: np.ndarray | None) -> None:
    """Each cell's box takes the vertical extent of its trace where that trace stands alone on the binarized page
    (:func:`stroke_extent`: the generator boxes the trace itself, and the network misjudges a flat line or a QRS
    taller than most), else of its own detection: cells and detections paired one to one, a detection over the
    cell, the closest in width and with the cell's baseline where that lead's 0 mV usually sits in its box
    (``ZERO_IN_BOX``: over tall chest leads that overlap, a deep-S V1's box, its 0 mV near the top, was paired with
    V2's cell below by its centre). Every detection the filters kept takes part, also one that grouping rows
    drops as a duplicate (:func:`drop_duplicates`: a small lead's box within the top of its tall neighbour's is
    one; on two samples of 168 detection pages 1 and 3 boxes more named right). A detection the path the
    extractor finds through the cell's ink runs past at one end takes the path's extent too
    (:func:`_grown_to_path`). A cell left without either (a box the network missed, filled in by the layout)
    takes the path's extent, not a neighbour's box."""
    big = 1e6
    cost = np.full((len(layout.boxes), max(len(detections), 1)), big)
    for i, lb in enumerate(layout.boxes):
        for j, d in enumerate(detections):
            if min(d.box.x1, lb.box.x1) - max(d.box.x0, lb.box.x0) > 0.5 * lb.box.width \
                    and d.box.y0 - 0.5 * d.box.height <= lb.baseline_y <= d.box.y1 + 0.5 * d.box.height:
                cost[i, j] = (abs(d.box.width - lb.box.width) / lb.box.width
                              + abs((lb.baseline_y - d.box.y0) / max(d.box.height, 1.0)
                                    - ZERO_IN_BOX.get(lb.cell.lead, 0.5)))
    pairs = dict(zip(*linear_sum_assignment(cost))) if detections else {}
    ink = _without_pulses(trace > 0.5, layout, px_per_mm)
    for i, lb in enumerate(layout.boxes):
        j = pairs.get(i)
        paired = j is not None and cost[i, j] < big
        score = detections[j].box.score if paired else 0.0
        others = [o.baseline_y for o in layout.boxes
                  if o is not lb and o.baseline_y is not None
                  and min(o.box.x1, lb.box.x1) - max(o.box.x0, lb.box.x0) > 0.5 * min(o.box.width, lb.box.width)]
        stroke = stroke_extent(ink, lb, others, px_per_mm)
        if stroke is not None:
            y0, y1 = stroke
        elif paired:
            y0, y1 = _grown_to_path((detections[j].box.y0, detections[j].box.y1),
                                    _trace_extent(lb, trace, px_per_mm, density), px_per_mm, others)
        else:
            y0, y1 = _trace_extent(lb, trace, px_per_mm, density)
        lb.box = Box(lb.box.x0, min(y0, lb.baseline_y - 1), lb.box.x1, max(y1, lb.baseline_y + 1), lb.box.lead, score)


def _grown_to_path(box: tuple[float, float], path: tuple[float, float], px_per_mm: float,
                   other_baselines: Sequence[float] = ()) -> tuple[float, float]:
    """A detection's rows (top, bottom), grown to the path's where the path runs over a millimetre past the box at
    one end and reaches its other end (to half a millimetre): the network cuts a wave taller than most short, and
    a trace touching its neighbours is no stroke of its own (:func:`stroke_extent`). A path that falls short of
    either end leaves the box as it is. On two samples of 168 detection pages, 2 and 4 boxes more found (net: a
    few were lost where the path strayed into a tall neighbour's ink), most of them tall 12x1 and 6x2+1 leads.
    The box grows no further than the next baseline of the cells above and below it (``other_baselines``): a path
    past one runs on that neighbour's ink (a 12x1 V3's S wave into V4's R wave; 1 box more on each sample)."""
    (b0, b1), (p0, p1) = box, path
    reach, meet = px_per_mm, 0.5 * px_per_mm
    if (p0 < b0 - reach and p1 > b1 - meet) or (p1 > b1 + reach and p0 < b0 + meet):
        above = max((y for y in other_baselines if y < b0), default=-np.inf)
        below = min((y for y in other_baselines if y > b1), default=np.inf)
        return min(b0, max(p0, above)), max(b1, min(p1, below))
    return b0, b1


def _without_pulses(ink: np.ndarray, layout: PageLayout, px_per_mm: float) -> np.ndarray:
    """The ink with each calibration pulse's rise and top cleared (half a mm around; its foot, on the row's
    baseline, stays): a pulse drawn against the first trace would join it as one stroke a millivolt tall."""
    out = ink.copy()
    pad = 0.5 * px_per_mm
    for p in layout.pulses:
        out[int(max(p.top - pad, 0)):int(max(p.bottom - 0.3 * px_per_mm, 0)),
            int(max(p.x0 - pad, 0)):int(max(p.x1 + pad, 0)) + 1] = False
    return out


def stroke_extent(ink: np.ndarray, lead_box: LeadBox, other_baselines: list[float], px_per_mm: float
                  ) -> tuple[float, float] | None:
    """The rows of the stroke through a cell's baseline (to the ink's edge and a pixel beyond, as the generator
    boxes a trace), where it stands alone: the ink connected to the baseline's rows, looked for 1.1 row pitches
    either side (as the extractor looks), from 1 mm in from the cell's start (past a separator tick or the
    calibration pulse's fall) to 1 mm in from its end, or half a millimetre past it at the row's end (a record's
    last sample may jump a millivolt: 6 of the 50 held-out LUDB records), across at least 95 % of those columns
    (a trace the binarization broke is not whole), not reaching the search band's edge, and not running along
    another cell's baseline over 30 % of the columns (``other_baselines``: two traces touching are one stroke).
    None where it does not stand alone (or does not cross its baseline: a trace drawn off its row's 0 mV)."""
    box, baseline = lead_box.box, lead_box.baseline_y
    if baseline is None:
        return None
    h, w = ink.shape
    pitch = max(lead_box.pitch or box.height, 5 * px_per_mm)
    ya, yb = int(max(0, baseline - 1.1 * pitch)), int(min(h, baseline + 1.1 * pitch))
    last = lead_box.cell.col == lead_box.cell.ncols - 1
    xa, xb = int(max(0, box.x0 + px_per_mm)), int(min(w, box.x1 + 1 + (0.5 if last else -1.0) * px_per_mm))
    if xb - xa < 2 or yb - ya < 3:
        return None
    _, labels = cv2.connectedComponents(ink[ya:yb, xa:xb].astype(np.uint8), connectivity=8)
    r = round(baseline) - ya
    through = np.unique(labels[max(r - 2, 0):r + 3])
    through = through[through > 0]
    if through.size > 16:
        stroke = np.isin(labels, through)
    else:  # a few components: one comparison each is 20 times faster than a lookup of every pixel's label
        stroke = np.zeros(labels.shape, bool)
        for k in through:
            stroke |= labels == k
    if stroke.any(axis=0).mean() < 0.95:
        return None
    rows = np.flatnonzero(stroke.any(axis=1))
    if rows[0] == 0 or rows[-1] == stroke.shape[0] - 1:
        return None
    band = max(2, int(0.15 * pitch))
    for y in other_baselines:
        k = round(y) - ya
        if 0 <= k < stroke.shape[0] and stroke[max(k - band, 0):k + band + 1].any(axis=0).mean() > 0.3:
            return None
    return ya + rows[0] - 1.5, ya + rows[-1] + 1.5


def _trace_extent(lb: LeadBox, trace: np.ndarray, px_per_mm: float, density: np.ndarray | None
                  ) -> tuple[float, float]:
    """The rows a cell's trace spans (to the ink's edge and a pixel beyond, as the generator boxes it), read by
    the extractor's path through the ink; the row band when no trace is found."""
    found = cell_rows(trace, lb, px_per_mm, density)
    if found is None:
        return lb.box.y0, lb.box.y1
    return found[0] - 1.5, found[1] + 1.5
