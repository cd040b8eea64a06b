"""Options shared by several command groups."""

from __future__ import annotations

import argparse
import math


def _timeout(value: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number of seconds, e.g. 120") from None
    if not (math.isfinite(seconds) and seconds > 0):
        raise argparse.ArgumentTypeError(f"the timeout must be a number of seconds above 0, got {value}")
    return seconds


def timeout_option(sp: argparse.ArgumentParser) -> None:
    """--timeout (run, resume, batch): seconds per attempt of a real model call."""
    from ..llm.anthropic_backend import DEFAULT_TIMEOUT_S

    sp.add_argument(
        "--timeout",
        type=_timeout,
        default=None,
        metavar="SECONDS",
        help=f"per attempt of a real model call, retried on expiry (default: {DEFAULT_TIMEOUT_S:g})",
    )


__all__ = ["timeout_option"]
