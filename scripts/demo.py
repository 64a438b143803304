"""The demo: digitize the bundled examples with the shipped model, score them with evaluate_model.py, print the
SNR per record, and write a picture per page with the extracted traces drawn over it.

    python scripts/demo.py [--model model] [--examples examples] [--out outputs/demo]
"""

from __future__ import annotations

import argparse
import csv
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ecgdigitizer import records  # noqa: E402
from ecgdigitizer.challenge import load_models  # noqa: E402
from ecgdigitizer.images import load_image  # noqa: E402
from ecgdigitizer.overlay import draw_overlay  # noqa: E402


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", default=str(ROOT / "model"))
    p.add_argument("--examples", default=str(ROOT / "examples"))
    p.add_argument("--out", default=str(ROOT / "outputs" / "demo"))
    a = p.parse_args()
    examples, out = Path(a.examples), Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    digitizer, _ = load_models(a.model, verbose=True)
    print(f"model loaded in {time.perf_counter() - start:.1f} s")
    names = [n for n in records.find_records(examples) if not n.startswith("masked")]
    for name in names:
        header = records.read_header(examples / name)
        image_path = examples / header.image_files[0]
        image = load_image(image_path)
        t = time.perf_counter()
        result = digitizer.digitize(image, header.fs, header.n_samples, header.lead_names)
        seconds = time.perf_counter() - t
        # written exactly as run_model.py writes it: header copied, signal through the header's format
        (out / f"{name}.hea").write_text(header.text)
        records.save_signal(out / name, records.clip_to_header(result.signals, header), header.comments)
        picture = out / f"{name}.overlay.png"
        cv2.imwrite(str(picture), cv2.cvtColor(draw_overlay(image, result), cv2.COLOR_RGB2BGR))
        layout = result.layout.layout.name if result.layout else "-"
        note = result.reason or "; ".join(result.notes)
        print(f"  {name:12s} {image_path.name:18s} layout {layout:6s} {seconds:4.1f} s  {note}")
    table = out / "snr_per_lead.tsv"
    score = subprocess.run([sys.executable, str(ROOT / "evaluate_model.py"), "-d", str(examples / "masked"),
                            "-o", str(out), "-t", str(table)], capture_output=True, text=True)
    if score.returncode != 0:
        print(score.stderr, file=sys.stderr)
        return 1
    per_record: dict[str, list[float]] = {}
    with open(table) as f:
        for row in csv.DictReader(f, delimiter="\t"):
            per_record.setdefault(row["record"], []).append(float(row["snr"]))
    print("\nSNR per record (official 2024 metric, dB; mean over leads):")
    for name, values in per_record.items():
        preset = records.read_header(examples / name).comments[-1].split("preset=")[1].split()[0]
        print(f"  {name:12s} {preset:6s} {np.nanmean(values):6.2f}")
    print(score.stdout.strip())
    print(f"\noutputs, per-lead table and overlay pictures in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
