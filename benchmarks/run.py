"""Run the benchmark: every pipeline variant on every category of the suite, scored with the official metric.

    python -m benchmarks.run [--suite standard|quick] [--pages N] [--workers 2] [--model model]

Variants: classical baselines; U-Net + baseline boxes; classical + YOLO; U-Net + YOLO (the default); and
oracle rows with the generator's true mask and/or true boxes, which show what each stage costs. Each page is
straightened once and binarized once per binarizer; the variants then run on it. Outputs are written as WFDB
records and scored by ``metrics.evaluate_folders`` (what ``evaluate_model.py`` runs), with and without the
alignment. Writes ``benchmarks/RESULTS.md`` and ``benchmarks/results.png`` and prints the table.
"""

from __future__ import annotations

import argparse
import datetime
import json
import platform
import resource
import shlex
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ecgdigitizer import metrics, records
from ecgdigitizer.binarize import ClassicalBinarizer
from ecgdigitizer.detect import BaselineDetector
from ecgdigitizer.images import load_image
from ecgdigitizer.oracle import TruthBinarizer, TruthDetector
from ecgdigitizer.pipeline import Digitizer
from ecgdigitizer.straighten import straighten

from .suite import CACHE, CATEGORIES, build

ROOT = Path(__file__).resolve().parents[1]
VARIANTS = {  # name -> (binarizer, detector)
    "classical": ("classical", "baseline"),
    "U-Net + baseline boxes": ("unet", "baseline"),
    "classical + YOLO": ("classical", "yolo"),
    "U-Net + YOLO (default)": ("unet", "yolo"),
    "true mask + YOLO": ("truth", "yolo"),
    "U-Net + true boxes": ("unet", "truth"),
    "true mask + true boxes": ("truth", "truth"),
}


class Precomputed:
    """A binarizer that returns a map computed once for the page (all variants share it)."""

    def __init__(self, name: str, prob: np.ndarray):
        self.name, self.prob = name, prob

    def __call__(self, image: np.ndarray) -> np.ndarray:
        return self.prob


_MODELS: dict[str, object] = {}


def models(model_dir: str) -> dict[str, object]:
    """The learned stages, loaded once per worker process."""
    if not _MODELS:
        import torch

        torch.set_num_threads(1)
        folder = Path(model_dir)
        if (folder / "unet.pt").is_file():
            from ecgdigitizer.unet import UNetBinarizer, load

            _MODELS["unet"] = UNetBinarizer(load(folder))
        if (folder / "yolo.pt").is_file():
            from ecgdigitizer.yolo import YoloDetector

            _MODELS["yolo"] = YoloDetector.load(folder)
    return _MODELS


def run_page(record: Path, variants: list[str], model_dir: str, out: Path) -> list[dict]:
    """All variants on one page; writes each variant's output record; returns timings and failures."""
    import cv2

    cv2.setNumThreads(1)
    learned = models(model_dir)
    header = records.read_header(record)
    image = load_image(record.parent / header.image_files[0])
    meta = json.loads((record.parent / "truth" / f"{record.name}-0.json").read_text())
    t = time.perf_counter()
    s = straighten(image)
    t_straighten = time.perf_counter() - t
    probs, t_bin = {}, {}
    for name in {VARIANTS[v][0] for v in variants}:
        t = time.perf_counter()
        if name == "truth":
            truth = TruthBinarizer(cv2.imread(str(record.parent / meta["mask"]), cv2.IMREAD_GRAYSCALE))
            truth.align_to(s.homography, s.image.shape[:2])
            probs[name] = truth(s.image)
        else:
            probs[name] = (ClassicalBinarizer() if name == "classical" else learned[name])(s.image)
        t_bin[name] = time.perf_counter() - t
    rows = []
    for v in variants:
        b, d = VARIANTS[v]
        if d == "truth":
            detector = TruthDetector(meta)
            detector.align_to(s.homography, s.image.shape[:2])
        else:
            detector = BaselineDetector() if d == "baseline" else learned[d]
        digitizer = Digitizer(binarizer=Precomputed(b, probs[b]), detector=detector, straighten=False)
        result = digitizer.digitize(s.image, header.fs, header.n_samples, header.lead_names)
        folder = out / _folder_name(v)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{record.name}.hea").write_text(header.text)
        records.save_signal(folder / record.name, records.clip_to_header(result.signals, header))
        rows.append({"variant": v, "record": record.name, "failed": not result.ok, "reason": result.reason,
                     "seconds": t_straighten + t_bin[b] + sum(result.timings.values()),
                     "layout_ok": bool(result.layout and result.layout.layout.name == meta["layout"]),
                     "peak_mb": peak_memory_mb()})
    return rows


def _folder_name(variant: str) -> str:
    return variant.replace(" ", "_").replace("(", "").replace(")", "").replace("+", "and")


def _snrs(ref_folder: Path, out_folder: Path, align: bool, only: set[str]) -> list[float]:
    return [s.snr for s in metrics.evaluate_folders(ref_folder, out_folder, align=align, only=only).leads]


@dataclass
class Row:
    category: str
    variant: str
    snr: list[float] = field(default_factory=list)
    snr_no_align: list[float] = field(default_factory=list)
    pages: int = 0
    failed: int = 0
    layout_ok: int = 0
    seconds: list[float] = field(default_factory=list)


def summarise(rows: list[Row]) -> str:
    head = ("| category | variant | mean SNR | median SNR | mean SNR, no alignment | leads < 0 dB | pages failed |"
            " layout right | s/page (median) |\n|---|---|---|---|---|---|---|---|---|\n")
    lines = []
    for r in rows:
        s = np.array(r.snr)
        lines.append(f"| {r.category} | {r.variant} | {np.nanmean(s):.2f} | {np.nanmedian(s):.2f} | "
                     f"{np.nanmean(r.snr_no_align):.2f} | {np.mean(s[np.isfinite(s)] < 0):.1%} | "
                     f"{r.failed}/{r.pages} | {r.layout_ok}/{r.pages} | {np.median(r.seconds):.2f} |")
    return head + "\n".join(lines) + "\n"


def plot(rows: list[Row], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cats = list(dict.fromkeys(r.category for r in rows))
    variants = list(dict.fromkeys(r.variant for r in rows))
    fig, ax = plt.subplots(figsize=(max(10, 1.2 * len(cats)), 5))
    width = 0.8 / len(variants)
    for k, v in enumerate(variants):
        values = [next((np.nanmean(r.snr) for r in rows if r.category == c and r.variant == v), np.nan) for c in cats]
        ax.bar(np.arange(len(cats)) + k * width, values, width, label=v)
    ax.set_xticks(np.arange(len(cats)) + 0.4 - width / 2, cats, rotation=30, ha="right")
    ax.set_ylabel("mean SNR (dB), official 2024 metric")
    ax.axhline(0, color="k", lw=0.5)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=90)


def peak_memory_mb() -> float:
    """This process's peak resident memory (MB). Linux's VmHWM, which starts afresh with the program: the
    ``ru_maxrss`` of getrusage is kept across fork and exec, so that a child launched by a large parent reports
    the parent's size."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return float(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def default_memory(model_dir: str, page: Path) -> float:
    """Peak memory (MB) of a fresh process loading the models and reading one page with the default pipeline."""
    code = ("import sys; sys.path.insert(0, %r)\n"
            "from ecgdigitizer.challenge import load_models, run_models\n"
            "from benchmarks.run import peak_memory_mb\n"
            "d, _ = load_models(%r); run_models(%r, d, None)\n"
            "print(peak_memory_mb())") % (str(ROOT), model_dir, str(page))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    return float(out.stdout.strip().split()[-1]) if out.returncode == 0 else float("nan")


def main(argv: list[str] | None = None) -> int:
    from joblib import Parallel, delayed
    from tqdm import tqdm

    p = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__.split("\n")[0])
    p.add_argument("--suite", choices=("standard", "quick"), default="standard")
    p.add_argument("--pages", type=int, help="pages per category (standard 30, quick 3)")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--model", default=str(ROOT / "model"))
    p.add_argument("--categories", help="comma-separated subset")
    p.add_argument("--variants", help="comma-separated subset of: " + ", ".join(VARIANTS))
    p.add_argument("--limit", type=int, help="only the first LIMIT pages of each category (quick comparisons)")
    p.add_argument("--out", default=str(ROOT / "benchmarks"))
    a = p.parse_args(argv)
    for given, known in ((a.categories, CATEGORIES), (a.variants, VARIANTS)):
        unknown = [x for x in (given.split(",") if given else []) if x not in known]
        if unknown:
            p.error(f"unknown {', '.join(map(repr, unknown))}; choose from: {', '.join(known)}")
    n = a.pages or (30 if a.suite == "standard" else 3)
    start = time.perf_counter()
    folders = build(n)
    if a.categories:
        folders = {k: v for k, v in folders.items() if k in a.categories.split(",")}
    t = time.perf_counter()
    available = models(a.model)
    load_seconds = time.perf_counter() - t
    variants = [v for v, (b, d) in VARIANTS.items() if b in ("classical", "truth") or b in available]
    variants = [v for v in variants if VARIANTS[v][1] in ("baseline", "truth") or VARIANTS[v][1] in available]
    skipped = [v for v in VARIANTS if v not in variants]  # no weights for them
    if a.variants:
        variants = [v for v in variants if v in a.variants.split(",")]
    out = CACHE / "outputs"
    shutil.rmtree(out, ignore_errors=True)
    jobs = [(cat, folder / "pages" / name) for cat, folder in folders.items()
            for name in [r for r in records.find_records(folder / "pages") if "/" not in r][:a.limit]]
    results = Parallel(n_jobs=a.workers, return_as="generator")(
        delayed(run_page)(rec, variants, a.model, out / cat.replace(" ", "_")) for cat, rec in jobs)
    by_key: dict[tuple[str, str], Row] = {}
    peak = 0.0
    for (cat, _rec), rows in tqdm(zip(jobs, results), total=len(jobs), desc="benchmark pages"):
        for r in rows:
            row = by_key.setdefault((cat, r["variant"]), Row(cat, r["variant"]))
            row.pages += 1
            row.failed += r["failed"]
            row.layout_ok += r["layout_ok"]
            row.seconds.append(r["seconds"])
            peak = max(peak, r["peak_mb"])
    # scoring (the official alignment is a 2-D correlation per lead) in parallel over category, variant, alignment
    tasks = [(cat, v, align) for (cat, v) in by_key for align in (True, False)]
    scores = Parallel(n_jobs=a.workers)(
        delayed(_snrs)(folders[cat] / "pages" / "masked", out / cat.replace(" ", "_") / _folder_name(v), align,
                       {rec.name for c, rec in jobs if c == cat})
        for cat, v, align in tasks)
    for (cat, v, align), snrs in zip(tasks, scores):
        (by_key[(cat, v)].snr if align else by_key[(cat, v)].snr_no_align).extend(snrs)
    rows = [by_key[(c, v)] for c in folders for v in variants if (c, v) in by_key]
    from .generator import speed_table

    gen = speed_table(pages=12 if a.suite == "quick" else 50) if not a.limit else "(not measured with --limit)\n"
    first_page = jobs[0][1]
    memory = default_memory(a.model, first_page) if "unet" in available else float("nan")
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                            cwd=ROOT).stdout.strip()
    machine = f"{platform.processor() or platform.machine()}, {__import__('os').cpu_count()} CPU cores, Python {platform.python_version()}"
    table = summarise(rows)
    text = (f"# Benchmark results\n\n{datetime.date.today().isoformat()}, commit `{commit}`, {machine}, "
            f"suite `{a.suite}` ({n} pages per category, held-out records only), {a.workers} workers, "
            f"{(time.perf_counter() - start) / 60:.1f} min.\n\n"
            f"Command: `python -m benchmarks.run {shlex.join(sys.argv[1:] if argv is None else argv)}`\n\n"
            f"Model load: {load_seconds:.1f} s. Peak memory, default pipeline on one page in a fresh process: "
            f"{memory:.0f} MB; worker processes (every variant): {peak:.0f} MB.\n"
            + (f"Variants skipped (no weights in {a.model}): {', '.join(skipped)}.\n" if skipped else "")
            + "\nSNR: the official 2024 metric (dB), per lead, over every (page, lead) of the category; "
              "seconds: straighten + binarize + scale + layout + extract, after models are loaded, one thread.\n\n"
            + table + "\n## Generator speed\n\n" + gen + "\n![SNR per category and variant](results.png)\n")
    Path(a.out).mkdir(parents=True, exist_ok=True)
    (Path(a.out) / "RESULTS.md").write_text(text)
    plot(rows, Path(a.out) / "results.png")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
