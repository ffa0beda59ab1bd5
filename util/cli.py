"""Small helpers shared by the command-line entry points (train.py, test.py, pixelize.py)."""
from __future__ import annotations

import logging
import sys

from util import dist


def setup_logging(verbose: bool = False) -> None:
    """Console logging for a CLI: INFO on rank 0 (DEBUG with --verbose), warnings only elsewhere."""
    level = (logging.DEBUG if verbose else logging.INFO) if dist.get_rank() == 0 else logging.WARNING
    root = logging.getLogger()
    if not any(getattr(h, "_pixelart_cli", False) for h in root.handlers):
        handler = logging.StreamHandler(sys.stdout)
        handler.setFormatter(logging.Formatter("%(message)s"))
        handler._pixelart_cli = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    root.setLevel(level)
    for noisy in ("visdom", "urllib3", "websocket", "PIL", "matplotlib"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
