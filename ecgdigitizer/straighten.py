"""Straighten the page: perspective from the paper's outline where a photo shows one, rotation from the page's
periodicity, then what perspective and rotation the grid still shows.

A straight ECG page is periodic along x and y (grid lines, baselines), so its 2-D spectrum concentrates on the
two frequency axes; a rotated page rotates those axes. The coarse angle comes from the spectrum's angular
energy, the fine one from the sharpness of the strongest edges' projection profiles. Where a grid shows, its
lattice, measured tile by tile, gives the homography that makes it square and even: a photo's keystone, and
the last tenths of a degree that traces' wandering baselines hide from the projection.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import scipy.fft

from .images import grey as to_grey

PAPER_RATIOS = (279.4 / 215.9, 297.0 / 210.0)  # letter and A4, landscape


@dataclass
class Straightened:
    image: np.ndarray
    homography: np.ndarray  # input pixels -> straightened pixels
    rotation_deg: float  # rotation undone (counter-clockwise positive, as cv2.getRotationMatrix2D)
    perspective: str  # what perspective was corrected from: "", "the paper's outline", "the grid", or both
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
    win = np.outer(np.hanning(side), np.hanning(side)).astype(np.float32)
    # zero-padded to a length with small prime factors (1082 = 2 x 541 takes 3x the time of 1089); the
    # spectrum is the same, sampled finer. Single precision: 3x faster.
    n = scipy.fft.next_fast_len(side)
    spec = np.log1p(np.abs(scipy.fft.fftshift(scipy.fft.fft2(g * win, s=(n, n)))))
    cy = cx = n // 2
    radii = np.arange(max(6, side // 40), side // 2 - 2, 0.5) * (n / side)  # the same frequencies
    angles = np.arange(-max_deg, max_deg + step / 2, step)
    energy = np.zeros(angles.size)
    for offset in (0.0, 90.0):
        th = np.deg2rad(angles + offset)[:, None]
        ys = cy - radii[None, :] * np.sin(th)
        xs = cx + radii[None, :] * np.cos(th)
        # bilinear samples along each ray (cv2.remap: 10x faster than scipy's map_coordinates)
        samples = cv2.remap(spec, xs.astype(np.float32), ys.astype(np.float32), cv2.INTER_LINEAR)
        energy += samples.mean(axis=1)
    k = int(np.argmax(energy))
    contrast = float((energy[k] - np.median(energy)) / (energy.std() + 1e-9))
    return float(angles[k]), contrast


def _projection_sharpness(ys: np.ndarray, xs: np.ndarray, angles_deg: np.ndarray, bins: int) -> np.ndarray:
    scores = np.empty(angles_deg.size)
    ys, xs = ys.astype(np.float32), xs.astype(np.float32)  # half the time of float64; bins are whole pixels
    for i, a in enumerate(np.deg2rad(angles_deg)):
        proj = ys * np.float32(np.cos(a)) + xs * np.float32(np.sin(a))
        proj -= proj.min()
        hist = np.bincount(np.minimum(proj.astype(np.int32), bins - 1), minlength=bins)
        scores[i] = float(np.dot(hist, hist))
    return scores


def refine_angle(grey: np.ndarray, coarse: float, span: float = 0.6, step: float = 0.02,
                 max_deg: float = 20.0) -> float:
    """Refine an angle by maximising the sharpness of two projections: of the strongest horizontal edges onto
    y (grid lines, baselines, text lines) and of the strongest vertical edges onto x (grid lines, QRS strokes,
    calibration pulses, separators). Each counts relative to its own best, so that neither dominates: without
    a grid, the traces' baselines wander and tilt the first by up to 0.3 degrees, their steep strokes keep the
    second upright.

    The search looks ``span`` either side of ``coarse``; where the sharpest angle is at the window's edge, the
    coarse angle was off (a page without a grid, whose regular rhythm put it 2.3 degrees from a straight page's
    0), and the window moves on, up to 4 times."""
    g, _ = _small(grey, 2048)
    points = []
    for dx, dy in ((0, 1), (1, 0)):
        edges = np.abs(cv2.Sobel(g.astype(np.float32), cv2.CV_32F, dx, dy, ksize=3))
        # the 95th percentile, of a random eighth of the pixels (a partition of all of them, mostly ties, takes
        # 0.1 s); >=: a binary page's edges are all equal
        sample = edges.ravel()[np.random.default_rng(0).integers(0, edges.size, edges.size // 8 + 1)]
        k = int(0.95 * (sample.size - 1))
        strong = edges >= max(float(np.partition(sample, k)[k]), 1e-6)
        ys, xs = np.nonzero(strong)
        if ys.size < 100:
            continue
        if ys.size > 400_000:
            pick = np.random.default_rng(0).choice(ys.size, 400_000, replace=False)
            ys, xs = ys[pick], xs[pick]
        ys = ys.astype(np.float64) - g.shape[0] / 2
        xs = xs.astype(np.float64) - g.shape[1] / 2
        # a page rotated counter-clockwise by a lifts its right side: y cos a + x sin a straightens its rows,
        # x cos a - y sin a its columns
        points.append((ys, xs) if dy else (-xs, ys))
    if not points:
        return coarse
    bins = int(np.hypot(*g.shape)) + 2
    centre = coarse
    for _ in range(5):
        angles = np.arange(centre - span, centre + span + step / 2, step)
        total = np.zeros(angles.size)
        for ys, xs in points:
            scores = _projection_sharpness(ys, xs, angles, bins)
            total += scores / scores.max()
        k = int(np.argmax(total))
        if 0 < k < angles.size - 1:  # parabolic peak
            a, b, c = total[k - 1], total[k], total[k + 1]
            den = a - 2 * b + c
            return float(angles[k] + (0.5 * (a - c) / den * step if den != 0 else 0.0))
        if abs(angles[k]) + span > max_deg:
            break
        centre = float(angles[k])
    return float(angles[k])


def estimate_rotation(grey: np.ndarray, max_deg: float = 20.0) -> tuple[float, float]:
    """Rotation of the page content in degrees (counter-clockwise positive), and a confidence 0..1."""
    coarse, contrast = spectrum_angle(grey, max_deg)
    fine = refine_angle(grey, coarse, max_deg=max_deg)
    return fine, float(np.clip(contrast / 6.0, 0.0, 1.0))


def rotate(image: np.ndarray, angle_deg: float) -> tuple[np.ndarray, np.ndarray]:
    """Undo a counter-clockwise rotation of ``angle_deg``; the canvas grows to keep every corner."""
    h, w = image.shape[:2]
    m = np.eye(3)
    m[:2] = cv2.getRotationMatrix2D((w / 2, h / 2), -angle_deg, 1.0)
    return warp_whole(image, m)


def warp_whole(image: np.ndarray, m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Warp by the homography ``m`` onto a canvas that keeps every corner; the homography actually applied."""
    h, w = image.shape[:2]
    corners = cv2.perspectiveTransform(np.array([[[0, 0], [w, 0], [w, h], [0, h]]], np.float64), m)[0]
    lo, hi = corners.min(0), corners.max(0)
    m = np.array([[1, 0, -lo[0]], [0, 1, -lo[1]], [0, 0, 1]]) @ m
    size = (int(np.ceil(hi[0] - lo[0])), int(np.ceil(hi[1] - lo[1])))
    out = cv2.warpPerspective(image, m, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return out, m


def _order_corners(pts: np.ndarray) -> np.ndarray:
    s, d = pts.sum(1), np.diff(pts, axis=1).ravel()
    return np.array([pts[np.argmin(s)], pts[np.argmin(d)], pts[np.argmax(s)], pts[np.argmax(d)]], np.float64)


def _largest_region(mask: np.ndarray) -> tuple[np.ndarray, float] | None:
    """The largest blob of a (small) mask, gaps of a few pixels closed, with its area; None unless it covers
    between 30 and 98.5 % of the picture (no sheet, or a scan that is all paper)."""
    mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, np.ones((9, 9), np.uint8))
    contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    if not contours:
        return None
    c = max(contours, key=cv2.contourArea)
    area = float(cv2.contourArea(c))
    return (c, area) if 0.3 * mask.size <= area <= 0.985 * mask.size else None


def _outline(contour: np.ndarray, shape: tuple[int, ...]) -> np.ndarray | None:
    """A blob's four corners (tl, tr, br, bl) where its hull is a sheet-like quadrilateral inside the picture."""
    hull = cv2.convexHull(contour)
    quad = cv2.approxPolyDP(hull, 0.02 * cv2.arcLength(hull, True), True)
    if len(quad) != 4:
        return None
    pts = quad.reshape(4, 2).astype(np.float64)
    h, w = shape[:2]
    if np.any((pts[:, 0] < 2) | (pts[:, 0] > w - 3) | (pts[:, 1] < 2) | (pts[:, 1] > h - 3)):
        return None  # the sheet runs off the photo: its outline is not all there
    corners = _order_corners(pts)
    return corners if sheet_like(corners) else None


def find_paper(image: np.ndarray) -> np.ndarray | None:
    """Corners (tl, tr, br, bl) of a sheet of paper lying inside the photo, or None when no outline shows.

    The sheet is the largest bright blob, or in colour the largest pale one (low saturation, not dark): a shadow
    or crease across the sheet darkens it, and the bright blob then stops at the shadow's edge, a four-cornered
    shape that passes for a sheet in perspective (7 of 160 generated photos were torn apart so). Shading scales
    the paper's colour and keeps its saturation, which sets it apart from a coloured table. The larger outline
    found is the sheet's; none when a larger blob (the shaded sheet running off the photo) holds it."""
    g, scale = _small(to_grey(image), 800)
    g = cv2.GaussianBlur(g, (5, 5), 0)
    level, bright = cv2.threshold(g, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    masks = [bright]
    if image.ndim == 3:
        hsv = cv2.cvtColor(cv2.GaussianBlur(cv2.resize(image, g.shape[::-1], interpolation=cv2.INTER_AREA),
                                            (5, 5), 0), cv2.COLOR_RGB2HSV)
        _, pale = cv2.threshold(hsv[:, :, 1], 0, 255, cv2.THRESH_BINARY_INV + cv2.THRESH_OTSU)
        pale[hsv[:, :, 2] < 0.5 * level] = 0  # a dark grey table is unsaturated too
        masks.append(pale)
    regions = [r for r in map(_largest_region, masks) if r is not None]
    outlines = [(corners, area) for corners, area in ((_outline(c, g.shape), a) for c, a in regions)
                if corners is not None]
    if not outlines:
        return None
    corners, area = max(outlines, key=lambda ca: ca[1])
    return corners / scale if area >= 0.9 * max(a for _, a in regions) else None


def sheet_like(corners: np.ndarray, max_skew_deg: float = 25.0, min_side_ratio: float = 0.6) -> bool:
    """Whether corners (tl, tr, br, bl) can be a sheet seen in perspective: every angle within ``max_skew_deg`` of
    a right angle and opposite sides of like length. The bright region a shadow or uneven light leaves is often
    a four-cornered shape too (one seen: angles 44 degrees off, the top a third of the bottom); a homography to
    it would tear the page apart, where the rotation and the grid straighten it well."""
    for k in range(4):
        a, b, d = corners[k], corners[(k + 1) % 4], corners[(k - 1) % 4]
        u, v = b - a, d - a
        cos = float(np.dot(u, v) / max(np.linalg.norm(u) * np.linalg.norm(v), 1e-9))
        if abs(np.degrees(np.arccos(np.clip(cos, -1.0, 1.0))) - 90.0) > max_skew_deg:
            return False
    sides = [np.linalg.norm(corners[(k + 1) % 4] - corners[k]) for k in range(4)]
    return min(sides[0], sides[2]) >= min_side_ratio * max(sides[0], sides[2]) and \
        min(sides[1], sides[3]) >= min_side_ratio * max(sides[1], sides[3])


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
    """Perspective (when the sheet's outline is visible and not rectangular), rotation, then what perspective
    and rotation are left where the grid shows them (:func:`grid_correction`)."""
    g = to_grey(image)
    hom = np.eye(3)
    sources = []
    corners = find_paper(image)
    total = 0.0
    if corners is not None:
        image, hom = rectify_paper(image, corners)
        g = to_grey(image)
        sources.append("the paper's outline")
        total = float(np.degrees(np.arctan2(corners[1, 1] - corners[0, 1], corners[1, 0] - corners[0, 0]))) * -1
    angle, confidence = estimate_rotation(g, max_deg)
    if abs(angle) >= 0.05:  # below, not worth a resampling (the grid may still take it out)
        image, m = rotate(image, angle)
        hom = m @ hom
        total += angle
    fix = grid_correction(to_grey(image))
    if fix is not None:
        image, m = warp_whole(image, fix.homography)
        hom = m @ hom
        total += fix.rotation_deg
        if fix.perspective:
            sources.append("the grid")
    return Straightened(image, hom, total, " and ".join(sources), confidence)


def _peak_masks(tile: int, f1: float, max_deg: float = 6.0) -> dict[tuple[int, float], np.ndarray]:
    """Where to look in a tile's centred spectrum for the grid's peaks: near the x (0) or y (1) frequency axis,
    at the radius of the 1 mm or the 5 mm lines (within 15 %)."""
    c = tile // 2
    yy, xx = np.mgrid[0:tile, 0:tile] - c
    r = np.hypot(xx, yy)
    masks = {}
    for axis, (along, across) in enumerate(((xx, yy), (yy, xx))):
        for mm in (1.0, 5.0):
            masks[axis, mm] = ((r >= 0.85 * f1 / mm) & (r <= 1.15 * f1 / mm) & (along > 0)
                               & (np.abs(across) <= np.tan(np.deg2rad(max_deg)) * along + 1))
    return masks


def _sub_bin(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    den = a - 2 * b + c
    return np.where(den != 0, 0.5 * (a - c) / np.where(den != 0, den, 1), 0.0)


def local_grid(grey: np.ndarray, px_per_mm: float, tile: int = 256, min_prominence: float = 6.0
               ) -> list[tuple[float, float, np.ndarray]]:
    """Per tile of the page: its centre (x, y) and the 2x2 matrix whose columns are the image vectors of 1 mm
    along the grid's x and y, from the tile's spectral peaks of the 1 mm lines (else the 5 mm ones), placed to
    a fraction of a frequency bin. Tiles without a clear grid (margins, background) are left out."""
    g = grey.astype(np.float32)
    g = g - cv2.GaussianBlur(g, (0, 0), 4)
    h, w = g.shape
    step = tile // 2
    corners = [(y0, x0) for y0 in range(0, h - tile + 1, step) for x0 in range(0, w - tile + 1, step)]
    if not corners:
        return []
    win = np.outer(np.hanning(tile), np.hanning(tile)).astype(np.float32)
    mag = np.empty((len(corners), tile, tile), np.float32)
    for i, (y0, x0) in enumerate(corners):
        t = g[y0:y0 + tile, x0:x0 + tile]
        mag[i] = np.abs(np.fft.fftshift(scipy.fft.fft2((t - t.mean()) * win)))
    c = tile // 2
    logm = np.log(mag + 1e-6)  # a Hann-windowed peak is near Gaussian: a parabola through its log is unbiased
    vectors = np.full((len(corners), 2, 2), np.nan)
    for (axis, mm), mask in sorted(_peak_masks(tile, tile / px_per_mm).items(), key=lambda kv: -kv[0][1]):
        if mask.sum() < 3:  # that line spacing is beyond what the tile resolves at this scale
            continue
        ring = mag[:, mask]
        k = np.argmax(ring, axis=1)
        idx = np.flatnonzero(mask)[k]
        py, px = np.divmod(idx, tile)
        prominence = (ring.max(axis=1) - np.median(ring, axis=1)) / (ring.std(axis=1) + 1e-9)
        ok = (prominence > min_prominence) & (py > 0) & (py < tile - 1) & (px > 0) & (px < tile - 1)
        n = np.arange(len(corners))
        pyc, pxc = np.clip(py, 1, tile - 2), np.clip(px, 1, tile - 2)
        dx = _sub_bin(logm[n, pyc, pxc - 1], logm[n, pyc, pxc], logm[n, pyc, pxc + 1])
        dy = _sub_bin(logm[n, pyc - 1, pxc], logm[n, pyc, pxc], logm[n, pyc + 1, pxc])
        freq = np.stack([px - c + dx, py - c + dy], axis=1) / tile * mm  # cycles per px of the 1 mm lattice
        vectors[ok, axis] = freq[ok]  # the 5 mm lines first, so the 1 mm ones overwrite them where seen
    out = []
    for (y0, x0), rows in zip(corners, vectors):
        if np.isfinite(rows).all() and abs(np.linalg.det(rows)) > 1e-12:
            out.append((x0 + tile / 2, y0 + tile / 2, np.linalg.inv(rows)))
    return out


def _jacobians(params: np.ndarray, pts: np.ndarray) -> np.ndarray:
    a, b, d, e, g, h = params
    x, y = pts[:, 0], pts[:, 1]
    w = g * x + h * y + 1
    xp = ((1 + a) * x + b * y) / w
    yp = (d * x + (1 + e) * y) / w
    j = np.empty((len(x), 2, 2))
    j[:, 0, 0] = (1 + a - g * xp) / w
    j[:, 0, 1] = (b - h * xp) / w
    j[:, 1, 0] = (d - g * yp) / w
    j[:, 1, 1] = (1 + e - h * yp) / w
    return j


def grid_homography(grey: np.ndarray, px_per_mm: float, min_tiles: int = 12) -> tuple[np.ndarray, float] | None:
    """The homography that makes the grid square and even over the whole page (a photo's perspective, which
    rotation cannot undo), fitted to the local grid of every tile; with the tiles' median misfit (relative to
    1 mm) or None."""
    from scipy.optimize import least_squares

    shrink = max(1.0, px_per_mm / 4.0)  # 4 px per mm resolve the 1 mm lines; 256 px tiles then span 64 mm
    small = cv2.resize(grey, None, fx=1 / shrink, fy=1 / shrink, interpolation=cv2.INTER_AREA) if shrink > 1 else grey
    tiles = [(x * shrink, y * shrink, m * shrink) for x, y, m in local_grid(small, px_per_mm / shrink)]
    if len(tiles) < min_tiles:
        return None
    h, w = grey.shape
    scale = max(h, w) / 2
    pts = np.array([[(x - w / 2) / scale, (y - h / 2) / scale] for x, y, _ in tiles])
    basis = np.array([m for _, _, m in tiles]) / scale  # per mm, in the normalised coordinates

    s0 = float(np.median(np.abs(np.linalg.det(basis))) ** 0.5)  # 1 mm, at the page's median scale

    def residual(q: np.ndarray) -> np.ndarray:
        mapped = _jacobians(q, pts) @ basis  # rectified vectors of 1 mm along x and y
        return (mapped - s0 * np.eye(2)).ravel()

    fit = least_squares(residual, np.zeros(6), loss="soft_l1", f_scale=0.01 * s0)
    a, b, d, e, g, hh = fit.x
    rms = float(np.sqrt(np.median(fit.fun ** 2)) / s0)  # relative misfit of a tile's 1 mm
    norm = np.array([[1 / scale, 0, -w / 2 / scale], [0, 1 / scale, -h / 2 / scale], [0, 0, 1]])
    core = np.array([[1 + a, b, 0], [d, 1 + e, 0], [g, hh, 1]])
    return np.linalg.inv(norm) @ core @ norm, rms


@dataclass(frozen=True)
class GridCorrection:
    homography: np.ndarray  # straightened pixels -> pixels where the grid is square and even
    rotation_deg: float  # the rotation it undoes (counter-clockwise positive)
    perspective: bool  # whether it undoes perspective (or shear) too, not only a rotation


def grid_correction(grey: np.ndarray, min_px: float = 1.0, max_misfit: float = 0.02) -> GridCorrection | None:
    """The homography that evens out the grid of a straightened page (:func:`grid_homography`), or None when
    there is no grid to fit, the fit is poor (its tiles' median misfit over ``max_misfit`` of 1 mm), or it
    would move no point of the page by ``min_px`` beyond a scaling (a flat, straight page).

    Its perspective part undoes a photo's keystone. Its rotation part finishes :func:`estimate_rotation`,
    whose projection of a page's strongest edges follows the traces' baseline wander where the grid is faint
    (a red grid in grey, 0.2-0.3 degrees off on some pages); the grid's lattice, measured tile by tile, is
    straight to a few hundredths of a degree."""
    from .calibrate import MAX_PX_PER_MM, MIN_PX_PER_MM, grid_scale, page_prior

    scale = grid_scale(grey).px_per_mm_x
    # a strong perspective smears the grid's period over the page, so that no period is found for the whole
    # page, or a harmonic is (one axis seen): the tiles then look near the page size's scale (a letter or A4
    # sheet), a quarter either way, or at half the period found
    prior = page_prior(grey.shape)
    guesses: list[float] = []
    for guess in (scale, prior, 0.8 * prior, 1.25 * prior, 0.5 * scale):
        plausible = MIN_PX_PER_MM <= guess <= MAX_PX_PER_MM
        if plausible and all(abs(np.log(guess / g)) > 0.1 for g in guesses):  # the tiles look 15 % either way
            guesses.append(guess)
    # a wrong scale can still fit within max_misfit (tiles read off-lattice peaks), but worse than the right
    # one, which fits to a few thousandths: the best fit wins, and one that close ends the search
    best: tuple[np.ndarray, float] | None = None
    for guess in guesses:
        found = grid_homography(grey, guess)
        if found is not None and (best is None or found[1] < best[1]):
            best = found
        if best is not None and best[1] <= 0.003:
            break
    if best is None or best[1] > max_misfit:
        return None
    m = best[0] / best[0][2, 2]
    h, w = grey.shape
    corners = np.array([[0, 0], [w, 0], [w, h], [0, h], [w / 2, 0], [w, h / 2], [w / 2, h], [0, h / 2]], np.float64)
    moved = cv2.perspectiveTransform(corners[None], m)[0]
    # the similarity (rotation, scale, shift) closest to the move, by least squares: what is left is
    # perspective and shear
    x, y = corners[:, 0], corners[:, 1]
    one, zero = np.ones_like(x), np.zeros_like(x)
    design = np.vstack([np.stack([x, -y, one, zero], 1), np.stack([y, x, zero, one], 1)])
    (a, b, tx, ty), *_ = np.linalg.lstsq(design, np.r_[moved[:, 0], moved[:, 1]], rcond=None)
    rest = moved - np.stack([a * x - b * y + tx, b * x + a * y + ty], 1)
    theta = float(np.arctan2(b, a))
    perspective = float(np.abs(rest).max()) >= min_px
    if not perspective and abs(theta) * 0.5 * np.hypot(h, w) < min_px:
        return None
    return GridCorrection(np.diag([1, 1, np.hypot(a, b)]) @ m, float(np.degrees(theta)), perspective)
