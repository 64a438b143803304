"""The fixed benchmark suite: generated pages of held-out records only, per category, seeded and cached.

Categories vary one thing at a time around the Challenge's standard page (3x4 with a lead II rhythm strip,
25 mm/s, 10 mm/mV, columns at their own 2.5 s); the ``mixed`` category is the generator's own mixture.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from ecgdigitizer import records, splits
from ecgdigitizer.generate import GENERATOR_VERSION, generate_record

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
CACHE = Path(__file__).resolve().parents[1] / "work" / "benchmark"

STANDARD: dict[str, Any] = {"layout": "3x4+1", "column_time": "shifted", "speed_mm_s": 25.0, "gain_limb": 10.0,
                            "gain_chest": 10.0}
NO_ARTIFACTS: dict[str, Any] = {"rotation_deg": 0.0, "perspective": 0.0, "crop": 0.0}

#: name -> (preset, fixed settings)
CATEGORIES: dict[str, tuple[str, dict[str, Any]]] = {
    "clean 200 dpi": ("clean", {**STANDARD, "dpi": 200.0}),
    "low resolution": ("clean", {**STANDARD, "dpi": 90.0}),
    "scan": ("scan", {**STANDARD, **NO_ARTIFACTS, "handwriting_words": 0, "scribbles": 0, "stamps": 0,
                      "wrinkles": 0.0, "creases": 0}),
    "wrinkles and creases": ("clean", {**STANDARD, "dpi": 150.0, "wrinkles": 0.5, "creases": 3}),
    "handwriting over traces": ("clean", {**STANDARD, "dpi": 150.0, "handwriting_words": 5, "scribbles": 3,
                                          "stamps": 1}),
    "rotation": ("scan", {**STANDARD, "perspective": 0.0, "crop": 0.0, "gaussian_noise": 0.0,
                          "jpeg_quality": 0}),  # rotation: set per page below
    "photo": ("photo", dict(STANDARD)),
    "layout 3x4+1": ("clean", {**STANDARD, "dpi": 150.0}),
    "layout 3x4+3": ("clean", {**STANDARD, "dpi": 150.0, "layout": "3x4+3"}),
    "layout 6x2": ("clean", {**STANDARD, "dpi": 150.0, "layout": "6x2"}),
    "layout 12x1": ("clean", {**STANDARD, "dpi": 150.0, "layout": "12x1"}),
    "mixed": ("mixed", {}),
}


def held_out_records() -> list[tuple[str, str]]:
    """(folder, record) for every 12-lead, 10 s held-out record (LUDB and Challenge 2021)."""
    out = []
    for folder in ("ludb_ecgminer", "cinc2021_torch_ecg"):
        assert folder in splits.HELD_OUT_FOLDERS
        out += [(folder, r) for r in records.find_records(DATA / folder)]
    return out


def build(pages_per_category: int, seed: int = 2024) -> dict[str, Path]:
    """Render (once per generator version; cached) the suite; returns category -> folder of Challenge records
    with truth."""
    recs = held_out_records()
    folders = {}
    for k, (name, (preset, fixed)) in enumerate(CATEGORIES.items()):
        folder = CACHE / f"{name.replace(' ', '_')}_{pages_per_category}"
        folders[name] = folder
        done = folder / "done.json"
        if done.is_file():
            if json.loads(done.read_text()).get("generator", "1.0") == GENERATOR_VERSION:  # 1.0 wrote none
                continue
            shutil.rmtree(folder)  # drawn by another version of the generator
        for i in range(pages_per_category):
            src, rec = recs[(k * 7 + i * 3) % len(recs)]
            settings = dict(fixed)
            if name == "rotation":
                settings["rotation_deg"] = [-10.0, -6.5, -3.0, -1.0, 1.5, 4.0, 7.5, 10.0][i % 8]
            generate_record(str(DATA / src), rec, folder / "pages", preset, 1, seed + 1000 * k + i, settings)
        done.write_text(json.dumps({"pages": pages_per_category, "preset": preset, "settings": fixed,
                                    "generator": GENERATOR_VERSION}))
    return folders
