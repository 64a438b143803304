"""The whole chain, from one page image to signals at the record's rate.

    straighten -> binarize -> grid scale -> lead boxes and layout -> extract -> place in time

Models are loaded once by the caller and passed in as the binarizer and the detector. A stage that fails
does not raise out of :meth:`Digitizer.digitize`: the result carries NaN where nothing was read and a
one-line reason.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from . import calibrate, extract, straighten
from .binarize import Binarizer, ClassicalBinarizer, ink_density
from .detect import BaselineDetector, LayoutError, LeadDetector
from .images import grey
from .types import LEADS_12, GridScale, Layout, LeadResult, PageLayout, PageResult, PaperSettings, canonical_lead

GAINS = (5.0, 10.0, 20.0)
SPEEDS = (25.0, 50.0)


@dataclass
class Digitizer:
    """A configured pipeline. ``binarizer`` and ``detector`` default to the classical baselines."""

    binarizer: Binarizer = field(default_factory=ClassicalBinarizer)
    detector: LeadDetector = field(default_factory=BaselineDetector)
    fallback_detector: LeadDetector | None = field(default_factory=BaselineDetector)  # when ``detector`` fails
    straighten: bool = True
    paper: PaperSettings = field(default_factory=PaperSettings)
    read_gain_from_pulse: bool = True  # off when the user gives the gain
    read_speed_from_page: bool = True  # off when the user gives the speed
    layout: str | None = None  # force a layout (e.g. '3x4+1') instead of recognising it
    min_detector_confidence: float = 0.35  # below it, the fallback detector's boxes are used
    use_ink_density: bool = True  # place strokes by the page's grey levels, not by the binary map alone

    def digitize(self, image: np.ndarray, fs: float = 500.0, n_samples: int = 5000,
                 lead_names: Sequence[str] = LEADS_12, scale: GridScale | None = None) -> PageResult:
        """Read one page. ``lead_names`` and the result's columns are in the same order."""
        names = [canonical_lead(n) for n in lead_names]
        result = PageResult(np.full((n_samples, len(names)), np.nan), list(lead_names), fs,
                            image_shape=image.shape[:2])
        stage = "straighten"
        try:
            t = time.perf_counter()
            page = image
            if self.straighten:
                s = straighten.straighten(image)
                page, result.homography, result.rotation_deg = s.image, s.homography, s.rotation_deg
                if s.perspective:
                    result.notes.append(f"perspective corrected from {s.perspective}")
                for stage_model in (self.binarizer, self.detector):  # oracles follow the page's geometry
                    if hasattr(stage_model, "align_to"):
                        stage_model.align_to(s.homography if s.homography is not None else np.eye(3),
                                             page.shape[:2])
            result.timings["straighten"] = time.perf_counter() - t

            stage = "binarize"
            t = time.perf_counter()
            prob = self.binarizer(page)
            result.timings["binarize"] = time.perf_counter() - t
            if (prob > 0.5).mean() < 1e-4:
                result.reason = "no trace found on the page (blank, or not an ECG)"
                return result

            stage = "grid scale"
            t = time.perf_counter()
            result.scale = scale or calibrate.grid_scale(grey(page), prob > 0.5)
            if result.scale.source != "grid":
                result.notes.append(f"no grid visible: scale from the {result.scale.source}")
            result.timings["scale"] = time.perf_counter() - t

            stage = "layout"
            t = time.perf_counter()
            density = ink_density(page, prob > 0.5, result.scale.px_per_mm_y) if self.use_ink_density else None
            layout: PageLayout | None = None
            error: LayoutError | None = None
            try:
                layout = self.detector(page, prob, result.scale, self.paper, self.layout, density)
                why = f"{self.detector.name} boxes unsure (confidence {layout.confidence:.2f})"
            except LayoutError as e:
                error, why = e, f"{self.detector.name} detector: {e}"
            fallback = self.fallback_detector
            # no layout, or a weak detector (a barely trained model) that places boxes worse than projections
            if (layout is None or layout.confidence < self.min_detector_confidence) and fallback is not None \
                    and fallback.name != self.detector.name:
                try:
                    layout = fallback(page, prob, result.scale, self.paper, self.layout, density)
                    result.notes.append(f"{why}; used the {fallback.name} detector")
                except LayoutError:
                    if layout is None:
                        raise
            if layout is None:
                assert error is not None
                raise error
            result.layout = layout
            if layout.scale is not None and layout.scale != result.scale:
                result.scale = layout.scale
                result.notes.append(f"scale from the width of the rows of lead boxes: {layout.scale.px_per_mm_x:.2f} "
                                    f"px/mm")
                if density is not None:
                    density = ink_density(page, prob > 0.5, result.scale.px_per_mm_y)
            result.paper = self._paper(layout, result.scale, result, n_samples / fs)
            retime(layout, result.paper.span_s)
            if layout.early_samples:  # boxes timed from the traces' ends or the jumps between leads
                shift = layout.early_samples * result.scale.px_per_mm_x * result.paper.speed_mm_s / fs
                for lb in layout.boxes:
                    lb.box = replace(lb.box, x0=lb.box.x0 + shift, x1=lb.box.x1 + shift)
            result.timings["layout"] = time.perf_counter() - t

            stage = "extract"
            t = time.perf_counter()
            self._extract(prob, density, layout, result, names, fs, n_samples)
            result.timings["extract"] = time.perf_counter() - t
        except LayoutError as e:
            result.reason = f"layout: {e}"
        except Exception as e:  # a page must never stop a batch: say what failed, return NaN
            result.reason = f"{stage} failed: {type(e).__name__}: {e}"
        if not result.ok and not result.reason:
            result.reason = "no lead could be read"
        return result

    def _paper(self, layout: PageLayout, scale: GridScale, result: PageResult, seconds: float) -> PaperSettings:
        """The speed and gain the page shows, where the caller gave none: the calibration pulses are 1 mV high
        and 0.2 s wide (5 mm at 25 mm/s), read when they agree on a standard value (the gain only on a grid's
        scale). Without pulses, a record of 5 s was printed at 50 mm/s: the rows are 250 mm wide (as the lead-box
        stage placed them), which at 25 mm/s would show 10 s."""
        paper = self.paper
        widths = [p.width for p in layout.pulses]
        if self.read_speed_from_page and widths:
            mm = float(np.median(widths)) / scale.px_per_mm_x
            speed = min(SPEEDS, key=lambda v: abs(np.log(mm / (0.2 * v))))
            if abs(np.log(mm / (0.2 * speed))) <= 0.35:
                if speed != paper.speed_mm_s:
                    result.notes.append(f"calibration pulses are {mm:.1f} mm wide: {speed:g} mm/s")
                paper = replace(paper, speed_mm_s=speed, speed_from_page=True)
        elif self.read_speed_from_page and abs(seconds - 5.0) < 0.25 and paper.speed_mm_s != 50.0:
            result.notes.append(f"a record of {seconds:g} s over rows of 250 mm: 50 mm/s")
            paper = replace(paper, speed_mm_s=50.0)
        heights = [p.height for p in layout.pulses]
        if not self.read_gain_from_pulse or scale.source != "grid" or not heights:
            return paper
        gain = float(np.median(heights)) / scale.px_per_mm_y
        snapped = min(GAINS, key=lambda g: abs(np.log(gain / g)))
        if abs(np.log(gain / snapped)) > 0.08:
            result.notes.append(f"calibration pulses measure {gain:.1f} mm, no standard gain: kept "
                                f"{paper.gain_limb_mm_mv:g} mm/mV")
            return paper
        if snapped != paper.gain_limb_mm_mv or snapped != paper.gain_chest_mm_mv:
            result.notes.append(f"calibration pulses measure {gain:.1f} mm: gain {snapped:g} mm/mV")
        return replace(paper, gain_limb_mm_mv=snapped, gain_chest_mm_mv=snapped, from_page=True)

    def _extract(self, prob: np.ndarray, density: np.ndarray | None, layout: PageLayout, result: PageResult,
                 names: list[str], fs: float, n_samples: int) -> None:
        assert result.scale is not None and result.paper is not None
        pieces: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {}
        confidence: dict[str, list[float]] = {}
        for lb in layout.boxes:
            lead = lb.cell.lead
            if lead not in names:
                continue
            idx, values, conf = extract.extract_lead(prob, lb, result.scale, result.paper, fs, n_samples,
                                                      density, layout.ticks)
            pieces.setdefault(lead, []).append((idx, values))
            confidence.setdefault(lead, []).append(conf)
        for lead, found in pieces.items():
            result.signals[:, names.index(lead)] = join_pieces(found, n_samples)
        for j, lead in enumerate(names):
            conf = float(np.mean(confidence[lead])) if lead in confidence else 0.0
            box = next((lb.box for lb in layout.boxes if lb.cell.lead == lead), None)
            reason = "" if lead in confidence else "lead not on this page's layout"
            result.leads[result.lead_names[j]] = LeadResult(lead, result.signals[:, j], conf, box, reason)


def retime(layout: PageLayout, span_s: float) -> None:
    """Cells timed for rows of another span rescaled to rows of ``span_s`` seconds (the lead-box stage times
    cells for the speed it was given; the page may show another)."""
    cell = layout.layout.cells[0]
    f = span_s / ((cell.t1 - cell.t0) * cell.ncols)
    if abs(f - 1.0) < 1e-9:
        return
    layout.layout = Layout(layout.layout.name, tuple(replace(c, t0=c.t0 * f, t1=c.t1 * f) for c in layout.layout.cells))
    for lb in layout.boxes:
        lb.cell = replace(lb.cell, t0=lb.cell.t0 * f, t1=lb.cell.t1 * f)


def join_pieces(pieces: list[tuple[np.ndarray, np.ndarray]], n_samples: int) -> np.ndarray:
    """One lead from the cells that show it (a rhythm strip and its grid cell): their mean where they overlap.

    Each cell's 0 mV comes from its own row's baseline, which may be off by a pixel or more (no calibration
    pulse, a wrinkled page); two cells of one lead off by different amounts would leave a step where the
    shorter ends. Every other piece is first moved onto the longest by the median difference over their
    common samples.
    """
    out = np.full(n_samples, np.nan)
    if not pieces:
        return out
    order = sorted(pieces, key=lambda p: -int(np.isfinite(p[1]).sum()))
    ref = np.full(n_samples, np.nan)
    ref[order[0][0]] = order[0][1]
    sums, counts = np.zeros(n_samples), np.zeros(n_samples)
    for idx, values in order:
        both = np.isfinite(values) & np.isfinite(ref[idx])
        shift = float(np.median(ref[idx][both] - values[both])) if both.sum() >= 10 else 0.0
        ok = np.isfinite(values)
        sums[idx[ok]] += values[ok] + shift
        counts[idx[ok]] += 1
    np.divide(sums, counts, out=out, where=counts > 0)
    return out
