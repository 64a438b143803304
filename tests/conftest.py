"""Shared test set-up: real records from ../shared/data, offline settings, small generated datasets."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"

# No test may reach the network (ultralytics would otherwise look things up on import and on every call).
os.environ.setdefault("YOLO_OFFLINE", "1")
os.environ.setdefault("YOLO_AUTOINSTALL", "0")
os.environ.setdefault("YOLO_CONFIG_DIR", str(ROOT / ".cache" / "ultralytics"))
os.environ.setdefault("MPLCONFIGDIR", str(ROOT / ".cache" / "matplotlib"))

PTBXL_500 = DATA / "ptbxl" / "records500" / "00000"
PTBXL_100 = DATA / "ptbxl" / "records100" / "00000"
LUDB = DATA / "ludb_ecgminer"
CINC = DATA / "cinc2021_torch_ecg"


def pytest_configure(config: pytest.Config) -> None:
    if not DATA.is_dir():
        raise pytest.UsageError(f"the tests read real records from {DATA}; it is missing")


@pytest.fixture(scope="session")
def ptbxl_record() -> str:
    return str(PTBXL_500 / "00001_hr")
