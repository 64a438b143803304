"""Write generated pages and their ground truth to disk, one record or a whole folder at a time.

For a page named ``NAME`` under ``OUT``::

    NAME.hea, NAME.dat, NAME-0.png|jpg   Challenge-format record: header with '# Image:', reference signal
    masked/NAME.hea, NAME.dat            the reference with NaN where nothing is plotted (what is scored)
    truth/NAME-0.mask.png                trace-only mask: 255 trace, 128 calibration pulse/separator
    truth/NAME-0.json                    page metadata, lead boxes with names, configuration
    truth/NAME-0.trace.npz               every plotted sample's pixel position (the exact polylines)
    yolo/NAME-0.txt                      lead boxes as YOLO labels (class = index in LEADS_12)
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any, Iterator

import cv2
import numpy as np

from .. import records
from ..types import LEADS_12, canonical_lead
from .config import sample_config
from .render import RenderedPage, render_page

# 1.1: the pen's ink is the area it covers (1.0: OpenCV's anti-aliased thick lines); 1.2: at 50 mm/s the
# calibration pulse (10 mm) ends before the traces start (1.1 kept 7 mm for it and drew it over their first 4 mm)
GENERATOR_VERSION = "1.2"


def load_source(record: str | os.PathLike[str]) -> tuple[np.ndarray, float, list[str]]:
    """The standard leads of a record (any rate, any subset, names in any case), in mV."""
    signal, fields = records.load_signal(record)
    if signal is None or fields is None:
        raise records.RecordError(f"{record}: no signal file to draw from")
    names = [canonical_lead(n) for n in fields["sig_name"]]
    keep = [i for i, n in enumerate(names) if n in LEADS_12]
    if not keep:
        raise records.RecordError(f"{record}: none of its signals is one of the 12 standard leads")
    sig = np.nan_to_num(signal[:, keep], nan=0.0)
    return sig, float(fields["fs"]), [names[i] for i in keep]


def page_name(relative_record: str, k: int) -> str:
    """A WFDB-safe record name for page ``k`` of a source record."""
    return re.sub(r"[^A-Za-z0-9_-]", "_", relative_record.strip("/")) + f"_g{k}"


def write_page(out: str | os.PathLike[str], name: str, page: RenderedPage, signal: np.ndarray, fs: float,
               source: str) -> dict[str, Any]:
    """Write one rendered page and all its ground truth; returns its metadata."""
    out = Path(out)
    for sub in ("masked", "truth", "yolo"):
        (out / sub).mkdir(parents=True, exist_ok=True)
    jpeg = page.config.artifacts.jpeg_quality
    image_file = f"{name}-0.{'jpg' if jpeg else 'png'}"
    img = page.image if page.image.ndim == 2 else cv2.cvtColor(page.image, cv2.COLOR_RGB2BGR)
    params = [cv2.IMWRITE_JPEG_QUALITY, jpeg] if jpeg else [cv2.IMWRITE_PNG_COMPRESSION, 1]
    if not cv2.imwrite(str(out / image_file), img, params):
        raise OSError(f"cannot write {out / image_file}")
    cv2.imwrite(str(out / "truth" / f"{name}-0.mask.png"), page.mask, [cv2.IMWRITE_PNG_COMPRESSION, 1])

    comments = [f"Image: {image_file}", f"Source: {source}", f"Generator: ecgdigitizer {GENERATOR_VERSION} "
                f"preset={page.config.preset} seed={page.config.seed} layout={page.config.layout}"]
    reference = signal[: page.n_samples]
    records.write_record(out / name, reference, fs, page.lead_names, comments)
    records.write_record(out / "masked" / name, page.masked, fs, page.lead_names, comments[1:])

    meta = dict(page.meta, record=name, image=image_file, source=source, generator=GENERATOR_VERSION,
                mask=f"truth/{name}-0.mask.png", trace=f"truth/{name}-0.trace.npz")
    (out / "truth" / f"{name}-0.json").write_text(json.dumps(meta, indent=1))
    _write_trace(out / "truth" / f"{name}-0.trace.npz", page)
    _write_yolo(out / "yolo" / f"{name}-0.txt", meta)
    return meta


def _write_trace(path: Path, page: RenderedPage) -> None:
    ps = page.placements
    np.savez(
        path,
        lead=np.array([p.cell.lead for p in ps]),
        row=np.array([p.cell.row for p in ps]), col=np.array([p.cell.col for p in ps]),
        offsets=np.cumsum([0] + [len(p.samples) for p in ps]),
        samples=np.concatenate([p.samples for p in ps]) if ps else np.zeros(0, int),
        xy=np.concatenate([p.xy for p in ps]) if ps else np.zeros((0, 2)),
    )


def read_trace(path: str | os.PathLike[str]) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """The polylines of a page: (lead, sample indices, (n, 2) pixel positions) per plotted segment."""
    z = np.load(path)
    off = z["offsets"]
    return [(str(z["lead"][k]), z["samples"][off[k]:off[k + 1]], z["xy"][off[k]:off[k + 1]])
            for k in range(len(z["lead"]))]


def _write_yolo(path: Path, meta: dict[str, Any]) -> None:
    w, h = meta["image_size"]
    lines = []
    for lead in meta["leads"]:
        if lead["box"] is None:
            continue
        x0, y0, x1, y1 = lead["box"]
        lines.append(f"{LEADS_12.index(lead['lead'])} {(x0 + x1) / 2 / w:.6f} {(y0 + y1) / 2 / h:.6f} "
                     f"{(x1 - x0) / w:.6f} {(y1 - y0) / h:.6f}")
    path.write_text("\n".join(lines) + ("\n" if lines else ""))


def page_seed(seed: int, record: str, k: int) -> int:
    """A page's seed from the run seed, the record's name and the page number (stable across runs)."""
    digest = np.frombuffer(record.encode(), dtype=np.uint8)
    return int(np.random.SeedSequence([seed, k, *digest.tolist()]).generate_state(1)[0])


def generate_record(root: str, relative: str, out: str | os.PathLike[str], preset: str, per_record: int,
                    seed: int, overrides: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """Render ``per_record`` pages of one source record; failures come back as ``{'error': ...}``."""
    cv2.setNumThreads(1)
    try:
        signal, fs, names = load_source(os.path.join(root, relative))
    except records.RecordError as e:
        return [{"record": relative, "error": str(e)}]
    metas = []
    for k in range(per_record):
        name = page_name(relative, k)
        cfg = sample_config(preset, page_seed(seed, relative, k), **(overrides or {}))
        page = render_page(signal, fs, names, cfg)
        metas.append(write_page(out, name, page, signal, fs, relative))
    return metas


def generate(root: str | os.PathLike[str], out: str | os.PathLike[str], preset: str = "mixed",
             per_record: int = 1, seed: int = 0, workers: int = 1, limit: int | None = None,
             relatives: list[str] | None = None, overrides: dict[str, Any] | None = None,
             progress: bool = True) -> Iterator[dict[str, Any]]:
    """Render pages for every record below ``root`` (or the given ``relatives``); yields page metadata."""
    from joblib import Parallel, delayed
    from tqdm import tqdm

    todo = relatives if relatives is not None else records.find_records(root)
    if limit is not None:
        todo = todo[:limit]
    jobs = (delayed(generate_record)(str(root), r, str(out), preset, per_record, seed, overrides) for r in todo)
    results = Parallel(n_jobs=workers, return_as="generator_unordered")(jobs)
    for batch in tqdm(results, total=len(todo), desc=f"pages ({preset})", unit="record", disable=not progress):
        yield from batch
