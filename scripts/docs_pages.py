"""The example pages in docs/: one generated page per preset from held-out records, 800 px wide, 48 colours.

    python scripts/docs_pages.py
"""

from pathlib import Path

import cv2
from PIL import Image

from ecgdigitizer.generate import load_source, render_page, sample_config

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
PAGES = (("clean", "ludb_ecgminer/13", 3), ("scan", "ludb_ecgminer/101", 5),
         ("photo", "cinc2021_torch_ecg/JS20016", 8), ("mixed", "ludb_ecgminer/77", 21))

for preset, record, seed in PAGES:
    signal, fs, names = load_source(DATA / record)
    page = render_page(signal, fs, names, sample_config(preset, seed, dpi=150.0))
    h, w = page.image.shape[:2]
    small = cv2.resize(page.image, (800, round(h * 800 / w)), interpolation=cv2.INTER_AREA)
    Image.fromarray(small).convert("RGB").quantize(48, dither=Image.Dither.NONE).save(
        ROOT / "docs" / f"{preset}.png", optimize=True)
    print(f"docs/{preset}.png: {record}, seed {seed}, layout {page.meta['layout']}, "
          f"artifacts {', '.join(page.meta['artifacts']) or 'none'}")
