"""The PhysioNet Challenge 2024 digitization score, and the extra metrics, as ``../shared/CHALLENGE.md`` defines them.

Per record and lead (names matched case-insensitively), with ``x`` the reference and ``y`` the estimate:

1. *Alignment*: both leads are drawn as images of 256 amplitude levels over their joint range (one pixel per
   sample), blurred with a Gaussian of sigma 0.5 px and cross-correlated in 2-D. The peak gives a lag and an
   amplitude offset, used only when ``|lag| <= 0.5 s`` and ``|offset| <= 1 mV``. An estimate that leads is
   delayed by NaN-padding in front.
2. ``R`` = samples finite in ``x``; ``S`` = ``R`` and finite in ``y`` (the shorter signal is NaN-padded).
3. ``SNR = 10 log10(mean_S x^2 / mean_S (x - y)^2) * |S| / |R|``; nothing digitized gives 0 dB and a perfect
   estimate NaN (it is dropped from the mean).
4. The score is the NaN-mean over every (record, lead); a record with no output counts 0 dB per lead.
"""

from __future__ import annotations

import math
import os
from collections.abc import Collection
from dataclasses import dataclass, field

import numpy as np
from scipy.ndimage import gaussian_filter
from scipy.signal import butter, fftconvolve, filtfilt

from . import records
from .types import canonical_lead

LEVELS = 256
SIGMA = 0.5
MAX_LAG_S = 0.5
MAX_OFFSET_MV = 1.0


@dataclass(frozen=True)
class Alignment:
    lag: int  # samples the estimate was delayed by (negative: advanced)
    offset: float  # mV added to the estimate
    applied: bool


def _pad_to(a: np.ndarray, n: int) -> np.ndarray:
    if a.size >= n:
        return a[:n]
    return np.concatenate([a, np.full(n - a.size, np.nan)])


def _raster(v: np.ndarray, lo: float, step: float) -> np.ndarray:
    img = np.zeros((LEVELS, v.size), dtype=np.float32)
    t = np.flatnonzero(np.isfinite(v))
    q = np.clip(np.rint((v[t] - lo) / step), 0, LEVELS - 1).astype(int)
    img[q, t] = 1.0
    return gaussian_filter(img, SIGMA, mode="constant")


def find_alignment(x: np.ndarray, y: np.ndarray, fs: float) -> Alignment:
    """The lag and offset the 2-D raster cross-correlation finds, and whether they are within the limits."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    n = max(x.size, y.size)
    x, y = _pad_to(x, n), _pad_to(y, n)
    fx, fy = np.isfinite(x), np.isfinite(y)
    if not fx.any() or not fy.any():
        return Alignment(0, 0.0, False)
    lo = min(x[fx].min(), y[fy].min())
    hi = max(x[fx].max(), y[fy].max())
    if hi <= lo:
        return Alignment(0, 0.0, False)
    step = (hi - lo) / (LEVELS - 1)
    img_x, img_y = _raster(x, lo, step), _raster(y, lo, step)
    # correlation[k, m] = sum_{v,t} X[v, t] * Y[v - dv, t - dt] with dv = k - (LEVELS-1), dt = m - (n-1)
    corr = fftconvolve(img_x, img_y[::-1, ::-1], mode="full")
    k, m = np.unravel_index(int(np.argmax(corr)), corr.shape)
    dv, dt = int(k) - (LEVELS - 1), int(m) - (n - 1)
    offset = dv * step
    applied = abs(dt) <= MAX_LAG_S * fs and abs(offset) <= MAX_OFFSET_MV
    return Alignment(dt, offset, applied)


def apply_alignment(y: np.ndarray, alignment: Alignment, n: int) -> np.ndarray:
    """The estimate shifted by the alignment: delayed by NaN-padding in front, or advanced; length ``n``."""
    y = np.asarray(y, dtype=np.float64)
    if not alignment.applied:
        return _pad_to(y, n)
    lag = alignment.lag
    shifted = np.concatenate([np.full(lag, np.nan), y]) if lag >= 0 else y[-lag:]
    return _pad_to(shifted, n) + alignment.offset


def snr(x: np.ndarray, y: np.ndarray) -> float:
    """Coverage-scaled SNR in dB of ``y`` against ``x`` (no alignment). 0 when nothing overlaps, NaN when perfect."""
    x = np.asarray(x, dtype=np.float64)
    n = x.size
    y = _pad_to(np.asarray(y, dtype=np.float64), n)
    r = np.isfinite(x)
    s = r & np.isfinite(y)
    if not r.any():
        return math.nan
    if not s.any():
        return 0.0
    noise = float(np.mean((x[s] - y[s]) ** 2))
    power = float(np.mean(x[s] ** 2))
    if noise == 0.0 or power == 0.0:
        return math.nan
    return 10.0 * math.log10(power / noise) * (s.sum() / r.sum())


def lead_snr(x: np.ndarray, y: np.ndarray, fs: float, align: bool = True) -> float:
    """The official per-lead score: alignment (optional) then coverage-scaled SNR."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if align:
        y = apply_alignment(y, find_alignment(x, y, fs), x.size)
    return snr(x, y)


def _overlap(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    y = _pad_to(np.asarray(y, dtype=np.float64), x.size)
    s = np.isfinite(x) & np.isfinite(y)
    return x[s], y[s]


def ks_metric(x: np.ndarray, y: np.ndarray) -> float:
    """1 - the largest gap between the cumulative |x| and |y| curves (each normalised to end at 1)."""
    a, b = _overlap(np.asarray(x, dtype=np.float64), y)
    if a.size == 0:
        return math.nan
    ca, cb = np.cumsum(np.abs(a)), np.cumsum(np.abs(b))
    if ca[-1] > 0:
        ca = ca / ca[-1]
    if cb[-1] > 0:
        cb = cb / cb[-1]
    return float(1.0 - np.max(np.abs(ca - cb)))


def asci_metric(x: np.ndarray, y: np.ndarray, beta: float = 0.05) -> float:
    """Mean of +1 where |x - y| <= beta * std(x), -1 elsewhere."""
    a, b = _overlap(np.asarray(x, dtype=np.float64), y)
    if a.size == 0:
        return math.nan
    return float(np.mean(np.where(np.abs(a - b) <= beta * np.std(a), 1.0, -1.0)))


def weighted_absolute_difference(x: np.ndarray, y: np.ndarray, fs: float) -> float:
    """Mean |x - y| weighted towards low-amplitude parts of the (low-passed) reference."""
    a, b = _overlap(np.asarray(x, dtype=np.float64), y)
    if a.size <= 18 or fs <= 4:
        return math.nan
    bb, aa = butter(5, fs / 4, fs=fs)
    smooth = filtfilt(bb, aa, a, method="gust")
    top = np.max(smooth)
    weights = 1.0 - (0.5 / top) * smooth if top != 0 else np.ones_like(a)
    return float(np.sum(np.abs(a - b) * weights) / np.sum(weights))


def snr_median(x: np.ndarray, y: np.ndarray) -> float:
    """Mean signal power over the median noise power, in dB."""
    a, b = _overlap(np.asarray(x, dtype=np.float64), y)
    if a.size == 0:
        return math.nan
    noise = float(np.median((a - b) ** 2))
    return 10.0 * math.log10(float(np.mean(a ** 2)) / noise) if noise > 0 else math.nan


def f_measure(labels: list[list[str]], outputs: list[list[str]]) -> tuple[float, dict[str, float]]:
    """Macro F-measure over the classes that occur in the reference labels."""
    classes = sorted(set().union(*map(set, labels))) if labels else []
    per_class: dict[str, float] = {}
    for c in classes:
        tp = sum(c in lab and c in out for lab, out in zip(labels, outputs))
        fp = sum(c not in lab and c in out for lab, out in zip(labels, outputs))
        fn = sum(c in lab and c not in out for lab, out in zip(labels, outputs))
        per_class[c] = 2 * tp / (2 * tp + fp + fn) if (2 * tp + fp + fn) > 0 else math.nan
    values = [v for v in per_class.values() if not math.isnan(v)]
    return (float(np.mean(values)) if values else math.nan), per_class


@dataclass
class LeadScore:
    record: str
    lead: str
    snr: float
    snr_no_align: float = math.nan
    lag: int = 0
    offset: float = 0.0
    ks: float = math.nan
    asci: float = math.nan
    wad: float = math.nan
    snr_median: float = math.nan


@dataclass
class Evaluation:
    leads: list[LeadScore] = field(default_factory=list)
    f_measure: float = math.nan
    problems: list[str] = field(default_factory=list)

    def mean(self, attr: str = "snr") -> float:
        values = np.array([getattr(s, attr) for s in self.leads], dtype=np.float64)
        return float(np.nanmean(values)) if np.isfinite(values).any() else math.nan


def score_signals(record: str, ref: np.ndarray, ref_names: list[str], out: np.ndarray | None,
                  out_names: list[str], fs: float, align: bool = True, extra: bool = False) -> list[LeadScore]:
    """Score one record's output against its reference, lead by lead (names matched case-insensitively)."""
    if out is None:
        return [LeadScore(record, name, 0.0, 0.0) for name in ref_names]
    index = {canonical_lead(n).casefold(): j for j, n in enumerate(out_names)}
    scores = []
    for i, name in enumerate(ref_names):
        x = ref[:, i]
        j = index.get(canonical_lead(name).casefold())
        y = out[:, j] if j is not None else np.full(x.size, np.nan)
        al = find_alignment(x, y, fs) if align else Alignment(0, 0.0, False)
        y_al = apply_alignment(y, al, x.size)
        score = LeadScore(record, name, snr(x, y_al), snr(x, y), al.lag if al.applied else 0,
                          al.offset if al.applied else 0.0)
        if extra:
            score.ks = ks_metric(x, y_al)
            score.asci = asci_metric(x, y_al)
            score.wad = weighted_absolute_difference(x, y_al, fs)
            score.snr_median = snr_median(x, y_al)
        scores.append(score)
    return scores


def evaluate_folders(ref_folder: str | os.PathLike[str], out_folder: str | os.PathLike[str],
                     align: bool = True, extra: bool = False, only: Collection[str] | None = None) -> Evaluation:
    """Score every record of ``ref_folder`` (or those named in ``only``) that has a reference signal against
    ``out_folder``."""
    names = [n for n in records.find_records(ref_folder) if only is None or n in only]
    if not names:
        raise records.RecordError(f"{ref_folder}: no records (.hea files) found")
    result = Evaluation()
    labels, outputs = [], []
    for name in names:
        ref_path = os.path.join(ref_folder, name)
        out_path = os.path.join(out_folder, name)
        try:
            ref, ref_fields = records.load_signal(ref_path)
        except records.RecordError as e:
            result.problems.append(str(e))
            continue
        ref_header = records.read_header(ref_path)
        out_header = None
        if os.path.isfile(out_path + ".hea"):
            try:
                out_header = records.read_header(out_path)
            except records.RecordError as e:
                result.problems.append(f"output {e}")
        if ref is not None and ref_fields is not None:
            out, out_names = None, []
            if out_header is not None:
                try:
                    out, out_fields = records.load_signal(out_path)
                except records.RecordError as e:
                    result.problems.append(f"output {e}")
                    out, out_fields = None, None
                if out is not None and out_fields is not None:
                    if float(out_fields["fs"]) != float(ref_fields["fs"]):
                        result.problems.append(
                            f"{name}: output rate {out_fields['fs']} Hz differs from the reference "
                            f"{ref_fields['fs']} Hz; scored as missing")
                        out = None
                    else:
                        out_names = list(out_fields["sig_name"])
                        n = ref.shape[0]
                        out = (out[:n] if out.shape[0] >= n
                               else np.vstack([out, np.full((n - out.shape[0], out.shape[1]), np.nan)]))
            result.leads += score_signals(name, ref, list(ref_fields["sig_name"]), out, out_names,
                                          float(ref_fields["fs"]), align=align, extra=extra)
        if ref_header.labels:
            labels.append(ref_header.labels)
            outputs.append(out_header.labels if out_header is not None else [])
    if labels and any(outputs):
        result.f_measure = f_measure(labels, outputs)[0]
    return result
