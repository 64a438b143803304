"""The digitization pipeline, stage by stage and end to end, on generated pages of held-out records."""

from __future__ import annotations

from dataclasses import replace

import cv2
import numpy as np
import pytest
from conftest import CINC, LUDB

from ecgdigitizer import metrics
from ecgdigitizer.binarize import ink_density
from ecgdigitizer.calibrate import grid_scale
from ecgdigitizer.detect import Row, find_jump, jump_start, stroke_pen, tick_start, trace_start
from ecgdigitizer.generate import load_source, render_page, sample_config
from ecgdigitizer.generate.plot import pen_coverage
from ecgdigitizer.images import grey
from ecgdigitizer.layouts import LAYOUT_NAMES
from ecgdigitizer.oracle import TruthBinarizer, TruthDetector
from ecgdigitizer.pipeline import Digitizer
from ecgdigitizer.straighten import estimate_rotation, find_paper, grid_correction, refine_angle, straighten
from ecgdigitizer.types import LEADS_12


@pytest.fixture(scope="module")
def source() -> tuple[np.ndarray, float, list[str]]:
    return load_source(LUDB / "41")


def page_snr(page, result) -> float:
    fs = page.meta["fs"]
    names = page.lead_names
    out = [result.signals[:, result.lead_names.index(n)] for n in names]
    return float(np.nanmean([metrics.lead_snr(page.masked[:, j], out[j], fs) for j in range(len(names))]))


@pytest.mark.parametrize("angle", [-17.3, -6.2, -0.8, 0.35, 4.9, 12.6])
def test_rotation_is_recovered_within_two_tenths_of_a_degree(source, angle: float) -> None:
    sig, fs, names = source
    cfg = sample_config("scan", 21, rotation_deg=angle, perspective=0.0, crop=0.0, dpi=150.0)
    estimate, confidence = estimate_rotation(grey(render_page(sig, fs, names, cfg).image))
    assert abs(estimate - angle) <= 0.2 and confidence > 0.3


@pytest.mark.parametrize(("seed", "angle"), [(1, 0.0), (4, 0.0), (4, -0.6), (3, 1.3)])
def test_rotation_of_a_page_without_grid_is_read_from_its_strokes_too(seed: int, angle: float) -> None:
    """Without a grid the horizontal edges are the traces' and the text's; this record's baselines wander, and
    their projection alone tilted these pages by 0.2-0.5 degrees. The QRS strokes and the pulses' edges are
    upright: projected onto x, they hold the estimate within a few hundredths of a degree."""
    sig, fs, names = load_source(CINC / "E07501")
    cfg = sample_config("clean", seed, dpi=200.0, grid="none", rotation_deg=angle)
    estimate, _ = estimate_rotation(grey(render_page(sig, fs, names, cfg).image))
    assert abs(estimate - angle) < 0.06


@pytest.mark.parametrize("off", [2.3, -2.5])
def test_refined_rotation_leaves_a_wrong_coarse_angle(off: float) -> None:
    """A page without a grid gives the spectrum little to go on: a regular rhythm once put its coarse angle 2.3
    degrees from a straight page's 0, twice the refining window. The sharpest projection then lies at the
    window's edge, and the window must follow it to the page's true angle."""
    sig, fs, names = load_source(CINC / "E07501")
    cfg = sample_config("clean", 3, dpi=200.0, grid="none", rotation_deg=1.3)
    g = grey(render_page(sig, fs, names, cfg).image)
    assert abs(refine_angle(g, 1.3 + off) - 1.3) < 0.06


def _rhythm_bend(page, homography: np.ndarray) -> float:
    """How far (px) the rhythm strip's plotted samples stray from evenly spaced columns after ``homography``."""
    strip = next(p for p in page.placements if p.cell.ncols == 1)
    x = cv2.perspectiveTransform(strip.xy[None].astype(np.float64), homography)[0][:, 0]
    n = np.arange(x.size)
    return float(np.abs(x - np.polyval(np.polyfit(n, x, 1), n)).max())


@pytest.mark.parametrize("tilt", [(4e-5, 0.0), (-3e-5, 5e-5), (0.0, 0.0)])
def test_perspective_without_the_papers_outline_is_undone_from_the_grid(source, tilt) -> None:
    """A photo taken at an angle that shows no edge of the sheet: rotation cannot undo it, and the columns of
    a row drift by several pixels (tens of samples); the grid, evened out tile by tile, brings them back under
    a pixel. A flat page is left alone."""
    sig, fs, names = source
    cfg = sample_config("clean", 3, layout="3x4+1", dpi=200.0, column_time="shifted", speed_mm_s=25.0)
    page = render_page(sig, fs, names, cfg)
    h, w = page.image.shape[:2]
    centre = np.array([[1, 0, -w / 2], [0, 1, -h / 2], [0, 0, 1.0]])
    keystone = np.linalg.inv(centre) @ np.array([[1, 0, 0], [0, 1, 0], [tilt[0], tilt[1], 1.0]]) @ centre
    photo = cv2.warpPerspective(page.image, keystone, (w, h), borderMode=cv2.BORDER_REPLICATE)
    s = straighten(photo)
    if tilt == (0.0, 0.0):
        assert "grid" not in s.perspective and _rhythm_bend(page, s.homography) < 0.5
    else:
        assert _rhythm_bend(page, keystone) > 4.0  # what rotation alone would leave
        assert "grid" in s.perspective and _rhythm_bend(page, s.homography @ keystone) < 1.0


def test_a_bright_patch_that_is_no_sheet_is_not_taken_for_its_outline() -> None:
    """A sheet on a dark table, seen at a slant: its corners. A lit patch of four corners that no sheet in
    perspective makes (44 degrees from square, one side a third of the other, as shadow and uneven light left
    on a benchmark photo, which the homography to it tore apart): no outline."""
    table = np.full((900, 1200), 60, np.uint8)
    sheet = np.array([[150, 120], [1050, 150], [1030, 780], [170, 760]], np.float64)
    page = cv2.fillPoly(table.copy(), [sheet.astype(np.int32)], 235)
    corners = find_paper(page)
    assert corners is not None and np.max(np.abs(corners - sheet)) < 12
    patch = np.array([[700, 120], [1050, 150], [1030, 780], [170, 760]], np.float64)
    assert find_paper(cv2.fillPoly(table.copy(), [patch.astype(np.int32)], 235)) is None


def test_a_shadow_across_the_sheet_does_not_cut_its_outline() -> None:
    """A sheet on a green table with a shadow over its left third (as a photo's crease or a hand leaves): the
    bright part alone is a four-cornered shape a sheet in perspective could make, and a homography to it cut a
    benchmark photo's first column off. The sheet's saturation is the shadow's too: its corners are the sheet's.
    Where the shaded sheet runs off the photo, no outline (the rotation and the grid straighten it)."""
    table = np.zeros((900, 1200, 3), np.uint8)
    table[:] = (40, 110, 80)
    sheet = np.array([[150, 120], [1050, 150], [1030, 780], [170, 760]], np.float64)
    page = cv2.fillPoly(table.copy(), [sheet.astype(np.int32)], (245, 240, 235))
    shade = cv2.fillPoly(np.zeros((900, 1200), np.uint8), [np.array([[0, 0], [420, 0], [260, 900], [0, 900]])], 1)
    page[shade > 0] = (page[shade > 0] * np.where(page[shade > 0] > 200, 0.45, 1.0)).astype(np.uint8)
    assert find_paper(grey(page)) is not None and np.max(np.abs(find_paper(grey(page)) - sheet)) > 100
    corners = find_paper(page)
    assert corners is not None and np.max(np.abs(corners - sheet)) < 12
    off = cv2.fillPoly(table.copy(), [np.array([[-50, 120], [1050, 150], [1030, 780], [-50, 760]])], (245, 240, 235))
    off[shade > 0] = (off[shade > 0] * np.where(off[shade > 0] > 200, 0.45, 1.0)).astype(np.uint8)
    assert find_paper(off) is None


@pytest.mark.parametrize("angle", [0.3, -0.15, 1.0])
def test_the_grid_finishes_a_rotation_to_two_hundredths_of_a_degree(source, angle: float) -> None:
    """A small rotation left on a page (where a faint grid let the traces' wandering baselines pull the edge
    projection off by a few tenths of a degree) is read from the grid's lattice, tile by tile, without bias
    towards zero (a parabola through spectral magnitudes read 0.3 degrees as 0.25)."""
    sig, fs, names = source
    page = render_page(sig, fs, names, sample_config("clean", 3, layout="3x4+1", dpi=200.0, grid="red"))
    h, w = page.image.shape[:2]
    turned = cv2.warpAffine(page.image, cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0), (w, h),
                            flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    fix = grid_correction(grey(turned))
    assert fix is not None and not fix.perspective
    assert abs(fix.rotation_deg - angle) < 0.02
    assert grid_correction(grey(page.image)) is None  # a straight page is left alone


def test_the_grid_finishes_a_rotation_when_its_scale_was_read_at_a_harmonic(source, monkeypatch) -> None:
    """On a noisy photo the whole-page period may come out at twice the grid's (one axis seen); the tiles
    then try half of it and the page size's scale before giving up."""
    from ecgdigitizer import calibrate

    sig, fs, names = source
    page = render_page(sig, fs, names, sample_config("clean", 3, layout="3x4+1", dpi=200.0, grid="red"))
    h, w = page.image.shape[:2]
    turned = cv2.warpAffine(page.image, cv2.getRotationMatrix2D((w / 2, h / 2), 0.5, 1.0), (w, h),
                            flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    true_scale = calibrate.grid_scale(grey(turned))
    doubled = type(true_scale)(2 * true_scale.px_per_mm_x, 2 * true_scale.px_per_mm_y, "grid", 0.5)
    monkeypatch.setattr(calibrate, "grid_scale", lambda *args, **kwargs: doubled)
    fix = grid_correction(grey(turned))
    assert fix is not None and abs(fix.rotation_deg - 0.5) < 0.02


def test_a_coarse_page_without_grid_has_nothing_for_the_grid_to_correct(source) -> None:
    """75 dpi, no grid: every scale tried (down to half the page size's, below what a tile resolves) finds no
    lattice, and the page is left as it is rather than failing."""
    sig, fs, names = source
    page = render_page(sig, fs, names, sample_config("clean", 5, dpi=75.0, grid="none", rotation_deg=0.0))
    assert grid_correction(grey(page.image)) is None


@pytest.mark.parametrize("seed", range(8))
def test_grid_pitch_within_half_a_percent(source, seed: int) -> None:
    sig, fs, names = source
    cfg = sample_config("scan", seed, rotation_deg=0.0, perspective=0.0, grid="red" if seed % 3 else "grey")
    page = render_page(sig, fs, names, cfg)
    scale = grid_scale(grey(page.image), page.mask > 0)
    assert scale.source == "grid"
    assert abs(scale.px_per_mm_x / cfg.px_per_mm - 1) < 0.005
    assert abs(scale.px_per_mm_y / cfg.px_per_mm - 1) < 0.005


def test_no_grid_falls_back_to_the_page_size_then_the_rows_and_says_so(source) -> None:
    """No grid: the page size gives the scale of a whole page; cropped (a photo of part of a page), its size
    misleads and the rows the layout stage finds (10 s of paper each) give the scale instead."""
    sig, fs, names = source
    cfg = sample_config("clean", 4, grid="none", dpi=150.0, layout="3x4+1")
    page = render_page(sig, fs, names, cfg)
    whole = Digitizer().digitize(page.image, fs, page.n_samples, names)
    assert whole.scale.source == "page size" and any("no grid" in n for n in whole.notes)
    assert abs(whole.scale.px_per_mm_x / cfg.px_per_mm - 1) < 0.005
    assert whole.ok
    right = int(max(m["box"][2] for m in page.meta["leads"])) + 10
    cropped = page.image[:, :right]
    size = grid_scale(grey(cropped))
    assert abs(size.px_per_mm_x / cfg.px_per_mm - 1) > 0.05
    result = Digitizer().digitize(cropped, fs, page.n_samples, names)
    assert result.scale.source == "row span" and any("rows of lead boxes" in n for n in result.notes)
    assert abs(result.scale.px_per_mm_x / cfg.px_per_mm - 1) < 0.005
    # time misplaced by a fraction of a sample costs dB already (the metric aligns whole samples only)
    assert page_snr(page, result) > page_snr(page, whole) - 3.0
    kept = Digitizer().digitize(cropped, fs, page.n_samples, names, scale=replace(size, source="given"))
    assert page_snr(page, kept) < page_snr(page, result) - 5.0


@pytest.mark.parametrize("layout", LAYOUT_NAMES)
def test_layout_and_lead_names_on_every_layout(source, layout: str) -> None:
    sig, fs, names = source
    cfg = sample_config("clean", 7, layout=layout, dpi=150.0, column_time="shifted", speed_mm_s=25.0,
                        gain_limb=10.0, gain_chest=10.0)
    page = render_page(sig, fs, names, cfg)
    result = Digitizer().digitize(page.image, fs, page.n_samples, names)
    assert result.layout is not None, result.reason
    assert result.layout.layout.name == layout
    truth = {(m["row"], m["col"]): m["lead"] for m in page.meta["leads"]}
    found = {(lb.cell.row, lb.cell.col): lb.cell.lead for lb in result.layout.boxes}
    assert found == truth


@pytest.mark.parametrize("pen_mm, floor", [(0.15, 20.0), (0.3, 18.0)])
def test_clean_page_extracts_above_20_db(pen_mm: float, floor: float) -> None:
    """A clean 200-dpi page, classical binarization: with the true boxes and with the pipeline's own, >= 20 dB
    for a fine (0.15 mm) pen. A 0.3 mm pen (~2.4 px) merges the two strokes of every narrow QRS spike into one
    blob of ink: >= 18 dB (17.9 and 17.8 when the strokes were placed half a pen in from the blob's edges with
    the pen measured on flat columns, which put them 0.2 px too far in)."""
    sig, fs, names = load_source(LUDB / "45")
    cfg = sample_config("clean", 4, layout="3x4+1", dpi=200.0, trace_width_mm=pen_mm, gain_limb=10.0,
                        gain_chest=10.0, speed_mm_s=25.0, column_time="shifted", grid="red", trace_rgb=(0, 0, 0))
    page = render_page(sig, fs, names, cfg)
    extraction = Digitizer(detector=TruthDetector(page.meta)).digitize(page.image, fs, page.n_samples, names)
    assert page_snr(page, extraction) >= floor
    whole = Digitizer().digitize(page.image, fs, page.n_samples, names)
    assert page_snr(page, whole) >= floor


def test_a_dark_grey_grid_does_not_cut_the_traces_into_text_sized_pieces(source) -> None:
    """Where a trace crosses a dark grey grid line, removing the line takes a few of its pixels: the classical
    binarization must close those gaps, or every piece is shorter than a word and no row is found."""
    sig, fs, names = source
    cfg = sample_config("clean", 3, layout="3x4+1", dpi=150.0, column_time="shifted", speed_mm_s=25.0)
    assert cfg.grid == "grey"
    page = render_page(sig, fs, names, cfg)
    result = Digitizer().digitize(page.image, fs, page.n_samples, names)
    assert result.ok, result.reason
    assert page_snr(page, result) > 10.0


def test_oracle_stages_read_a_rotated_scan(source) -> None:
    sig, fs, names = source
    cfg = sample_config("scan", 9, rotation_deg=3.0, layout="6x2", gain_limb=10.0, gain_chest=10.0,
                        speed_mm_s=25.0, column_time="shifted")
    page = render_page(sig, fs, names, cfg)
    d = Digitizer(binarizer=TruthBinarizer(page.mask), detector=TruthDetector(page.meta))
    result = d.digitize(page.image, fs, page.n_samples, names)
    assert abs(result.rotation_deg - 3.0) < 0.2
    assert page_snr(page, result) > 8.0


def test_every_sample_lands_at_its_true_index(source) -> None:
    """3x4: column c holds samples c*N/4 .. (c+1)*N/4 and nothing else; the rhythm strip all of them."""
    sig, fs, names = source
    cfg = sample_config("clean", 12, layout="3x4+1", dpi=150.0, column_time="shifted", speed_mm_s=25.0)
    page = render_page(sig, fs, names, cfg)
    result = Digitizer().digitize(page.image, fs, page.n_samples, names)
    n = page.n_samples
    for lead, col in (("I", 0), ("aVR", 1), ("V1", 2), ("V6", 3)):
        read = np.isfinite(result.signals[:, names.index(lead)])
        inside = np.zeros(n, bool)
        inside[col * n // 4:(col + 1) * n // 4] = True
        assert read[inside].mean() > 0.95 and not read[~inside].any()
    assert np.isfinite(result.signals[:, names.index("II")]).mean() > 0.95


@pytest.mark.parametrize("seed", [6, 12])
def test_columns_are_timed_to_a_pixel(source, seed: int) -> None:
    """Each cell's box starts where its first sample was drawn, within a pixel (a sample or two), on every
    cell: the official alignment would hide a shift, but lead II's two boxes are averaged sample by sample."""
    sig, fs, names = source
    cfg = sample_config("clean", seed, layout="3x4+1", dpi=150.0, column_time="shifted", speed_mm_s=25.0)
    page = render_page(sig, fs, names, cfg)
    result = Digitizer().digitize(page.image, fs, page.n_samples, names)
    first = {(m["row"], m["col"]): m["baseline"][0][0] for m in page.meta["leads"]}
    assert result.layout is not None and len(result.layout.boxes) == len(first)
    for lb in result.layout.boxes:
        assert abs(lb.box.x0 - first[(lb.cell.row, lb.cell.col)]) < 1.0


@pytest.mark.parametrize("late_mm", [0.0, 7.0, -7.0])
def test_the_first_sample_is_found_from_the_trace_ends_when_the_boxes_are_mm_off(source, late_mm: float) -> None:
    """A detector's boxes all 7 mm late (one clean page did this) still give every row's first sample within a
    pixel: the rows' ends are searched for 12 mm either side of where the boxes put them."""
    sig, fs, names = source
    cfg = sample_config("clean", 6, layout="3x4+1", dpi=200.0, column_time="shifted", speed_mm_s=25.0)
    page = render_page(sig, fs, names, cfg)
    ppm = page.meta["px_per_mm"][0]
    first = page.meta["leads"][0]["baseline"][0][0]
    ink = page.mask == 255
    rows = [Row(y=m["baseline"][0][1], x0=m["baseline"][0][0], x1=m["baseline"][1][0])
            for m in page.meta["leads"] if m["col"] == 0]
    span_px = page.meta["span_s"] * 25.0 * ppm
    start, timed = trace_start(ink, rows, first + late_mm * ppm, span_px, 10 * ppm, ppm)
    assert timed
    # the end is read one sample period late (the caller corrects it) and the pen's end cap to a pixel
    assert abs(start + 25.0 * ppm / fs - first) < 1.0


def test_a_tall_qrs_near_the_end_does_not_end_its_row_early() -> None:
    """Twelve 10 s strips 14 mm apart (12x1): where a strip's QRS, 3 mm before its end, rises out of the row's
    band and comes back 2 mm later, its ink leaves a 2 mm gap in the band's columns. That is not the trace's
    end (read as one, the median end of a page where most strips did this came 10 px early)."""
    ppm, x0, span_px = 6.0, 50.0, 10 * 25 * 6.0
    ink = np.zeros((12 * 84 + 200, 1700), bool)
    rows = []
    for k in range(12):
        y = 100 + 84 * k
        end = int(x0 + span_px)
        ink[y, int(x0):end + 1] = True
        if k % 4:  # nine of twelve strips: a QRS 12 px wide from 18 px before the end, 45 px tall
            qrs = end - 18
            ink[y - 45:y + 1, qrs] = ink[y - 45:y + 1, qrs + 12] = True
            ink[y - 45, qrs:qrs + 13] = True
            ink[y, qrs + 1:qrs + 12] = False
        rows.append(Row(float(y), x0, x0 + span_px))
    start, timed = trace_start(ink, rows, x0 + 2 * ppm, span_px, 84.0, ppm)
    assert timed
    assert abs(start - x0) < 1.0


@pytest.mark.parametrize(("layout", "dpi"), [("3x4+1", 200.0), ("6x2", 150.0), ("3x4", 100.0)])
def test_separator_ticks_place_the_first_sample_to_a_tenth_of_a_pixel(source, layout: str, dpi: float) -> None:
    """Where the printer drew ticks at the lead changes, they give the rows' first sample to a tenth of a pixel
    (the trace's end, which the pen's cap blurs, to half a pixel); with no ticks there is no answer, whatever
    steep strokes cross the column boundaries."""
    sig, fs, names = source
    for separators in (True, False):
        cfg = sample_config("clean", 6, layout=layout, dpi=dpi, column_time="shifted", speed_mm_s=25.0,
                            separators=separators)
        page = render_page(sig, fs, names, cfg)
        ppm = page.meta["px_per_mm"][0]
        first = page.meta["leads"][0]["baseline"][0][0]
        rows = [Row(y=m["baseline"][0][1], x0=m["baseline"][0][0], x1=m["baseline"][1][0])
                for m in page.meta["leads"] if m["col"] == 0]
        density = ink_density(page.image, page.mask > 0, ppm)  # traces, pulses and ticks
        span_px = page.meta["span_s"] * 25.0 * ppm
        got = tick_start(density, rows, layout, first + 0.8 * ppm, span_px, ppm)  # the guess 0.8 mm off
        if separators:
            assert got is not None and abs(got - first) < 0.1
        else:
            assert got is None


@pytest.mark.parametrize(("layout", "dpi", "pen_mm"), [("3x4+1", 200.0, 0.15), ("3x4+1", 300.0, 0.4),
                                                   ("6x2", 150.0, 0.25), ("3x4", 100.0, 0.3)])
def test_jumps_between_leads_place_the_first_sample_to_a_tenth_of_a_pixel(source, layout: str, dpi: float,
                                                                            pen_mm: float) -> None:
    """Without ticks, where the trace jumps as the lead changes, the two leads' end caps are apart and the
    midpoint of their reaches is half a sample before the next lead's first sample, for a pen 1 to 5 px wide:
    within a tenth of a pixel on most pages, a quarter on every one (a row's own end cap, read less half an
    estimated pen, misplaced such pages' starts by 0.3 px and more). Where the trace runs on unbroken across
    every change of lead there is no answer."""
    sig, fs, names = source
    errors = []
    for seed in (6, 7, 8, 9):
        cfg = sample_config("clean", seed, layout=layout, dpi=dpi, column_time="shifted", speed_mm_s=25.0,
                            separators=False, trace_width_mm=pen_mm)
        page = render_page(sig, fs, names, cfg)
        ppm = page.meta["px_per_mm"][0]
        first = page.meta["leads"][0]["baseline"][0][0]
        rows = [Row(y=m["baseline"][0][1], x0=m["baseline"][0][0], x1=m["baseline"][1][0])
                for m in page.meta["leads"] if m["col"] == 0]
        ink = page.mask > 0
        span_px = page.meta["span_s"] * 25.0 * ppm
        got = jump_start(ink, ink_density(page.image, ink, ppm), rows, layout, first + 0.6, span_px, ppm)
        assert got is not None
        errors.append(abs(got + 0.5 * 25.0 * ppm / fs - first))  # half a sample early
    assert np.median(errors) < 0.1 and max(errors) < 0.25
    # the same rows drawn as one unbroken flat line each: no jump anywhere
    flat = np.zeros_like(ink)
    for row in rows:
        flat[int(row.y) - 1:int(row.y) + 2, int(row.x0):int(row.x1)] = True
    assert jump_start(flat, flat.astype(np.float32), rows, layout, first + 0.6, span_px, ppm) is None


@pytest.mark.parametrize(("dpi", "pen_mm"), [(200.0, 0.15), (300.0, 0.4), (150.0, 0.25), (100.0, 0.3)])
def test_12x1_rows_end_caps_place_the_first_sample_to_a_tenth_of_a_pixel(source, dpi: float, pen_mm: float) -> None:
    """A 12x1 page has no change of lead within a row, so no ticks or jumps: its rows' end caps time it. The
    cap's reach less half the pen measured on the steep strokes (``stroke_pen``, within 0.15 px of the drawn pen)
    is the last sample within a tenth of a pixel on most pages, a quarter on every one, for pens 1 to 5 px
    wide, whatever the grid's colour; less half the pen the binary ink measures it was up to 0.64 px off, and
    with a brown grid line's darkness read as the pen's beside a steep last stroke, 0.71 px."""
    sig, fs, names = source
    errors = []
    for seed in (6, 7, 8, 9):
        cfg = sample_config("clean", seed, layout="12x1", dpi=dpi, speed_mm_s=25.0, trace_width_mm=pen_mm)
        page = render_page(sig, fs, names, cfg)
        ppm = page.meta["px_per_mm"][0]
        first = page.meta["leads"][0]["baseline"][0][0]
        rows = [Row(y=m["baseline"][0][1], x0=m["baseline"][0][0], x1=m["baseline"][1][0])
                for m in page.meta["leads"]]
        ink = page.mask == 255
        density = ink_density(page.image, ink, ppm)
        assert abs(stroke_pen(ink, density) - page.meta["trace_width_px"]) < 0.15
        span_px = page.meta["span_s"] * 25.0 * ppm
        pitch = float(np.median(np.diff([r.y for r in rows])))
        start, timed = trace_start(ink, rows, first + 0.6, span_px, pitch, ppm, density)
        assert timed
        errors.append(abs(start + 25.0 * ppm / fs - first))  # one sample early
    assert np.median(errors) < 0.1 and max(errors) < 0.25


def _pen_lines(shape: tuple[int, int], lines: list[np.ndarray], pen_px: float) -> np.ndarray:
    """The pen's cover (0..1) of polylines drawn as the generator draws traces."""
    cover = np.zeros(shape, np.float32)
    for xy in lines:
        crop, (x0, y0) = pen_coverage(shape, xy, pen_px)
        view = cover[y0:y0 + crop.shape[0], x0:x0 + crop.shape[1]]
        np.maximum(view, crop, out=view)
    return cover


def test_a_tick_the_trace_runs_into_is_not_read_as_a_jump() -> None:
    """Two leads drawn with a 2.5 px round pen, the first ending flat at x = 300 on the baseline, the next
    starting 0.5 px later 40 px below it: the jump's midpoint is 300.25. Where a separator tick at the change
    of lead touches the first trace (a QRS beside it hides such ticks from ``find_tick``), the first lead's
    reach would be the tick's edge: no answer then."""
    y = 200.0
    first = np.array([[100.0, y], [300.0, y]])
    second = np.array([[300.5, y + 40.0], [500.0, y + 40.0]])
    tick = np.array([[300.5, y - 20.0], [300.5, y + 20.0]])
    apart = _pen_lines((400, 600), [first, second], 2.5)
    got = find_jump(apart > 0.5, apart, y, 300.8, 8.0, 120.0)
    assert got is not None and abs(got - 300.25) < 0.05
    touching = _pen_lines((400, 600), [first, second, tick], 2.5)
    assert find_jump(touching > 0.5, touching, y, 300.8, 8.0, 120.0) is None


def _rows_3x4(late: dict[tuple[int, int], float], flat: bool) -> tuple[np.ndarray, list[Row]]:
    """Ink of a 3x4 page at 4 px/mm, 500 Hz, rows starting at x = 100: every lead a flat line, alternately on
    and 12 px below its row's baseline (unless ``flat``: then only row 0's first two changes jump). ``late``
    moves a change of lead (row, column) that many pixels right, as a gap in the ink might look."""
    spp, width = 0.2, 250.0
    lines, rows = [], []
    for r in range(3):
        y = 80.0 + 100 * r
        rows.append(Row(y, 100.0, 100.0 + 4 * width))
        for c in range(4):
            x0 = 100 + c * width + late.get((r, c), 0.0)
            x1 = 100 + (c + 1) * width - spp + late.get((r, c + 1), 0.0)
            low = 12.0 * (c % 2) if not flat or (r == 0 and c == 1) else 0.0
            lines.append(np.array([[x0, y + low], [x1, y + low]]))
    return _pen_lines((400, 1200), lines, 2.0), rows


def test_jumps_that_disagree_with_the_others_are_left_out() -> None:
    """Nine changes of lead that jump, one of them 3 px late (a gap in the ink): the others place the start
    (half a sample early: x = 100 - 0.1). Two jumps 3 px apart, and nothing else to side with: no answer."""
    cover, rows = _rows_3x4({(0, 2): 3.0}, flat=False)
    got = jump_start(cover > 0.5, cover, rows, "3x4", 100.3, 1000.0, 4.0)
    assert got is not None and abs(got - 99.9) < 0.05
    cover, rows = _rows_3x4({(0, 2): 3.0}, flat=True)
    assert jump_start(cover > 0.5, cover, rows, "3x4", 100.3, 1000.0, 4.0) is None
    cover, rows = _rows_3x4({}, flat=True)  # row 0's two jumps agree
    got = jump_start(cover > 0.5, cover, rows, "3x4", 100.3, 1000.0, 4.0)
    assert got is not None and abs(got - 99.9) < 0.05


def _edge_errors(page, result, lead_cells) -> np.ndarray:
    """Per cell that meets another in its row: the largest error (mV) over its first and last 4 samples."""
    n, errors = page.n_samples, []
    for m in lead_cells:
        j = page.lead_names.index(m["lead"])
        a, b = m["col"] * n // m["ncols"], (m["col"] + 1) * n // m["ncols"]
        got, want = result.signals[:, j], page.masked[:, j]
        ends = ([slice(a, a + 4)] if m["col"] > 0 else []) + ([slice(b - 4, b)] if m["col"] < m["ncols"] - 1 else [])
        errors += [np.nanmax(np.abs(got[e] - want[e])) for e in ends]
    return np.array(errors)


@pytest.mark.parametrize(("layout", "pen_mm"), [("3x4+1", 0.3), ("6x2", 0.5)])
def test_a_separator_tick_is_not_read_as_the_trace_at_the_ends_of_a_cell(source, layout: str,
                                                                          pen_mm: float) -> None:
    """A tick is drawn 2.5 mm either side of the baseline where the lead changes: its rows read as trace there
    and pulled the cell's first and last samples towards 0 or +-0.25 mV (0.1-0.3 mV off on a third of the
    ends). Its points are dropped and the trace beside it held: every end within 0.08 mV, most within 0.02,
    also where a QRS stroke stands beside the tick and hides it from the tick finder. (A 0.5 mm tick hides
    10 samples: lead I here rises 0.06 mV under it, which the value held from beside it cannot know.)"""
    sig, fs, names = source
    cfg = sample_config("clean", 5, layout=layout, dpi=200.0, column_time="shifted", speed_mm_s=25.0,
                        separators=True, trace_width_mm=pen_mm, gain_limb=10.0, gain_chest=10.0)
    page = render_page(sig, fs, names, cfg)
    d = Digitizer(binarizer=TruthBinarizer(page.mask), detector=TruthDetector(page.meta))
    result = d.digitize(page.image, fs, page.n_samples, names)
    assert result.layout is not None and result.layout.ticks
    errors = _edge_errors(page, result, [m for m in page.meta["leads"] if m["ncols"] > 1])
    assert errors.size >= 12
    assert np.max(errors) < 0.08 and np.median(errors) < 0.02, np.round(np.sort(errors)[-6:], 3)


class TightBoxes(TruthDetector):
    """The true cells with boxes as tight as a detector's around the ink it saw (2 mm either side of the
    baseline), the row pitch kept."""

    def __call__(self, *args, **kwargs):
        layout = super().__call__(*args, **kwargs)
        ppm = self.meta["px_per_mm"][1]
        for lb in layout.boxes:
            lb.box = replace(lb.box, y0=lb.baseline_y - 2 * ppm, y1=lb.baseline_y + 2 * ppm)
        return layout


def test_a_box_tighter_than_its_row_still_reads_the_tall_waves_of_its_lead(source) -> None:
    """YOLO's boxes hug the ink it saw (one was 3 mm tall over a 20 mm QRS); the trace is looked for a row
    pitch either side of the baseline, not a box height: the same reading as with the whole cells."""
    sig, fs, names = source
    cfg = sample_config("clean", 4, layout="3x4+1", dpi=200.0, column_time="shifted", speed_mm_s=25.0,
                        gain_limb=10.0, gain_chest=10.0)
    page = render_page(sig, fs, names, cfg)
    truth = Digitizer(binarizer=TruthBinarizer(page.mask), detector=TruthDetector(page.meta))
    tight = Digitizer(binarizer=TruthBinarizer(page.mask), detector=TightBoxes(page.meta))
    full = page_snr(page, truth.digitize(page.image, fs, page.n_samples, names))
    assert full > 20.0
    assert page_snr(page, tight.digitize(page.image, fs, page.n_samples, names)) > full - 0.05


def test_six_leads_and_one_lead(source) -> None:
    sig, fs, names = source
    limb = [names.index(n) for n in ("I", "II", "III", "aVR", "aVL", "aVF")]
    cfg = sample_config("clean", 5, layout="3x4+1", dpi=150.0, column_time="shifted", speed_mm_s=25.0)
    page = render_page(sig[:, limb], fs, [names[i] for i in limb], cfg)
    result = Digitizer().digitize(page.image, fs, page.n_samples, list(LEADS_12))
    read = np.isfinite(result.signals).any(axis=0)
    assert read[:6].all() and not read[6:].any()  # chest leads were not printed: NaN, not invented
    one = Digitizer().digitize(page.image, fs, page.n_samples, ["II"])
    assert one.signals.shape == (page.n_samples, 1) and np.isfinite(one.signals).mean() > 0.9


def test_blank_page_and_a_wall_give_nan_with_a_reason() -> None:
    blank = np.full((1700, 2200, 3), 250, np.uint8)
    wall = (np.random.default_rng(0).normal(150, 25, (900, 1200, 3))).clip(0, 255).astype(np.uint8)
    wall = np.ascontiguousarray(np.repeat(np.repeat(wall, 2, 0), 2, 1)[:1700, :2200])  # a coarse texture
    for image in (blank, wall):
        result = Digitizer().digitize(image, 500.0, 5000, list(LEADS_12))
        assert np.isnan(result.signals).all()
        assert result.reason and not result.ok


@pytest.mark.parametrize("off_mm", [-0.7, 0.4])
def test_a_lead_shown_twice_is_one_curve_when_one_rows_baseline_is_off(source, off_mm: float) -> None:
    """Lead II is in the grid (0-2.5 s) and in the rhythm strip (0-10 s); each cell's 0 mV comes from its own
    row. With the strip's baseline a fraction of a millimetre off (no pulse, a wrinkled page), averaging the
    two as they were leaves a step at 2.5 s that the metric's single offset cannot take out."""
    sig, fs, names = source
    cfg = sample_config("clean", 3, layout="3x4+1", dpi=150.0, column_time="shifted", speed_mm_s=25.0,
                        gain_limb=10.0, gain_chest=10.0)
    page = render_page(sig, fs, names, cfg)

    class StripOff(TruthDetector):
        def __call__(self, *args, **kwargs):
            layout = super().__call__(*args, **kwargs)
            return replace(layout, boxes=[replace(lb, baseline_y=lb.baseline_y + off_mm * cfg.px_per_mm)
                                          if lb.cell.row == 3 else lb for lb in layout.boxes])

    binarizer = TruthBinarizer(page.mask)
    exact = Digitizer(binarizer=binarizer, detector=TruthDetector(page.meta)).digitize(page.image, fs,
                                                                                      page.n_samples, names)
    off = Digitizer(binarizer=binarizer, detector=StripOff(page.meta)).digitize(page.image, fs, page.n_samples,
                                                                                names)
    assert off.ok, off.reason
    j = names.index("II")
    snr_exact = metrics.lead_snr(page.masked[:, j], exact.signals[:, j], fs)
    assert snr_exact > 20
    assert metrics.lead_snr(page.masked[:, j], off.signals[:, j], fs) > snr_exact - 1.0


@pytest.mark.parametrize("pulse", [True, False])
def test_a_page_printed_at_50_mm_s_is_read_at_50_mm_s(source, pulse: bool) -> None:
    """At 50 mm/s a row shows 5 s over the same 250 mm of paper. The calibration pulses are 0.2 s wide: 10 mm,
    not 5. Without pulses, a record of 5 s over rows of 250 mm was printed at 50 mm/s (with pulses the caller
    asks for 10 s here: the pulses alone must tell). Read at 25 mm/s, as before, every lead came out stretched
    twice over, below 0 dB."""
    sig, fs, names = source
    cfg = sample_config("clean", 4, layout="3x4+1", dpi=200.0, speed_mm_s=50.0, calibration_pulse=pulse,
                        gain_limb=10.0, gain_chest=10.0, column_time="shifted", grid="red")
    page = render_page(sig, fs, names, cfg)
    assert page.n_samples == int(5 * fs)
    result = Digitizer().digitize(page.image, fs, int((10.0 if pulse else 5.0) * fs), names)
    assert result.paper is not None and result.paper.speed_mm_s == 50.0
    assert page_snr(page, result) >= 18.0
    cells = {(lb.cell.row, lb.cell.col): lb.cell for lb in result.layout.boxes}
    assert cells[(0, 3)].t0 == 3.75 and cells[(3, 0)].t1 == 5.0  # the columns' seconds, rescaled

    slow = render_page(sig, fs, names, replace(cfg, speed_mm_s=25.0))
    result = Digitizer().digitize(slow.image, fs, slow.n_samples, names)
    assert result.paper is not None and result.paper.speed_mm_s == 25.0
