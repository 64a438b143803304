"""Pipeline speed: seconds per stage on clean 200-dpi pages, two threads, one process, models loaded; and the
peak memory of a fresh process that loads the models and reads one page (issue 4: median <= 1.5 s, <= 2 GB).

    python -m benchmarks.speed [--pages 16] [--model model]

Pages are drawn from held-out records into a temporary folder. Each U-Net backend (OpenVINO, the default where
it is installed, and PyTorch) reads every page; the first page of each is a warm-up and not counted.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
import torch

from ecgdigitizer import records
from ecgdigitizer.generate import generate_record
from ecgdigitizer.images import load_image
from ecgdigitizer.pipeline import Digitizer
from ecgdigitizer.unet import UNetBinarizer, load
from ecgdigitizer.yolo import YoloDetector

from .run import default_memory
from .suite import CATEGORIES, DATA, held_out_records

STAGES = ("straighten", "binarize", "scale", "layout", "extract")


def main(argv: list[str] | None = None) -> str:
    p = argparse.ArgumentParser(prog="python -m benchmarks.speed", description=__doc__.split("\n")[0])
    p.add_argument("--pages", type=int, default=16)
    p.add_argument("--model", default=str(Path(__file__).resolve().parents[1] / "model"))
    a = p.parse_args(argv)
    torch.set_num_threads(2)
    recs = held_out_records()
    preset, settings = CATEGORIES["clean 200 dpi"]
    lines = ["| U-Net backend | pages | " + " | ".join(STAGES) + " | total (median) | total (90th percentile) |",
             "|---|---|" + "---|" * (len(STAGES) + 2)]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for i in range(a.pages + 1):
            src, rec = recs[(13 * i + 2) % len(recs)]
            generate_record(str(DATA / src), rec, folder, preset, 1, 7000 + i, dict(settings))
        names = sorted(r for r in records.find_records(folder) if "/" not in r)  # not masked/ (references)
        pages = []
        for name in names:
            header = records.read_header(folder / name)
            pages.append((load_image(folder / header.image_files[0]), header))
        detector = YoloDetector.load(a.model)
        for backend in ("openvino", "torch"):
            digitizer = Digitizer(binarizer=UNetBinarizer(load(a.model), backend=backend), detector=detector)
            rows = []
            for image, header in pages:
                result = digitizer.digitize(image, header.fs, header.n_samples, header.lead_names)
                rows.append([result.timings.get(s, np.nan) for s in STAGES])
            t = np.array(rows[1:])
            total = t.sum(axis=1)
            lines.append(f"| {backend} | {len(t)} | " + " | ".join(f"{v:.3f}" for v in np.median(t, axis=0))
                         + f" | **{np.median(total):.2f}** | {np.percentile(total, 90):.2f} |")
        memory = default_memory(a.model, folder / names[0])
    table = "\n".join(lines) + ("\n\nSeconds: medians per stage over the pages, 2 threads, models loaded. Peak memory "
                                f"of a fresh process loading the models and reading one page: {memory:.0f} MB.\n")
    print(table)
    return table


if __name__ == "__main__":
    main()
