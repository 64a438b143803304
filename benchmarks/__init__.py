"""Benchmarks: accuracy per artifact category, speed and memory (``python -m benchmarks.run``)."""
