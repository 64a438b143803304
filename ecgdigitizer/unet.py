"""The U-Net binarizer: page image in, trace probability out, at the page's own resolution.

A small U-Net in plain PyTorch (encoder-decoder with skip connections). The first level works at full
resolution so that a 1-2 px trace is never resized away; the others halve the resolution and double the width.
Whole pages run in overlapping tiles whose borders are discarded, so tiled and whole-page outputs agree.
Weights are plain fp16 tensors (``torch.save`` of a state dict, loaded with ``weights_only=True``): loading
runs no code.
"""

from __future__ import annotations

import copy
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F
from torch.nn.utils.fusion import fuse_conv_bn_eval


@dataclass(frozen=True)
class UNetConfig:
    """Width and depth chosen by measurement (see ``model/README.md``)."""

    in_channels: int = 3
    base: int = 8  # channels at full resolution
    depth: int = 4  # number of down-samplings
    max_width: int = 64
    full_res_convs: int = 1  # convolutions per block at full resolution (the costly level)


class _Block(nn.Sequential):
    """``convs`` times (3x3 convolution, batch norm, ReLU)."""

    def __init__(self, cin: int, cout: int, convs: int = 2):
        layers: list[nn.Module] = []
        for k in range(convs):
            layers += [nn.Conv2d(cin if k == 0 else cout, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout),
                       nn.ReLU(inplace=True)]
        super().__init__(*layers)


class UNet(nn.Module):
    """Encoder-decoder with skip connections; input (N, C, H, W) float in 0..1, output logits (N, 1, H, W)."""

    def __init__(self, config: UNetConfig = UNetConfig()):
        super().__init__()
        self.config = config
        widths = [min(config.base * 2 ** k, config.max_width) for k in range(config.depth + 1)]
        self.stem = _Block(config.in_channels, widths[0], config.full_res_convs)
        self.down = nn.ModuleList(_Block(widths[k], widths[k + 1]) for k in range(config.depth))
        self.up = nn.ModuleList(nn.ConvTranspose2d(widths[k + 1], widths[k], 2, stride=2) for k in range(config.depth))
        self.merge = nn.ModuleList(_Block(2 * widths[k], widths[k], config.full_res_convs if k == 0 else 2)
                                   for k in range(config.depth))
        self.head = nn.Conv2d(widths[0], 1, 1)

    @property
    def multiple(self) -> int:
        return 2 ** self.config.depth

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skips = [self.stem(x)]
        for block in self.down:
            skips.append(block(F.max_pool2d(skips[-1], 2)))
        y = skips[-1]
        for k in reversed(range(self.config.depth)):
            y = self.merge[k](torch.cat([self.up[k](y), skips[k]], dim=1))
        return self.head(y)


def to_tensor(image: np.ndarray) -> torch.Tensor:
    """RGB (or grey) uint8 (H, W[, 3]) -> float (1, 3, H, W) in 0..1."""
    if image.ndim == 2:
        image = np.repeat(image[:, :, None], 3, axis=2)
    return torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1))).float().div_(255.0)[None]


def bf16_supported() -> bool:
    """Whether this CPU runs bfloat16 convolutions natively (much faster than fp32 here)."""
    try:
        return bool(torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


@torch.inference_mode()
def predict(model: UNet, image: np.ndarray, tile: int = 768, overlap: int = 32, bf16: bool | None = None) -> np.ndarray:
    """Trace probability (H, W) float32 for a whole page, computed in tiles with ``overlap`` px of context
    discarded on every inner border (so no seams)."""
    model.eval()
    bf16 = bf16_supported() if bf16 is None else bf16
    x = to_tensor(image).contiguous(memory_format=torch.channels_last)
    _, _, h, w = x.shape
    m = model.multiple
    out = np.zeros((h, w), np.float32)
    step = tile - 2 * overlap
    for y0 in range(0, h, step):
        for x0 in range(0, w, step):
            # the tile with its context, grown to a multiple of 2**depth (reflect-padded at the page border)
            ya, xa = max(y0 - overlap, 0), max(x0 - overlap, 0)
            yb, xb = min(y0 + step + overlap, h), min(x0 + step + overlap, w)
            patch = x[:, :, ya:yb, xa:xb]
            ph, pw = (-patch.shape[2]) % m, (-patch.shape[3]) % m
            if ph or pw:
                patch = F.pad(patch, (0, pw, 0, ph), mode="reflect" if min(patch.shape[2:]) > max(ph, pw) else "replicate")
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                logits = model(patch)
            prob = torch.sigmoid(logits.float())[0, 0].numpy()
            cy0, cx0 = y0 - ya, x0 - xa
            cy1, cx1 = cy0 + min(step, h - y0), cx0 + min(step, w - x0)
            out[y0:y0 + (cy1 - cy0), x0:x0 + (cx1 - cx0)] = prob[cy0:cy1, cx0:cx1]
    return out


def save(model: UNet, folder: str | os.PathLike[str], extra: dict | None = None) -> None:
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    # fp16 on disk (half the size; inference runs in bf16 or fp32 anyway), plain tensors only
    torch.save({k: (v.half() if v.is_floating_point() else v).cpu() for k, v in model.state_dict().items()},
               folder / "unet.pt")
    (folder / "unet.json").write_text(json.dumps({"config": asdict(model.config), **(extra or {})}, indent=1))


def load(folder: str | os.PathLike[str]) -> UNet:
    """Load weights without executing pickled code (``weights_only=True``)."""
    folder = Path(folder)
    meta = json.loads((folder / "unet.json").read_text())
    model = UNet(UNetConfig(**meta["config"]))
    state = torch.load(folder / "unet.pt", map_location="cpu", weights_only=True)
    model.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in state.items()})
    model.eval()
    return model.to(memory_format=torch.channels_last)


def fold_batch_norm(model: UNet) -> UNet:
    """A copy for inference whose convolutions absorb the batch norms after them: the same output to float
    rounding, a tenth less time on the CPU."""
    model = copy.deepcopy(model).eval()
    for block in model.modules():
        if isinstance(block, _Block):
            for i in range(len(block) - 1):
                conv, norm = block[i], block[i + 1]
                if isinstance(conv, nn.Conv2d) and isinstance(norm, nn.BatchNorm2d):
                    block[i], block[i + 1] = fuse_conv_bn_eval(conv, norm), nn.Identity()
    return model.to(memory_format=torch.channels_last)


class UNetBinarizer:
    """The pipeline's binarize stage with a trained U-Net (batch norms folded into the convolutions)."""

    name = "unet"

    def __init__(self, model: UNet, tile: int = 768):
        self.model = fold_batch_norm(model)
        self.tile = tile

    def __call__(self, image: np.ndarray) -> np.ndarray:
        return predict(self.model, image, tile=self.tile)
