"""WFDB records in the Challenge format: headers (full and hidden), signals, images, labels.

Signals are read and written with the ``wfdb`` library. Headers are parsed here as well, because the
Challenge's hidden headers drop fields (``file fmt gain adc_res adc_zero    name``) and every reader has to
agree on what such a line means. Lead names are matched case-insensitively everywhere.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .types import canonical_lead

IMAGE_KEY = "Image:"
LABELS_KEY = "Labels:"

#: Samples a format can hold; the most negative value of each is WFDB's "no sample" marker.
_FORMAT_LIMITS = {"8": 127, "16": 32767, "24": 8388607, "32": 2147483647, "80": 127, "212": 2047,
                  "310": 511, "311": 511, "61": 32767, "160": 32767}


class RecordError(Exception):
    """A record that cannot be read or written; the message names the record and the cause."""


@dataclass
class SignalSpec:
    """One signal line of a header."""

    file: str
    fmt: str
    gain: float
    baseline: int
    units: str
    adc_res: int | None
    adc_zero: int | None
    name: str


@dataclass
class Header:
    """A parsed WFDB header. ``text`` is the header exactly as read."""

    name: str
    n_sig: int
    fs: float
    n_samples: int
    signals: list[SignalSpec]
    comments: list[str] = field(default_factory=list)
    text: str = ""

    @property
    def lead_names(self) -> list[str]:
        return [s.name for s in self.signals]

    @property
    def image_files(self) -> list[str]:
        return comment_values(self.comments, IMAGE_KEY)

    @property
    def labels(self) -> list[str]:
        return comment_values(self.comments, LABELS_KEY)

    @property
    def signal_files(self) -> list[str]:
        files: list[str] = []
        for s in self.signals:
            if s.file and s.file not in files:
                files.append(s.file)
        return files


def _number(token: str, what: str, record: str) -> float:
    try:
        return float(token)
    except ValueError:
        raise RecordError(f"{record}: header field {what} is {token!r}, not a number") from None


def _parse_gain(token: str) -> tuple[float, int | None, str]:
    """``'1000.0(0)/mV'`` → (1000.0, 0, 'mV'); ``'2000'`` → (2000.0, None, 'mV')."""
    units = "mV"
    if "/" in token:
        token, units = token.split("/", 1)
    baseline = None
    if "(" in token and token.endswith(")"):
        token, base = token[:-1].split("(", 1)
        baseline = int(float(base))
    gain = float(token) if token else 0.0
    return (gain if gain != 0 else 200.0), baseline, units


def parse_header(text: str, record: str = "record") -> Header:
    """Parse a full or hidden-format header. Raises :class:`RecordError` with the cause."""
    lines = [ln.rstrip("\r") for ln in text.split("\n")]
    body = [ln for ln in lines if ln.strip() and not ln.lstrip().startswith("#")]
    comments = [ln.strip() for ln in lines if ln.lstrip().startswith("#")]
    if not body:
        raise RecordError(f"{record}: header is empty")
    first = body[0].split()
    if len(first) < 4:
        raise RecordError(f"{record}: header line 0 {body[0]!r} needs name, signals, rate and length")
    name = first[0].split("/")[0]
    n_sig = int(_number(first[1], "number of signals", record))
    fs = _number(first[2].split("/")[0], "sampling frequency", record)
    n_samples = int(_number(first[3], "number of samples", record))
    if n_sig < 0 or fs <= 0 or n_samples < 0:
        raise RecordError(f"{record}: header line 0 {body[0]!r} has a non-positive rate or negative size")
    if len(body) - 1 < n_sig:
        raise RecordError(f"{record}: header announces {n_sig} signals but has {len(body) - 1} signal lines")
    signals = []
    for ln in body[1:1 + n_sig]:
        exact = ln.split(" ")
        tokens = ln.split()
        if len(tokens) >= 9:  # full format: the description (lead name) is everything after block size
            lead = " ".join(tokens[8:])
        elif len(exact) >= 9 and exact[8].strip():  # hidden format: init/checksum/block left empty
            lead = exact[8].strip()
        elif len(tokens) > 5 and not _is_number(tokens[-1]):  # hidden format with the spaces collapsed
            lead = tokens[-1]
        else:
            lead = ""
        if len(tokens) < 2:
            raise RecordError(f"{record}: signal line {ln!r} has no format")
        gain, baseline, units = _parse_gain(tokens[2]) if len(tokens) > 2 and _is_gain(tokens[2]) else (200.0, None, "mV")
        adc_res = int(tokens[3]) if len(tokens) > 3 and _is_int(tokens[3]) else None
        adc_zero = int(tokens[4]) if len(tokens) > 4 and _is_int(tokens[4]) else None
        if baseline is None:
            baseline = adc_zero if adc_zero is not None else 0
        signals.append(SignalSpec(tokens[0], tokens[1], gain, baseline, units, adc_res, adc_zero, lead))
    return Header(name, n_sig, fs, n_samples, signals, comments, text)


def _is_number(token: str) -> bool:
    try:
        float(token)
        return True
    except ValueError:
        return False


def _is_int(token: str) -> bool:
    try:
        int(token)
        return True
    except ValueError:
        return False


def _is_gain(token: str) -> bool:
    return _is_number(token.split("/")[0].split("(")[0] or "x")


def comment_values(comments: list[str], key: str) -> list[str]:
    """Values of ``# Key: a, b`` lines (also ``#Key:``), comma-separated, in order."""
    values: list[str] = []
    for c in comments:
        body = c.lstrip("#").strip()
        if body.casefold().startswith(key.casefold()):
            values += [v.strip() for v in body[len(key):].split(",") if v.strip()]
    return values


def header_path(record: str | os.PathLike[str]) -> Path:
    p = str(record)
    return Path(p if p.endswith(".hea") else p + ".hea")


def read_header(record: str | os.PathLike[str]) -> Header:
    """Read and parse ``record.hea``; :class:`RecordError` if missing, unreadable or garbled."""
    path = header_path(record)
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise RecordError(f"{record}: no header file {path}") from None
    except (OSError, UnicodeDecodeError) as e:
        raise RecordError(f"{record}: cannot read header {path}: {e}") from None
    return parse_header(text, str(record))


def find_records(folder: str | os.PathLike[str]) -> list[str]:
    """Every ``.hea`` below ``folder``, as a relative path without extension, sorted."""
    records = set()
    for root, _dirs, files in os.walk(folder):
        for f in files:
            if f.endswith(".hea"):
                records.add(os.path.relpath(os.path.join(root, f), folder)[:-4])
    return sorted(records)


def load_signal(record: str | os.PathLike[str]) -> tuple[np.ndarray | None, dict | None]:
    """Physical signal (n_samples, n_sig) in the header's units, NaN where a sample is missing.

    Returns ``(None, None)`` when the header names no signal file or a signal file is absent (hidden records).
    """
    import wfdb

    header = read_header(record)
    folder = Path(str(record)).parent
    files = header.signal_files
    if not files or not all((folder / f).is_file() for f in files):
        return None, None
    try:
        signal, fields = wfdb.rdsamp(str(record))
    except Exception as e:  # wfdb raises many types for damaged files
        raise RecordError(f"{record}: cannot read signal: {e}") from None
    return np.asarray(signal, dtype=np.float64), fields


def writable_range(header: Header) -> tuple[np.ndarray, np.ndarray]:
    """Per signal, the lowest and highest physical value the header's format and gain can store."""
    lo, hi = [], []
    for s in header.signals:
        base_fmt = s.fmt.split("x")[0].split(":")[0].split("+")[0]
        top = _FORMAT_LIMITS.get(base_fmt, 32767)
        lo.append((-top - s.baseline) / s.gain)
        hi.append((top - s.baseline) / s.gain)
    return np.array(lo), np.array(hi)


def clip_to_header(signal: np.ndarray, header: Header) -> np.ndarray:
    """Float copy with ±inf turned into NaN and every value clipped to what the header can store."""
    out = np.array(signal, dtype=np.float64, copy=True)
    out[~np.isfinite(out)] = np.nan
    lo, hi = writable_range(header)
    with np.errstate(invalid="ignore"):
        np.clip(out, lo[None, :out.shape[1]], hi[None, :out.shape[1]], out=out)
    return out


def save_signal(record: str | os.PathLike[str], signal: np.ndarray, comments: list[str] | None = None) -> None:
    """Write ``signal`` with the format, gains, baselines, units and names of the existing ``record.hea``."""
    import wfdb

    header = read_header(record)
    folder, name = os.path.split(str(record))
    signal = np.asarray(signal, dtype=np.float64)
    if signal.ndim != 2 or signal.shape[1] != header.n_sig:
        raise RecordError(f"{record}: signal of shape {signal.shape} does not fit {header.n_sig} signals")
    fmts = [s.fmt.split("x")[0].split(":")[0].split("+")[0] for s in header.signals]
    wfdb.wrsamp(name, fs=header.fs, units=[s.units for s in header.signals],
                sig_name=[s.name for s in header.signals], p_signal=signal, fmt=fmts,
                adc_gain=[s.gain for s in header.signals], baseline=[s.baseline for s in header.signals],
                comments=[c.lstrip("#").strip() for c in (comments or [])], write_dir=folder or ".")


def write_record(path: str | os.PathLike[str], signal: np.ndarray, fs: float, lead_names: list[str],
                 comments: list[str] | None = None, gain: float = 1000.0) -> None:
    """Write a new fmt-16 record ``path`` (without extension) in mV; NaN samples are stored as missing."""
    import wfdb

    folder, name = os.path.split(str(path))
    signal = np.asarray(signal, dtype=np.float64)
    limit = 32767 / gain
    signal = np.where(np.isfinite(signal), np.clip(signal, -limit, limit), np.nan)
    n = signal.shape[1]
    fs_out: float | int = int(fs) if float(fs).is_integer() else fs
    wfdb.wrsamp(name, fs=fs_out, units=["mV"] * n, sig_name=list(lead_names), p_signal=signal, fmt=["16"] * n,
                adc_gain=[gain] * n, baseline=[0] * n, comments=[c.lstrip("#").strip() for c in (comments or [])],
                write_dir=folder or ".")


def reorder_leads(signal: np.ndarray, names_from: list[str], names_to: list[str]) -> np.ndarray:
    """Columns of ``signal`` (named ``names_from``) rearranged to ``names_to``; absent leads are NaN."""
    index = {canonical_lead(n).casefold(): i for i, n in enumerate(names_from)}
    out = np.full((signal.shape[0], len(names_to)), np.nan)
    for j, n in enumerate(names_to):
        i = index.get(canonical_lead(n).casefold())
        if i is not None:
            out[:, j] = signal[:, i]
    return out


def image_paths(record: str | os.PathLike[str], header: Header | None = None) -> list[Path]:
    """Paths of the ``# Image:`` files of a record (whether or not they exist)."""
    header = header or read_header(record)
    folder = Path(str(record)).parent
    return [folder / f for f in header.image_files]
