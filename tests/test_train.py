"""train_model.py in the quick setting, then run_model.py and evaluate_model.py on its model, end to end."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from conftest import LUDB, PTBXL_500, ROOT
from ecgdigitizer.generate import generate_record


def test_quick_training_runs_end_to_end(tmp_path: Path) -> None:
    data = tmp_path / "train"
    data.mkdir()
    for i in range(1, 13):  # a few training records, linked (never copied) from ../shared/data
        for ext in (".hea", ".dat"):
            (data / f"{i:05d}_hr{ext}").symlink_to(PTBXL_500 / f"{i:05d}_hr{ext}")
    model = tmp_path / "model"
    env = dict(os.environ, ECGD_QUICK="1")
    train = subprocess.run([sys.executable, "train_model.py", "-d", str(data), "-m", str(model), "-v"], cwd=ROOT,
                           env=env, capture_output=True, text=True, timeout=900)
    assert train.returncode == 0, train.stderr[-3000:]
    for f in ("unet.pt", "unet.json", "yolo.pt", "yolo.json", "config.json", "records.txt", "training.json"):
        assert (model / f).is_file(), f
    assert not (model / ".work").exists()  # generated pages are cleaned up
    report = json.loads((model / "training.json").read_text())
    assert report["pages_train"] > 0 and report["unet"]["steps"] > 0
    assert report["unet"]["generator"] == report["yolo"]["generator"] == report["generator"]
    assert report["unet"]["pages_train"] == report["yolo"]["pages_train"] == report["pages_train"]
    assert 1 <= report["yolo"]["epochs"] <= 2  # ECGD_QUICK asks for 2: ultralytics' time mode alone ran ~50
    assert len((model / "records.txt").read_text().split()) >= 10

    pages = tmp_path / "pages"
    generate_record(str(LUDB), "93", pages, "clean", 1, 1,
                    {"dpi": 150.0, "layout": "3x4+1", "column_time": "shifted", "speed_mm_s": 25.0,
                     "gain_limb": 10.0, "gain_chest": 10.0, "trace_width_mm": 0.2, "grid": "red"})
    masked = (pages / "masked").rename(tmp_path / "masked")  # the hidden references, apart from the pages
    out = tmp_path / "out"
    run = subprocess.run([sys.executable, "run_model.py", "-d", str(pages), "-m", str(model), "-o", str(out)],
                         cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    score = subprocess.run([sys.executable, "evaluate_model.py", "-d", str(masked), "-o", str(out)],
                           cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert score.returncode == 0, score.stderr
    assert float(score.stdout.split("SNR: ")[1].split()[0]) > 0.0
