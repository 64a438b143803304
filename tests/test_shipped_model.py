"""The shipped model in model/: it loads without running pickled code and does its job on held-out pages."""

from __future__ import annotations

import json
import pickle

import numpy as np
import pytest
import torch

from conftest import CINC, LUDB, ROOT
from ecgdigitizer import splits
from ecgdigitizer.challenge import load_models
from ecgdigitizer.generate import load_source, render_page, sample_config
from ecgdigitizer.types import Box, GridScale, PaperSettings
from ecgdigitizer.unet import UNetBinarizer, load
from ecgdigitizer.yolo import YoloDetector, filter_boxes, letterbox

MODEL = ROOT / "model"


def test_weights_are_plain_tensors_and_small() -> None:
    for name in ("unet.pt", "yolo.pt"):
        state = torch.load(MODEL / name, map_location="cpu", weights_only=True)  # refuses pickled code
        assert all(isinstance(v, torch.Tensor) for v in state.values())
    total = sum(p.stat().st_size for p in MODEL.iterdir() if p.is_file())
    assert total <= 20_000_000


def test_trained_on_training_records_only() -> None:
    trained = (MODEL / "records.txt").read_text().split()
    assert trained and not any(splits.is_validation(r) for r in trained)
    report = json.loads((MODEL / "training.json").read_text())
    assert report["unet"]["steps"] > 0 and "yolo" in report


def test_shipped_unet_binarizes_a_held_out_page() -> None:
    sig, fs, names = load_source(CINC / "JS20016")
    page = render_page(sig, fs, names, sample_config("scan", 77, dpi=150.0))
    prob = UNetBinarizer(load(MODEL))(page.image)
    pred, truth = prob > 0.5, page.mask > 0
    f1 = 2 * np.sum(pred & truth) / (pred.sum() + truth.sum())
    assert f1 >= 0.9


def test_shipped_detector_finds_every_box() -> None:
    """After post-processing every true lead box has a box with its name at IoU >= 0.5."""
    sig, fs, names = load_source(LUDB / "157")
    cfg = sample_config("clean", 78, dpi=150.0, layout="3x4+1", column_time="shifted", speed_mm_s=25.0)
    page = render_page(sig, fs, names, cfg)
    detector = YoloDetector.load(MODEL)
    assert len(filter_boxes(detector.raw(page.image))) >= 10  # the raw network finds most of them itself
    layout = detector(page.image, (page.mask > 0).astype(np.float32),
                      GridScale(cfg.px_per_mm, cfg.px_per_mm, "given"), PaperSettings())
    assert layout.layout.name == "3x4+1"
    found = {(lb.cell.row, lb.cell.col): lb for lb in layout.boxes}
    for m in page.meta["leads"]:
        lb = found[(m["row"], m["col"])]
        assert lb.cell.lead == m["lead"]
        assert lb.box.iou(Box(*m["box"])) >= 0.5, (m["lead"], lb.box, m["box"])


def test_the_detectors_openvino_graph_computes_what_the_torch_model_does() -> None:
    """Every anchor's box and score from the graph built from the weights, against the ultralytics module."""
    sig, fs, names = load_source(LUDB / "157")
    page = render_page(sig, fs, names, sample_config("photo", 79, dpi=100.0, layout="6x2"))
    fast, reference = YoloDetector.load(MODEL, backend="openvino"), YoloDetector.load(MODEL, backend="torch")
    boxed = letterbox(page.image, reference.imgsz)[0]
    want, got = reference.net(boxed), fast.net(boxed)
    assert got.shape == want.shape == (5, 5376) and got.dtype == np.float32  # 512 px: 64^2 + 32^2 + 16^2 anchors
    confident = want[4] > 0.25
    assert confident.sum() >= 12  # boxes found, so that a wrong layer or a wrong decoding shows
    np.testing.assert_allclose(got[4], want[4], atol=1e-4)
    np.testing.assert_allclose(got[:4, confident], want[:4, confident], atol=0.01)  # letterboxed pixels
    again = pickle.loads(pickle.dumps(fast))  # worker processes get a copy: compiled again
    np.testing.assert_array_equal(again.net(boxed), got)


def test_load_models_uses_both_learned_stages() -> None:
    digitizer, classifier = load_models(str(MODEL))
    assert digitizer.binarizer.name == "unet" and digitizer.detector.name == "yolo" and classifier is None


@pytest.mark.parametrize("source, seed", [(CINC / "E07506", 9149), (LUDB / "33", 9144)])
def test_shipped_detector_puts_every_row_of_a_12x1_page_on_its_baseline(source, seed: int) -> None:
    """Held-out 12-row pages. E07506: large baseline wander, the detector sees 11 boxes and two of them share a
    baseline; the evenly spaced lattice gives every row (this page raised LayoutError). LUDB 33: V1's row
    took the calibration pulse of the row above it, 14 mm up, as its baseline."""
    sig, fs, names = load_source(source)
    page = render_page(sig, fs, names, sample_config("clean", seed, layout="12x1"))
    prob = UNetBinarizer(load(MODEL))(page.image)
    ppm = page.meta["px_per_mm"][0]
    scale = GridScale(ppm, ppm, "given")
    layout = YoloDetector.load(MODEL)(page.image, prob, scale, PaperSettings())
    assert layout.layout.name == "12x1"
    truth = {m["lead"]: m["baseline"][0][1] for m in page.meta["leads"]}
    pitch = np.median(np.diff(sorted(truth.values())))
    for lb in layout.boxes:
        assert abs(lb.baseline_y - truth[lb.cell.lead]) < 0.2 * pitch, lb.cell.lead
