"""Commands that read finished runs: ``report`` (HTML cost analysis) and ``evaluate`` (generated code in a
sandbox)."""

from __future__ import annotations

import argparse
from typing import Any

from .registry import command


@command("report")
def _report(a: argparse.Namespace) -> int:
    from ..report.html import build_report

    path = build_report(a.runs_dir, a.output, title=a.title)
    print(f"report: {path}")
    return 0


@command("evaluate")
def _evaluate(a: argparse.Namespace) -> int:
    from ..evaluate import Limits, evaluate_many, find_run_dirs
    from ..evaluate.text import evaluation_table

    limits = Limits(wall_s=a.timeout)
    paths = find_run_dirs(a.path)  # a bad path is an error before any executor starts
    executor = None
    if a.dask is not None or a.workers is not None:
        from ..sweep.executors import DEFAULT_WORKERS, make_executor

        executor = make_executor(a.dask, workers=a.workers or DEFAULT_WORKERS)
    try:
        results = evaluate_many(paths, executor=executor, allow_model_code=a.allow_model_code, limits=limits)
    finally:
        if executor is not None:
            executor.shutdown()
    print(evaluation_table(results))
    return 1 if any("error" in r for r in results) else 0


def add_parsers(sub: Any) -> None:
    """The parsers of ``report`` and ``evaluate``, on the subparsers ``sub``."""
    rp = sub.add_parser("report", help="cost-analysis report of run folders as self-contained HTML")
    rp.add_argument("runs_dir")
    rp.add_argument("-o", "--output", default="report.html")
    rp.add_argument("--title", default=None)

    ev = sub.add_parser("evaluate", help="measure generated code in a sandbox: imports, tests, completeness")
    ev.add_argument("path", help="a run folder, a folder of runs, or a sweep folder")
    ev.add_argument(
        "--allow-model-code",
        action="store_true",
        help="also run code a model wrote (real/replay runs); simulated runs need no flag",
    )
    ev.add_argument("--timeout", type=float, default=60.0, help="wall-clock seconds per sandboxed command")
    ev.add_argument(
        "--dask",
        default=None,
        metavar="ADDRESS",
        help="evaluate on a Dask cluster (tcp://HOST:PORT, or 'local'); needs [dask]",
    )
    ev.add_argument(
        "--workers",
        type=int,
        default=None,
        help="worker processes (local processes, or the workers of --dask local); default 2",
    )


__all__ = ["add_parsers"]
