"""Generate realistic paper-ECG pages from real signals, with pixel-exact ground truth.

    from ecgdigitizer.generate import sample_config, render_page
    page = render_page(signal, fs, lead_names, sample_config("scan", seed=3))

``python -m ecgdigitizer.generate -i RECORDS -o OUT --preset mixed`` renders whole folders
(see :mod:`ecgdigitizer.generate.dataset` for what is written).
"""

from .config import PRESETS, Artifacts, PageConfig, sample_config
from .dataset import GENERATOR_VERSION, generate, generate_record, load_source, read_trace, write_page
from .render import MASK_PULSE, MASK_TRACE, RenderedPage, render_page

__all__ = ["PRESETS", "Artifacts", "PageConfig", "sample_config", "GENERATOR_VERSION", "generate",
           "generate_record", "load_source", "read_trace", "write_page", "MASK_PULSE", "MASK_TRACE",
           "RenderedPage", "render_page"]
