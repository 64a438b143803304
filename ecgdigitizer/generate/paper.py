"""The printed paper: background, millimetre grid, and printed text (header block, lead labels, footer).

All drawing is on an RGB ``uint8`` array in place; positions are in pixels of the flat page.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from .config import GRID_COLOURS, PageConfig

_SHIFT = 4  # OpenCV fixed-point bits for sub-pixel drawing
_ONE = 1 << _SHIFT


def font_dir() -> Path:
    import matplotlib

    return Path(matplotlib.get_data_path()) / "fonts" / "ttf"


@lru_cache(maxsize=64)
def _font(name: str, size_px: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(font_dir() / name), max(size_px, 4))


def text_alpha(text: str, font: str, size_px: int) -> np.ndarray:
    """Anti-aliased coverage (0..1, float32) of ``text`` set in ``font``; its top-left is the text's origin."""
    f = _font(font, size_px)
    x0, y0, x1, y1 = f.getbbox(text)
    w, h = max(x1 - x0, 1) + 2, max(y1 - y0, 1) + 2
    patch = Image.new("L", (w, h), 0)
    ImageDraw.Draw(patch).text((1 - x0, 1 - y0), text, fill=255, font=f)
    return np.asarray(patch, dtype=np.float32) / 255.0


def blend(img: np.ndarray, alpha: np.ndarray, x: int, y: int, colour: tuple[int, int, int],
          opacity: float = 1.0) -> None:
    """Paint ``colour`` through ``alpha`` (a small patch) with its top-left at (x, y); clipped to the image."""
    h, w = alpha.shape
    H, W = img.shape[:2]
    xa, ya, xb, yb = max(x, 0), max(y, 0), min(x + w, W), min(y + h, H)
    if xa >= xb or ya >= yb:
        return
    a = alpha[ya - y:yb - y, xa - x:xb - x, None] * opacity
    region = img[ya:yb, xa:xb].astype(np.float32)
    img[ya:yb, xa:xb] = (region * (1 - a) + np.asarray(colour, np.float32) * a + 0.5).astype(np.uint8)


def draw_text(img: np.ndarray, text: str, x: float, y: float, size_px: float, font: str,
              colour: tuple[int, int, int]) -> tuple[int, int, int, int]:
    """Print ``text`` with its top-left at (x, y); returns its box (x0, y0, x1, y1)."""
    alpha = text_alpha(text, font, int(round(size_px)))
    xi, yi = int(round(x)), int(round(y))
    blend(img, alpha, xi, yi, colour)
    return xi, yi, xi + alpha.shape[1], yi + alpha.shape[0]


def paper(cfg: PageConfig) -> np.ndarray:
    """A blank page of the configured size and tint."""
    w_mm, h_mm = cfg.size_mm
    w, h = int(round(w_mm * cfg.px_per_mm)), int(round(h_mm * cfg.px_per_mm))
    return np.tile(np.asarray(cfg.paper_rgb, np.uint8), (h, w, 1))


def draw_grid(img: np.ndarray, cfg: PageConfig, origin_mm: tuple[float, float]) -> None:
    """1 mm minor and 5 mm major lines (or dots) over the whole page, starting at ``origin_mm``."""
    if cfg.grid == "none":
        return
    major, minor = GRID_COLOURS[cfg.grid]
    ppm = cfg.px_per_mm
    h, w = img.shape[:2]
    width_px = cfg.grid_width_mm * ppm
    xs = np.arange(origin_mm[0] % 1.0, w / ppm, 1.0)
    ys = np.arange(origin_mm[1] % 1.0, h / ppm, 1.0)
    kx = np.rint(xs - origin_mm[0]).astype(int) % 5 == 0
    ky = np.rint(ys - origin_mm[1]).astype(int) % 5 == 0
    if cfg.grid_style == "dotted":
        _draw_dots(img, xs[None, :] * ppm, ys[:, None] * ppm, minor if cfg.minor_grid else None, width_px)
        for x in xs[kx]:
            _line(img, (x * ppm, 0), (x * ppm, h), major, max(width_px * 1.6, 1.0))
        for y in ys[ky]:
            _line(img, (0, y * ppm), (w, y * ppm), major, max(width_px * 1.6, 1.0))
        return
    if cfg.minor_grid:
        for x in xs[~kx]:
            _line(img, (x * ppm, 0), (x * ppm, h), minor, width_px)
        for y in ys[~ky]:
            _line(img, (0, y * ppm), (w, y * ppm), minor, width_px)
    for x in xs[kx]:
        _line(img, (x * ppm, 0), (x * ppm, h), major, width_px * 1.8)
    for y in ys[ky]:
        _line(img, (0, y * ppm), (w, y * ppm), major, width_px * 1.8)


def _line(img: np.ndarray, p: tuple[float, float], q: tuple[float, float], colour: tuple[int, int, int],
          width_px: float) -> None:
    """An anti-aliased line; lines thinner than a pixel are drawn 1 px wide in a proportionally paler colour."""
    if width_px < 1.0:
        paper_rgb = img[0, 0].astype(np.float32)
        colour = tuple(int(round(float(pc) + (c - float(pc)) * max(width_px, 0.35)))
                       for c, pc in zip(colour, paper_rgb))  # type: ignore[assignment]
    cv2.line(img, (int(p[0] * _ONE), int(p[1] * _ONE)), (int(q[0] * _ONE), int(q[1] * _ONE)), colour,
             max(int(round(width_px)), 1), cv2.LINE_AA, _SHIFT)


def _draw_dots(img: np.ndarray, xs: np.ndarray, ys: np.ndarray, colour: tuple[int, int, int] | None,
               width_px: float) -> None:
    """Dots at every grid intersection, as the product of two 1-D anti-aliased line profiles."""
    if colour is None:
        return
    h, w = img.shape[:2]
    r = max(width_px * 0.9, 0.7)
    px = np.zeros(w, np.float32)
    py = np.zeros(h, np.float32)
    for prof, pos in ((px, xs.ravel()), (py, ys.ravel())):
        for off in range(-int(np.ceil(r)) - 1, int(np.ceil(r)) + 2):
            idx = np.floor(pos).astype(int) + off
            ok = (idx >= 0) & (idx < prof.size)
            cover = np.clip(np.minimum(idx[ok] + 1.0, pos[ok] + r) - np.maximum(idx[ok] * 1.0, pos[ok] - r), 0, 1)
            np.maximum.at(prof, idx[ok], cover.astype(np.float32))
    rows = np.flatnonzero(py > 0)
    alpha = np.outer(py[rows], px)[:, :, None]
    region = img[rows].astype(np.float32)
    img[rows] = (region * (1 - alpha) + np.asarray(colour, np.float32) * alpha + 0.5).astype(np.uint8)


def header_lines(rng: np.random.Generator, cfg: PageConfig) -> list[str]:
    """An invented header block: never real patient data."""
    rate = int(rng.integers(48, 130))
    pr, qrs = int(rng.integers(110, 220)), int(rng.integers(70, 130))
    qt = int(rng.integers(320, 460))
    day = f"{int(rng.integers(1, 29)):02d}-{['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'][int(rng.integers(12))]}-{int(rng.integers(1995, 2026))}"
    clock = f"{int(rng.integers(0, 24)):02d}:{int(rng.integers(0, 60)):02d}:{int(rng.integers(0, 60)):02d}"
    sex = ["M", "F", "Male", "Female"][int(rng.integers(4))]
    verdicts = ["Sinus rhythm", "Normal ECG", "Sinus bradycardia", "Sinus tachycardia", "Borderline ECG",
                "Left axis deviation", "Nonspecific T wave abnormality", "Abnormal ECG", "Atrial fibrillation",
                "Incomplete right bundle branch block", "Unconfirmed report"]
    lines = [f"ID: {int(rng.integers(10**6, 10**8)):08d}    {day} {clock}",
             f"Age: {int(rng.integers(18, 95))} yr   Sex: {sex}   Ht: {int(rng.integers(150, 195))} cm   "
             f"Wt: {int(rng.integers(45, 120))} kg",
             f"Vent. rate {rate} BPM   PR int {pr} ms   QRS dur {qrs} ms   QT/QTc {qt}/{qt + int(rng.integers(0, 40))} ms",
             f"P-R-T axes {int(rng.integers(-30, 90))} {int(rng.integers(-30, 100))} {int(rng.integers(-30, 90))}",
             ". ".join(rng.choice(verdicts, size=int(rng.integers(1, 3)), replace=False)) + "."]
    return lines[: int(rng.integers(3, len(lines) + 1))]


def footer_text(rng: np.random.Generator, cfg: PageConfig) -> str:
    gain = (f"{cfg.gain_limb:g}mm/mV" if cfg.gain_limb == cfg.gain_chest
            else f"Limb: {cfg.gain_limb:g}mm/mV  Chest: {cfg.gain_chest:g}mm/mV")
    filt = ["0.05-150 Hz", "0.5-40 Hz", "0.15-100 Hz", "F 60~ 0.5-150 Hz"][int(rng.integers(4))]
    device = ["CardioLine 12", "ECG-1200", "MAC-R", "EKG Pro 3"][int(rng.integers(4))]
    return f"{cfg.speed_mm_s:g}mm/s   {gain}   {filt}   {device}"


def draw_header(img: np.ndarray, cfg: PageConfig, rng: np.random.Generator) -> None:
    """Header block at the top (when configured) and the speed/gain footer at the bottom."""
    ppm = cfg.px_per_mm
    colour = (int(rng.integers(0, 60)),) * 3
    size = rng.uniform(2.6, 3.6) * ppm
    left = cfg.margin_mm[0] * ppm
    if cfg.header_block:
        y = rng.uniform(2.0, 5.0) * ppm
        for line in header_lines(rng, cfg):
            draw_text(img, line, left, y, size, cfg.font, colour)
            y += size * 1.35
            if y > (cfg.margin_mm[2] - 4) * ppm:
                break
    h = img.shape[0]
    draw_text(img, footer_text(rng, cfg), left, h - min(cfg.margin_mm[3], 6.0) * ppm, size * 0.85, cfg.font,
              colour)
