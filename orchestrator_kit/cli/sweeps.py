"""Commands of sweeps: ``batch`` (run a grid) and resuming a sweep folder (``resume SWEEP_DIR``)."""

from __future__ import annotations

import argparse
from typing import Any

from ..errors import ConfigError
from .options import timeout_option
from .registry import command


def sweep_options(sp: argparse.ArgumentParser) -> None:
    """Options of a sweep (batch, resume of a sweep folder)."""
    sp.add_argument("--no-render", action="store_true", help="sweeps: skip rendering cell notebooks")
    sp.add_argument(
        "--dask",
        default=None,
        metavar="ADDRESS",
        help="sweeps: render on a Dask cluster (tcp://HOST:PORT, or 'local'); needs [dask]",
    )
    sp.add_argument(
        "--evaluate",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="sweeps: evaluate each completed cell's code on the executor (default: the grid's "
        "'evaluate', auto = simulated sweeps only; real sweeps also need 'allow_model_code: true')",
    )
    sp.add_argument("-q", "--quiet", action="store_true", help="no progress bar")


def _sweep_options(a: argparse.Namespace) -> dict[str, Any]:
    """What ``batch`` and ``resume SWEEP_DIR`` pass alike: the budget and the options of ``sweep_options``."""
    return {
        "budget_usd": a.budget,
        "render": False if a.no_render else None,
        "dask": a.dask,
        "evaluate": a.evaluate,
        "progress": not a.quiet,
        "timeout": a.timeout,
    }


def resume_sweep(a: argparse.Namespace) -> int:
    """``orchestrator-kit resume SWEEP_DIR``: continue a sweep, or cancel its batches in flight."""
    from ..sweep.driver import resume_sweep as resume

    if a.cancel_batches:
        from ..sweep.backend import cancel_sweep_batches

        summary = cancel_sweep_batches(a.run_dir)
        for batch_id, counts in summary.items():
            print(f"{batch_id}: " + ", ".join(f"{n} {kind}" for kind, n in sorted(counts.items())))
        print(
            f"canceled {len(summary)} Message Batch(es) in flight; answers they had already given are kept. "
            f"Continue the sweep (the canceled requests go into new batches) with: "
            f"orchestrator-kit resume {a.run_dir}"
        )
        return 0

    for name in ("budget_tokens", "max_rounds"):
        if getattr(a, name) is not None:
            raise ConfigError(
                f"--{name.replace('_', '-')} applies to one run; a sweep's cells take theirs from its grid"
            )
    result = resume(a.run_dir, **_sweep_options(a))
    print(result)
    return 0 if not result.failed else 1


@command("batch")
def _batch(a: argparse.Namespace) -> int:
    from ..sweep.driver import run_sweep

    result = run_sweep(
        a.grid,
        a.output,
        **_sweep_options(a),
        backend=a.backend,
        rpm=a.rpm,
        itpm=a.itpm,
        otpm=a.otpm,
    )
    print(result)
    return 0 if not result.failed else 1


def add_parsers(sub: Any) -> None:
    """The parser of ``batch``, on the subparsers ``sub``."""
    b = sub.add_parser(
        "batch", help="run a sweep: every cell of a grid at once, each cell's notebook rendered from its run"
    )
    b.add_argument("grid", help="GRID.yaml: requests x models x settings x repeats")
    b.add_argument("-o", "--output", default="out/sweep", help="the sweep folder (must not hold a sweep)")
    b.add_argument(
        "--budget", type=float, default=None, help="the whole sweep's dollar cap (overrides the grid's)"
    )
    b.add_argument(
        "--backend",
        choices=["anthropic", "batches"],
        default=None,
        help="real mode: anthropic (standard) or batches (Message Batches, half price, answers within "
        "hours); overrides the grid's",
    )
    for flag, what in (("rpm", "requests"), ("itpm", "input tokens"), ("otpm", "output tokens")):
        b.add_argument(
            f"--{flag}", type=int, default=None, metavar="N", help=f"pace the sweep under N {what} a minute"
        )
    timeout_option(b)
    sweep_options(b)


__all__ = ["add_parsers", "resume_sweep", "sweep_options"]
