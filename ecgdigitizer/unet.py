"""The U-Net binarizer: page image in, trace probability out, at the page's own resolution.

A small U-Net in plain PyTorch (encoder-decoder with skip connections). The first level works at full
resolution so that a 1-2 px trace is never resized away; the others halve the resolution and double the width.
Whole pages run in overlapping tiles whose borders are discarded, so tiled and whole-page outputs agree.
Inference runs in OpenVINO where it is installed (the same network rebuilt from the weights; faster on CPUs),
otherwise in PyTorch.
Weights are plain fp16 tensors (``torch.save`` of a state dict, loaded with ``weights_only=True``): loading
runs no code.
"""

from __future__ import annotations

import copy
import functools
import importlib.util
import json
import math
import os
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

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


Span = tuple[int, int, int, int]


def _tiles(h: int, w: int, tile: int, overlap: int, multiple: int) -> Iterator[tuple[Span, Span]]:
    """Near-equal tiles that cover an (h, w) image, about ``tile`` px a side with their context: per tile and
    axis (first pixel owned, end owned, first pixel computed, end computed). Each owned span has at least
    ``overlap`` px of context on its inner sides; computed spans start at a multiple of ``multiple`` (where the
    whole page's poolings are aligned) and are that many pixels long unless they reach the page's end."""
    def spans(n: int) -> list[Span]:
        k = 1 if n <= tile else math.ceil(n / max(tile - 2 * overlap, 1))
        edges = np.linspace(0, n, k + 1).round().astype(int)
        out = []
        for a, b in zip(edges[:-1], edges[1:]):
            ca = max(a - overlap, 0) // multiple * multiple
            cb = min(ca + math.ceil((b + overlap - ca) / multiple) * multiple, n)
            out.append((int(a), int(b), ca, cb))
        return out
    return ((ys, xs) for ys in spans(h) for xs in spans(w))


def run_tiled(run: Callable[[np.ndarray], np.ndarray], image: np.ndarray, multiple: int, tile: int,
              overlap: int) -> np.ndarray:
    """A whole page through ``run`` (uint8 RGB window (h, w, 3), both sides a multiple of ``multiple`` ->
    probability (h, w)), in tiles whose context is discarded, so that there are no seams."""
    if image.ndim == 2:
        image = np.repeat(image[:, :, None], 3, axis=2)
    h, w = image.shape[:2]
    out = np.empty((h, w), np.float32)
    for (y0, y1, ya, yb), (x0, x1, xa, xb) in _tiles(h, w, tile, overlap, multiple):
        window = image[ya:yb, xa:xb]
        ph, pw = (-window.shape[0]) % multiple, (-window.shape[1]) % multiple
        if ph or pw:  # a page side that is not a multiple of 2**depth: mirrored at its end
            mode = "reflect" if min(window.shape[:2]) > max(ph, pw) else "edge"
            window = np.pad(window, ((0, ph), (0, pw), (0, 0)), mode=mode)
        prob = run(np.ascontiguousarray(window))
        out[y0:y1, x0:x1] = prob[y0 - ya:y1 - ya, x0 - xa:x1 - xa]
    return out


class TorchRunner:
    """``model`` as a :func:`run_tiled` window function in PyTorch (bfloat16 autocast where the CPU has it)."""

    def __init__(self, model: UNet, bf16: bool | None = None):
        self.model = model.eval()
        self.bf16 = bf16_supported() if bf16 is None else bf16

    @torch.inference_mode()
    def __call__(self, window: np.ndarray) -> np.ndarray:
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.bf16):
            logits = self.model(to_tensor(window).contiguous(memory_format=torch.channels_last))
        return torch.sigmoid(logits.float())[0, 0].numpy()


def predict(model: UNet, image: np.ndarray, tile: int = 768, overlap: int = 32, bf16: bool | None = None) -> np.ndarray:
    """Trace probability (H, W) float32 for a whole page with PyTorch, in tiles (:func:`run_tiled`)."""
    return run_tiled(TorchRunner(model, bf16), image, model.multiple, tile, overlap)


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


@functools.cache
def openvino_core() -> Any:
    """The process's one OpenVINO ``Core``, shared by every compiled network (a Core per network, two of them
    alive at once, made a later fork of DataLoader workers crash the process)."""
    import openvino as ov

    return ov.Core()


def cpu_backend(backend: str) -> str:
    """'openvino' or 'torch' for a network run on the CPU; 'auto': OpenVINO where it is installed."""
    if backend == "auto":
        return "openvino" if importlib.util.find_spec("openvino") else "torch"
    if backend not in ("openvino", "torch"):
        raise ValueError(f"backend must be 'auto', 'openvino' or 'torch', not {backend!r}")
    return backend


def compile_for_images(graph: Any, threads: int | None = None, precision: str | None = None) -> Any:
    """An OpenVINO graph with one NCHW float input (pixels 0..1) compiled for the CPU to take uint8 NHWC images
    (RGB, 0..255) as they are, on ``threads`` threads (as many as PyTorch would use by default), in
    ``precision`` ('f32', 'bf16'; None: the CPU's default)."""
    import openvino as ov
    from openvino.preprocess import PrePostProcessor

    ppp = PrePostProcessor(graph)
    ppp.input().tensor().set_element_type(ov.Type.u8).set_layout(ov.Layout("NHWC"))
    ppp.input().model().set_layout(ov.Layout("NCHW"))
    ppp.input().preprocess().convert_element_type(ov.Type.f32).scale(255.0)
    return openvino_core().compile_model(ppp.build(), "CPU", {
        "INFERENCE_NUM_THREADS": threads or torch.get_num_threads(),
        "ENABLE_CPU_PINNING": False,  # parallel workers share the cores
        **({"INFERENCE_PRECISION_HINT": precision} if precision else {})})


class OpenVinoUNet:
    """A trained U-Net as an OpenVINO graph on the CPU: uint8 RGB window (h, w, 3) -> probability (h, w).

    The same output as :func:`predict` to float rounding, in two thirds of PyTorch's time on an AVX2 CPU (the
    thin full-resolution convolutions are memory-bound; OpenVINO fuses them better). On CPUs with bfloat16
    it computes in bfloat16, as PyTorch's autocast does. The graph is built here from the weights, layer by
    layer: no model file, no converter (OpenVINO's converters would report usage over the network)."""

    def __init__(self, model: UNet, threads: int | None = None, precision: str | None = None):
        self._model, self._threads, self._precision = fold_batch_norm(model), threads, precision
        self._compiled = compile_for_images(_openvino_graph(self._model), threads, precision)

    def __call__(self, window: np.ndarray) -> np.ndarray:
        return self._compiled(window[None])[0][0, 0]

    def __getstate__(self) -> dict[str, Any]:  # a compiled model cannot be pickled: compiled again
        return {"model": self._model, "threads": self._threads, "precision": self._precision}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["model"], state["threads"], state["precision"])  # type: ignore[misc]


def _openvino_graph(model: UNet) -> Any:
    """``model.forward`` (batch norms folded) in OpenVINO operations, ending in the sigmoid."""
    import openvino as ov
    import openvino.opset13 as op

    def conv(x: Any, layer: nn.Conv2d | nn.ConvTranspose2d) -> Any:
        weight = op.constant(layer.weight.detach().float().numpy())
        if isinstance(layer, nn.ConvTranspose2d):
            y = op.convolution_backprop_data(x, weight, list(layer.stride), pads_begin=[0, 0], pads_end=[0, 0])
        else:
            pad = list(layer.padding)
            y = op.convolution(x, weight, list(layer.stride), pad, pad, [1, 1])
        if layer.bias is None:
            return y
        return op.add(y, op.constant(layer.bias.detach().float().numpy().reshape(1, -1, 1, 1)))

    def block(x: Any, layers: _Block) -> Any:
        for layer in layers:
            if isinstance(layer, nn.Conv2d):
                x = conv(x, layer)
            elif isinstance(layer, nn.ReLU):
                x = op.relu(x)
            elif not isinstance(layer, nn.Identity):
                raise TypeError(f"no OpenVINO translation for {type(layer).__name__}")
        return x

    image = op.parameter([1, model.config.in_channels, -1, -1], np.float32, name="image")
    skips = [block(image, model.stem)]
    for down in model.down:
        skips.append(block(op.max_pool(skips[-1], [2, 2], [1, 1], [0, 0], [0, 0], [2, 2]).output(0), down))
    y = skips[-1]
    for k in reversed(range(model.config.depth)):
        y = block(op.concat([conv(y, model.up[k]), skips[k]], 1), model.merge[k])
    return ov.Model([op.sigmoid(conv(y, model.head))], [image], "unet")


class UNetBinarizer:
    """The pipeline's binarize stage with a trained U-Net, run by OpenVINO where it is installed, otherwise by
    PyTorch. Tiles: 1600 px in OpenVINO (a whole 200-dpi page in one piece is 5 % faster but needs 500 MB
    more), 768 px in PyTorch (faster there than larger ones). ``precision`` ('f32', 'bf16'): OpenVINO's
    inference precision instead of the CPU's default (bfloat16 where the CPU has it, else float32)."""

    name = "unet"

    def __init__(self, model: UNet, backend: str = "auto", tile: int | None = None, overlap: int = 32,
                 precision: str | None = None):
        backend = cpu_backend(backend)
        if backend == "openvino":
            self._run: Callable[[np.ndarray], np.ndarray] = OpenVinoUNet(model, precision=precision)
        else:
            self._run = TorchRunner(fold_batch_norm(model))
        self.backend = backend
        self.tile = tile or (1600 if backend == "openvino" else 768)
        self.overlap = overlap
        self.multiple = model.multiple

    def __call__(self, image: np.ndarray) -> np.ndarray:
        return run_tiled(self._run, image, self.multiple, self.tile, self.overlap)
