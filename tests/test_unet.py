"""The U-Net binarizer: shapes, tiling without seams, training that learns."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch

from conftest import PTBXL_500
from ecgdigitizer.generate import load_source, render_page, sample_config
from ecgdigitizer.train.unet import f1, loss_fn
from ecgdigitizer.unet import UNet, UNetBinarizer, UNetConfig, fold_batch_norm, predict, to_tensor

SMALL = UNetConfig(3, base=4, depth=3, max_width=16, full_res_convs=1)


@pytest.mark.parametrize("shape", [(37, 53), (129, 200), (300, 301)])
def test_forward_and_predict_shapes_for_odd_sizes(shape: tuple[int, int]) -> None:
    model = UNet(SMALL).eval()
    image = np.random.default_rng(0).integers(0, 255, shape + (3,), dtype=np.uint8)
    prob = predict(model, image, tile=64, overlap=8, bf16=False)
    assert prob.shape == shape and prob.dtype == np.float32
    assert np.all((prob >= 0) & (prob <= 1))
    with torch.no_grad():
        x = to_tensor(image)[:, :, :shape[0] // 8 * 8, :shape[1] // 8 * 8]
        assert model(x).shape == (1, 1) + tuple(x.shape[2:])


def test_tiled_inference_equals_whole_image_away_from_borders() -> None:
    torch.manual_seed(0)
    model = UNet(SMALL).eval()
    image = np.random.default_rng(1).integers(0, 255, (256, 384, 3), dtype=np.uint8)
    whole = predict(model, image, tile=2048, overlap=0, bf16=False)  # one tile: the whole image
    tiled = predict(model, image, tile=96, overlap=24, bf16=False)
    inner = (slice(24, -24), slice(24, -24))
    np.testing.assert_allclose(tiled[inner], whole[inner], atol=1e-4)


def _model_with_real_norms() -> UNet:
    torch.manual_seed(0)
    model = UNet(SMALL)
    for m in model.modules():  # running statistics and affine terms far from the identity a fresh norm has
        if isinstance(m, torch.nn.BatchNorm2d):
            for t in (m.running_mean, m.running_var, m.weight, m.bias):
                t.data = torch.rand_like(t) + 0.5
        if isinstance(m, torch.nn.ConvTranspose2d | torch.nn.Conv2d) and m.bias is not None:
            m.bias.data = torch.rand_like(m.bias) - 0.5
    return model.eval()


def test_folding_the_batch_norms_changes_no_output() -> None:
    model = _model_with_real_norms()
    folded = fold_batch_norm(model)
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in folded.modules())
    assert any(isinstance(m, torch.nn.BatchNorm2d) for m in model.modules())  # the original is left as it was
    image = np.random.default_rng(2).integers(0, 255, (96, 160, 3), dtype=np.uint8)
    np.testing.assert_allclose(predict(folded, image, bf16=False), predict(model, image, bf16=False), atol=1e-5)


@pytest.mark.parametrize("tile", [2048, 96])
def test_the_openvino_graph_computes_what_the_torch_model_does(tile: int) -> None:
    model = _model_with_real_norms()
    image = np.random.default_rng(3).integers(0, 255, (150, 230, 3), dtype=np.uint8)
    image[40:44] = 20  # a dark stroke, so that some outputs are near 1
    # in float32: where the CPU has bfloat16 OpenVINO computes in it by default (outputs differ by ~3e-4 here)
    fast = UNetBinarizer(model, backend="openvino", tile=tile, overlap=24, precision="f32")(image)
    reference = predict(model, image, tile=tile, overlap=24, bf16=False)
    assert fast.shape == image.shape[:2] and fast.dtype == np.float32
    assert reference.std() > 0.003  # outputs that vary, so that a wrong layer shows
    np.testing.assert_allclose(fast, reference, atol=2e-4)


def test_the_binarizer_survives_pickling_for_worker_processes() -> None:
    binarizer = UNetBinarizer(_model_with_real_norms(), backend="openvino", precision="f32")  # kept by the copy
    image = np.random.default_rng(4).integers(0, 255, (64, 96, 3), dtype=np.uint8)
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(binarizer))(image), binarizer(image))


def test_a_tiny_model_learns_on_generated_patches() -> None:
    torch.manual_seed(0)
    sig, fs, names = load_source(PTBXL_500 / "00007_hr")
    page = render_page(sig, fs, names, sample_config("scan", 2, dpi=100.0))
    image, mask = page.image, (page.mask > 0).astype(np.float32)
    rng = np.random.default_rng(0)
    ys, xs = np.nonzero(mask)

    def batch(n: int = 8, s: int = 64) -> tuple[torch.Tensor, torch.Tensor]:
        idx = rng.integers(0, ys.size, n)
        y0 = np.clip(ys[idx] - s // 2, 0, image.shape[0] - s)
        x0 = np.clip(xs[idx] - s // 2, 0, image.shape[1] - s)
        xb = np.stack([image[a:a + s, b:b + s] for a, b in zip(y0, x0)])
        yb = np.stack([mask[a:a + s, b:b + s] for a, b in zip(y0, x0)])
        return torch.from_numpy(xb).permute(0, 3, 1, 2).float() / 255, torch.from_numpy(yb)[:, None]

    model = UNet(SMALL)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    vx, vy = batch(16)
    with torch.no_grad():
        before = loss_fn(model(vx), vy).item()
    for _ in range(80):
        x, y = batch()
        loss = loss_fn(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    with torch.no_grad():
        after = loss_fn(model(vx), vy).item()
        score = f1(torch.sigmoid(model(vx)).numpy(), vy.numpy() > 0.5)
    assert after < 0.8 * before
    assert score > 0.3
