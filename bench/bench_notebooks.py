"""Notebook benchmarks (issue #4). Prints figures; asserts nothing.

    python bench/bench_notebooks.py [--repeat 3] [--report-runs 100] [--skip-batch]

1. The workflow notebook through papermill (a fresh kernel each time) against the same work in-process
   (the workflow, then the notebook's tables, figures and files): median of --repeat, and their ratio.
2. A sweep of 8 grid cells (2 requests x 2 models x 2 settings) in one driver, without and with rendering.
3. The HTML cost report over 100 run folders (made quickly by in-process simulated runs): load_runs
   alone, then build_report (papermill + nbconvert).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REQUESTS = [
    "Build a command-line tool that converts CSV files to JSON",
    "Build a small REST API for todo items",
]
MODELS = ["claude-sonnet-5-5", "claude-haiku-5-5"]


def _median(fn: Callable[[int], object], repeat: int) -> tuple[float, list[float]]:
    times = []
    for i in range(repeat):
        t = time.perf_counter()
        fn(i)
        times.append(time.perf_counter() - t)
    return statistics.median(times), times


def _fmt(times: list[float]) -> str:
    return ", ".join(f"{t:.2f}" for t in times)


def bench_workflow(tmp: Path, repeat: int) -> None:
    import papermill as pm

    from orchestrator_kit.notebook_params import notebook_path, validate_workflow_params
    from orchestrator_kit.report import export, load_runs

    template = str(notebook_path("workflow.ipynb"))

    def via_papermill(i: int) -> None:
        pm.execute_notebook(
            template,
            str(tmp / f"wf{i}.ipynb"),
            parameters={"output_dir": str(tmp / "pm")},
            cwd=str(tmp),
            kernel_name="python3",
            progress_bar=False,
        )

    def engine_only(i: int) -> None:
        validate_workflow_params({"output_dir": str(tmp / "engine")}).run()

    def in_process(i: int) -> None:
        result = validate_workflow_params({"output_dir": str(tmp / "inproc")}).run()
        runs = load_runs(result.run_dir)
        export.write_run_outputs(runs, result.run_dir)

    in_process(-1)  # warm imports (pandas, matplotlib, pyarrow) so the in-process figure is steady state
    pm_med, pm_times = _median(via_papermill, repeat)
    ip_med, ip_times = _median(in_process, repeat)
    en_med, en_times = _median(engine_only, repeat)
    print("1. workflow notebook (8 agents, simulated), median of", repeat)
    print(f"   papermill (kernel start + run + tables + figures) {pm_med:6.2f} s   [{_fmt(pm_times)}]")
    print(f"   in-process, same work                            {ip_med:6.2f} s   [{_fmt(ip_times)}]")
    print(f"   in-process, workflow only                        {en_med:6.2f} s   [{_fmt(en_times)}]")
    print(
        f"   ratio papermill / in-process same work: {pm_med / ip_med:.1f}x; "
        f"papermill overhead {pm_med - ip_med:.2f} s per run"
    )


def bench_batch(tmp: Path) -> None:
    from orchestrator_kit import run_sweep

    grid = {
        "requests": REQUESTS,
        "models": MODELS,
        "settings": [{}, {"max_rounds": 1}],
    }
    print(
        "2. sweep of 8 grid cells (2 requests x 2 models x 2 settings), one driver (bench_sweep.py: 200 cells)"
    )
    for render in (False, True):
        t = time.perf_counter()
        result = run_sweep(grid, tmp / f"sweep-{render}", render=render, progress=False)
        wall = time.perf_counter() - t
        print(
            f"   {'with' if render else 'without'} rendering: {wall:6.2f} s  ({len(result.ok)} completed, "
            f"{len(result.failed)} not)"
        )
    print(
        f"   (this machine: {os.cpu_count()} CPUs; rendering starts one kernel per cell in 2 worker processes)"
    )


def bench_report(tmp: Path, n: int) -> None:
    import orchestrator_kit as ok
    from orchestrator_kit.report import load_runs
    from orchestrator_kit.report.html import build_report

    runs = tmp / "many"
    t = time.perf_counter()
    for i in range(n):
        ok.run_workflow(REQUESTS[i % 2], output_dir=runs, mode="simulated", model=MODELS[(i // 2) % 2])
    made = time.perf_counter() - t
    t = time.perf_counter()
    loaded = load_runs(runs)
    load_s = time.perf_counter() - t
    t = time.perf_counter()
    html = build_report(runs, tmp / "report.html")
    report_s = time.perf_counter() - t
    print(
        f"3. cost report over {n} run folders ({len(loaded.calls)} ledger lines; made in {made:.1f} s in-process)"
    )
    print(f"   load_runs                        {load_s:6.2f} s")
    print(f"   build_report (papermill + HTML)  {report_s:6.2f} s   -> {html.stat().st_size / 1e6:.1f} MB")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--report-runs", type=int, default=100)
    p.add_argument("--skip-batch", action="store_true")
    a = p.parse_args()
    for name in [n for n in os.environ if n.startswith("ANTHROPIC_")]:
        del os.environ[name]  # simulated runs only: no key near these benchmarks
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs")
    with tempfile.TemporaryDirectory(prefix="bench-notebooks-") as tmp:
        bench_workflow(Path(tmp), a.repeat)
        if not a.skip_batch:
            bench_batch(Path(tmp))
        bench_report(Path(tmp), a.report_runs)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
