"""The generator's ground truth agrees with the images it draws."""

from __future__ import annotations

import filecmp
import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from conftest import CINC, LUDB, PTBXL_100, PTBXL_500, ROOT
from ecgdigitizer import metrics, records
from ecgdigitizer.generate import (MASK_PULSE, PRESETS, generate_record, load_source, read_trace, render_page,
                                   sample_config)
from ecgdigitizer.generate.plot import draw_pen
from ecgdigitizer.layouts import LAYOUT_NAMES


def _pages(out: Path) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted((out / "truth").glob("*.json"))]


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Pages of every preset from a few real records, written to disk as the command line writes them."""
    out = tmp_path_factory.mktemp("gen")
    for preset in ("clean", "scan", "photo", "full"):
        for rel in ("00001_hr", "00002_hr"):
            generate_record(str(PTBXL_500), rel, out / preset, preset, per_record=2, seed=11)
    return out


def _inside(xy: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    h, w = shape[:2]
    return (xy[:, 0] >= 0) & (xy[:, 0] <= w - 1) & (xy[:, 1] >= 0) & (xy[:, 1] <= h - 1)


@pytest.mark.parametrize("preset", ["clean", "scan", "photo", "full"])
def test_every_trace_point_lies_on_the_mask_and_inside_its_box(generated: Path, preset: str) -> None:
    out = generated / preset
    for meta in _pages(out):
        mask = cv2.imread(str(out / meta["mask"]), cv2.IMREAD_UNCHANGED)
        assert mask.shape[::-1] == tuple(meta["image_size"])
        boxes = {(m["lead"], m["row"], m["col"]): m["box"] for m in meta["leads"]}
        segments = read_trace(out / meta["trace"])
        assert len(segments) == len(meta["leads"]) > 0
        trace_rows = 0
        for (lead, _samples, xy), info in zip(segments, meta["leads"]):
            inside = _inside(xy, mask.shape)
            px = np.rint(xy[inside]).astype(int)
            assert np.all(mask[px[:, 1], px[:, 0]] == 255), f"{meta['record']} {lead}: trace off the mask"
            x0, y0, x1, y1 = boxes[(lead, info["row"], info["col"])]
            assert np.all((xy[inside, 0] >= x0) & (xy[inside, 0] <= x1) & (xy[inside, 1] >= y0)
                          & (xy[inside, 1] <= y1)), f"{meta['record']} {lead}: trace outside its box"
            trace_rows += inside.sum()
        # the mask holds the traces and not much else: at most a few pixels of width around each point
        assert (mask == 255).sum() < trace_rows * 4 * max(meta["trace_width_px"], 1)


def test_trace_points_are_dark_on_a_clean_page(generated: Path) -> None:
    out = generated / "clean"
    for meta in _pages(out):
        grey = cv2.imread(str(out / meta["image"]), cv2.IMREAD_GRAYSCALE).astype(int)
        paper = int(np.median(grey))
        for _lead, _s, xy in read_trace(out / meta["trace"]):
            px = np.rint(xy[_inside(xy, grey.shape)]).astype(int)
            assert np.all(grey[px[:, 1], px[:, 0]] < paper - 20)  # visibly darker than the paper


@pytest.mark.parametrize("pen", [1.0, 1.66, 2.0, 2.5, 3.0])
def test_the_ink_is_centred_on_the_polyline_and_a_pen_wide(pen: float) -> None:
    """An ECG polyline has a point every 0.4 px: drawn segment by segment with anti-aliasing, the partly
    covered pixels at a stroke's edge darkened with every overlapping segment (a 2 px pen left 3.4 px of ink
    per column, its centre up to 0.15 px off the line, by where the line fell within a pixel). The pen's cover
    is the area it sweeps: per column, as much ink as the pen is wide, centred on the line (exactly so for a
    whole number of pixels; a pixel's share of a wider band is weighed at its centre, which is up to 0.07 px
    off for a 1.66 px pen, the same on a scanner)."""
    rng = np.random.default_rng(3)
    for _ in range(20):
        y = 40.0 + rng.uniform(-0.5, 0.5)
        slope = rng.uniform(-0.05, 0.05)
        x = 10.0 + 0.39 * np.arange(200)
        xy = np.stack([x, y + slope * (x - 10.0)], axis=1)
        page = np.zeros((80, 100), np.uint8)
        draw_pen(page, xy, 255, pen)
        ink = page[:, 20:80].astype(float) / 255
        rows = np.arange(page.shape[0])[:, None]
        centre = (ink * rows).sum(axis=0) / ink.sum(axis=0)
        line = y + slope * (np.arange(20, 80) - 10.0)
        assert np.abs(centre - line).max() < (0.02 if pen == round(pen) else 0.08)
        assert np.abs(ink.sum(axis=0) / np.sqrt(1 + slope ** 2) - pen).max() < 0.03


def test_calibration_pulse_is_one_millivolt_high() -> None:
    sig, fs, names = load_source(PTBXL_500 / "00001_hr")
    for dpi in (100.0, 200.0, 300.0):
        cfg = sample_config("clean", 5, dpi=dpi, calibration_pulse=True, separators=False, gain_limb=10.0,
                            gain_chest=10.0, layout="3x4+1")
        page = render_page(sig, fs, names, cfg)
        n, labels, stats, _ = cv2.connectedComponentsWithStats((page.mask == MASK_PULSE).astype(np.uint8))
        pulses = [k for k in range(1, n) if stats[k, cv2.CC_STAT_HEIGHT] > 3 * dpi / 25.4]
        assert len(pulses) == 4  # one per row
        for k in pulses:
            ys, xs = np.nonzero(labels == k)
            rows = np.bincount(ys).astype(float)
            top = np.average(np.arange(rows.size), weights=np.where(rows >= 0.8 * rows.max(), rows, 0))
            baseline = ys[xs <= xs.min() + 1].mean()  # the 1 mm flat where the pulse starts
            assert abs((baseline - top) - 10 * dpi / 25.4) <= 1.0, (dpi, baseline - top)


@pytest.mark.parametrize("speed", [25.0, 50.0])
def test_calibration_pulse_is_a_fifth_of_a_second_wide_and_ends_before_the_traces(speed: float) -> None:
    """0.2 s at 1 mV: 5 mm at 25 mm/s, 10 mm at 50 mm/s, and the row's traces start after it (1.1 kept 7 mm for
    it at any speed and drew the 50 mm/s pulse over the traces' first 4 mm)."""
    sig, fs, names = load_source(PTBXL_500 / "00001_hr")
    dpi = 200.0
    cfg = sample_config("clean", 5, dpi=dpi, calibration_pulse=True, separators=False, speed_mm_s=speed,
                        layout="3x4+1")
    page = render_page(sig, fs, names, cfg)
    n, labels, stats, _ = cv2.connectedComponentsWithStats((page.mask == MASK_PULSE).astype(np.uint8))
    pulses = [k for k in range(1, n) if stats[k, cv2.CC_STAT_HEIGHT] > 3 * dpi / 25.4]
    assert len(pulses) == 4
    starts = {m["baseline"][0][1]: m["baseline"][0][0] for m in page.meta["leads"] if m["col"] == 0}  # y: x
    for k in pulses:
        ys, xs = np.nonzero(labels == k)
        tall = np.flatnonzero(np.bincount(xs) > 3 * dpi / 25.4)  # the rising and the falling edge
        assert abs((tall.max() - tall.min()) - 0.2 * speed * dpi / 25.4) <= 2.0
        baseline = min(starts, key=lambda y: abs(y - ys.max()))
        assert tall.max() < starts[baseline] - 0.5 * dpi / 25.4  # its last 1 mm flat leads into the traces


def _read_back(meta: dict, segments: list) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Invert the page transform and the paper scale: pixel positions back to (sample, mV)."""
    inv = np.linalg.inv(np.array(meta["homography"]))
    ppm = meta["px_per_mm"][1]
    out = {}
    for (lead, samples, xy), info in zip(segments, meta["leads"]):
        flat = cv2.perspectiveTransform(xy[None].astype(np.float64), inv)[0]
        base = cv2.perspectiveTransform(np.array(info["baseline"])[None], inv)[0]
        mv = (base[0, 1] - flat[:, 1]) / (info["gain_mm_mv"] * ppm)
        t = info["t0"] + (flat[:, 0] - base[0, 0]) / (meta["speed_mm_s"] * ppm)
        assert np.allclose(t, samples / meta["fs"], atol=0.5 / meta["fs"])  # x lands at the sample's time
        out.setdefault(lead, []).append((samples, mv))
    return out


@pytest.mark.parametrize("preset", ["clean", "photo"])
def test_reading_the_polyline_back_reproduces_the_signal(generated: Path, preset: str) -> None:
    out = generated / preset
    for meta in _pages(out):
        ref, fields = records.load_signal(out / meta["record"])
        names = [n for n in fields["sig_name"]]
        for lead, parts in _read_back(meta, read_trace(out / meta["trace"])).items():
            x = ref[:, names.index(lead)]
            for samples, mv in parts:
                assert metrics.snr(x[samples], mv) >= 30.0


def test_masked_reference_holds_exactly_the_plotted_samples(generated: Path) -> None:
    out = generated / "clean"
    for meta in _pages(out):
        full, fields = records.load_signal(out / meta["record"])
        masked, _ = records.load_signal(out / "masked" / meta["record"])
        plotted = np.zeros(full.shape, bool)
        for lead, samples, _xy in read_trace(out / meta["trace"]):
            plotted[samples, list(fields["sig_name"]).index(lead)] = True
        assert np.array_equal(np.isfinite(masked), plotted)
        assert np.allclose(masked[plotted], full[plotted])
        header = records.read_header(out / meta["record"])
        assert header.image_files == [meta["image"]]


def test_same_seed_gives_identical_bytes(tmp_path: Path) -> None:
    for run in ("a", "b"):
        for preset in ("clean", "full"):
            generate_record(str(PTBXL_500), "00003_hr", tmp_path / run, preset, per_record=1, seed=5)
    files = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*") if p.is_file())
    assert len(files) >= 8
    for f in files:
        assert filecmp.cmp(tmp_path / "a" / f, tmp_path / "b" / f, shallow=False), f
    other = tmp_path / "c"
    generate_record(str(PTBXL_500), "00003_hr", other, "full", per_record=1, seed=6)
    assert not filecmp.cmp(tmp_path / "a" / "00003_hr_g0.hea", other / "00003_hr_g0.hea", shallow=False)


@pytest.mark.parametrize("preset", PRESETS)
def test_every_preset_and_layout_renders(preset: str) -> None:
    sig, fs, names = load_source(CINC / "E07501")
    for layout in LAYOUT_NAMES:
        page = render_page(sig, fs, names, sample_config(preset, 3, layout=layout, dpi=60.0))
        cells = page.meta["leads"]
        assert {c["lead"] for c in cells} == set(names)
        assert len(cells) == 12 + int(layout.partition("+")[2] or 0)
        assert page.image.shape[:2] == page.mask.shape and (page.mask == 255).any()
        assert all(c["box"] is not None for c in cells)


def test_short_record_and_six_leads_and_low_rate() -> None:
    sig, fs, names = load_source(PTBXL_100 / "00004_lr")
    assert fs == 100
    limb = [i for i, n in enumerate(names) if n in ("I", "II", "III", "aVR", "aVL", "aVF")]
    short = sig[: int(5 * fs), limb]
    page = render_page(short, fs, [names[i] for i in limb], sample_config("clean", 2, layout="3x4+1"))
    leads = {c["lead"] for c in page.meta["leads"]}
    assert leads == {"I", "II", "III", "aVR", "aVL", "aVF"}  # chest leads are left blank, not invented
    assert page.n_samples == short.shape[0]
    # 5 s of a 10 s page: the first two columns are plotted, the rhythm strip stops half way
    assert all(c["sample_start"] < 500 for c in page.meta["leads"])
    assert np.isfinite(page.masked).all(axis=0).sum() == 1  # only II (with its rhythm strip) is complete


def test_command_line_writes_a_dataset(tmp_path: Path) -> None:
    out = tmp_path / "cli"
    run = subprocess.run([sys.executable, "-m", "ecgdigitizer.generate", "-i", str(LUDB), "-o", str(out),
                          "--preset", "scan", "--limit", "2", "--per-record", "2", "--workers", "2"],
                         cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert "4 pages written" in run.stdout
    assert len(list(out.glob("*.hea"))) == 4 and len(list((out / "yolo").glob("*.txt"))) == 4
    label = next((out / "yolo").glob("*.txt")).read_text().split()
    assert 0 <= int(label[0]) < 12 and all(0 <= float(v) <= 1 for v in label[1:5])
