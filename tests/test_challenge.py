"""The Challenge entry: run_model.py / team_code.py / evaluate_model.py on Challenge-format records."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import CINC, LUDB, ROOT
from ecgdigitizer import records
from ecgdigitizer.generate import generate_record

import team_code


def hide(record: Path) -> None:
    """Turn a generated record into a hidden one, as the organisers do: trimmed header, no signal file."""
    text = record.with_suffix(".hea").read_text().strip("\n").split("\n")
    n = int(text[0].split()[1])
    lines = [" ".join(text[0].split()[:4])]
    lines += [" ".join(ln.split()[:5] + ["", "", ""] + [ln.split()[8]]) for ln in text[1:1 + n]]
    lines += [ln for ln in text if ln.startswith("# Image:")]
    record.with_suffix(".hea").write_text("\n".join(lines) + "\n")
    record.with_suffix(".dat").unlink()


@pytest.fixture(scope="module")
def hidden(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Two clean 150-dpi pages of held-out records: (hidden inputs, masked references)."""
    root = tmp_path_factory.mktemp("challenge")
    gen = root / "gen"
    for folder, rel in ((LUDB, "61"), (CINC, "HR06002")):
        generate_record(str(folder), rel, gen, "clean", 1, 3,
                        {"dpi": 150.0, "layout": "3x4+1", "column_time": "shifted", "speed_mm_s": 25.0,
                         "gain_limb": 10.0, "gain_chest": 10.0})
    data = root / "data"
    data.mkdir()
    for f in gen.iterdir():
        if f.is_file():
            shutil.copy(f, data)
    for hea in data.glob("*.hea"):
        hide(hea.with_suffix(""))
    return data, gen / "masked"


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=600)


def test_run_and_evaluate_end_to_end(hidden, tmp_path: Path) -> None:
    data, masked = hidden
    before = sorted((p.name, p.stat().st_mtime_ns) for p in data.iterdir())
    out = tmp_path / "out"
    result = run("run_model.py", "-d", str(data), "-m", str(tmp_path / "no_model"), "-o", str(out), "-v")
    assert result.returncode == 0, result.stderr
    assert sorted((p.name, p.stat().st_mtime_ns) for p in data.iterdir()) == before  # inputs untouched
    for hea in data.glob("*.hea"):
        written = (out / hea.name).read_text()
        assert written.startswith(hea.read_text().split("\n")[0])  # header copied, then the signal written
        signal, fields = records.load_signal(out / hea.stem)
        header = records.read_header(hea.with_suffix(""))
        assert signal.shape == (header.n_samples, header.n_sig)
        assert fields["sig_name"] == header.lead_names and fields["fs"] == header.fs
    scores = run("evaluate_model.py", "-d", str(masked), "-o", str(out))
    assert scores.returncode == 0, scores.stderr
    assert float(scores.stdout.split("SNR: ")[1].split()[0]) > 5.0


def test_run_models_output_is_float_shaped_clipped_finite(hidden) -> None:
    data, _ = hidden
    model, _ = team_code.load_models(str(ROOT / "nonexistent_model_folder"), False)
    for hea in data.glob("*.hea"):
        header = records.read_header(hea.with_suffix(""))
        signal, labels = team_code.run_models(str(hea.with_suffix("")), model, None, False)
        assert signal.dtype == np.float64 and signal.shape == (header.n_samples, header.n_sig)
        assert not np.isinf(signal).any() and np.nanmax(np.abs(signal)) <= 32.767
        assert labels is None


def test_failures_with_and_without_f(hidden, tmp_path: Path) -> None:
    data, _ = hidden
    bad = tmp_path / "bad"
    shutil.copytree(data, bad)
    names = sorted(p.stem for p in bad.glob("*.hea"))
    missing, corrupt = bad / names[0], bad / names[1]
    (bad / records.read_header(missing).image_files[0]).unlink()  # image missing
    (bad / records.read_header(corrupt).image_files[0]).write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    stop = run("run_model.py", "-d", str(bad), "-m", str(tmp_path / "m"), "-o", str(tmp_path / "o1"))
    assert stop.returncode != 0
    last = stop.stderr.strip().split("\n")[-1]
    assert last.startswith("run_model.py: ") and names[0] in last and "Traceback" not in stop.stderr
    go_on = run("run_model.py", "-d", str(bad), "-m", str(tmp_path / "m"), "-o", str(tmp_path / "o2"), "-f")
    assert go_on.returncode == 0, go_on.stderr
    assert "no such file" in go_on.stderr and "corrupt" in go_on.stderr
    for name in names:  # failed records still get their header, and no signal file
        assert (tmp_path / "o2" / f"{name}.hea").is_file()
        assert not (tmp_path / "o2" / f"{name}.dat").exists()


def test_bad_folders_get_one_clear_line(hidden, tmp_path: Path) -> None:
    data, _ = hidden
    empty = tmp_path / "empty"
    empty.mkdir()
    r = run("run_model.py", "-d", str(empty), "-m", str(tmp_path / "m"), "-o", str(tmp_path / "o"))
    assert r.returncode == 1 and "no records" in r.stderr and "Traceback" not in r.stderr
    locked = tmp_path / "locked"
    locked.mkdir()
    os.chmod(locked, 0o500)
    try:
        r = run("run_model.py", "-d", str(data), "-m", str(tmp_path / "m"), "-o", str(locked / "sub"))
        if os.geteuid() != 0:  # root may write anywhere; the check is then moot
            assert r.returncode == 1 and "output folder" in r.stderr
    finally:
        os.chmod(locked, 0o700)
    same = run("run_model.py", "-d", str(data), "-m", str(tmp_path / "m"), "-o", str(data))
    assert same.returncode == 1 and "must differ" in same.stderr


def test_missing_image_line_is_a_clear_error(tmp_path: Path) -> None:
    shutil.copy(LUDB / "61.hea", tmp_path / "61.hea")
    with pytest.raises(records.RecordError, match="no '# Image:' line"):
        team_code.run_models(str(tmp_path / "61"), None, None, False)
