"""``ecg-digitize PATH... -o OUT``: digitize images and folders of images into WFDB, CSV, JSON and overlays.

Exit status: 0 when every page was processed (pages already done count), 1 when some failed, 2 on usage errors.
"""

from __future__ import annotations

import argparse
import logging
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from .images import IMAGE_SUFFIXES, ImageError, load_pages
from .layouts import LAYOUT_NAMES

FORMATS = ("wfdb", "csv", "json")
LOW_CONFIDENCE = 0.5


@dataclass
class Outcome:
    file: str
    done: list[str] = field(default_factory=list)  # output names written
    skipped: list[str] = field(default_factory=list)  # output names already there
    failed: list[str] = field(default_factory=list)  # one line each: "file[page]: reason"
    low: list[str] = field(default_factory=list)  # "name: leads"


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="ecg-digitize", description="Digitize paper ECG images (PNG, JPEG, TIFF, BMP, "
                                "PDF) into 12-lead signals: WFDB, CSV, a JSON sidecar and an overlay picture.")
    p.add_argument("paths", nargs="+", help="image files or folders (searched recursively)")
    p.add_argument("-o", "--out", required=True, help="output folder")
    p.add_argument("--fs", type=float, default=500.0, help="sampling rate of the output (Hz, default 500)")
    p.add_argument("--duration", type=float,
                   help="seconds of output (default: what a row of the page shows, 10 s at 25 mm/s, 5 s at 50)")
    p.add_argument("--layout", choices=LAYOUT_NAMES, help="the page's layout, instead of recognising it")
    p.add_argument("--gain", type=float, help="mm/mV, instead of reading it from the calibration pulse (default 10)")
    p.add_argument("--speed", type=float,
                   help="paper speed in mm/s, instead of reading it from the calibration pulse (default 25)")
    p.add_argument("--workers", type=int, default=1, help="pages digitized in parallel")
    p.add_argument("--no-overlay", action="store_true", help="do not write the overlay pictures")
    p.add_argument("--format", default=",".join(FORMATS), help="comma-separated: wfdb,csv,json")
    p.add_argument("--model", help="model folder (default: the shipped model)")
    p.add_argument("--force", action="store_true", help="redo pages whose outputs already exist")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--quiet", action="store_true")
    g.add_argument("--verbose", action="store_true")
    return p


def find_inputs(paths: list[str]) -> tuple[list[tuple[Path, str]], list[str]]:
    """(file, output stem) for every image below the paths; missing paths are returned as errors."""
    found, missing = [], []
    for raw in paths:
        path = Path(raw)
        if path.is_file():
            found.append((path, path.stem))
        elif path.is_dir():
            for f in sorted(path.rglob("*")):
                if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES and not f.name.startswith("."):
                    rel = f.relative_to(path).with_suffix("")
                    found.append((f, "__".join(rel.parts)))
        else:
            missing.append(raw)
    names = [re.sub(r"[^A-Za-z0-9_-]", "_", stem) for _, stem in found]
    return [(f, n) for (f, _), n in zip(found, names)], missing


def outputs_for(out: Path, name: str, formats: list[str], overlay: bool) -> list[Path]:
    files = {"wfdb": [out / f"{name}.hea", out / f"{name}.dat"], "csv": [out / f"{name}.csv"],
             "json": [out / f"{name}.json"]}
    paths = [p for f in formats for p in files[f]]
    return paths + ([out / f"{name}.overlay.png"] if overlay else [])


def process(file: Path, name: str, out: Path, options: dict) -> Outcome:
    """Digitize every page of one file; never raises."""
    from .api import Digitized, digitize, load_digitizer

    outcome = Outcome(str(file))
    formats, overlay = options["formats"], options["overlay"]
    try:
        try:
            pages = load_pages(file)
        except ImageError as e:
            outcome.failed.append(str(e))
            return outcome
        digitizer = load_digitizer(options["model"])
        for k, page in enumerate(pages):
            stem = name if len(pages) == 1 else f"{name}_p{k + 1}"
            label = str(file) if len(pages) == 1 else f"{file} [page {k + 1}]"
            wanted = outputs_for(out, stem, formats, overlay)
            if not options["force"] and all(p.is_file() for p in wanted):
                outcome.skipped.append(stem)
                continue
            result: Digitized = digitize(page, options["fs"], options["duration"], options["model"],
                                         options["layout"], options["speed"], options["gain"], digitizer=digitizer)
            result.source = label
            if not result.ok:
                outcome.failed.append(f"{label}: {result.result.reason or 'nothing could be read'}")
                continue
            if "wfdb" in formats:
                result.to_wfdb(out, stem)
            if "csv" in formats:
                result.to_csv(out / f"{stem}.csv")
            if "json" in formats:
                result.to_json(out / f"{stem}.json")
            if overlay:
                result.plot(out / f"{stem}.overlay.png")
            outcome.done.append(stem)
            weak = [n for n, lead in result.result.leads.items() if lead.confidence < LOW_CONFIDENCE]
            if weak:
                outcome.low.append(f"{stem}: {', '.join(weak)}")
    except Exception as e:  # one bad page never stops the batch
        outcome.failed.append(f"{file}: {type(e).__name__}: {e}")
    return outcome


def main(argv: list[str] | None = None) -> int:
    p = parser()
    try:
        a = p.parse_args(argv)
    except SystemExit as e:
        return 2 if e.code else 0
    formats = [f.strip() for f in a.format.split(",") if f.strip()]
    bad = [f for f in formats if f not in FORMATS]
    if bad or not formats:
        print(f"ecg-digitize: unknown format {', '.join(bad) or '(none)'}; choose from {', '.join(FORMATS)}",
              file=sys.stderr)
        return 2
    if a.fs <= 0 or (a.duration is not None and a.duration <= 0) or a.workers < 1:
        print("ecg-digitize: --fs, --duration and --workers must be positive", file=sys.stderr)
        return 2
    inputs, missing = find_inputs(a.paths)
    if missing:
        print(f"ecg-digitize: no such file or folder: {', '.join(missing)}", file=sys.stderr)
        return 2
    if not inputs:
        print("ecg-digitize: no images found (PNG, JPEG, TIFF, BMP, PDF)", file=sys.stderr)
        return 2
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    log = logging.getLogger("ecg-digitize")
    log.setLevel(logging.INFO)
    handler = logging.FileHandler(out / "ecg-digitize.log")
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
    log.addHandler(handler)
    options = dict(formats=formats, overlay=not a.no_overlay, fs=a.fs, duration=a.duration, model=a.model,
                   layout=a.layout, speed=a.speed, gain=a.gain, force=a.force)
    from joblib import Parallel, delayed
    from tqdm import tqdm

    start = time.perf_counter()
    jobs = (delayed(process)(f, n, out, options) for f, n in inputs)
    results = Parallel(n_jobs=a.workers, return_as="generator")(jobs)
    outcomes = []
    for outcome in tqdm(results, total=len(inputs), desc="pages", unit="file", disable=a.quiet):
        outcomes.append(outcome)
        for line in outcome.failed:
            log.info("failed: %s", line)
            if a.verbose:
                tqdm.write(f"failed: {line}")
        for name in outcome.done:
            log.info("done: %s -> %s", outcome.file, name)
    done = sum(len(o.done) for o in outcomes)
    skipped = sum(len(o.skipped) for o in outcomes)
    failed = [line for o in outcomes for line in o.failed]
    low = [line for o in outcomes for line in o.low]
    summary = [f"{done} pages digitized, {skipped} already done (skipped), {len(failed)} failed, "
               f"in {time.perf_counter() - start:.1f} s; outputs in {out}"]
    summary += [f"  failed: {line}" for line in failed]
    summary += [f"  low confidence (< {LOW_CONFIDENCE}): {line}" for line in low]
    for line in summary:
        log.info(line.strip())
    if not a.quiet or failed:
        print("\n".join(summary))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
