"""Every random choice of a generated page, made up front from a preset and a seed.

A :class:`PageConfig` fully determines a page (together with the signal): the renderer draws no random numbers
of its own except through the generator seeded from ``PageConfig.seed``. Presets: ``clean`` (a perfect print),
``scan`` (a flatbed scan of a used print), ``photo`` (a phone photo), ``mixed`` (any of these, and more) and
``full`` (every artifact at once, for speed benchmarks).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np

from ..layouts import LAYOUT_NAMES

PRESETS = ("clean", "scan", "photo", "mixed", "full")

PAPER_MM = {"letter": (279.4, 215.9), "a4": (297.0, 210.0)}

#: (major line colour, minor line colour), RGB.
GRID_COLOURS: dict[str, tuple[tuple[int, int, int], tuple[int, int, int]]] = {
    "red": ((230, 70, 70), (245, 165, 165)),
    "pink": ((240, 130, 160), (250, 200, 215)),
    "orange": ((235, 130, 50), (248, 195, 150)),
    "brown": ((150, 95, 65), (205, 170, 150)),
    "blue": ((70, 110, 200), (165, 190, 235)),
    "green": ((50, 145, 85), (160, 210, 175)),
    "grey": ((110, 110, 110), (185, 185, 185)),
    "bw": ((20, 20, 20), (120, 120, 120)),
}
GRID_NAMES = tuple(GRID_COLOURS) + ("none",)
TRACE_COLOURS = ((0, 0, 0), (35, 35, 35), (60, 60, 60), (15, 20, 70), (40, 20, 20))
INK_COLOURS = ((20, 40, 150), (10, 10, 10), (30, 30, 90), (140, 20, 30), (20, 90, 40))

#: Layouts and how often each is drawn; the Challenge's 3x4 with a lead II rhythm strip dominates.
LAYOUT_WEIGHTS = {"3x4+1": 0.34, "3x4": 0.1, "3x4+2": 0.06, "3x4+3": 0.12, "6x2": 0.12, "6x2+1": 0.12,
                  "12x1": 0.14}
assert set(LAYOUT_WEIGHTS) == set(LAYOUT_NAMES)


@dataclass
class Artifacts:
    """Degradations of the printed page; ``None`` or 0 means off."""

    handwriting_words: int = 0
    scribbles: int = 0
    stamps: int = 0
    wrinkles: float = 0.0  # shading strength 0..1
    creases: int = 0
    shadow: float = 0.0  # darkest shadow, 0..1
    uneven_light: float = 0.0  # brightness falloff, 0..1
    rotation_deg: float = 0.0
    perspective: float = 0.0  # corner displacement as a fraction of the page size
    crop: float = 0.0  # fraction cut from each side at most
    blur_sigma: float = 0.0
    gaussian_noise: float = 0.0  # standard deviation in grey levels
    poisson_noise: bool = False
    salt_pepper: float = 0.0  # fraction of pixels
    jpeg_quality: int = 0  # 0 = PNG
    colour_temperature: float = 0.0  # -1 (cold, blue) .. +1 (warm, yellow)
    fade: float = 0.0  # 0..1 loss of contrast towards the paper colour
    black_white: str = ""  # '', 'grey' or 'threshold'
    background_rgb: tuple[int, int, int] = (235, 235, 235)  # around the paper after perspective/rotation

    def active(self) -> list[str]:
        defaults = Artifacts()
        return [k for k, v in asdict(self).items() if k != "background_rgb" and v != getattr(defaults, k)]


@dataclass
class PageConfig:
    seed: int
    preset: str
    layout: str = "3x4+1"
    column_time: str = "shifted"
    paper: str = "letter"
    dpi: float = 200.0
    speed_mm_s: float = 25.0
    gain_limb: float = 10.0
    gain_chest: float = 10.0
    calibration_pulse: bool = True
    separators: bool = True
    margin_mm: tuple[float, float, float, float] = (10.0, 10.0, 30.0, 8.0)  # left, right, top, bottom
    header_block: bool = True
    grid: str = "red"
    grid_style: str = "solid"  # 'solid' or 'dotted'
    minor_grid: bool = True
    grid_width_mm: float = 0.1
    paper_rgb: tuple[int, int, int] = (255, 255, 255)
    trace_rgb: tuple[int, int, int] = (0, 0, 0)
    trace_width_mm: float = 0.25
    lead_labels: bool = True
    font: str = "DejaVuSans.ttf"
    label_size_mm: float = 3.5
    artifacts: Artifacts = field(default_factory=Artifacts)

    @property
    def size_mm(self) -> tuple[float, float]:
        return PAPER_MM[self.paper]

    @property
    def px_per_mm(self) -> float:
        return self.dpi / 25.4

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


FONTS = ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "DejaVuSerif.ttf", "DejaVuSansMono.ttf",
         "DejaVuSans-Oblique.ttf", "DejaVuSerif-Bold.ttf", "STIXGeneral.ttf", "cmss10.ttf")


def _base(seed: int, preset: str, rng: np.random.Generator) -> PageConfig:
    """Choices shared by every preset: what a printed page looks like before anything happens to it."""
    names = list(LAYOUT_WEIGHTS)
    layout = str(rng.choice(names, p=np.array([LAYOUT_WEIGHTS[n] for n in names])))
    gains = rng.choice(4, p=[0.85, 0.05, 0.05, 0.05])
    gain_limb, gain_chest = [(10.0, 10.0), (5.0, 5.0), (20.0, 20.0), (10.0, 5.0)][gains]
    grid = str(rng.choice(GRID_NAMES, p=[0.35, 0.15, 0.07, 0.06, 0.07, 0.06, 0.08, 0.08, 0.08]))
    header = bool(rng.random() < 0.8)
    top = float(rng.uniform(22, 38)) if header else float(rng.uniform(6, 14))
    return PageConfig(
        seed=seed, preset=preset, layout=layout,
        column_time="shifted" if rng.random() < 0.85 else "same",
        paper="letter" if rng.random() < 0.7 else "a4",
        dpi=200.0,
        speed_mm_s=25.0 if rng.random() < 0.93 else 50.0,
        gain_limb=gain_limb, gain_chest=gain_chest,
        calibration_pulse=bool(rng.random() < 0.8),
        separators=bool(rng.random() < 0.6),
        margin_mm=(float(rng.uniform(4, 12)), float(rng.uniform(4, 10)), top, float(rng.uniform(4, 12))),
        header_block=header,
        grid=grid,
        grid_style="dotted" if rng.random() < 0.12 else "solid",
        minor_grid=bool(rng.random() < 0.9),
        grid_width_mm=float(rng.uniform(0.06, 0.16)),
        paper_rgb=tuple(int(v) for v in 255 - rng.integers(0, 12, 3)),  # type: ignore[arg-type]
        trace_rgb=TRACE_COLOURS[int(rng.integers(len(TRACE_COLOURS)))],
        trace_width_mm=float(rng.uniform(0.15, 0.4)),
        lead_labels=bool(rng.random() < 0.95),
        font=FONTS[int(rng.integers(len(FONTS)))],
        label_size_mm=float(rng.uniform(2.5, 4.5)),
    )


def _scan_artifacts(rng: np.random.Generator) -> Artifacts:
    a = Artifacts()
    a.rotation_deg = float(rng.normal(0, 1.5)) if rng.random() < 0.7 else 0.0
    a.crop = float(rng.uniform(0, 0.03)) if rng.random() < 0.3 else 0.0
    a.blur_sigma = float(rng.uniform(0.3, 1.2)) if rng.random() < 0.5 else 0.0
    a.gaussian_noise = float(rng.uniform(2, 12)) if rng.random() < 0.6 else 0.0
    a.poisson_noise = bool(rng.random() < 0.2)
    a.salt_pepper = float(rng.uniform(0.0005, 0.004)) if rng.random() < 0.15 else 0.0
    a.jpeg_quality = int(rng.integers(35, 90)) if rng.random() < 0.5 else 0
    a.colour_temperature = float(rng.uniform(-0.6, 0.6)) if rng.random() < 0.4 else 0.0
    a.fade = float(rng.uniform(0.1, 0.5)) if rng.random() < 0.3 else 0.0
    a.black_white = str(rng.choice(["grey", "threshold"])) if rng.random() < 0.2 else ""
    a.handwriting_words = int(rng.integers(1, 6)) if rng.random() < 0.4 else 0
    a.scribbles = int(rng.integers(1, 4)) if rng.random() < 0.25 else 0
    a.stamps = int(rng.integers(1, 3)) if rng.random() < 0.15 else 0
    a.wrinkles = float(rng.uniform(0.1, 0.5)) if rng.random() < 0.3 else 0.0
    a.creases = int(rng.integers(1, 4)) if rng.random() < 0.3 else 0
    a.uneven_light = float(rng.uniform(0.05, 0.2)) if rng.random() < 0.3 else 0.0
    a.background_rgb = (250, 250, 250)
    return a


def _photo_artifacts(rng: np.random.Generator) -> Artifacts:
    a = Artifacts()
    a.rotation_deg = float(rng.uniform(-10, 10))
    a.perspective = float(rng.uniform(0.01, 0.06))
    a.crop = float(rng.uniform(0, 0.02)) if rng.random() < 0.3 else 0.0
    a.blur_sigma = float(rng.uniform(0.5, 1.5)) if rng.random() < 0.6 else 0.0
    a.gaussian_noise = float(rng.uniform(3, 15))
    a.poisson_noise = bool(rng.random() < 0.3)
    a.jpeg_quality = int(rng.integers(40, 92))
    a.colour_temperature = float(rng.uniform(-1, 1))
    a.shadow = float(rng.uniform(0.15, 0.5)) if rng.random() < 0.6 else 0.0
    a.uneven_light = float(rng.uniform(0.1, 0.4))
    a.wrinkles = float(rng.uniform(0.2, 0.7)) if rng.random() < 0.6 else 0.0
    a.creases = int(rng.integers(1, 5)) if rng.random() < 0.5 else 0
    a.handwriting_words = int(rng.integers(1, 6)) if rng.random() < 0.4 else 0
    a.scribbles = int(rng.integers(1, 4)) if rng.random() < 0.25 else 0
    a.stamps = int(rng.integers(1, 3)) if rng.random() < 0.1 else 0
    a.fade = float(rng.uniform(0.05, 0.3)) if rng.random() < 0.3 else 0.0
    a.background_rgb = tuple(int(v) for v in rng.integers(20, 140, 3))  # type: ignore[assignment]
    return a


def _full_artifacts(rng: np.random.Generator) -> Artifacts:
    a = _photo_artifacts(rng)
    a.handwriting_words, a.scribbles, a.stamps = 4, 2, 1
    a.wrinkles, a.creases, a.shadow = 0.5, 3, 0.35
    a.blur_sigma, a.salt_pepper, a.poisson_noise = 0.8, 0.002, True
    a.fade, a.black_white = 0.2, ""
    return a


def sample_config(preset: str, seed: int, **overrides: Any) -> PageConfig:
    """Draw a page configuration for ``preset`` from ``seed``; keyword arguments fix any field."""
    if preset not in PRESETS:
        raise ValueError(f"unknown preset {preset!r}; known: {', '.join(PRESETS)}")
    rng = np.random.default_rng(seed)
    cfg = _base(seed, preset, rng)
    if preset == "mixed":
        kind = str(rng.choice(["clean", "scan", "photo"], p=[0.2, 0.45, 0.35]))
    else:
        kind = preset
    if kind == "clean":
        cfg.dpi = 200.0 if preset == "clean" else float(rng.choice([100, 150, 200, 250, 300]))
    elif kind == "scan":
        cfg.dpi = float(rng.choice([75, 100, 150, 200, 250, 300], p=[0.05, 0.2, 0.2, 0.3, 0.1, 0.15]))
        cfg.artifacts = _scan_artifacts(rng)
    elif kind == "photo":
        cfg.dpi = float(rng.choice([100, 125, 150, 200], p=[0.25, 0.25, 0.25, 0.25]))
        cfg.artifacts = _photo_artifacts(rng)
    else:  # full
        cfg.dpi = 200.0
        cfg.artifacts = _full_artifacts(rng)
    if preset == "mixed" and rng.random() < 0.15:
        cfg.dpi = float(rng.choice([50, 60, 75]))
    if cfg.artifacts.black_white and cfg.grid not in ("grey", "bw", "none"):
        cfg.grid = "grey"
    artifact_fields = {k: v for k, v in overrides.items() if hasattr(Artifacts, k)}
    page_fields = {k: v for k, v in overrides.items() if k not in artifact_fields}
    cfg = replace(cfg, **page_fields)
    if artifact_fields:
        cfg.artifacts = replace(cfg.artifacts, **artifact_fields)
    if cfg.layout not in LAYOUT_NAMES:
        raise ValueError(f"unknown layout {cfg.layout!r}; known: {', '.join(LAYOUT_NAMES)}")
    return cfg
