"""ecg-digitize and the Python API on a folder of generated pages with one of each bad input."""

from __future__ import annotations

import csv
import io
import json
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from conftest import CINC, LUDB, ROOT
from ecgdigitizer import digitize, records
from ecgdigitizer.cli import main
from ecgdigitizer.generate import load_source, render_page, sample_config
from ecgdigitizer.types import LEADS_12

STANDARD = dict(layout="3x4+1", column_time="shifted", speed_mm_s=25.0, gain_limb=10.0, gain_chest=10.0)


def bomb_png() -> bytes:
    """A tiny PNG whose header claims 30000 x 30000 pixels (a decompression bomb)."""
    buf = io.BytesIO()
    Image.new("L", (1, 1)).save(buf, format="PNG")
    data = bytearray(buf.getvalue())
    ihdr = data.index(b"IHDR")
    data[ihdr + 4:ihdr + 12] = struct.pack(">II", 30000, 30000)
    data[ihdr + 17:ihdr + 21] = struct.pack(">I", zlib.crc32(bytes(data[ihdr:ihdr + 17])) & 0xFFFFFFFF)
    return bytes(data)


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("cli_in")
    (root / "clinic" / "2019").mkdir(parents=True)
    for i, (src, rec) in enumerate(((LUDB, "97"), (CINC, "HR06009"))):
        sig, fs, names = load_source(src / rec)
        page = render_page(sig, fs, names, sample_config("clean", 40 + i, dpi=120.0, **STANDARD))
        target = root / ("page.png" if i == 0 else "clinic/2019/scan.jpg")
        cv2.imwrite(str(target), cv2.cvtColor(page.image, cv2.COLOR_RGB2BGR))
    # a two-page TIFF
    sig, fs, names = load_source(LUDB / "101")
    pages = [Image.fromarray(render_page(sig, fs, names, sample_config("scan", 50 + k, dpi=100.0, rotation_deg=0.0,
                                                                    **STANDARD)).image) for k in range(2)]
    pages[0].save(root / "two_pages.tif", save_all=True, append_images=pages[1:])
    (root / "notes.png").write_text("this is not an image\n")
    (root / "empty.jpg").write_bytes(b"")
    (root / "truncated.png").write_bytes((root / "page.png").read_bytes()[:2000])
    (root / "bomb.png").write_bytes(bomb_png())
    cv2.imwrite(str(root / "blank.png"), np.full((850, 1100, 3), 250, np.uint8))
    wall = np.random.default_rng(3).normal(140, 30, (425, 550, 3)).clip(0, 255).astype(np.uint8)
    cv2.imwrite(str(root / "wall.jpg"), cv2.resize(wall, (1100, 850), interpolation=cv2.INTER_CUBIC))
    (root / "readme.txt").write_text("ignored: not an image suffix\n")
    return root


def test_folder_in_files_out_summary_and_resume(folder: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "out"
    before = sorted((p, p.stat().st_mtime_ns) for p in folder.rglob("*"))
    code = main([str(folder), "-o", str(out), "--workers", "2", "--quiet"])
    assert code == 1  # some inputs failed
    summary = capsys.readouterr().out
    assert "4 pages digitized" in summary and "6 failed" in summary
    for bad, cause in (("notes.png", "not an image"), ("empty.jpg", "empty file"), ("truncated.png", "truncated"),
                       ("bomb.png", "pixel limit"), ("blank.png", "no trace"), ("wall.jpg", "")):
        line = next(ln for ln in summary.splitlines() if bad in ln)
        assert cause in line
    assert sorted((p, p.stat().st_mtime_ns) for p in folder.rglob("*")) == before  # inputs never modified
    names = ["page", "clinic__2019__scan", "two_pages_p1", "two_pages_p2"]
    for name in names:
        for ext in (".hea", ".dat", ".csv", ".json", ".overlay.png"):
            assert (out / f"{name}{ext}").is_file(), name + ext
    assert not list(out.glob(".*"))  # no temporary files left
    # WFDB: 12 standard leads, 500 Hz, 10 s, mV; the CSV holds the same numbers
    signal, fields = records.load_signal(out / "page")
    assert fields["sig_name"] == list(LEADS_12) and fields["fs"] == 500 and signal.shape == (5000, 12)
    assert fields["units"] == ["mV"] * 12
    with open(out / "page.csv") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["time_s"] + list(LEADS_12) and len(rows) == 5001
    from_csv = np.array([[float(v) if v else np.nan for v in r[1:]] for r in rows[1:]])
    assert np.allclose(from_csv, signal, atol=6e-4, equal_nan=True)
    meta = json.loads((out / "page.json").read_text())
    assert meta["layout"] == "3x4+1" and len(meta["lead_boxes"]) == 13
    assert set(meta["confidence"]) == set(LEADS_12) and meta["software"].startswith("ecgdigitizer")
    overlay = cv2.imread(str(out / "page.overlay.png"))
    assert overlay.shape[:2] == cv2.imread(str(folder / "page.png")).shape[:2]
    # resume: nothing is redone, the failures are reported again
    stamp = (out / "page.dat").stat().st_mtime_ns
    assert main([str(folder), "-o", str(out), "--quiet"]) == 1
    assert "0 pages digitized, 4 already done" in capsys.readouterr().out
    assert (out / "page.dat").stat().st_mtime_ns == stamp
    assert main([str(folder / "page.png"), "-o", str(out), "--force", "--quiet", "--format", "csv",
                 "--no-overlay", "--fs", "250", "--duration", "5"]) == 0
    with open(out / "page.csv") as f:
        assert sum(1 for _ in f) == 1 + 1250


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    assert main([str(tmp_path / "nothing_here"), "-o", str(tmp_path / "o")]) == 2
    assert main([str(tmp_path), "-o", str(tmp_path / "o"), "--format", "xls"]) == 2
    assert main(["-o", str(tmp_path / "o")]) == 2
    (tmp_path / "only.txt").write_text("x")
    assert main([str(tmp_path), "-o", str(tmp_path / "o")]) == 2  # no images at all


def test_python_api(folder: Path, tmp_path: Path) -> None:
    result = digitize(folder / "page.png")
    assert result.ok and result.signals.shape == (5000, 12) and result.fs == 500
    assert set(result.leads) == set(LEADS_12) and np.isfinite(result.leads["II"]).mean() > 0.9
    header = result.to_wfdb(tmp_path, "api")
    back, fields = records.load_signal(header.with_suffix(""))
    assert np.allclose(back, result.signals, atol=6e-4, equal_nan=True)
    assert result.plot().shape == cv2.imread(str(folder / "page.png")).shape
    forced = digitize(folder / "page.png", fs=250, layout="3x4+1", gain_mm_mv=10.0)
    assert forced.signals.shape == (2500, 12) and forced.result.paper.from_page is False


def test_python_api_reads_the_speed_unless_given() -> None:
    """A 50 mm/s page shows 5 s a row: read so (its pulses are 10 mm wide) and returned as 5 s, not 10 with a NaN
    half; a speed the caller gives stands."""
    sig, fs, names = load_source(LUDB / "97")
    fast = dict(STANDARD, speed_mm_s=50.0)
    page = render_page(sig, fs, names, sample_config("clean", 44, dpi=120.0, calibration_pulse=True, **fast))
    result = digitize(page.image)
    assert result.result.paper.speed_mm_s == 50.0 and result.signals.shape == (2500, 12)
    assert np.isfinite(result.leads["II"]).mean() > 0.9
    assert result.metadata()["paper_speed_mm_s"] == 50.0 and result.metadata()["speed_read_from_page"]
    given = digitize(page.image, speed_mm_s=25.0)
    assert given.result.paper.speed_mm_s == 25.0 and given.signals.shape == (5000, 12)
    assert not given.metadata()["speed_read_from_page"]


def test_console_entry_points(tmp_path: Path) -> None:
    run = subprocess.run([sys.executable, "-m", "ecgdigitizer", "--help"], cwd=ROOT, capture_output=True, text=True)
    assert run.returncode == 0 and "ecg-digitize" in run.stdout
    script = Path(sys.executable).with_name("ecg-digitize")
    if script.exists():  # installed by `pip install .` (the set-up script installs the package)
        assert subprocess.run([str(script), "--help"], capture_output=True).returncode == 0
