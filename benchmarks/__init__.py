"""Reproducible speed and quality benchmarks that print ratios against in-run baselines.

Each benchmark is a CLI, run by path (``python benchmarks/bench_grid.py``) or with ``-m``
(``python -m benchmarks.bench_grid``); the package is installed (editable) with the project.
"""
