"""Benchmark scenarios and their harness (``python -m bench``)."""
