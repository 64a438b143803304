"""The Python API for people outside the Challenge.

    from ecgdigitizer import digitize
    result = digitize("scan.png")            # the shipped model, 500 Hz, the page's own duration
    result.signals                           # (n_samples, 12) mV, NaN where nothing was read
    result.leads["V1"]                       # one lead
    result.to_wfdb("out/")                   # scan.hea / scan.dat
    result.plot("scan.overlay.png")          # the reading drawn over the page
"""

from __future__ import annotations

import csv
import json
import os
import sys
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from . import __version__, records
from .images import load_pages
from .pipeline import Digitizer
from .types import LEADS_12, PageResult, PaperSettings

_CACHE: dict[str, Digitizer] = {}


def default_model_dir() -> Path:
    """``$ECGD_MODEL``, else the repository's ``model/``, else the copy installed with the package."""
    if os.environ.get("ECGD_MODEL"):
        return Path(os.environ["ECGD_MODEL"])
    repo = Path(__file__).resolve().parents[1] / "model"
    if (repo / "unet.json").is_file() or (repo / "yolo.json").is_file():
        return repo
    return Path(sys.prefix) / "share" / "ecgdigitizer" / "model"


def load_digitizer(model: str | os.PathLike[str] | None = None) -> Digitizer:
    """The digitizer with the learned stages of ``model`` (loaded once per process and folder)."""
    from .challenge import load_models

    folder = str(model or default_model_dir())
    if folder not in _CACHE:
        _CACHE[folder] = load_models(folder)[0]
    return _CACHE[folder]


def model_version(model: str | os.PathLike[str] | None = None) -> str:
    folder = Path(model or default_model_dir())
    info = folder / "training.json"
    if info.is_file():
        data = json.loads(info.read_text())
        return f"{folder.name} (generator {data.get('generator', '?')}, {data.get('records_train', '?')} records)"
    return "baselines (no trained model found)"


def _atomic_write(path: Path, write) -> None:
    """Write through a temporary file in the same folder, then rename: never a half-written file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=path.suffix)
    os.close(fd)
    try:
        write(Path(tmp))
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


@dataclass
class Digitized:
    """A page read by the pipeline, with the image it came from."""

    result: PageResult
    image: np.ndarray
    source: str = ""
    model: str = ""

    @property
    def signals(self) -> np.ndarray:
        return self.result.signals

    @property
    def fs(self) -> float:
        return self.result.fs

    @property
    def lead_names(self) -> list[str]:
        return self.result.lead_names

    @property
    def leads(self) -> dict[str, np.ndarray]:
        return {n: self.result.signals[:, j] for j, n in enumerate(self.result.lead_names)}

    @property
    def ok(self) -> bool:
        return self.result.ok

    def metadata(self) -> dict:
        """Everything a reader needs to trust the result: layout, boxes, scales, confidence, NaN share."""
        r = self.result
        return {
            "source": self.source, "software": f"ecgdigitizer {__version__}", "model": self.model,
            "fs": r.fs, "n_samples": int(r.signals.shape[0]), "leads": r.lead_names,
            "layout": r.layout.layout.name if r.layout else None,
            "lead_boxes": [dict(lb.box.to_dict(), lead=lb.cell.lead, t0=lb.cell.t0, t1=lb.cell.t1,
                                baseline_y=lb.baseline_y) for lb in r.layout.boxes] if r.layout else [],
            "px_per_mm": [r.scale.px_per_mm_x, r.scale.px_per_mm_y] if r.scale else None,
            "scale_from": r.scale.source if r.scale else None,
            "paper_speed_mm_s": r.paper.speed_mm_s if r.paper else None,
            "gain_mm_mv": {"limb": r.paper.gain_limb_mm_mv, "chest": r.paper.gain_chest_mm_mv} if r.paper else None,
            "gain_read_from_page": bool(r.paper and r.paper.from_page),
            "speed_read_from_page": bool(r.paper and r.paper.speed_from_page),
            "rotation_deg": r.rotation_deg,
            "perspective_corrected": any("perspective" in n for n in r.notes),
            "homography": r.homography.tolist() if r.homography is not None else None,
            "confidence": {k: round(v.confidence, 3) for k, v in r.leads.items()},
            "nan_share": {n: round(float(np.isnan(r.signals[:, j]).mean()), 3) for j, n in enumerate(r.lead_names)},
            "reason": r.reason, "notes": r.notes, "seconds": {k: round(v, 3) for k, v in r.timings.items()},
        }

    def to_wfdb(self, folder: str | os.PathLike[str], name: str = "ecg") -> Path:
        """``folder/name.hea`` and ``.dat`` (fmt 16, 1 uV resolution, mV); NaN is stored as a missing sample."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=folder, prefix=".tmp-") as tmp:
            records.write_record(Path(tmp) / name, self.signals, self.fs, self.lead_names,
                                 [f"Source: {self.source}", f"Software: ecgdigitizer {__version__}"])
            for ext in (".hea", ".dat"):
                os.replace(Path(tmp) / f"{name}{ext}", folder / f"{name}{ext}")
        return folder / f"{name}.hea"

    def to_csv(self, path: str | os.PathLike[str]) -> Path:
        """A time column (s) and one column per lead (mV), with a header row; empty cells where NaN."""
        path = Path(path)

        def write(tmp: Path) -> None:
            with open(tmp, "w", newline="") as f:
                w = csv.writer(f)
                w.writerow(["time_s"] + self.lead_names)
                t = np.arange(self.signals.shape[0]) / self.fs
                for i in range(self.signals.shape[0]):
                    w.writerow([f"{t[i]:.4f}"] + ["" if np.isnan(v) else f"{v:.4f}" for v in self.signals[i]])
        _atomic_write(path, write)
        return path

    def to_json(self, path: str | os.PathLike[str]) -> Path:
        path = Path(path)
        _atomic_write(path, lambda tmp: tmp.write_text(json.dumps(self.metadata(), indent=1)))
        return path

    def plot(self, path: str | os.PathLike[str] | None = None) -> np.ndarray:
        """The page with each extracted trace drawn over it (RGB array); saved as PNG when ``path`` is given."""
        import cv2

        from .overlay import draw_overlay

        picture = draw_overlay(self.image, self.result)
        if path is not None:
            path = Path(path)
            _atomic_write(path, lambda tmp: cv2.imwrite(str(tmp), cv2.cvtColor(picture, cv2.COLOR_RGB2BGR)))
        return picture


def digitize(image: str | os.PathLike[str] | np.ndarray, fs: float = 500.0, duration: float | None = None,
             model: str | os.PathLike[str] | None = None, layout: str | None = None,
             speed_mm_s: float | None = None, gain_mm_mv: float | None = None, page: int = 0,
             digitizer: Digitizer | None = None) -> Digitized:
    """Read one page (a path, or an RGB array) into 12 leads at ``fs`` Hz.

    ``duration`` defaults to what a row of the page shows (10 s at 25 mm/s, 5 s at 50 mm/s). ``layout``,
    ``speed_mm_s`` and ``gain_mm_mv`` override what the page shows; ``page`` picks a page of a TIFF or PDF.
    """
    if isinstance(image, np.ndarray):
        array, source = image, "<array>"
    else:
        array, source = load_pages(image)[page], str(image)
    base = digitizer or load_digitizer(model)
    paper = PaperSettings(speed_mm_s=speed_mm_s or 25.0,
                          gain_limb_mm_mv=gain_mm_mv or 10.0, gain_chest_mm_mv=gain_mm_mv or 10.0,
                          from_page=False)
    configured = replace(base, paper=paper, layout=layout, read_gain_from_pulse=gain_mm_mv is None,
                         read_speed_from_page=speed_mm_s is None)
    seconds = duration or paper.span_s
    result = configured.digitize(array, fs, int(round(seconds * fs)), list(LEADS_12))
    if duration is None and result.paper is not None and result.paper.span_s < seconds:
        # the page showed a faster speed than assumed (50 mm/s: 5 s a row): no NaN tail for what no row shows
        n = round(result.paper.span_s * fs)
        result.signals = result.signals[:n]
        for lead in result.leads.values():
            lead.signal = lead.signal[:n]
    return Digitized(result, array, source, model_version(model))
