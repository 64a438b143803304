"""ecgdigitizer: paper ECG images back into 12-lead signals (the YOUR-Lead method, made stronger)."""

__version__ = "0.1.0"
