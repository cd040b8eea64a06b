"""The ``orchestrator-kit`` command (also ``python -m orchestrator_kit``). Thin: parses, calls, prints.

Exit codes: 0 ok; 1 the run failed (its folder says where to resume); 2 bad arguments or input.

One module per command group: ``runs`` (run, estimate, resume, decide, runs), ``sweeps`` (batch, resuming a
sweep), ``reports`` (report, evaluate), ``serve``; ``registry`` holds the handlers they register.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from .. import __version__
from ..errors import BudgetExceeded, ConfigError, OrchestratorError
from . import reports, runs, serve, sweeps
from .registry import COMMANDS, command


def _build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="orchestrator-kit", description=__doc__.splitlines()[0])
    p.add_argument("--version", action="version", version=f"orchestrator-kit {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for group in (runs, sweeps, reports, serve):
        group.add_parsers(sub)
    return p


def report_error(exc: OrchestratorError, prog: str = "orchestrator-kit") -> int:
    """Print an error the way the CLI does (with any resume hint) and return its exit code:
    2 for bad input, 1 for a failed run."""
    if isinstance(exc, ConfigError):
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 2
    label = "budget exceeded" if isinstance(exc, BudgetExceeded) else type(exc).__name__
    print(f"{prog}: {label}: {exc}", file=sys.stderr)
    for note in getattr(exc, "__notes__", []):
        print(f"  {note}", file=sys.stderr)
    return 1


def main(argv: Sequence[str] | None = None) -> int:
    parser = _build_parser()
    args, extra = parser.parse_known_args(argv)
    if args.command == "serve":
        args.server_args = extra  # every flag of `orchestrator-kit serve --help`, --help included
    elif extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    try:
        return COMMANDS[args.command](args)
    except OrchestratorError as exc:
        return report_error(exc)
    except KeyboardInterrupt:
        folder = getattr(args, "run_folder", None)
        print(
            "orchestrator-kit: interrupted; "
            + (
                f"the run folder is checkpointed: orchestrator-kit resume {folder}"
                if folder
                else "no run folder was started yet"
            ),
            file=sys.stderr,
        )
        return 130


__all__ = ["COMMANDS", "command", "main", "report_error"]
