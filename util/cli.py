"""What every command-line entry point shares: the exit-status policy, the flag-error type, logging.

Exit status, the same for every CLI (train.py, test.py, pixelize.py, datasets/*.py, benchmarks/*.py):

========  =====================================================================================
``0``     the job ran (also: a training run stopped by Ctrl-C/SIGTERM after saving ``latest``)
``1``     the run failed: an input, image or checkpoint file could not be read or written, or
          some inputs of a batch job failed (each is reported by name)
``2``     bad flags: argparse refused a value, flags contradict each other, or setup found a
          problem a flag fixes (a missing ``--dataroot``, checkpoint or ``--palette`` file, a
          device that is not there); nothing was written
``130``   interrupted by Ctrl-C where no state could be saved (pixelize keeps finished outputs)
========  =====================================================================================
"""
from __future__ import annotations

import logging
import sys
from typing import Callable

from util import dist

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_FLAGS = 2
EXIT_INTERRUPTED = 130


class FlagError(ValueError):
    """A setup failure the user fixes by changing a flag (exit status :data:`EXIT_BAD_FLAGS`).

    The message names the flag (or the file a flag points to) and the fix.
    """


class _StdoutHandler(logging.StreamHandler):
    """A console handler that writes to whatever ``sys.stdout`` is now (not the stream of the first call),
    so a replaced or closed stdout (a test harness, an embedding program) never gets stale writes."""

    @property
    def stream(self):  # noqa: D102 - the property logging.StreamHandler reads
        return sys.stdout

    @stream.setter
    def stream(self, value) -> None:
        pass


def setup_logging(verbose: bool = False) -> None:
    """Console logging for a CLI: INFO on rank 0 (DEBUG with --verbose), warnings only elsewhere."""
    level = (logging.DEBUG if verbose else logging.INFO) if dist.get_rank() == 0 else logging.WARNING
    root = logging.getLogger()
    if not any(getattr(h, "_pixelart_cli", False) for h in root.handlers):
        handler = _StdoutHandler()
        handler.setFormatter(logging.Formatter("%(message)s"))
        handler._pixelart_cli = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    root.setLevel(level)
    for noisy in ("visdom", "urllib3", "websocket", "PIL", "matplotlib"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def error(message: str) -> None:
    """Print ``error: <message>`` on stderr (the one form every CLI uses)."""
    print(f"error: {message}", file=sys.stderr)


def exit_status(job: Callable[[], int]) -> int:
    """Run ``job`` (a CLI's body, returning its own status) and apply the policy to what it raises.

    ``SystemExit`` from argparse keeps its code (0 for ``--help``, 2 for a refused flag, whose
    message argparse printed); :class:`FlagError` prints one ``error:`` line and gives
    :data:`EXIT_BAD_FLAGS`; any other ``ValueError`` (an unreadable image included) or ``OSError``
    prints one ``error:`` line and gives :data:`EXIT_FAILED`. Anything else is a bug and propagates.
    """
    try:
        return job()
    except SystemExit as stop:
        return stop.code if isinstance(stop.code, int) else EXIT_BAD_FLAGS
    except FlagError as err:
        error(str(err))
        return EXIT_BAD_FLAGS
    except (ValueError, OSError) as err:
        error(str(err))
        return EXIT_FAILED
