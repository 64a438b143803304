"""What happens to a printed page: ink on it, folds in it, light on it, a camera or scanner looking at it.

Each function takes the RGB ``uint8`` page (or its shape) and a seeded generator; none draws random numbers
from anywhere else, so a page is reproducible from its seed.
"""

from __future__ import annotations

import cv2
import numpy as np

from .config import INK_COLOURS, Artifacts
from .paper import blend, text_alpha

_WORDS = ("normal", "ok", "NSR", "AF?", "STEMI?", "review", "seen", "urgent", "LBBB", "old MI", "rpt",
          "copy", "pt moved", "artifact", "QT long?", "check K+", "ward 4", "12:40", "signed", "see notes",
          "compare", "ischemia?", "no change", "cardio", "f/u", "LVH", "RBBB", "sinus", "brady", "call")
_HERSHEY_SCRIPT = (cv2.FONT_HERSHEY_SCRIPT_SIMPLEX, cv2.FONT_HERSHEY_SCRIPT_COMPLEX)
_SHIFT = 4


def _rotated(alpha: np.ndarray, angle: float, shear: float = 0.0) -> np.ndarray:
    """A patch rotated (degrees) and sheared about its centre, on a canvas large enough to hold it."""
    h, w = alpha.shape
    d = int(np.ceil(np.hypot(h, w) * (1 + abs(shear)))) + 2
    m = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
    m = m @ np.array([[1, shear, 0], [0, 1, 0], [0, 0, 1]], dtype=np.float64)
    m[:, 2] += (d - w) / 2, (d - h) / 2
    return cv2.warpAffine(alpha, m, (d, d), flags=cv2.INTER_LINEAR)


def _near_trace(rng: np.random.Generator, traces: list[np.ndarray], shape: tuple[int, ...]) -> tuple[float, float]:
    """A point on a random trace (so that ink lands over it), or anywhere on the page."""
    if traces and rng.random() < 0.6:
        xy = traces[int(rng.integers(len(traces)))]
        x, y = xy[int(rng.integers(len(xy)))]
        return float(x), float(y)
    return float(rng.uniform(0, shape[1])), float(rng.uniform(0, shape[0]))


def handwriting(img: np.ndarray, rng: np.random.Generator, n_words: int, ppm: float,
                traces: list[np.ndarray]) -> None:
    """Handwritten-looking words (script strokes, slanted, in pen colours) over and near the traces."""
    for _ in range(n_words):
        word = str(rng.choice(_WORDS))
        height_px = rng.uniform(3.5, 8.0) * ppm
        font = _HERSHEY_SCRIPT[int(rng.integers(2))]
        scale = height_px / 22.0
        thick = max(1, int(round(rng.uniform(0.25, 0.6) * ppm)))
        (tw, th), base = cv2.getTextSize(word, font, scale, thick)
        patch = np.zeros((th + base + 2 * thick + 4, tw + 2 * thick + 4), np.uint8)
        cv2.putText(patch, word, (thick + 2, th + thick + 2), font, scale, 255, thick, cv2.LINE_AA)
        alpha = _rotated(patch.astype(np.float32) / 255, rng.uniform(-20, 20), rng.uniform(-0.3, 0.1))
        x, y = _near_trace(rng, traces, img.shape)
        colour = INK_COLOURS[int(rng.integers(len(INK_COLOURS)))]
        blend(img, alpha, int(x - alpha.shape[1] / 2), int(y - alpha.shape[0] / 2), colour, rng.uniform(0.7, 1.0))


def scribbles(img: np.ndarray, rng: np.random.Generator, n: int, ppm: float, traces: list[np.ndarray]) -> None:
    """Pen marks: loops around a wave, wavy underlines, arrows, crossings-out."""
    for _ in range(n):
        x, y = _near_trace(rng, traces, img.shape)
        colour = INK_COLOURS[int(rng.integers(len(INK_COLOURS)))]
        thick = max(1, int(round(rng.uniform(0.2, 0.5) * ppm)))
        kind = rng.integers(3)
        t = np.linspace(0, 2 * np.pi, 120)
        if kind == 0:  # a wobbly loop around something
            rx, ry = rng.uniform(4, 15) * ppm, rng.uniform(3, 10) * ppm
            wob = 1 + 0.12 * np.sin(3 * t + rng.uniform(0, 6)) + 0.05 * np.sin(7 * t)
            pts = np.stack([x + rx * wob * np.cos(t * rng.uniform(1.0, 1.15)), y + ry * wob * np.sin(t)], 1)
        elif kind == 1:  # a squiggle
            length = rng.uniform(10, 40) * ppm
            s = np.linspace(0, 1, 120)
            pts = np.stack([x + length * s, y + rng.uniform(1, 4) * ppm * np.sin(s * rng.uniform(6, 20))
                            + rng.uniform(-3, 3) * ppm * s], 1)
        else:  # an arrow
            ang = rng.uniform(0, 2 * np.pi)
            length = rng.uniform(8, 25) * ppm
            tip = np.array([x, y])
            tail = tip - length * np.array([np.cos(ang), np.sin(ang)])
            head = [tip - 0.3 * length * np.array([np.cos(ang + s), np.sin(ang + s)]) for s in (0.5, -0.5)]
            for a, b in ((tail, tip), (tip, head[0]), (tip, head[1])):
                cv2.line(img, tuple(int(v * 16) for v in a), tuple(int(v * 16) for v in b), colour, thick,
                         cv2.LINE_AA, _SHIFT)
            continue
        cv2.polylines(img, [np.rint(pts * 16).astype(np.int32).reshape(-1, 1, 2)], False, colour, thick,
                      cv2.LINE_AA, _SHIFT)


def stamps(img: np.ndarray, rng: np.random.Generator, n: int, ppm: float, font: str) -> None:
    """Rubber stamps: a ring or frame with text, in faded red, blue or violet."""
    for _ in range(n):
        size = int(rng.uniform(18, 35) * ppm)
        patch = np.zeros((size, size), np.uint8)
        thick = max(1, int(0.6 * ppm))
        if rng.random() < 0.5:
            cv2.circle(patch, (size // 2, size // 2), size // 2 - thick, 255, thick, cv2.LINE_AA)
            cv2.circle(patch, (size // 2, size // 2), int(size * 0.36), 255, max(1, thick // 2), cv2.LINE_AA)
        else:
            cv2.rectangle(patch, (thick, size // 4), (size - thick, 3 * size // 4), 255, thick, cv2.LINE_AA)
        word = str(rng.choice(["RECEIVED", "COPY", "REVIEWED", "CARDIOLOGY", "VERIFIED", "ARCHIVE"]))
        t = text_alpha(word, font, max(int(size / max(len(word), 1) * 1.3), 6))
        th, tw = t.shape
        if tw < size and th < size:
            y0, x0 = (size - th) // 2, (size - tw) // 2
            patch[y0:y0 + th, x0:x0 + tw] = np.maximum(patch[y0:y0 + th, x0:x0 + tw], (t * 255).astype(np.uint8))
        alpha = _rotated(patch.astype(np.float32) / 255, rng.uniform(-30, 30))
        colour = [(190, 40, 50), (40, 60, 170), (110, 40, 140)][int(rng.integers(3))]
        x, y = rng.uniform(0, img.shape[1] - size), rng.uniform(0, img.shape[0] - size)
        blend(img, alpha, int(x), int(y), colour, rng.uniform(0.4, 0.8))


def _low_res(shape: tuple[int, ...], factor: int = 4) -> tuple[int, int]:
    return max(shape[0] // factor, 8), max(shape[1] // factor, 8)


def paper_shading(shape: tuple[int, ...], rng: np.random.Generator, wrinkles: float, creases: int) -> np.ndarray:
    """Brightness multiplier (H, W) of crumpled and folded paper: crinkle ridges, soft bumps and fold lines."""
    h, w = _low_res(shape)
    field = np.ones((h, w), np.float32)
    if wrinkles > 0:
        noise = rng.standard_normal((h, w)).astype(np.float32)
        fine = cv2.GaussianBlur(noise, (0, 0), 2.0) - cv2.GaussianBlur(noise, (0, 0), 5.0)
        fine /= fine.std() + 1e-6
        ridges = np.exp(-np.abs(fine) * 4.0)  # thin lines where the band-passed noise crosses zero
        bumps = cv2.GaussianBlur(noise, (0, 0), 18.0)
        bumps /= bumps.std() + 1e-6
        field *= 1 - wrinkles * (0.18 * ridges - 0.04 * bumps)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    for _ in range(creases):
        ang = rng.uniform(0, np.pi)
        px, py = rng.uniform(0.2, 0.8) * w, rng.uniform(0.2, 0.8) * h
        d = (xx - px) * np.sin(ang) - (yy - py) * np.cos(ang)  # signed distance to the fold, low-res pixels
        depth = rng.uniform(0.05, 0.15)
        side = np.where(d > 0, 1.0 - depth * np.exp(-d / rng.uniform(8, 30)), 1.0)
        line = 1.0 - 1.8 * depth * np.exp(-(d / 0.7) ** 2) + 0.6 * depth * np.exp(-((d + 1.2) / 0.6) ** 2)
        field *= (side * line).astype(np.float32)
    return cv2.resize(field, (shape[1], shape[0]), interpolation=cv2.INTER_LINEAR)


def light_shading(shape: tuple[int, ...], rng: np.random.Generator, shadow: float, uneven: float) -> np.ndarray:
    """Brightness multiplier (H, W) from the light: a soft-edged shadow and a fall-off from a bright spot."""
    h, w = _low_res(shape, 8)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    field = np.ones((h, w), np.float32)
    if uneven > 0:
        cx, cy = rng.uniform(0, w), rng.uniform(0, h)
        r2 = ((xx - cx) ** 2 + (yy - cy) ** 2) / float(w * w + h * h)
        field *= 1 - uneven * np.clip(r2 * 2.0, 0, 1)
    if shadow > 0:
        ang = rng.uniform(0, 2 * np.pi)
        px, py = rng.uniform(0.1, 0.9) * w, rng.uniform(0.1, 0.9) * h
        d = (xx - px) * np.cos(ang) + (yy - py) * np.sin(ang)
        soft = rng.uniform(0.01, 0.06) * max(w, h)
        field *= 1 - shadow / (1 + np.exp(-d / soft))
    return cv2.resize(field, (shape[1], shape[0]), interpolation=cv2.INTER_LINEAR)


def shade(img: np.ndarray, field: np.ndarray) -> np.ndarray:
    """The image multiplied by a brightness field (H, W)."""
    return cv2.multiply(img, cv2.merge([field] * img.shape[2]), dtype=cv2.CV_8U)


def page_transform(shape: tuple[int, ...], a: Artifacts, rng: np.random.Generator) -> tuple[np.ndarray, tuple[int, int]] | None:
    """Homography from the flat page to the final image (rotation, camera perspective, crop) and its size.

    The canvas holds the whole transformed page (plus a border for photos); crops then cut into it.
    ``None`` when the page is left as it is.
    """
    h, w = shape[:2]
    if a.rotation_deg == 0 and a.perspective == 0 and a.crop == 0:
        return None
    m = np.eye(3)
    if a.rotation_deg:
        m[:2] = cv2.getRotationMatrix2D((w / 2, h / 2), a.rotation_deg, 1.0)
    if a.perspective:
        src = np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float32)
        dst = src + (rng.uniform(-a.perspective, a.perspective, (4, 2)) * [w, h]).astype(np.float32)
        m = cv2.getPerspectiveTransform(src, dst) @ m
    corners = cv2.perspectiveTransform(np.array([[[0, 0], [w, 0], [w, h], [0, h]]], np.float64), m)[0]
    lo, hi = corners.min(0), corners.max(0)
    pad = rng.uniform(0.0, 0.04) * max(w, h) if a.perspective else 0.0
    m = np.array([[1, 0, pad - lo[0]], [0, 1, pad - lo[1]], [0, 0, 1]]) @ m
    size = hi - lo + 2 * pad
    if a.crop:
        cut = rng.uniform(0, a.crop, 4) * [size[0], size[1], size[0], size[1]]
        m = np.array([[1, 0, -cut[0]], [0, 1, -cut[1]], [0, 0, 1]]) @ m
        size = size - cut[:2] - cut[2:]
    return m, (int(round(size[0])), int(round(size[1])))


def photometric(img: np.ndarray, rng: np.random.Generator, a: Artifacts) -> np.ndarray:
    """Colour temperature, fading, blur, noise, black-and-white: what the scanner or camera does."""
    if a.colour_temperature:
        t = a.colour_temperature
        gains = (1 + 0.12 * t, 1 + 0.02 * t, 1 - 0.15 * t)
        img = cv2.multiply(img, np.array(gains + (0.0,)), dtype=cv2.CV_8U)
    if a.fade:
        img = cv2.convertScaleAbs(img, alpha=1 - a.fade, beta=255 * a.fade)
    if a.blur_sigma:
        img = cv2.GaussianBlur(img, (0, 0), a.blur_sigma)
    if a.gaussian_noise or a.poisson_noise:  # sensor noise, the same in the three channels
        cv2.setRNGSeed(int(rng.integers(2**31 - 1)))
        noise = np.empty(img.shape[:2], np.float32)
        cv2.randn(noise, 0.0, 1.0)
        if a.poisson_noise:  # shot noise grows with brightness: sigma^2 = g^2 + 0.6 I
            grey = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY).astype(np.float32)
            noise = cv2.multiply(noise, cv2.sqrt(grey * 0.6 + a.gaussian_noise ** 2))
        else:
            noise *= a.gaussian_noise
        noise16 = np.rint(noise, out=noise).astype(np.int16)
        img = cv2.add(img, cv2.merge([noise16] * 3), dtype=cv2.CV_8U)
    if a.salt_pepper:
        count = int(a.salt_pepper * img.shape[0] * img.shape[1])
        ys, xs = rng.integers(0, img.shape[0], count), rng.integers(0, img.shape[1], count)
        img[ys, xs] = np.where(rng.random(count) < 0.5, 0, 255)[:, None]
    if a.black_white:
        grey = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)
        if a.black_white == "threshold":
            _, grey = cv2.threshold(grey, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
        return grey
    return img
