"""The record layer on real records: both header formats, .dat and .mat, every rate, names in any case."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from conftest import CINC, DATA, LUDB, PTBXL_100, PTBXL_500
from ecgdigitizer import records
from ecgdigitizer.types import LEADS_12

import helper_code


def hide(header_text: str) -> str:
    """A header as the Challenge hides it: line-0 fields 1-4, signal lines without init/checksum/block."""
    lines = header_text.strip("\n").split("\n")
    n = int(lines[0].split()[1])
    out = [" ".join(lines[0].split()[:4])]
    for line in lines[1:1 + n]:
        f = line.split()
        out.append(" ".join(f[:5] + ["", "", ""] + [f[8]]))
    out += [ln for ln in lines if ln.startswith("# Image:")]
    return "\n".join(out) + "\n"


@pytest.mark.parametrize("record, fs, n, n_sig", [
    (PTBXL_500 / "00001_hr", 500, 5000, 12),
    (PTBXL_100 / "00001_lr", 100, 1000, 12),
    (CINC / "E07500", 500, 5000, 12),  # .mat signal file, fmt 16x1+24
    (LUDB / "1", 500, 5000, 12),  # lower-case names, per-lead gains
    (DATA / "ptbdb_wfdb_python" / "s0010_re", 1000, 38400, 15),  # 38.4 s, two signal files
])
def test_reads_real_records(record: Path, fs: int, n: int, n_sig: int) -> None:
    header = records.read_header(record)
    assert (header.fs, header.n_samples, header.n_sig) == (fs, n, n_sig)
    signal, fields = records.load_signal(record)
    assert signal.shape == (n, n_sig) and np.isfinite(signal).all()
    assert [s.casefold() for s in fields["sig_name"]] == [s.casefold() for s in header.lead_names]
    assert np.abs(signal).max() < 20  # millivolts, not ADC units


def test_hidden_header_parses_and_has_no_signal(tmp_path: Path) -> None:
    text = (PTBXL_500 / "00001_hr.hea").read_text() + "# Image: 00001_hr-0.png, 00001_hr-1.png\n"
    (tmp_path / "00001_hr.hea").write_text(hide(text))
    header = records.read_header(tmp_path / "00001_hr")
    assert header.lead_names == ["I", "II", "III", "AVR", "AVL", "AVF"] + [f"V{i}" for i in range(1, 7)]
    assert (header.fs, header.n_samples) == (500, 5000)
    assert header.image_files == ["00001_hr-0.png", "00001_hr-1.png"]
    assert records.load_signal(tmp_path / "00001_hr") == (None, None)
    # the template's helpers read the same header the same way
    hidden = (tmp_path / "00001_hr.hea").read_text()
    assert helper_code.get_signal_names(hidden) == header.lead_names
    assert helper_code.get_adc_gains(hidden) == [1000.0] * 12
    assert helper_code.get_checksums(hidden) == [None] * 12
    assert helper_code.get_image_files_from_header(hidden) == header.image_files


def test_save_then_load_is_exact_to_one_microvolt(tmp_path: Path) -> None:
    for source in (PTBXL_500 / "00002_hr", CINC / "JS20000", LUDB / "5"):
        signal, _ = records.load_signal(source)
        shutil.copy(f"{source}.hea", tmp_path / "out.hea")
        noisy = signal + np.random.default_rng(0).normal(0, 0.01, signal.shape)  # not on the ADC grid
        records.save_signal(tmp_path / "out", noisy)
        back, _ = records.load_signal(tmp_path / "out")
        gains = np.array([s.gain for s in records.read_header(tmp_path / "out").signals])
        # wfdb rounds to the nearest ADC step: 0.5 uV at the Challenge's 1000 adu/mV
        assert np.all(np.abs(back - noisy) <= 0.5 / gains + 1e-9)
        if gains.min() >= 1000:
            assert np.max(np.abs(back - noisy)) <= 1e-3


def test_nan_survives_a_round_trip_and_clipping_keeps_the_writer_alive(tmp_path: Path) -> None:
    header = records.read_header(PTBXL_500 / "00001_hr")
    x = np.zeros((5000, 12))
    x[:100, 0] = np.nan
    x[200, 1], x[201, 1], x[202, 1] = np.inf, 1e9, -1e9
    clipped = records.clip_to_header(x, header)
    assert np.isnan(clipped[200, 1]) and clipped[201, 1] == pytest.approx(32.767)
    assert clipped[202, 1] == pytest.approx(-32.767)
    shutil.copy(PTBXL_500 / "00001_hr.hea", tmp_path / "r.hea")
    records.save_signal(tmp_path / "r", clipped)
    back, _ = records.load_signal(tmp_path / "r")
    assert np.isnan(back[:100, 0]).all() and np.isnan(back[200, 1])
    assert back[201, 1] == pytest.approx(32.767)


@pytest.mark.parametrize("fs", [100, 250, 500, 1000])
def test_write_record_any_rate_and_length(tmp_path: Path, fs: int) -> None:
    n = int(fs * 7.3)
    x = np.sin(np.arange(n)[:, None] / fs * 2 * np.pi * np.arange(1, 13)) * 1.5
    records.write_record(tmp_path / f"r{fs}", x, fs, list(LEADS_12), ["Image: r-0.png", "Labels: NORM, CD"])
    header = records.read_header(tmp_path / f"r{fs}")
    assert (header.fs, header.n_samples, header.lead_names) == (fs, n, list(LEADS_12))
    assert header.image_files == ["r-0.png"] and header.labels == ["NORM", "CD"]
    back, _ = records.load_signal(tmp_path / f"r{fs}")
    assert np.max(np.abs(back - x)) <= 5e-4


def test_lead_names_match_in_any_case() -> None:
    x = np.arange(12.0)[None, :].repeat(3, 0)
    upper = ["I", "II", "III", "AVR", "AVL", "AVF", "V1", "V2", "V3", "V4", "V5", "V6"]
    lower = [n.lower() for n in reversed(upper)]
    out = records.reorder_leads(x, upper, lower)
    assert np.array_equal(out[0], np.arange(12.0)[::-1])
    assert np.isnan(records.reorder_leads(x, upper, ["V7"])).all()


@pytest.mark.parametrize("text, cause", [
    ("r 12\n", "needs name, signals, rate and length"),
    ("r 12 abc 5000\n", "sampling frequency"),
    ("r 2 500 5000\nr.dat 16 1000/mV 16 0 0 0 0 I\n", "announces 2 signals"),
    ("", "empty"),
])
def test_garbled_headers_name_the_record_and_cause(tmp_path: Path, text: str, cause: str) -> None:
    (tmp_path / "bad.hea").write_text(text)
    with pytest.raises(records.RecordError, match=cause) as err:
        records.read_header(tmp_path / "bad")
    assert "bad" in str(err.value)


def test_find_records_is_recursive_relative_and_sorted() -> None:
    found = records.find_records(DATA / "ptbxl")
    assert found[0] == "records100/00000/00001_lr" and len(found) == 500
    assert found == sorted(found)
