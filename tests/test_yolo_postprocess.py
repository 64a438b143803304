"""YOLO post-processing on hand-made box sets (the generator's true boxes, then damaged)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from conftest import CINC, LUDB
from ecgdigitizer.detect import Row, complete_rows, lattice_rows, pulse_rows
from ecgdigitizer.generate import load_source, render_page, sample_config
from ecgdigitizer.layouts import LAYOUT_NAMES
from ecgdigitizer.types import LEADS_12, Box, GridScale, PaperSettings
from ecgdigitizer.yolo import Detection, filter_boxes, postprocess


@pytest.fixture(scope="module")
def source():
    return load_source(LUDB / "53")


def page_and_boxes(source, layout: str, seed: int = 1, column_time: str = "shifted", gain: float = 10.0,
                   pulse: bool = True):
    sig, fs, names = source
    cfg = sample_config("clean", seed, layout=layout, dpi=120.0, column_time=column_time, speed_mm_s=25.0,
                        gain_limb=gain, gain_chest=gain, calibration_pulse=pulse)
    page = render_page(sig, fs, names, cfg)
    dets = [Detection(Box(*m["box"], lead=m["lead"], score=0.9), LEADS_12.index(m["lead"]))
            for m in page.meta["leads"]]
    return page, dets, GridScale(cfg.px_per_mm, cfg.px_per_mm, "given")


def cells(layout_result) -> dict:
    return {(lb.cell.row, lb.cell.col): lb for lb in layout_result.boxes}


def assert_every_cell_named_on_its_baseline(page, layout_result) -> None:
    truth = {(m["row"], m["col"]): m for m in page.meta["leads"]}
    assert set(cells(layout_result)) == set(truth)
    for key, lb in cells(layout_result).items():
        assert lb.cell.lead == truth[key]["lead"]
        assert abs(lb.baseline_y - truth[key]["baseline"][0][1]) < 2


@pytest.mark.parametrize("layout", LAYOUT_NAMES)
def test_true_boxes_give_the_layout_and_every_name(source, layout: str) -> None:
    page, dets, scale = page_and_boxes(source, layout)
    result = postprocess(dets, (page.mask > 0).astype(np.float32), scale, PaperSettings())
    assert result.layout.name == layout
    truth = {(m["row"], m["col"]): m for m in page.meta["leads"]}
    found = cells(result)
    assert set(found) == set(truth)
    for key, m in truth.items():
        assert found[key].cell.lead == m["lead"]
        (xa, ya), (xb, _) = m["baseline"]
        assert abs(found[key].box.x0 - xa) < 2 and abs(found[key].box.x1 - xb) < 2  # aligned to the time span
        assert abs(found[key].baseline_y - ya) < 2


@pytest.mark.parametrize("layout", ["3x4", "3x4+1", "6x2", "6x2+1"])
@pytest.mark.parametrize("column_time", ["shifted", "same"])
def test_which_seconds_each_column_shows_is_read_from_the_beats(source, layout: str, column_time: str) -> None:
    """Printers show column c of a 3x4 page either from 2.5 c s (the Challenge's way) or from 0 s; read wrong,
    three of four columns land 2.5 s off. The QRS complexes fall at the same instants in every lead: they
    line up with the rhythm strip (or, from 0 s, with the first column) at the window the column shows."""
    page, dets, scale = page_and_boxes(source, layout, column_time=column_time)
    result = postprocess(dets, (page.mask > 0).astype(np.float32), scale, PaperSettings())
    truth = {(m["row"], m["col"]): m["t0"] for m in page.meta["leads"]}
    assert {k: lb.cell.t0 for k, lb in cells(result).items()} == pytest.approx(truth)


@pytest.mark.parametrize("column_time", ["shifted", "same"])
@pytest.mark.parametrize(("record", "gain", "layout"), [
    (LUDB / "53", 5.0, "3x4"), (LUDB / "53", 5.0, "3x4+1"), (LUDB / "53", 5.0, "6x2"), (LUDB / "53", 5.0, "6x2+1"),
    (CINC / "E07509", 10.0, "3x4+1"), (CINC / "E07509", 10.0, "6x2+1")],
    ids=lambda v: v.name if isinstance(v, Path) else str(v))
def test_column_seconds_are_read_from_small_and_from_periodic_beats(record, gain: float, layout: str,
                                                                    column_time: str) -> None:
    """At 5 mm/mV most QRS complexes rise under 3.5 mm; E07509's rhythm repeats every 1.25 s, two beats a
    column, so its strip matches every column at the first window too: columns that show the same seconds
    line up to a fraction of a millimetre, a repeating rhythm's beats only to its RR variability."""
    page, dets, scale = page_and_boxes(load_source(record), layout, column_time=column_time, gain=gain)
    result = postprocess(dets, (page.mask > 0).astype(np.float32), scale, PaperSettings())
    truth = {(m["row"], m["col"]): m["t0"] for m in page.meta["leads"]}
    assert {k: lb.cell.t0 for k, lb in cells(result).items()} == pytest.approx(truth)


def test_a_missing_box_is_filled_at_the_right_place(source) -> None:
    page, dets, scale = page_and_boxes(source, "3x4+1")
    dropped = next(d for d in dets if d.lead == "V2")
    result = postprocess([d for d in dets if d is not dropped], (page.mask > 0).astype(np.float32), scale,
                         PaperSettings())
    v2 = next(lb for lb in result.boxes if lb.cell.lead == "V2")
    m = next(m for m in page.meta["leads"] if m["lead"] == "V2")
    assert abs(v2.box.x0 - m["baseline"][0][0]) < 2 and abs(v2.baseline_y - m["baseline"][0][1]) < 2


def test_a_missing_row_is_filled(source) -> None:
    page, dets, scale = page_and_boxes(source, "12x1")
    result = postprocess([d for d in dets if d.lead != "V3"], (page.mask > 0).astype(np.float32), scale,
                         PaperSettings())
    assert result.layout.name == "12x1"
    v3 = next(lb for lb in result.boxes if lb.cell.lead == "V3")
    m = next(m for m in page.meta["leads"] if m["lead"] == "V3")
    assert abs(v3.baseline_y - m["baseline"][0][1]) < 3


def test_duplicates_and_weak_boxes_are_removed(source) -> None:
    _page, dets, _scale = page_and_boxes(source, "3x4+1")
    b = dets[0].box
    twin = Detection(Box(b.x0 + 3, b.y0 - 2, b.x1 + 2, b.y1 + 1, lead="aVL", score=0.6), LEADS_12.index("aVL"))
    weak = Detection(Box(10, 10, 90, 40, lead="V6", score=0.1), LEADS_12.index("V6"))
    kept = filter_boxes(dets + [twin, weak])
    assert len(kept) == len(dets) and twin not in kept and weak not in kept


def test_six_rows_6x2_and_3x4_with_three_rhythm_strips_are_told_apart(source) -> None:
    for layout in ("6x2", "3x4+3"):
        page, dets, scale = page_and_boxes(source, layout)
        # without any class information: only the widths tell
        blind = [Detection(Box(d.box.x0, d.box.y0, d.box.x1, d.box.y1, None, d.box.score), 0) for d in dets]
        assert postprocess(blind, (page.mask > 0).astype(np.float32), scale, PaperSettings()).layout.name == layout


def test_lattice_rows_give_every_row_where_baselines_collided_or_went_missing(source) -> None:
    """Tall traces overlap: two rows took one baseline and another row was missed; the evenly spaced lattice
    over the page's ink puts all twelve rows back on their baselines."""
    page, _dets, scale = page_and_boxes(source, "12x1")
    truth = sorted((m["baseline"][0][1], m["baseline"][0][0], m["baseline"][1][0]) for m in page.meta["leads"])
    rows = [Row(y, x0, x1) for y, x0, x1 in truth]
    rows[2] = Row(rows[1].y, rows[2].x0, rows[2].x1)  # row 3 took row 2's baseline
    del rows[7]  # row 8 was not detected
    ink = page.mask > 0
    assert len(complete_rows(rows)) != 12  # what the gaps alone cannot mend
    out = lattice_rows(ink, rows, 12, scale.px_per_mm_x)
    assert len(out) == 12
    assert np.max(np.abs(np.array([r.y for r in out]) - [t[0] for t in truth])) < 0.1 * (truth[1][0] - truth[0][0])


def test_rhythm_strips_survive_tall_neighbours_and_lose_their_twins(source) -> None:
    """Three rhythm strips: a quarter box above whose tall trace reaches over most of the first strip is not
    that strip's duplicate; a second box of one strip, a third of its height lower, is."""
    page, dets, scale = page_and_boxes(source, "3x4+3")
    strips = sorted((d for d in dets if d.box.width > 0.75 * max(e.box.width for e in dets)), key=lambda d: d.box.cy)
    first, last = strips[0].box, strips[-1].box
    above = max((d for d in dets if d not in strips and d.box.x0 < first.cx), key=lambda d: d.box.cy)
    tall = Detection(Box(above.box.x0, above.box.y0, above.box.x1, first.y0 + 0.8 * first.height, above.box.lead,
                         0.95), above.cls)
    twin = Detection(Box(last.x0 + 5, last.y0 + 0.35 * last.height, last.x1 - 5, last.y1 + 0.35 * last.height,
                         None, 0.5), 0)
    damaged = [tall if d is above else d for d in dets] + [twin]
    result = postprocess(damaged, (page.mask > 0).astype(np.float32), scale, PaperSettings())
    assert result.layout.name == "3x4+3"
    truth = {(m["row"], m["col"]): m["lead"] for m in page.meta["leads"]}
    assert {k: lb.cell.lead for k, lb in cells(result).items()} == truth


def test_twelve_strips_with_three_missing_are_still_12x1(source) -> None:
    page, dets, scale = page_and_boxes(source, "12x1")
    kept = [d for d in dets if d.lead not in ("aVL", "V2", "V5")]  # nine strips: as many rows as no layout has
    result = postprocess(kept, (page.mask > 0).astype(np.float32), scale, PaperSettings())
    assert result.layout.name == "12x1"
    truth = {m["lead"]: m["baseline"][0][1] for m in page.meta["leads"]}
    pitch = np.median(np.diff(sorted(truth.values())))
    assert all(abs(lb.baseline_y - truth[lb.cell.lead]) < 0.1 * pitch for lb in result.boxes)


def test_rows_boxed_whole_are_not_12x1_when_twelve_rows_would_not_fit(source) -> None:
    """A blurred, low-resolution 6x2+1 photo: the network boxed each row whole, seven full-width strips. Only
    12x1 has more than three, but twelve rows at that pitch would not fit on the page."""
    page, dets, scale = page_and_boxes(source, "6x2+1")
    rows: dict[int, list[Box]] = {}
    for m, d in zip(page.meta["leads"], dets):
        rows.setdefault(m["row"], []).append(d.box)
    whole = [Detection(Box(min(b.x0 for b in bs), min(b.y0 for b in bs), max(b.x1 for b in bs),
                           max(b.y1 for b in bs), score=0.9), 0) for bs in rows.values()]
    result = postprocess(whole, (page.mask > 0).astype(np.float32), scale, PaperSettings())
    assert result.layout.name == "6x2+1"
    truth = {(m["row"], m["col"]): m["lead"] for m in page.meta["leads"]}
    assert {k: lb.cell.lead for k, lb in cells(result).items()} == truth


def test_a_second_box_over_a_row_does_not_push_the_rows_below_it_down(source) -> None:
    """12x1 with tall traces: the network boxed V2's trace a second time, a row lower (it finds V3's
    baseline), and missed V6. Twelve boxes, twelve rows: kept as two rows, the twin put V4-V6 one row up
    (12x1 photo pages). Each cell then takes its own box's height; the missed one the height of its trace."""
    page, dets, scale = page_and_boxes(source, "12x1")
    truth = {m["lead"]: m for m in page.meta["leads"]}
    pitch = np.median(np.diff(sorted(m["baseline"][0][1] for m in truth.values())))
    v2 = next(d for d in dets if d.lead == "V2").box
    twin = Detection(Box(v2.x0 + 4, v2.y0 + pitch, v2.x1 - 3, v2.y1 + pitch, "V2", 0.5), LEADS_12.index("V2"))
    damaged = [d for d in dets if d.lead != "V6"] + [twin]
    result = postprocess(damaged, (page.mask > 0).astype(np.float32), scale, PaperSettings())
    assert result.layout.name == "12x1"
    assert all(abs(lb.baseline_y - truth[lb.cell.lead]["baseline"][0][1]) < 0.1 * pitch for lb in result.boxes)
    for lb in result.boxes:
        true_box = Box(*truth[lb.cell.lead]["box"])
        assert lb.box.iou(true_box) > 0.7, lb.cell.lead


def test_the_lattice_keeps_the_spacing_of_the_rows_found() -> None:
    """Eleven of twelve rows found 50 px apart; fainter ink at the rows' own baselines than in a finer periodic
    pattern (a grid leaking into the trace map, overlapping tall traces) that a 45 px lattice ending on the
    last row found would collect. The twelfth row goes 50 px below the eleventh, not into the pattern (each
    row may still move to a line of it within a tenth of the pitch)."""
    ink = np.zeros((800, 400), bool)
    baselines = 100 + 50 * np.arange(12)
    ink[baselines, 50:350:2] = True
    ink[np.rint(100 + 500 / 11 * np.arange(1, 11)).astype(int)[:, None] + np.arange(-2, 3), 50:350] = True
    rows = [Row(float(y), 50, 350) for y in baselines[:11]]
    out = lattice_rows(ink, rows, 12, 4.0)
    assert abs(out[-1].y - baselines[-1]) <= 2
    assert np.max(np.abs(np.array([r.y for r in out]) - baselines)) <= 0.2 * 50


def test_a_strip_box_reaching_up_to_the_strip_above_keeps_its_own_baseline(source) -> None:
    """3x4+3: the last rhythm strip's box reaches up to the baseline of the strip above (a tall trace's box),
    whose flat ink is the busiest in its band. It is not that strip's duplicate: it looks for its own baseline
    away from the one taken, and the page keeps its six rows."""
    page, dets, scale = page_and_boxes(source, "3x4+3")
    strips = sorted((d for d in dets if d.box.width > 0.75 * max(e.box.width for e in dets)), key=lambda d: d.box.cy)
    base = {m["row"]: m["baseline"][0][1] for m in page.meta["leads"] if m["col"] == 0}
    last = strips[-1].box
    tall = Detection(Box(last.x0, base[4] - 3, last.x1, last.y1, last.lead, 0.6), strips[-1].cls)
    result = postprocess([tall if d is strips[-1] else d for d in dets], (page.mask > 0).astype(np.float32), scale,
                         PaperSettings())
    assert result.layout.name == "3x4+3"
    assert_every_cell_named_on_its_baseline(page, result)


@pytest.mark.parametrize("layout", ["3x4+1", "6x2", "12x1"])
def test_the_rows_set_the_scale_where_no_grid_showed(source, layout: str) -> None:
    """No grid: the page size guessed the scale 15 % too large. Every row spans 10 s of paper, so the rows of
    boxes give it to half a per cent and the columns land on the time span; a scale given by the caller is
    kept, wrong or not."""
    page, dets, scale = page_and_boxes(source, layout)
    trace = (page.mask > 0).astype(np.float32)
    guess = GridScale(1.15 * scale.px_per_mm_x, 1.15 * scale.px_per_mm_y, "page size", 0.2)
    result = postprocess(dets, trace, guess, PaperSettings())
    assert result.scale is not None and result.scale.source == "row span"
    assert abs(result.scale.px_per_mm_x / scale.px_per_mm_x - 1) < 0.005
    truth = {(m["row"], m["col"]): m for m in page.meta["leads"]}
    for key, lb in cells(result).items():
        (xa, _), (xb, _) = truth[key]["baseline"]
        assert lb.cell.lead == truth[key]["lead"] and abs(lb.box.x0 - xa) < 2 and abs(lb.box.x1 - xb) < 2
    given = GridScale(guess.px_per_mm_x, guess.px_per_mm_y, "given")
    assert postprocess(dets, trace, given, PaperSettings()).scale == given


def test_a_confident_strip_box_over_two_baselines_leaves_the_strip_above_its_own(source) -> None:
    """3x4+3 without pulses: the last rhythm strip's box reaches up to the baseline of the strip above, and it is
    the more confident of the two. Taking the busiest row of its band first, it took that strip's baseline
    and the strip was dropped (five rows: read 3x4+2). Rows and baselines are matched one to one."""
    page, dets, scale = page_and_boxes(source, "3x4+3", pulse=False)
    strips = sorted((d for d in dets if d.box.width > 0.75 * max(e.box.width for e in dets)), key=lambda d: d.box.cy)
    base = {m["row"]: m["baseline"][0][1] for m in page.meta["leads"] if m["col"] == 0}
    last, above = strips[-1], strips[-2]
    tall = Detection(Box(last.box.x0, base[4] - 3, last.box.x1, last.box.y1, last.lead, 0.95), last.cls)
    weak = Detection(replace(above.box, score=0.5), above.cls)
    damaged = [tall if d is last else weak if d is above else d for d in dets]
    result = postprocess(damaged, (page.mask > 0).astype(np.float32), scale, PaperSettings())
    assert result.layout.name == "3x4+3"
    assert_every_cell_named_on_its_baseline(page, result)


def test_the_pulses_count_the_rows_the_detector_missed(source) -> None:
    """6x2+1 with rows 2 and 6 not detected: five rows of boxes read as 3x4+2. The seven calibration pulses down
    the left margin count seven rows, and the missed rows go where their pulses stand; without pulses,
    nothing overrides the rows found."""
    page, dets, scale = page_and_boxes(source, "6x2+1")
    kept = [d for m, d in zip(page.meta["leads"], dets) if m["row"] not in (1, 5)]
    result = postprocess(kept, (page.mask > 0).astype(np.float32), scale, PaperSettings())
    assert result.layout.name == "6x2+1"
    assert_every_cell_named_on_its_baseline(page, result)

    bare, bare_dets, _ = page_and_boxes(source, "6x2+1", pulse=False)
    kept = [d for m, d in zip(bare.meta["leads"], bare_dets) if m["row"] not in (1, 5)]
    assert postprocess(kept, (bare.mask > 0).astype(np.float32), scale, PaperSettings()).layout.name == "3x4+2"


def test_pulse_rows_need_evenly_spaced_pulses_under_every_row_found(source) -> None:
    page, _dets, scale = page_and_boxes(source, "12x1")
    truth = sorted((m["baseline"][0][1], m["baseline"][0][0], m["baseline"][1][0]) for m in page.meta["leads"])
    ink = page.mask > 0
    rows = [Row(y, x0, x1) for y, x0, x1 in truth]
    found = pulse_rows(ink, rows[:4] + rows[6:], scale.px_per_mm_x, truth[0][1])
    assert found is not None and len(found) == 12
    assert np.max(np.abs(np.array([r.y for r in found]) - [t[0] for t in truth])) < 1.5
    pitch = truth[1][0] - truth[0][0]
    off = rows[:3] + [Row(rows[3].y + 0.45 * pitch, rows[3].x0, rows[3].x1)] + rows[6:]  # a row between pulses
    assert pulse_rows(ink, off, scale.px_per_mm_x, truth[0][1]) is None
    ink[int(truth[5][0] - 2.5 * pitch):int(truth[5][0] + 0.5 * pitch), :int(truth[0][1])] = False  # 3 pulses gone
    assert pulse_rows(ink, rows, scale.px_per_mm_x, truth[0][1]) is None


def test_boxes_hug_a_flat_lead_and_a_wave_the_detector_cut_short(source) -> None:
    sig, fs, names = source
    sig = sig.copy()
    sig[:, names.index("V4")] = 0.0  # a lead that stays flat: its trace is a pen's width tall
    page, dets, scale = page_and_boxes((sig, fs, names), "3x4+1")
    truth = {m["lead"]: Box(*m["box"]) for m in page.meta["leads"] if m["row"] < 3}
    flat = truth["V4"]
    assert flat.height < 6
    # the network's habits: a flat line boxed half a centimetre tall, a tall wave's box cut to its lower 40 %
    cut = truth["V2"]
    guessed = {"V4": Box(flat.x0, flat.cy - 15, flat.x1, flat.cy + 15, lead="V4", score=0.9),
               "V2": Box(cut.x0, cut.y1 - 0.4 * cut.height, cut.x1, cut.y1, lead="V2", score=0.9)}
    dets = [replace(d, box=guessed.get(d.lead, d.box)) for d in dets]
    for d in dets:
        if d.lead in guessed:
            assert d.box.iou(truth[d.lead]) < 0.5
    result = postprocess(dets, (page.mask > 0).astype(np.float32), scale, PaperSettings())
    got = {lb.cell.lead: lb.box for lb in result.boxes if lb.cell.row < 3}
    for lead in ("V4", "V2"):
        assert got[lead].iou(truth[lead]) > 0.8, lead
    assert np.median([got[k].iou(truth[k]) for k in truth]) > 0.9


def test_a_stroke_extent_needs_the_whole_trace_standing_alone() -> None:
    from ecgdigitizer.types import Cell, LeadBox
    from ecgdigitizer.yolo import stroke_extent

    ppm = 4.0
    ink = np.zeros((200, 400), bool)
    ink[100:102, 20:380] = True  # the trace's baseline
    ink[70:100, 200:202] = True  # a wave 30 px tall
    lead = LeadBox(Box(20, 90, 380, 110, lead="II"), Cell("II", 0, 0, 4, 0.0, 2.5), baseline_y=100.5, pitch=60.0)
    assert stroke_extent(ink, lead, [], ppm) == (68.5, 102.5)

    broken = ink.copy()
    broken[100:102, 150:180] = False  # the binarization lost a stretch: the stroke is not the whole trace
    assert stroke_extent(broken, lead, [], ppm) is None

    touching = ink.copy()
    touching[150:152, 20:380] = True  # the next row's trace, 50 px below ...
    touching[102:150, 300:302] = True  # ... reached by a deep wave: one stroke through both baselines
    assert stroke_extent(touching, lead, [150.5], ppm) is None
    assert stroke_extent(touching, lead, [], ppm) == (68.5, 152.5)

    jump = ink.copy()
    jump[40:100, 379:381] = True  # the record's last sample a millivolt up, drawn in the cell's last columns
    last = LeadBox(lead.box, Cell("II", 0, 3, 4, 7.5, 10.0), baseline_y=100.5, pitch=60.0)
    assert stroke_extent(jump, last, [], ppm) == (38.5, 102.5)  # at the row's end it is the trace's
    assert stroke_extent(jump, lead, [], ppm) == (68.5, 102.5)  # at a lead change it could be a separator tick


def test_a_box_grows_along_the_path_up_to_the_neighbouring_baselines() -> None:
    """A 12x1 photo's V3 (8.3 px/mm, the neighbours' baselines 122 px away): the network's box was right, and the
    path ran down its S wave into V4's R wave, past V4's baseline."""
    from ecgdigitizer.yolo import _grown_to_path

    box, ppm, neighbours = (1280.0, 1377.0), 8.3, [1213.0, 1457.0]
    assert _grown_to_path(box, (1280.0, 1470.0), ppm) == (1280.0, 1470.0)
    assert _grown_to_path(box, (1280.0, 1470.0), ppm, neighbours) == (1280.0, 1457.0)
    assert _grown_to_path(box, (1280.0, 1440.0), ppm, neighbours) == (1280.0, 1440.0)  # short of it: the path's
    assert _grown_to_path(box, (1190.0, 1378.0), ppm, neighbours) == (1213.0, 1378.0)  # upwards alike
    assert _grown_to_path(box, (1290.0, 1470.0), ppm, neighbours) == box  # the path misses the box's top


def test_a_row_reads_0_mv_at_its_pulse_foot_where_the_pulse_edges_step(source) -> None:
    sig, fs, names = source
    sig = sig.copy()
    for lead in ("I", "aVR", "V1", "V4"):  # the first row's traces all sit 0.3 mV above 0 mV (3 mm)
        sig[:, names.index(lead)] += 0.3
    page, dets, scale = page_and_boxes((sig, fs, names), "3x4+1")
    mask = page.mask.copy()
    # the pulses binarized unevenly: their strokes step a pixel right every other 6 rows, so that no single
    # column holds a whole edge
    ys, xs = np.nonzero(mask == 128)
    mask[ys, xs] = 0
    mask[ys, xs + (ys // 6) % 2] = 128
    result = postprocess(dets, (mask > 0).astype(np.float32), scale, PaperSettings())
    assert len(result.pulses) == 4
    truth = {m["row"]: m["baseline"][0][1] for m in page.meta["leads"]}
    for lb in result.boxes:
        assert abs(lb.baseline_y - truth[lb.cell.row]) < 1.0, lb.cell.lead


def test_every_row_of_a_12x1_page_reads_0_mv_at_its_own_pulse(source) -> None:
    """Twelve rows 14 mm apart, each with its 10 mm pulse: the pulse of the row above stands in the same columns
    within 25 mm, so each row's search must stop short of it. The traces sit 0.2 mV (2 mm) above 0 mV, which only
    a pulse's foot tells."""
    sig, fs, names = source
    page, dets, scale = page_and_boxes((sig + 0.2, fs, names), "12x1")
    result = postprocess(dets, (page.mask > 0).astype(np.float32), scale, PaperSettings())
    assert len(result.pulses) == 12
    truth = {m["row"]: m["baseline"][0][1] for m in page.meta["leads"]}
    for lb in result.boxes:
        assert abs(lb.baseline_y - truth[lb.cell.row]) < 1.0, lb.cell.lead


def test_a_deep_s_wave_box_is_paired_with_its_own_lead(source) -> None:
    """12x1 with a V1 whose S waves reach past V2's baseline (its 0 mV near its box's top) and V2's box
    missed: the two traces touch, so the boxes come from the detections. By its centre V1's box was paired with
    V2's cell below; V1's 0 mV sits a fifth of the way down its box (where it usually does), V2's would sit
    two thirds down, where no V2 does."""
    sig, fs, names = source
    sig = sig.copy()
    page, _, _ = page_and_boxes(source, "12x1")
    base = {m["lead"]: m["baseline"][0][1] for m in page.meta["leads"]}
    pitch_mv = (base["V2"] - base["V1"]) / page.config.px_per_mm / 10.0
    v1 = np.minimum(sig[:, names.index("V1")], 0.0)
    sig[:, names.index("V1")] = 1.4 * pitch_mv * v1 / -v1.min() + 0.05  # a small r, an S 1.4 rows deep
    page, dets, scale = page_and_boxes((sig, fs, names), "12x1")
    truth = {m["lead"]: Box(*m["box"]) for m in page.meta["leads"]}
    assert truth["V1"].y1 > base["V2"] + 0.3 * (base["V2"] - base["V1"])
    result = postprocess([d for d in dets if d.lead != "V2"], (page.mask > 0).astype(np.float32), scale,
                         PaperSettings())
    got = {lb.cell.lead: lb.box for lb in result.boxes}
    assert got["V1"].iou(truth["V1"]) > 0.8
    assert got["V2"].score == 0.0  # no detection of its own, none taken from V1


def test_a_tall_wave_the_detector_cut_short_is_boxed_whole_where_it_touches_a_neighbour(source) -> None:
    """12x1 with V3's R waves reaching V2's baseline, so the two traces are one stroke of ink and the stroke
    cannot size V3's box; the network boxed V3 without the top four fifths of its R waves. The path through
    V3's ink runs past the box's top and meets its bottom: the box takes it. (V2's path strays down V3's R
    waves and grows V2's box too: the rule's price, paid less often than it gains on the detection pages.)"""
    sig, fs, names = source
    sig = sig.copy()
    page, _, _ = page_and_boxes(source, "12x1")
    base = {m["lead"]: m["baseline"][0][1] for m in page.meta["leads"]}
    pitch_mv = (base["V3"] - base["V2"]) / page.config.px_per_mm / 10.0
    v3 = sig[:, names.index("V3")] - np.median(sig[:, names.index("V3")])
    sig[:, names.index("V3")] = np.where(v3 > 0, 1.05 * pitch_mv * v3 / v3.max(), v3)  # R waves 1.05 rows tall
    page, dets, scale = page_and_boxes((sig, fs, names), "12x1")
    truth = {m["lead"]: Box(*m["box"]) for m in page.meta["leads"]}
    assert truth["V3"].y0 < base["V2"]
    tall = truth["V3"]
    cut = Box(tall.x0, base["V3"] - 0.2 * (base["V3"] - tall.y0), tall.x1, tall.y1, "V3", 0.9)
    assert cut.iou(tall) < 0.7
    dets = [replace(d, box=cut) if d.lead == "V3" else d for d in dets]
    result = postprocess(dets, (page.mask > 0).astype(np.float32), scale, PaperSettings())
    got = {lb.cell.lead: lb.box for lb in result.boxes}
    assert got["V3"].iou(tall) > 0.9
    assert np.median([got[k].iou(truth[k]) for k in truth]) > 0.9


def test_a_small_lead_boxed_inside_its_tall_neighbours_box_keeps_its_own_box(source) -> None:
    """3x4+1 with II's R waves 1.3 rows tall, up past lead I's small trace, so the two traces are one stroke
    of ink and the boxes come from the detections. I's detection (a little loose at the top, as the network's
    often are) lies within the top of II's, which is more confident and, beside the rhythm strip's, no strip:
    as a duplicate of it I's box was not there to pair, and I's cell took the extractor's path, which strays
    down II's R waves (a 100-dpi 3x4+3 page of HR06007 lost lead I so)."""
    sig, fs, names = source
    page, _, _ = page_and_boxes(source, "3x4+1")
    base = {m["lead"]: m["baseline"][0][1] for m in page.meta["leads"]}
    pitch_mv = (base["II"] - base["I"]) / page.config.px_per_mm / 10.0
    sig = sig.copy()
    for lead, top in (("II", 1.3), ("I", 0.25)):
        v = sig[:, names.index(lead)] - np.median(sig[:, names.index(lead)])
        sig[:, names.index(lead)] = np.where(v > 0, top * pitch_mv * v / v.max(), 0.5 * v)
    page, dets, scale = page_and_boxes((sig, fs, names), "3x4+1")
    truth = {m["lead"]: Box(*m["box"]) for m in page.meta["leads"] if m["row"] < 3}
    small, tall = truth["I"], truth["II"]
    assert min(small.y1, tall.y1) - max(small.y0, tall.y0) > 0.5 * small.height  # I's box mostly inside II's
    loose = replace(small, y0=small.y0 - 1.5 * page.config.px_per_mm, lead="I", score=0.9)
    dets = [replace(d, box=replace(d.box, score=0.95)) if d.lead == "II" and d.box.width < 500 else
            replace(d, box=loose) if d.lead == "I" else d for d in dets]
    assert len(filter_boxes(dets)) == 13  # both kept by the non-maximum suppression
    result = postprocess(dets, (page.mask > 0).astype(np.float32), scale, PaperSettings())
    got = {lb.cell.lead: lb.box for lb in result.boxes if lb.cell.row < 3}
    assert got["I"].iou(small) > 0.8 and got["II"].iou(tall) > 0.8
