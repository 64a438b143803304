"""Generator speed: seconds per page on one core (median over pages), and pages per second with 2 workers.

    python -m benchmarks.generator [--pages 50]

ECG-Image-Kit, measured on this kind of machine: 2.2 s per clean 200-dpi page, 4.1 s per distorted page.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from ecgdigitizer import records
from ecgdigitizer.generate import generate, load_source, render_page, sample_config, write_page

from .suite import DATA

PRESETS = ("clean", "scan", "photo", "mixed", "full")


def speed_table(pages: int = 50) -> str:
    cv2.setNumThreads(1)
    import torch

    torch.set_num_threads(1)
    recs = records.find_records(DATA / "ludb_ecgminer")
    lines = ["| preset | render s/page (median, 1 core) | render + write everything s/page | pages/s, 2 workers |",
             "|---|---|---|---|"]
    for preset in PRESETS:
        render, total = [], []
        with tempfile.TemporaryDirectory() as tmp:
            for i in range(pages):
                sig, fs, names = load_source(DATA / "ludb_ecgminer" / recs[i % len(recs)])
                cfg = sample_config(preset, 7000 + i, **({"dpi": 200.0} if preset in ("clean", "full") else {}))
                t = time.perf_counter()
                page = render_page(sig, fs, names, cfg)
                t1 = time.perf_counter()
                write_page(tmp, f"p{i}", page, sig, fs, "bench")
                render.append(t1 - t)
                total.append(time.perf_counter() - t)
            out = Path(tmp) / "par"
            t = time.perf_counter()
            n = sum(1 for _ in generate(DATA / "ludb_ecgminer", out, preset, 1, 1, workers=2,
                                        relatives=recs[:pages], progress=False))
            rate = n / (time.perf_counter() - t)
            shutil.rmtree(out, ignore_errors=True)
        lines.append(f"| {preset}{' (200 dpi)' if preset in ('clean', 'full') else ''} | {np.median(render):.3f} | "
                     f"{np.median(total):.3f} | {rate:.1f} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("--pages", type=int, default=50)
    print(speed_table(p.parse_args().pages))
