"""Binarization: pixel F1 of the trace mask per preset on held-out pages, and whole-page speed.

    python -m benchmarks.binarize [--pages 20] [--model model]

F1 counts a predicted pixel right when it lies on the generator's trace mask (pulses and separators included:
the pen drew them). Speed: median seconds for a 2200x1700 page (200 dpi letter), 2 threads, after loading.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import cv2
import numpy as np
import torch

from ecgdigitizer.binarize import ClassicalBinarizer
from ecgdigitizer.generate import load_source, render_page, sample_config
from ecgdigitizer.unet import UNetBinarizer, load

from .suite import held_out_records, DATA


def f1(pred: np.ndarray, truth: np.ndarray) -> float:
    tp = float(np.sum(pred & truth))
    return 2 * tp / max(float(pred.sum() + truth.sum()), 1.0)


def main(argv: list[str] | None = None) -> str:
    p = argparse.ArgumentParser()
    p.add_argument("--pages", type=int, default=20)
    p.add_argument("--model", default=str(Path(__file__).resolve().parents[1] / "model"))
    a = p.parse_args(argv)
    torch.set_num_threads(2)
    unet = UNetBinarizer(load(a.model))
    classical = ClassicalBinarizer()
    recs = held_out_records()
    lines = ["| preset | pages | F1 classical (median) | F1 U-Net (median) | F1 U-Net (10th percentile) |",
             "|---|---|---|---|---|"]
    for k, preset in enumerate(("clean", "scan", "photo", "mixed")):
        scores: dict[str, list[float]] = {"classical": [], "unet": []}
        for i in range(a.pages):
            src, rec = recs[(11 * k + 5 * i) % len(recs)]
            sig, fs, names = load_source(DATA / src / rec)
            page = render_page(sig, fs, names, sample_config(preset, 9000 + 100 * k + i))
            image = page.image if page.image.ndim == 3 else cv2.cvtColor(page.image, cv2.COLOR_GRAY2RGB)
            truth = page.mask > 0
            scores["classical"].append(f1(classical(image) > 0.5, truth))
            scores["unet"].append(f1(unet(image) > 0.5, truth))
        lines.append(f"| {preset} | {a.pages} | {np.median(scores['classical']):.3f} | "
                     f"{np.median(scores['unet']):.3f} | {np.percentile(scores['unet'], 10):.3f} |")
    page = (np.random.default_rng(0).integers(0, 255, (1700, 2200, 3))).astype(np.uint8)
    unet(page[:256, :256])
    times = []
    for _ in range(7):
        t = time.perf_counter()
        unet(page)
        times.append(time.perf_counter() - t)
    table = "\n".join(lines) + f"\n\nU-Net on a 2200x1700 page, 2 threads: median {np.median(times):.2f} s " \
                               f"(min {np.min(times):.2f} s) over {len(times)} runs.\n"
    print(table)
    return table


if __name__ == "__main__":
    main()
