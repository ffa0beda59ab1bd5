"""Shared helpers: image conversion, checkpoints, HTML, visualisation, distributed ranks."""
