"""Load any page image as RGB ``uint8``: PNG, JPEG, TIFF (every page), BMP, PDF (rasterised), grey, RGBA,
16-bit, with the camera's orientation applied; refuse decompression bombs and files that are not images.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

MAX_PIXELS = 200_000_000  # larger images are refused, not decoded (a 300 dpi A0 poster is ~100 Mpx)
PDF_DPI = 300
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".pdf"}


class ImageError(Exception):
    """An input that is not a readable page image; the message names the file and the cause."""


def to_rgb(img: Image.Image) -> np.ndarray:
    """Any PIL mode as RGB uint8: 16-bit scaled down, transparency composited on white, palettes expanded."""
    if img.mode in ("I;16", "I;16B", "I;16L", "I"):
        arr = np.asarray(img, dtype=np.float64)
        top = 65535.0 if arr.max() > 255 else 255.0
        grey = np.clip(arr / top * 255.0 + 0.5, 0, 255).astype(np.uint8)
        return np.repeat(grey[:, :, None], 3, axis=2)
    if img.mode == "F":
        arr = np.asarray(img, dtype=np.float64)
        lo, hi = float(np.nanmin(arr)), float(np.nanmax(arr))
        grey = ((arr - lo) / (hi - lo or 1.0) * 255).astype(np.uint8)
        return np.repeat(grey[:, :, None], 3, axis=2)
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return np.asarray(Image.alpha_composite(white, rgba).convert("RGB"))
    return np.asarray(img.convert("RGB"))


def _check_size(path: Path, width: int, height: int) -> None:
    if width * height > MAX_PIXELS:
        raise ImageError(f"{path}: {width}x{height} pixels is over the {MAX_PIXELS:,}-pixel limit (refused)")
    if width < 16 or height < 16:
        raise ImageError(f"{path}: {width}x{height} pixels is too small to be a page")


def load_pages(path: str | os.PathLike[str]) -> list[np.ndarray]:
    """Every page of an image file as RGB uint8 arrays (one for most files; all pages of a TIFF or PDF)."""
    path = Path(path)
    if not path.is_file():
        raise ImageError(f"{path}: no such file")
    if path.stat().st_size == 0:
        raise ImageError(f"{path}: empty file (0 bytes)")
    if path.suffix.lower() == ".pdf":
        return _load_pdf(path)
    Image.MAX_IMAGE_PIXELS = None  # our own limit below, checked before decoding
    try:
        with Image.open(path) as img:
            _check_size(path, *img.size)
            pages = []
            for k in range(getattr(img, "n_frames", 1)):
                img.seek(k)
                _check_size(path, *img.size)
                pages.append(to_rgb(ImageOps.exif_transpose(img) or img))
            return pages
    except UnidentifiedImageError:
        raise ImageError(f"{path}: not an image (unknown format)") from None
    except (OSError, SyntaxError, ValueError) as e:
        raise ImageError(f"{path}: corrupt or truncated image ({e})") from None


def load_image(path: str | os.PathLike[str]) -> np.ndarray:
    """The first page of an image file as RGB uint8."""
    return load_pages(path)[0]


def _load_pdf(path: Path) -> list[np.ndarray]:
    import pypdfium2 as pdfium

    try:
        pdf = pdfium.PdfDocument(str(path))
    except pdfium.PdfiumError as e:
        raise ImageError(f"{path}: not a readable PDF ({e})") from None
    pages = []
    try:
        for k in range(len(pdf)):
            page = pdf[k]
            w, h = page.get_size()
            scale = PDF_DPI / 72.0
            _check_size(path, int(w * scale), int(h * scale))
            pages.append(to_rgb(page.render(scale=scale).to_pil()))
    finally:
        pdf.close()
    if not pages:
        raise ImageError(f"{path}: PDF without pages")
    return pages


def grey(image: np.ndarray) -> np.ndarray:
    """Luminance of an RGB uint8 image, uint8."""
    import cv2

    return image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
