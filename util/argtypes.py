"""argparse value types shared by every CLI (torch-free, on the ground floor, so dataset tools and model
plugins that add flags can use them too).

Each raises ``argparse.ArgumentTypeError``; argparse turns it into an error naming the flag.
"""
from __future__ import annotations

import argparse
import math

from util.dist import parse_gpu_ids


def positive_int(text: str) -> int:
    """argparse type: an int >= 1."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def non_negative_int(text: str) -> int:
    """argparse type: an int >= 0."""
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {value}")
    return value


def fraction(text: str) -> float:
    """argparse type: a float in [0, 1)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1), got {text!r}") from None
    if not 0.0 <= value < 1.0:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1), got {value}")
    return value


def non_negative_float(text: str) -> float:
    """argparse type: a finite float >= 0."""
    value = float(text)
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"must be a finite number >= 0, got {text}")
    return value


def positive_float(text: str) -> float:
    """argparse type: a finite float > 0."""
    value = float(text)
    if not (value > 0 and math.isfinite(value)):
        raise argparse.ArgumentTypeError(f"must be a finite number > 0, got {text}")
    return value


def size_limit(text: str) -> float:
    """argparse type for --max_dataset_size: a positive int, or 'inf' for no limit."""
    if text.strip().lower() in ("inf", "infinity", "none"):
        return float("inf")
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1 or 'inf', got {value}")
    return value


def gpu_list(text: str) -> str:
    """argparse type for --gpu_ids: '-1' or comma-separated non-negative ints (kept as text, as the
    reference saves it; :func:`util.dist.parse_gpu_ids` turns it into ids)."""
    try:
        parse_gpu_ids(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None
    return text
