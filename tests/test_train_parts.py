"""Parts of training that the end-to-end quick run does not pin down: stage names, the patch stream, fine-tuning."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from conftest import LUDB, ROOT
from torch.utils.data import DataLoader

from ecgdigitizer.generate import generate_record, sample_config
from ecgdigitizer.generate.dataset import page_seed
from ecgdigitizer import unet as unet_model
from ecgdigitizer.train import train_models
from ecgdigitizer.train.config import TrainConfig
from ecgdigitizer.train.pages import page_files, render_pages
from ecgdigitizer.train.unet import PatchStream, train_unet
from ecgdigitizer.train.yolo import _epoch_cap, train_yolo


def test_unknown_stage_is_refused_before_any_work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ECGD_STAGES", "unet,yolov8")
    with pytest.raises(ValueError, match="yolov8"):
        train_models(str(tmp_path / "no such data"), str(tmp_path / "model"))
    assert not (tmp_path / "model" / "training.json").exists()


def test_patch_stream_workers_draw_their_own_patches(tmp_path: Path) -> None:
    for name in ("93", "101"):
        generate_record(str(LUDB), name, tmp_path, "clean", 1, 1, {"dpi": 100.0, "layout": "3x4"})
    pages = page_files(tmp_path)
    assert len(pages) == 2
    stream = PatchStream(pages, pool_size=2, patch=64, batch=16, seed=5)
    loader = iter(DataLoader(stream, batch_size=None, num_workers=2))
    batches = [next(loader) for _ in range(4)]  # workers take turns: 0, 1, 0, 1
    for x, y in batches:
        assert x.shape == (16, 3, 64, 64) and y.shape == (16, 1, 64, 64)
        assert str(x.dtype) == "torch.uint8" and set(np.unique(y.numpy())) <= {0, 1}
    # most patches are centred near a trace
    with_trace = np.mean([float(y[k].sum() > 0) for _, y in batches for k in range(16)])
    assert with_trace > 0.6
    # two workers do not repeat each other's draws (each its own seed and its own share of the pages)
    assert not np.array_equal(batches[0][0].numpy(), batches[1][0].numpy())


def test_fine_tuning_starts_from_the_given_model(tmp_path: Path) -> None:
    """``unet_init``: training starts from an earlier model's network and weights, not from the configured width
    and random weights; the report says what the model scored before training."""
    for name in ("93", "101"):
        generate_record(str(LUDB), name, tmp_path / "pages", "clean", 1, 1, {"dpi": 100.0, "layout": "3x4"})
    pages = page_files(tmp_path / "pages")
    torch.manual_seed(3)
    start = unet_model.UNet(unet_model.UNetConfig(3, base=4, depth=3, max_width=16, full_res_convs=1))
    unet_model.save(start, tmp_path / "start")
    cfg = TrainConfig(device="cpu", quick=True, unet_init=str(tmp_path / "start"), unet_lr=0.0, unet_steps=2,
                      unet_batch=2, unet_patch=64, unet_pages_in_memory=2)
    report = train_unet(pages, pages, cfg, tmp_path / "out", tmp_path / "work", minutes=5.0, verbose=False)
    assert report["steps"] == 2 and report["init"] == str(tmp_path / "start")
    # with no learning rate the weights stay the starting model's (the batch norms' running means move)
    tuned = unet_model.load(tmp_path / "out")
    assert tuned.config == start.config != unet_model.UNetConfig(3, cfg.unet_base, cfg.unet_depth)
    weights = {k: v for k, v in start.state_dict().items() if k.endswith("weight")}
    for k, v in weights.items():
        assert torch.equal(tuned.state_dict()[k], v.half().float()), k
    assert 0.0 <= report["init_val_patch_f1"] <= 1.0


def test_yolo_fine_tuning_starts_from_the_given_model(tmp_path: Path) -> None:
    """``yolo_init``: the detector trains on from an earlier model's weights, network, classes and image size (not
    the quick setting's 320 px): one epoch on four pages keeps the shipped detector's boxes, where the same epoch
    from scratch finds none."""
    for k, name in enumerate(("93", "101", "105", "109", "113", "117")):
        generate_record(str(LUDB), name, tmp_path / "pages", "mixed", 1, 1,
                        {"dpi": 100.0, "layout": ("3x4+1", "6x2", "12x1")[k % 3]})
    pages = page_files(tmp_path / "pages")
    cfg = TrainConfig(device="cpu", quick=True, yolo_init=str(ROOT / "model"), yolo_epochs=1, yolo_batch=4,
                      yolo_imgsz=320)
    report = train_yolo(pages[:4], pages[4:], cfg, tmp_path / "out", tmp_path / "work", minutes=5.0, verbose=False)
    assert report["epochs"] == 1 and report["imgsz"] == 512 != cfg.yolo_imgsz
    assert report["init"] == str(ROOT / "model") and report["names"] == ["lead"]
    assert report["val_map50"] > 0.9
    scratch = train_yolo(pages[:4], pages[4:], replace(cfg, yolo_init=""), tmp_path / "out2", tmp_path / "work2",
                         minutes=5.0, verbose=False)
    assert scratch["val_map50"] < 0.1


def test_tall_share_draws_that_share_of_the_records_at_20_mm_per_mv(tmp_path: Path) -> None:
    """``tall_share``: the pages of that share of the records are drawn at 20 mm/mV, the rest as the generator
    draws them (these four records' pages at 10 mm/mV without it)."""
    names = ["93", "101", "105", "109"]
    sampled = [sample_config("mixed", page_seed(0, n, 0)) for n in names]
    assert all((c.gain_limb, c.gain_chest) == (10.0, 10.0) for c in sampled)
    cfg = TrainConfig(tall_share=0.5, pages_per_record=1, workers=1)
    pages = render_pages(str(LUDB), names, tmp_path / "pages", cfg, 4, 0, progress=False)
    gains = sorted(tuple(p.read_meta()["gain_mm_mv"].values()) for p in pages)
    assert gains == [(10.0, 10.0), (10.0, 10.0), (20.0, 20.0), (20.0, 20.0)]
    with pytest.raises(ValueError, match="ECGD_TALL_SHARE"):
        render_pages(str(LUDB), names, tmp_path / "more", replace(cfg, tall_share=50.0), 4, 0, progress=False)


def test_yolo_epoch_cap_shortens_ultralytics_time_mode() -> None:
    # ultralytics' time mode re-plans its epochs from the time left; the cap shortens that time to the epochs
    shorten = _epoch_cap(epochs=5)
    now = time.time()
    trainer = SimpleNamespace(args=SimpleNamespace(time=1.0), train_time_start=now - 120.0, epoch=1, start_epoch=0)
    shorten(trainer)  # two epochs in 120 s: five take ~300 s
    assert trainer.args.time == pytest.approx(300.0 / 3600, rel=0.01)
    trainer = SimpleNamespace(args=SimpleNamespace(time=0.05), train_time_start=now - 120.0, epoch=1, start_epoch=0)
    shorten(trainer)  # a time budget shorter than the cap stays
    assert trainer.args.time == 0.05
    trainer = SimpleNamespace(args=SimpleNamespace(time=1.0), train_time_start=now - 60.0, epoch=3, start_epoch=3)
    shorten(trainer)  # resumed at epoch 3 of 5: two epochs left, 60 s each
    assert trainer.args.time == pytest.approx(120.0 / 3600, rel=0.01)


def test_gpu_defaults_apply_only_where_training_runs_on_a_gpu(monkeypatch: pytest.MonkeyPatch) -> None:
    import torch

    from ecgdigitizer.train.config import GPU, TrainConfig, from_environment

    for name in ("ECGD_QUICK", "ECGD_DEVICE", "ECGD_UNET_BATCH"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    cfg = from_environment()
    assert (cfg.pages_per_record, cfg.unet_batch, cfg.time_budget_min) == (8, 32, 30.0)
    assert all(getattr(cfg, k) == v for k, v in GPU.items()) and cfg.workers >= 2
    monkeypatch.setenv("ECGD_UNET_BATCH", "12")  # a variable still wins
    assert from_environment().unet_batch == 12
    monkeypatch.setenv("ECGD_DEVICE", "cpu")  # the CPU asked for: the CPU's defaults
    assert from_environment() == TrainConfig(device="cpu", unet_batch=12)
    monkeypatch.delenv("ECGD_DEVICE")
    monkeypatch.setenv("ECGD_QUICK", "1")  # the quick setting is quick on a GPU too
    quick = from_environment()
    assert quick.quick and quick.unet_steps == 160 and quick.pages_per_record == 1 and quick.time_budget_min == 2.5
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.delenv("ECGD_QUICK")
    assert from_environment() == TrainConfig(unet_batch=12)
