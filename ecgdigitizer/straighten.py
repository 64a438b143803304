"""Straighten the page: perspective from the paper's outline where a photo shows one, then rotation from the
page's periodicity.

A straight ECG page is periodic along x and y (grid lines, baselines), so its 2-D spectrum concentrates on the
two frequency axes; a rotated page rotates those axes. The coarse angle comes from the spectrum's angular
energy, the fine one from the sharpness of the dark pixels' projection profile.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from scipy.ndimage import map_coordinates

from .images import grey as to_grey

PAPER_RATIOS = (279.4 / 215.9, 297.0 / 210.0)  # letter and A4, landscape


@dataclass
class Straightened:
    image: np.ndarray
    homography: np.ndarray  # input pixels -> straightened pixels
    rotation_deg: float  # rotation undone (counter-clockwise positive, as cv2.getRotationMatrix2D)
    perspective: bool
    confidence: float


def _small(grey: np.ndarray, side: int) -> tuple[np.ndarray, float]:
    scale = min(1.0, side / max(grey.shape))
    if scale < 1.0:
        grey = cv2.resize(grey, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    return grey, scale


def spectrum_angle(grey: np.ndarray, max_deg: float = 20.0, step: float = 0.1) -> tuple[float, float]:
    """Angle (degrees) whose pair of perpendicular frequency axes holds most spectral energy, and a contrast."""
    g, _ = _small(grey, 1400)
    side = min(g.shape)  # a square, so that frequency bins have the same size along both axes
    y0, x0 = (g.shape[0] - side) // 2, (g.shape[1] - side) // 2
    g = g[y0:y0 + side, x0:x0 + side].astype(np.float32)
    g -= cv2.GaussianBlur(g, (0, 0), 8)  # keep lines and edges, drop shading
    h, w = g.shape
    win = np.outer(np.hanning(h), np.hanning(w)).astype(np.float32)
    spec = np.log1p(np.abs(np.fft.fftshift(np.fft.fft2(g * win))))
    cy, cx = h // 2, w // 2
    radii = np.arange(max(6, min(h, w) // 40), min(h, w) // 2 - 2, 0.5)
    angles = np.arange(-max_deg, max_deg + step / 2, step)
    energy = np.zeros(angles.size)
    for offset in (0.0, 90.0):
        th = np.deg2rad(angles + offset)[:, None]
        ys = cy - radii[None, :] * np.sin(th)
        xs = cx + radii[None, :] * np.cos(th)
        energy += map_coordinates(spec, [ys.ravel(), xs.ravel()], order=1).reshape(ys.shape).mean(axis=1)
    k = int(np.argmax(energy))
    contrast = float((energy[k] - np.median(energy)) / (energy.std() + 1e-9))
    return float(angles[k]), contrast


def _projection_sharpness(ys: np.ndarray, xs: np.ndarray, angles_deg: np.ndarray, bins: int) -> np.ndarray:
    scores = np.empty(angles_deg.size)
    for i, a in enumerate(np.deg2rad(angles_deg)):
        proj = ys * np.cos(a) + xs * np.sin(a)
        hist = np.bincount(np.clip((proj - proj.min()).astype(np.int64), 0, bins - 1), minlength=bins)
        scores[i] = float(np.dot(hist, hist))
    return scores


def refine_angle(grey: np.ndarray, coarse: float, span: float = 0.6, step: float = 0.02) -> float:
    """Refine an angle by maximising the sharpness of the horizontal projection of the strongest horizontal
    edges (grid lines, baselines, text lines: wiggly traces matter less there than among dark pixels)."""
    g, _ = _small(grey, 2048)
    edges = np.abs(cv2.Sobel(g.astype(np.float32), cv2.CV_32F, 0, 1, ksize=3))
    strong = edges > np.percentile(edges, 95)
    ys, xs = np.nonzero(strong)
    if ys.size < 100:
        return coarse
    if ys.size > 400_000:
        pick = np.random.default_rng(0).choice(ys.size, 400_000, replace=False)
        ys, xs = ys[pick], xs[pick]
    ys = ys.astype(np.float64) - g.shape[0] / 2
    xs = xs.astype(np.float64) - g.shape[1] / 2
    angles = np.arange(coarse - span, coarse + span + step / 2, step)
    # a page rotated counter-clockwise by a lifts its right side: y' = y cos a + x sin a straightens it
    scores = _projection_sharpness(ys, xs, angles, int(np.hypot(*g.shape)) + 2)
    k = int(np.argmax(scores))
    if 0 < k < angles.size - 1:  # parabolic peak
        a, b, c = scores[k - 1], scores[k], scores[k + 1]
        den = a - 2 * b + c
        return float(angles[k] + (0.5 * (a - c) / den * step if den != 0 else 0.0))
    return float(angles[k])


def estimate_rotation(grey: np.ndarray, max_deg: float = 20.0) -> tuple[float, float]:
    """Rotation of the page content in degrees (counter-clockwise positive), and a confidence 0..1."""
    coarse, contrast = spectrum_angle(grey, max_deg)
    fine = refine_angle(grey, coarse)
    return fine, float(np.clip(contrast / 6.0, 0.0, 1.0))


def rotate(image: np.ndarray, angle_deg: float) -> tuple[np.ndarray, np.ndarray]:
    """Undo a counter-clockwise rotation of ``angle_deg``; the canvas grows to keep every corner."""
    h, w = image.shape[:2]
    m = np.eye(3)
    m[:2] = cv2.getRotationMatrix2D((w / 2, h / 2), -angle_deg, 1.0)
    corners = cv2.perspectiveTransform(np.array([[[0, 0], [w, 0], [w, h], [0, h]]], np.float64), m)[0]
    lo, hi = corners.min(0), corners.max(0)
    m = np.array([[1, 0, -lo[0]], [0, 1, -lo[1]], [0, 0, 1]]) @ m
    size = (int(np.ceil(hi[0] - lo[0])), int(np.ceil(hi[1] - lo[1])))
    out = cv2.warpPerspective(image, m, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return out, m


def _order_corners(pts: np.ndarray) -> np.ndarray:
    s, d = pts.sum(1), np.diff(pts, axis=1).ravel()
    return np.array([pts[np.argmin(s)], pts[np.argmin(d)], pts[np.argmax(s)], pts[np.argmax(d)]], np.float64)


def find_paper(grey: np.ndarray) -> np.ndarray | None:
    """Corners (tl, tr, br, bl) of a sheet of paper lying inside the photo, or None when no outline shows."""
    g, scale = _small(grey, 800)
    g = cv2.GaussianBlur(g, (5, 5), 0)
    _, bright = cv2.threshold(g, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    bright = cv2.morphologyEx(bright, cv2.MORPH_CLOSE, np.ones((9, 9), np.uint8))
    contours, _ = cv2.findContours(bright, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    if not contours:
        return None
    c = max(contours, key=cv2.contourArea)
    area = cv2.contourArea(c)
    if area < 0.3 * g.size or area > 0.985 * g.size:  # no sheet, or a scan that is all paper
        return None
    hull = cv2.convexHull(c)
    quad = cv2.approxPolyDP(hull, 0.02 * cv2.arcLength(hull, True), True)
    if len(quad) != 4:
        return None
    pts = quad.reshape(4, 2).astype(np.float64)
    h, w = g.shape
    if np.any((pts[:, 0] < 2) | (pts[:, 0] > w - 3) | (pts[:, 1] < 2) | (pts[:, 1] > h - 3)):
        return None  # the sheet runs off the photo: its outline is not all there
    # refine each corner on the full-resolution edge
    return _order_corners(pts / scale)


def rectify_paper(image: np.ndarray, corners: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Map the sheet onto an upright rectangle of letter or A4 proportions (whichever fits the outline)."""
    tl, tr, br, bl = corners
    width = max(np.linalg.norm(tr - tl), np.linalg.norm(br - bl))
    height = max(np.linalg.norm(bl - tl), np.linalg.norm(br - tr))
    ratio = min(PAPER_RATIOS, key=lambda r: abs(np.log(width / height / r)))
    height = width / ratio
    dst = np.array([[0, 0], [width, 0], [width, height], [0, height]], np.float64)
    m = cv2.getPerspectiveTransform(corners.astype(np.float32), dst.astype(np.float32)).astype(np.float64)
    out = cv2.warpPerspective(image, m, (int(round(width)), int(round(height))), flags=cv2.INTER_LINEAR,
                              borderMode=cv2.BORDER_REPLICATE)
    return out, m


def straighten(image: np.ndarray, max_deg: float = 20.0) -> Straightened:
    """Perspective (when the sheet's outline is visible and not rectangular) then rotation."""
    g = to_grey(image)
    hom = np.eye(3)
    perspective = False
    corners = find_paper(g)
    if corners is not None:
        image, hom = rectify_paper(image, corners)
        g = to_grey(image)
        perspective = True
    angle, confidence = estimate_rotation(g, max_deg)
    total = angle
    if abs(angle) >= 0.05:
        image, m = rotate(image, angle)
        hom = m @ hom
    if perspective:  # the rotation the outline removed, for the record
        total = float(np.degrees(np.arctan2(corners[1, 1] - corners[0, 1], corners[1, 0] - corners[0, 0]))) * -1
    return Straightened(image, hom, total, perspective, confidence)
