"""Train the U-Net binarizer on generated pages: random patches at native resolution, BCE + Dice (traces are
a few percent of the pixels), AdamW with a cosine schedule, bf16 autocast and channels_last (on a CUDA GPU when
there is one, else on CPUs with bf16), a progress bar with loss and validation F1, checkpoints and resume."""

from __future__ import annotations

import itertools
import json
import math
import time
from pathlib import Path

import cv2
import numpy as np
import torch
from torch.nn import functional as F
from torch.utils.data import DataLoader, IterableDataset, get_worker_info
from tqdm import tqdm

from .. import unet as unet_model
from .config import TrainConfig, torch_device
from .pages import PageFiles


def load_page(p: PageFiles) -> tuple[np.ndarray, np.ndarray]:
    img = cv2.imread(str(p.image), cv2.IMREAD_COLOR)
    if img is None:
        raise OSError(f"cannot read {p.image}")
    mask = cv2.imread(str(p.mask), cv2.IMREAD_GRAYSCALE)
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB), (mask > 0).astype(np.uint8)


class PatchPool:
    """A rotating pool of decoded pages in memory; random patches from it, most centred near a trace."""

    def __init__(self, pages: list[PageFiles], size: int, patch: int, seed: int):
        self.pages, self.size, self.patch = pages, size, patch
        self.rng = np.random.default_rng(seed)
        self.pool: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        order = self.rng.permutation(len(pages))
        for i in order[:size]:
            self.pool.append(self._prepare(pages[i]))
        self._next = size % max(len(pages), 1)
        self._order = order

    def _prepare(self, p: PageFiles) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        img, mask = load_page(p)
        ys, xs = np.nonzero(mask[::4, ::4])
        return img, mask, np.stack([ys * 4, xs * 4], 1) if ys.size else np.zeros((0, 2), int)

    def refresh(self, count: int) -> None:
        """Swap ``count`` pages of the pool for new ones."""
        if len(self.pages) <= self.size:
            return
        for _ in range(count):
            new = self._prepare(self.pages[self._order[self._next]])
            self._next = (self._next + 1) % len(self.pages)
            self.pool[int(self.rng.integers(len(self.pool)))] = new

    def batch(self, n: int, rng: np.random.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        s = self.patch
        xs, ys = np.zeros((n, s, s, 3), np.uint8), np.zeros((n, s, s), np.uint8)
        for k in range(n):
            img, mask, ink = self.pool[int(rng.integers(len(self.pool)))]
            h, w = mask.shape
            if ink.size and rng.random() < 0.8:
                cy, cx = ink[int(rng.integers(len(ink)))] + rng.integers(-s // 3, s // 3 + 1, 2)
            else:
                cy, cx = rng.integers(0, h), rng.integers(0, w)
            y0 = int(np.clip(cy - s // 2, 0, max(h - s, 0)))
            x0 = int(np.clip(cx - s // 2, 0, max(w - s, 0)))
            pi, pm = img[y0:y0 + s, x0:x0 + s], mask[y0:y0 + s, x0:x0 + s]
            xs[k, :pi.shape[0], :pi.shape[1]], ys[k, :pm.shape[0], :pm.shape[1]] = pi, pm
            if rng.random() < 0.5:
                xs[k], ys[k] = xs[k, :, ::-1], ys[k, :, ::-1]
        # uint8 across process boundaries (a quarter of float32's bytes); scaled on the training device
        return torch.from_numpy(xs).permute(0, 3, 1, 2), torch.from_numpy(ys)[:, None]


class PatchStream(IterableDataset):
    """Endless batches of patches for a ``DataLoader``: each worker process keeps a pool of its own share of the
    pages and swaps one of them for a new page every ``swap_every`` batches, so that decoding pages runs beside
    the training step (one worker on the CPU, ``cfg.workers`` on a GPU, where one could not keep up)."""

    def __init__(self, pages: list[PageFiles], pool_size: int, patch: int, batch: int, seed: int,
                 swap_every: int = 4):
        self.pages, self.pool_size, self.patch, self.batch = pages, pool_size, patch, batch
        self.seed, self.swap_every = seed, swap_every

    def __iter__(self):  # type: ignore[no-untyped-def]
        info = get_worker_info()
        worker, workers = (info.id, info.num_workers) if info is not None else (0, 1)
        share = self.pages[worker::workers] or self.pages
        pool = PatchPool(share, max(1, min(len(share), self.pool_size // workers)), self.patch,
                         self.seed + 1000 * worker)
        rng = np.random.default_rng(self.seed + 7919 * (worker + 1))
        count = 0
        while True:
            yield pool.batch(self.batch, rng)
            count += 1
            if count % self.swap_every == 0:
                pool.refresh(1)


def to_device(x: torch.Tensor, y: torch.Tensor, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """uint8 patches and masks to float on ``device``, images channels_last in [0, 1]."""
    x = x.to(device, non_blocking=True).float().div_(255).contiguous(memory_format=torch.channels_last)
    return x, y.to(device, non_blocking=True).float()


def loss_fn(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """BCE with logits plus soft Dice on the trace class."""
    logits = logits.float()
    bce = F.binary_cross_entropy_with_logits(logits, target)
    p = torch.sigmoid(logits)
    dice = 1 - (2 * (p * target).sum() + 1) / (p.sum() + target.sum() + 1)
    return bce + dice


def f1(prob: np.ndarray, truth: np.ndarray, threshold: float = 0.5) -> float:
    pred = prob >= threshold
    tp = float(np.sum(pred & truth))
    den = float(pred.sum() + truth.sum())
    return 2 * tp / den if den else 1.0


def validation_patches(pages: list[PageFiles], patch: int, n: int, seed: int,
                       device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    pool = PatchPool(pages, min(len(pages), 24), patch, seed)
    x, y = pool.batch(n, np.random.default_rng(seed + 1))
    return to_device(x, y, device)


def train_unet(train: list[PageFiles], val: list[PageFiles], cfg: TrainConfig, out: Path, work: Path,
               minutes: float, verbose: bool = True) -> dict:
    """Train (resuming from ``work/checkpoint.pt`` if there) and write the best weights to ``out``."""
    torch.manual_seed(cfg.seed)
    torch.set_num_threads(max(1, torch.get_num_threads()))
    out.mkdir(parents=True, exist_ok=True)
    device = torch.device(torch_device(cfg))
    if cfg.unet_init:  # fine-tuning: the weights (and the network they fit) of an earlier model
        model = unet_model.load(cfg.unet_init).train().to(device)
    else:
        config = unet_model.UNetConfig(3, cfg.unet_base, cfg.unet_depth, cfg.unet_max_width, cfg.unet_full_res_convs)
        model = unet_model.UNet(config).to(device).to(memory_format=torch.channels_last)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.unet_lr, weight_decay=1e-4)
    bf16 = torch.cuda.is_bf16_supported() if device.type == "cuda" else unet_model.bf16_supported()
    step, best, history = 0, -1.0, []
    work.mkdir(parents=True, exist_ok=True)
    ckpt = work / "checkpoint.pt"
    if ckpt.exists():
        state = torch.load(ckpt, map_location="cpu", weights_only=True)
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["opt"])
        step, best = int(state["step"]), float(state["best"])
        history = json.loads((work / "history.json").read_text()) if (work / "history.json").exists() else []
    stream = PatchStream(train, min(cfg.unet_pages_in_memory, len(train)), cfg.unet_patch, cfg.unet_batch,
                         cfg.seed + step)
    gpu = device.type == "cuda"
    loader = iter(DataLoader(stream, batch_size=None, num_workers=max(1, cfg.workers) if gpu else 1,
                             pin_memory=gpu, prefetch_factor=4, persistent_workers=True))
    # the first batch waits for the workers to fill their pools; that wait is not training time (as before
    # the pools moved to worker processes: a short budget would otherwise lose a third of its steps)
    batches = itertools.chain([next(loader)], loader)
    vx, vy = validation_patches(val, cfg.unet_patch, 96 if not cfg.quick else 16, cfg.seed + 99, device)

    def validate() -> float:
        model.eval()
        with torch.inference_mode(), torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
            vp = torch.sigmoid(model(vx).float()).cpu().numpy()
        return f1(vp, vy.cpu().numpy() > 0.5)

    start_f1 = validate() if cfg.unet_init and step == 0 else None  # what fine-tuning starts from
    deadline = time.monotonic() + minutes * 60
    eval_every = 20 if cfg.quick else 200
    bar = tqdm(total=cfg.unet_steps, initial=step, desc="U-Net", unit="step", disable=not verbose)
    t0, steps0 = time.monotonic(), step
    while step < cfg.unet_steps and time.monotonic() < deadline:
        # the learning rate follows a cosine over the steps the time budget allows
        rate = (step - steps0 + 1) / max(time.monotonic() - t0, 1e-3)
        planned = min(cfg.unet_steps, step + rate * max(deadline - time.monotonic(), 0)) if step > steps0 + 20 else cfg.unet_steps
        for g in opt.param_groups:
            g["lr"] = cfg.unet_lr * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * min(step / max(planned, 1), 1.0))))
        model.train()
        xb, yb = next(batches)
        x, y = to_device(xb, yb, device)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
            logits = model(x)
        loss = loss_fn(logits, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        step += 1
        bar.update(1)
        if step % eval_every == 0 or step >= cfg.unet_steps or time.monotonic() >= deadline:
            score = validate()
            history.append({"step": step, "loss": loss.item(), "val_f1": score})
            bar.set_postfix(loss=f"{loss.item():.3f}", val_f1=f"{score:.3f}")
            if score > best:
                best = score
                unet_model.save(model, out, {"val_patch_f1": score, "step": step})
            torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "step": step, "best": best}, ckpt)
            (work / "history.json").write_text(json.dumps(history))
    bar.close()
    if best < 0:  # never evaluated (tiny budget): keep what there is
        unet_model.save(model, out, {"val_patch_f1": float("nan"), "step": step})
    report = {"steps": step, "best_val_patch_f1": best, "bf16": bf16, "device": device.type,
              "minutes": (time.monotonic() - t0) / 60, "history": history[-5:]}
    if start_f1 is not None:
        report |= {"init": str(cfg.unet_init), "init_val_patch_f1": start_f1}
    return report
