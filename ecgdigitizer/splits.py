"""The fixed split of ``../shared/data``: records we train on are never in a benchmark.

* training: PTB-XL (``ptbxl/``, ecg_id 1-250 at 500 and 100 Hz); a tenth of its patients validate during training;
* held out: every other folder (LUDB, Challenge 2021 Georgia/Chapman/PTB-XL 6000s, PTB) - benchmarks, demo,
  accuracy tests.

Within any training folder the validation share is chosen by patient (the record name without its ``_hr``/``_lr``
rate suffix), so both rates of one recording land on the same side.
"""

from __future__ import annotations

import re
import zlib

TRAIN_FOLDERS = ("ptbxl",)
HELD_OUT_FOLDERS = ("ludb_ecgminer", "cinc2021_torch_ecg", "ludb_openep", "chapman_ecg_image_kit", "ptbdb_wfdb_python")


def patient(record: str) -> str:
    """``records500/00000/00042_hr`` -> ``00042``."""
    return re.sub(r"_(hr|lr)$", "", record.rsplit("/", 1)[-1])


def is_validation(record: str, share: float = 0.1) -> bool:
    """Deterministic, by patient: the same record is always on the same side."""
    return (zlib.crc32(patient(record).encode()) % 1000) < share * 1000


def split(records: list[str], share: float = 0.1) -> tuple[list[str], list[str]]:
    """(training, validation) records."""
    val = [r for r in records if is_validation(r, share)]
    if not val and len(records) > 1:  # tiny folders still validate on something
        val = records[-1:]
    return [r for r in records if r not in val], val
