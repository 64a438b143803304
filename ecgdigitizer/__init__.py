"""ecgdigitizer: paper ECG images back into 12-lead signals (the YOUR-Lead method, made stronger).

    from ecgdigitizer import digitize
    result = digitize("scan.png")
"""

__version__ = "0.1.0"


def digitize(*args, **kwargs):  # noqa: ANN002, ANN003, ANN201 - see ecgdigitizer.api.digitize
    """Read one page into 12 leads; see :func:`ecgdigitizer.api.digitize`."""
    from .api import digitize as _digitize

    return _digitize(*args, **kwargs)
