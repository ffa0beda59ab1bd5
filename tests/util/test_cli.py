"""Tests for util/cli.py: the exit-status policy every CLI shares, and console logging."""
from __future__ import annotations

import argparse
import errno
import logging

import pytest

from util import cli
from util.image import ImageLoadError


def test_the_statuses_of_the_policy():
    assert (cli.EXIT_OK, cli.EXIT_FAILED, cli.EXIT_BAD_FLAGS, cli.EXIT_INTERRUPTED) == (0, 1, 2, 130)
    assert issubclass(cli.FlagError, ValueError)


def test_exit_status_passes_the_job_status_through(capsys):
    assert cli.exit_status(lambda: 0) == 0
    assert cli.exit_status(lambda: 1) == 1
    assert capsys.readouterr().err == ""


def _raise(exc: BaseException):
    def job() -> int:
        raise exc
    return job


@pytest.mark.parametrize("exc, status, line", [
    (cli.FlagError("--dataroot x does not exist; fix --dataroot"), 2, "error: --dataroot x does not exist; fix --dataroot\n"),
    (ImageLoadError("a.png", "not an image file"), 1, "error: a.png: not an image file\n"),
    (ValueError("checkpoint broke mid-run"), 1, "error: checkpoint broke mid-run\n"),
    (OSError(errno.ENOSPC, "No space left on device"), 1, "error: [Errno 28] No space left on device\n"),
])
def test_exit_status_maps_errors_to_one_line_and_a_status(exc, status, line, capsys):
    assert cli.exit_status(_raise(exc)) == status
    assert capsys.readouterr().err == line


def test_exit_status_keeps_argparse_codes(capsys):
    parser = argparse.ArgumentParser(prog="tool")
    parser.add_argument("--n", type=int)
    assert cli.exit_status(lambda: parser.parse_args(["--n", "x"]) and 0) == 2
    assert "argument --n: invalid int value: 'x'" in capsys.readouterr().err
    assert cli.exit_status(lambda: parser.parse_args(["--help"]) and 0) == 0
    assert cli.exit_status(_raise(SystemExit("stopped"))) == 2  # a message instead of a code: bad flags


def test_exit_status_lets_bugs_and_interrupts_through():
    with pytest.raises(KeyError):
        cli.exit_status(_raise(KeyError("bug")))
    with pytest.raises(KeyboardInterrupt):
        cli.exit_status(_raise(KeyboardInterrupt()))


def test_setup_logging_adds_one_handler_and_sets_the_level():
    root = logging.getLogger()
    before = [h for h in root.handlers if getattr(h, "_pixelart_cli", False)]
    level = root.level
    try:
        cli.setup_logging(verbose=False)
        cli.setup_logging(verbose=True)
        ours = [h for h in root.handlers if getattr(h, "_pixelart_cli", False)]
        assert len(ours) == 1
        assert root.level == logging.DEBUG
        assert logging.getLogger("visdom").level == logging.WARNING
    finally:
        for handler in root.handlers[:]:
            if getattr(handler, "_pixelart_cli", False) and handler not in before:
                root.removeHandler(handler)
        root.setLevel(level)
