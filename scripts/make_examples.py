"""Regenerate ``examples/``: a few small Challenge-format records drawn by the generator from held-out records.

    python scripts/make_examples.py

Each example is ``NAME.hea`` (with ``# Image:``), ``NAME.dat`` (the reference signal) and the page image;
``examples/masked/`` holds the references masked to what each page shows, which is what the demo scores against.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import cv2

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ecgdigitizer.generate import generate_record  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
EXAMPLES = [  # (held-out folder, record, preset, fixed settings)
    ("ludb_ecgminer", "85", "clean", {"dpi": 150.0, "layout": "3x4+1"}),
    ("cinc2021_torch_ecg", "HR06008", "clean", {"dpi": 150.0, "layout": "6x2"}),
    ("cinc2021_torch_ecg", "JS20013", "scan", {"dpi": 150.0, "layout": "3x4+1"}),
    ("ludb_ecgminer", "141", "scan", {"dpi": 150.0, "layout": "12x1"}),
    ("cinc2021_torch_ecg", "E07517", "photo", {"dpi": 125.0, "layout": "3x4+1"}),
    ("ludb_ecgminer", "181", "photo", {"dpi": 125.0, "layout": "3x4+3"}),
]
STANDARD = {"column_time": "shifted", "speed_mm_s": 25.0, "gain_limb": 10.0, "gain_chest": 10.0}


def main() -> None:
    out = ROOT / "examples"
    shutil.rmtree(out, ignore_errors=True)
    work = ROOT / "work" / "examples"
    shutil.rmtree(work, ignore_errors=True)
    for folder, record, preset, fixed in EXAMPLES:
        generate_record(str(DATA / folder), record, work, preset, 1, 2024, {**STANDARD, **fixed})
    (out / "masked").mkdir(parents=True)
    for f in sorted(work.iterdir(), key=lambda p: p.suffix not in (".hea", ".dat")):
        if f.suffix in (".hea", ".dat"):
            if not (out / f.name).exists():
                shutil.copy(f, out / f.name)
        elif f.suffix == ".png":  # smaller: lossless, or JPEG for noisy scans that PNG cannot compress
            image = cv2.imread(str(f), cv2.IMREAD_UNCHANGED)
            cv2.imwrite(str(out / f.name), image, [cv2.IMWRITE_PNG_COMPRESSION, 9])
            if (out / f.name).stat().st_size > 1_000_000:
                (out / f.name).unlink()
                cv2.imwrite(str(out / (f.stem + ".jpg")), image, [cv2.IMWRITE_JPEG_QUALITY, 90])
                header = out / (f.stem.rsplit("-", 1)[0] + ".hea")
                header.write_text(header.read_text().replace(f.name, f.stem + ".jpg"))
        elif f.suffix == ".jpg":
            shutil.copy(f, out / f.name)
    for f in (work / "masked").iterdir():
        shutil.copy(f, out / "masked" / f.name)
    print(f"{len(EXAMPLES)} examples written to {out}")


if __name__ == "__main__":
    main()
