"""The Challenge entry points that ``team_code.py`` exposes: ``load_models`` and ``run_models``
(``train_models`` lives in :mod:`ecgdigitizer.train`)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from . import records
from .images import ImageError, load_image
from .pipeline import Digitizer


def load_models(model_folder: str, verbose: bool = False) -> tuple[Digitizer, None]:
    """The digitizer with every learned stage found in ``model_folder`` (baselines for the others)."""
    from .binarize import ClassicalBinarizer
    from .detect import BaselineDetector

    folder = Path(model_folder)
    binarizer = ClassicalBinarizer()
    detector = BaselineDetector()
    if (folder / "unet.pt").is_file():
        from .unet import UNetBinarizer, load

        binarizer = UNetBinarizer(load(folder))
    if (folder / "yolo.pt").is_file():
        from .yolo import YoloDetector

        detector = YoloDetector.load(folder)
    if verbose:
        print(f"digitizer: binarize with {binarizer.name}, lead boxes with {detector.name}")
    return Digitizer(binarizer=binarizer, detector=detector), None


def run_models(record: str, digitization_model: Digitizer | None, classification_model: object,
               verbose: bool = False) -> tuple[np.ndarray, None]:
    """Digitize every image of a record into a (samples, leads) float array shaped by its header.

    A missing or unreadable image raises (``run_model.py -f`` then records a failure and goes on); a page
    that can be read but not digitized gives NaN for what could not be read.
    """
    header = records.read_header(record)
    paths = records.image_paths(record, header)
    if not paths:
        raise records.RecordError(f"{record}: header has no '# Image:' line")
    digitizer = digitization_model or Digitizer()
    n, names = header.n_samples, header.lead_names
    pages = []
    for path in paths:
        try:
            image = load_image(path)
        except ImageError as e:
            raise records.RecordError(f"{record}: {e}") from None
        result = digitizer.digitize(image, header.fs, n, names)
        if verbose and result.reason:
            print(f"{record}: {os.path.basename(path)}: {result.reason}")
        pages.append(result.signals)
    with np.errstate(all="ignore"):  # several pages of one record: each sample from the pages that show it
        signal = np.nanmean(np.stack(pages), axis=0) if len(pages) > 1 else pages[0]
    return records.clip_to_header(signal, header), None
