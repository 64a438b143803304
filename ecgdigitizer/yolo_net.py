"""The lead-box detector's network on the CPU: a letterboxed page in, every anchor's box and class scores out.

Two runners with one output, ``(4 + classes, anchors)`` float32 (box centre x, y, width, height in the
letterboxed image's pixels, then each class's probability): :class:`OpenVinoYolo` runs the network as an
OpenVINO graph built here from the fused PyTorch modules, layer by layer (as :mod:`ecgdigitizer.unet` does: no
model file, no converter, which would report usage over the network); :class:`TorchYolo` runs the ultralytics
module itself. The graph covers what ``yolov8n.yaml`` builds (Conv, C2f, SPPF, Upsample, Concat, Detect) and
stops at the detection head's maps; the distribution-focal decoding of the boxes is done here in numpy.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.special import expit


class TorchYolo:
    """The fused ultralytics ``DetectionModel`` in PyTorch (float32)."""

    def __init__(self, model: Any):
        self.model = model

    def __call__(self, boxed: np.ndarray) -> np.ndarray:
        import torch

        x = torch.from_numpy(boxed.transpose(2, 0, 1)).float().div_(255)[None]
        with torch.inference_mode():
            out = self.model(x)
        return (out[0] if isinstance(out, (tuple, list)) else out)[0].numpy()


class OpenVinoYolo:
    """The fused ultralytics ``DetectionModel`` as an OpenVINO graph, in float32: the same output as
    :class:`TorchYolo` to float rounding, in about 60 % of its time on 2 cores (bfloat16, twice as fast again
    on CPUs with AMX, moves low-confidence boxes by pixels: not used)."""

    def __init__(self, model: Any, threads: int | None = None):
        from .unet import compile_for_images

        self._model, self._threads = model, threads
        head = model.model[-1]
        self._strides = [float(s) for s in head.stride]
        self._reg_max = int(head.reg_max)
        self._compiled = compile_for_images(_openvino_graph(model), threads, "f32")

    def __call__(self, boxed: np.ndarray) -> np.ndarray:
        maps = self._compiled(np.ascontiguousarray(boxed)[None])
        outputs = [maps[k][0] for k in range(len(self._compiled.outputs))]
        return decode(list(zip(outputs[0::2], outputs[1::2])), self._strides, self._reg_max)

    def __getstate__(self) -> dict[str, Any]:  # a compiled model cannot be pickled: compiled again
        return {"model": self._model, "threads": self._threads}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["model"], state["threads"])  # type: ignore[misc]


def runner(model: Any, backend: str = "auto") -> TorchYolo | OpenVinoYolo:
    """The runner for ``backend`` ('auto': OpenVINO where it is installed, else 'torch')."""
    from .unet import cpu_backend

    return OpenVinoYolo(model) if cpu_backend(backend) == "openvino" else TorchYolo(model)


def decode(levels: list[tuple[np.ndarray, np.ndarray]], strides: list[float], reg_max: int) -> np.ndarray:
    """The detection head's maps, per level (box distributions ``(4 * reg_max, h, w)``, class logits
    ``(classes, h, w)``), as ``(4 + classes, anchors)``: each side's distance from the anchor (a cell's centre)
    is the expectation of its softmax over ``reg_max`` bins, in cells; boxes as centre and size in pixels."""
    out = []
    bins = np.arange(reg_max, dtype=np.float32)[None, :, None]
    for (box, cls), stride in zip(levels, strides):
        _, h, w = cls.shape
        logits = box.reshape(4, reg_max, h * w)
        p = np.exp(logits - logits.max(axis=1, keepdims=True))
        left, top, right, bottom = (p * bins).sum(axis=1) / p.sum(axis=1)
        ay, ax = (a.ravel() + 0.5 for a in np.mgrid[:h, :w])
        x0, y0, x1, y1 = ax - left, ay - top, ax + right, ay + bottom
        boxes = np.stack([(x0 + x1) / 2, (y0 + y1) / 2, x1 - x0, y1 - y0]) * stride
        out.append(np.concatenate([boxes, expit(cls.reshape(cls.shape[0], -1))]))  # sigmoid, no overflow
    return np.concatenate(out, axis=1).astype(np.float32)


def _openvino_graph(model: Any) -> Any:
    """``model.forward`` (fused: convolutions with their batch norms folded in) in OpenVINO operations, up to
    the detection head's box and class maps of each level (outputs box 0, class 0, box 1, ...)."""
    import openvino as ov
    import openvino.opset13 as op
    from torch import nn
    from ultralytics.nn.modules import SPPF, Bottleneck, C2f, Concat, Conv, Detect

    def conv2d(x: Any, layer: nn.Conv2d) -> Any:
        if layer.groups != 1 or layer.dilation != (1, 1):
            raise TypeError("no OpenVINO translation for grouped or dilated convolutions")
        weight = op.constant(layer.weight.detach().float().numpy())
        pad = list(layer.padding)
        y = op.convolution(x, weight, list(layer.stride), pad, pad, [1, 1])
        if layer.bias is None:
            return y
        return op.add(y, op.constant(layer.bias.detach().float().numpy().reshape(1, -1, 1, 1)))

    def run(x: Any, m: nn.Module) -> Any:
        if isinstance(m, Conv):
            if hasattr(m, "bn"):
                raise TypeError("the model must be fused (its batch norms folded into the convolutions)")
            if not isinstance(m.act, nn.SiLU):
                raise TypeError(f"no OpenVINO translation for activation {type(m.act).__name__}")
            return op.swish(conv2d(x, m.conv))
        if isinstance(m, nn.Conv2d):
            return conv2d(x, m)
        if isinstance(m, nn.Sequential):
            for layer in m:
                x = run(x, layer)
            return x
        if isinstance(m, Bottleneck):
            y = run(run(x, m.cv1), m.cv2)
            return op.add(x, y) if m.add else y
        if isinstance(m, C2f):
            halves = op.split(run(x, m.cv1), 1, 2)
            ys = [halves.output(0), halves.output(1)]
            for block in m.m:
                ys.append(run(ys[-1], block))
            return run(op.concat(ys, 1), m.cv2)
        if isinstance(m, SPPF):
            if getattr(m, "add", False):
                raise TypeError("no OpenVINO translation for SPPF with a shortcut")
            k, pad = m.m.kernel_size, m.m.padding
            ys = [run(x, m.cv1)]
            for _ in range(getattr(m, "n", 3)):
                ys.append(op.max_pool(ys[-1], [1, 1], [1, 1], [pad, pad], [pad, pad], [k, k]).output(0))
            return run(op.concat(ys, 1), m.cv2)
        if isinstance(m, nn.Upsample) and m.mode == "nearest":
            scale = float(m.scale_factor)
            return op.interpolate(x, op.constant(np.array([scale, scale], np.float32)), "nearest", "scales",
                                  coordinate_transformation_mode="asymmetric", nearest_mode="floor",
                                  axes=op.constant(np.array([2, 3], np.int64)))
        if isinstance(m, Concat):
            return op.concat(x, m.d)
        raise TypeError(f"no OpenVINO translation for {type(m).__name__}")

    image = op.parameter([1, 3, -1, -1], np.float32, name="image")
    saved: list[Any] = []
    x: Any = image
    outputs: list[Any] = []
    for m in model.model:
        if m.f != -1:
            x = saved[m.f] if isinstance(m.f, int) else [x if j == -1 else saved[j] for j in m.f]
        if isinstance(m, Detect):
            if getattr(m, "end2end", False):
                raise TypeError("no OpenVINO translation for an end-to-end detection head")
            for level, (box_head, cls_head) in enumerate(zip(m.cv2, m.cv3)):
                outputs += [run(x[level], box_head), run(x[level], cls_head)]
            break
        x = run(x, m)
        saved.append(x)
    return ov.Model(outputs, [image], "yolo")
