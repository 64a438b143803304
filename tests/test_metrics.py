"""The official score on cases with known answers."""

from __future__ import annotations

import math
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import PTBXL_500, ROOT
from ecgdigitizer import metrics, records

FS = 500


@pytest.fixture(scope="module")
def ecg() -> np.ndarray:
    signal, _ = records.load_signal(PTBXL_500 / "00010_hr")
    return signal


def exact_noise(x: np.ndarray, snr_db: float, seed: int) -> np.ndarray:
    """Zero-mean white noise scaled so that the SNR against x is exactly snr_db."""
    n = np.random.default_rng(seed).normal(size=x.size)
    n -= n.mean()
    return n * math.sqrt(np.mean(x ** 2) / 10 ** (snr_db / 10) / np.mean(n ** 2))


def test_identical_signals_score_nan(ecg: np.ndarray) -> None:
    assert math.isnan(metrics.lead_snr(ecg[:, 0], ecg[:, 0].copy(), FS))


@pytest.mark.parametrize("snr_db", [10.0, 20.0, 30.0])
def test_white_noise_of_known_power(ecg: np.ndarray, snr_db: float) -> None:
    for lead in range(12):
        x = ecg[:, lead]
        y = x + exact_noise(x, snr_db, lead)
        assert metrics.snr(x, y) == pytest.approx(snr_db, abs=1e-9)
        # With noise several amplitude levels wide the raster correlation's peak can land one level (0.3 %
        # of the range) away, as in the official scorer, costing up to ~0.5 dB at 20 dB; at 30 dB it cannot.
        tolerance = {10.0: 1.5, 20.0: 0.5, 30.0: 0.1}[snr_db]
        assert metrics.lead_snr(x, y, FS) == pytest.approx(snr_db, abs=tolerance)


@pytest.mark.parametrize("shift", [20, -20])
def test_time_shift_is_recovered(ecg: np.ndarray, shift: int) -> None:
    x = ecg[:, 1]
    y = np.roll(x, -shift)  # y leads x by `shift` samples when shift > 0
    assert metrics.snr(x, y) < 5
    alignment = metrics.find_alignment(x, y, FS)
    assert alignment.applied and alignment.lag == shift and abs(alignment.offset) < 1e-9
    aligned = metrics.apply_alignment(y, alignment, x.size)
    if shift > 0:  # a leading estimate is delayed by NaN-padding in front
        assert np.isnan(aligned[:shift]).all()
    overlap = np.isfinite(aligned)
    np.testing.assert_array_equal(aligned[overlap][shift:-shift], x[overlap][shift:-shift])
    # what is left is the wrap-around of np.roll at one end, a sliver of the record
    assert metrics.lead_snr(x, y, FS) > 20 or math.isnan(metrics.lead_snr(x, y, FS))


def test_shift_beyond_half_a_second_or_one_millivolt_is_not_used(ecg: np.ndarray) -> None:
    x = ecg[:, 1]
    far = np.concatenate([np.full(400, np.nan), x[:-400]])  # 0.8 s late
    assert not metrics.find_alignment(x, far, FS).applied
    high = x + 1.5
    assert not metrics.find_alignment(x, high, FS).applied
    assert metrics.lead_snr(x, high, FS) == pytest.approx(metrics.snr(x, high))


def test_nothing_digitized_scores_zero(ecg: np.ndarray) -> None:
    assert metrics.lead_snr(ecg[:, 0], np.full(5000, np.nan), FS) == 0.0


def test_half_coverage_halves_the_score(ecg: np.ndarray) -> None:
    x = ecg[:, 2]
    y = x + exact_noise(x, 30.0, 3)
    half = y.copy()
    half[2500:] = np.nan
    assert metrics.snr(x, half) == pytest.approx(metrics.snr(x[:2500], y[:2500]) / 2)
    assert metrics.lead_snr(x, half, FS) == pytest.approx(metrics.lead_snr(x[:2500], y[:2500], FS) / 2, abs=0.1)
    # the reference's own NaNs (unplotted samples of a masked reference) do not count against coverage
    masked = x.copy()
    masked[2500:] = np.nan
    assert metrics.snr(masked, half) == pytest.approx(metrics.snr(x[:2500], y[:2500]))


def test_shorter_estimate_is_padded_and_longer_is_cut(ecg: np.ndarray) -> None:
    x = ecg[:, 3]
    y = x + exact_noise(x, 15.0, 4)
    assert metrics.snr(x, y[:2500]) == pytest.approx(metrics.snr(x[:2500], y[:2500]) / 2)
    assert metrics.snr(x, np.concatenate([y, y])) == pytest.approx(15.0)


def _write_outputs(tmp: Path, names: list[str], noise_db: dict[str, float], upper: bool) -> tuple[Path, Path]:
    ref, out = tmp / "ref", tmp / "out"
    ref.mkdir()
    out.mkdir()
    for name in names:
        shutil.copy(PTBXL_500 / f"{name}.hea", ref)
        shutil.copy(PTBXL_500 / f"{name}.dat", ref)
        if name not in noise_db:
            continue
        signal, fields = records.load_signal(PTBXL_500 / name)
        noisy = np.column_stack([signal[:, j] + exact_noise(signal[:, j], noise_db[name], j) for j in range(12)])
        leads = [n.upper() if upper else n.lower() for n in fields["sig_name"]]
        records.write_record(out / name, noisy[:, ::-1], FS, leads[::-1])  # other order, other case
    return ref, out


def test_folders_names_in_another_case_and_missing_output(tmp_path: Path) -> None:
    ref, out = _write_outputs(tmp_path, ["00001_hr", "00002_hr", "00003_hr"],
                              {"00001_hr": 30.0, "00002_hr": 25.0}, upper=False)
    result = metrics.evaluate_folders(ref, out)
    by_record: dict[str, list[float]] = {}
    for s in result.leads:
        by_record.setdefault(s.record, []).append(s.snr)
    assert np.allclose(by_record["00001_hr"], 30.0, atol=0.5)  # fmt-16 quantisation moves it a little
    assert np.allclose(by_record["00002_hr"], 25.0, atol=0.5)
    assert by_record["00003_hr"] == [0.0] * 12  # no output: every lead counts 0 dB
    assert result.mean() == pytest.approx(np.mean(by_record["00001_hr"] + by_record["00002_hr"] + [0.0] * 12))


def test_evaluate_model_command_line(tmp_path: Path) -> None:
    ref, out = _write_outputs(tmp_path, ["00004_hr"], {"00004_hr": 28.0}, upper=True)
    table = tmp_path / "table.tsv"
    run = subprocess.run([sys.executable, "evaluate_model.py", "-d", str(ref), "-o", str(out), "-x", "-t",
                          str(table)], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    snr = float(run.stdout.split("SNR: ")[1].split()[0])
    assert snr == pytest.approx(28.0, abs=0.3)
    for key in ("KS metric", "ASCI metric", "Weighted absolute difference metric", "F-measure"):
        assert key in run.stdout
    rows = table.read_text().strip().split("\n")
    assert rows[0].startswith("record\tlead\tsnr") and len(rows) == 13
    scores = tmp_path / "s.txt"
    subprocess.run([sys.executable, "evaluate_model.py", "-d", str(ref), "-o", str(out), "-n", "-s",
                    str(scores)], cwd=ROOT, check=True, timeout=120)
    assert scores.read_text().startswith("SNR: ")
    empty = subprocess.run([sys.executable, "evaluate_model.py", "-d", str(tmp_path / "nothing"), "-o", str(out)],
                           cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert empty.returncode == 1 and "no records" in empty.stderr


def test_f_measure() -> None:
    labels = [["NORM"], ["CD", "STTC"], ["CD"], ["NORM"]]
    outputs = [["NORM"], ["CD"], ["NORM"], []]
    macro, per_class = metrics.f_measure(labels, outputs)
    # NORM: tp 1, fp 1, fn 1 -> 0.5; CD: tp 1, fn 1 -> 2/3; STTC: fn 1 -> 0
    assert per_class == pytest.approx({"NORM": 0.5, "CD": 2 / 3, "STTC": 0.0})
    assert macro == pytest.approx((0.5 + 2 / 3 + 0.0) / 3)
