"""Sweep benchmarks (issue #10). Prints figures; asserts nothing.

    python bench/bench_sweep.py [--cells 200] [--render-cells N] [--real-cells 50] [--skip-old] [--skip-render]

``--render-cells N`` measures the kernel-bound parts (the old batch, the sweep with rendering) on the first
N cells' grid only (a multiple of 20; each kernel takes seconds on a busy machine), next to the sweep without
rendering on the same N cells and on all ``--cells``.

1. N simulated cells (8 agents each): the per-kernel batch of before (one papermill kernel per cell,
   2 worker processes; a copy of that code lives in bench/_old_batch.py) vs the sweep (every cell at once
   in one driver), without rendering and with rendering (one workflow notebook per cell executed by
   papermill from its run folder on 2 long-lived worker processes). Wall times and ratios.
2. M cells in real mode against the fake Messages API (1 s per call) at a concurrency of 32: wall time
   vs the ideal, cells x critical path / concurrency (the critical path: the workflow's longest chain of
   agents, two calls each, at 1 s a call).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REQUESTS = [
    "Build a command-line tool that converts CSV files to JSON",
    "Build a todo list web application with user accounts",
    "Build a markdown to HTML converter with a plugin system",
    "Build a unit converter library with a command-line front end",
    "Build a URL shortener service with click statistics",
    "Build a static site generator for a personal blog",
    "Build a log file analyzer that reports error rates",
    "Build a password strength checker library",
    "Build a weather data downloader with caching",
    "Build a recipe scaler that converts ingredient units",
]
MODELS = ["claude-sonnet-5-5", "claude-haiku-5-5"]


def simulated_grid(cells: int) -> dict[str, Any]:
    per = cells // (len(REQUESTS) * len(MODELS))
    if per * len(REQUESTS) * len(MODELS) != cells:
        raise SystemExit(f"--cells must be a multiple of {len(REQUESTS) * len(MODELS)}")
    return {
        "mode": "simulated",
        "requests": REQUESTS,
        "models": MODELS,
        "settings": [{"max_rounds": k + 1} for k in range(per)],  # distinct cells, the same work
    }


def bench_simulated(tmp: Path, cells: int, render_cells: int, skip_old: bool, skip_render: bool) -> None:
    import yaml

    from orchestrator_kit import run_sweep

    small = simulated_grid(render_cells)
    path = tmp / "grid.yaml"
    path.write_text(yaml.safe_dump(small))
    print(f"1. simulated cells (8 agents each; {len(REQUESTS)} requests x {len(MODELS)} models x N settings)")
    old = None
    if not skip_old:
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from _old_batch import run_grid

        t = time.perf_counter()
        result = run_grid(path, tmp / "old", workers=2, progress=False)
        old = time.perf_counter() - t
        print(
            f"   {render_cells:4d} cells, old per-kernel batch, 2 workers: {old:8.2f} s  ({len(result.ok)} ok, "
            f"{len(result.failed)} failed)"
        )
    t = time.perf_counter()
    result = run_sweep(small, tmp / "sweep-norender-small", render=False, progress=False)
    bare = time.perf_counter() - t
    ratio = f"  old/new {old / bare:7.1f}x" if old else ""
    print(
        f"   {render_cells:4d} cells, sweep, no rendering:          {bare:8.2f} s  ({len(result.ok)} completed){ratio}"
    )
    if not skip_render:
        t = time.perf_counter()
        result = run_sweep(small, tmp / "sweep-render", render=True, progress=False)
        full = time.perf_counter() - t
        rendered = sum(c.render == "rendered" for c in result.cells)
        ratio = f"  old/new {old / full:7.2f}x" if old else ""
        print(
            f"   {render_cells:4d} cells, sweep + rendering (2 procs):  {full:8.2f} s  ({len(result.ok)} completed, "
            f"{rendered} notebooks){ratio}"
        )
    if cells != render_cells:
        t = time.perf_counter()
        result = run_sweep(simulated_grid(cells), tmp / "sweep-norender", render=False, progress=False)
        bare_all = time.perf_counter() - t
        print(
            f"   {cells:4d} cells, sweep, no rendering:          {bare_all:8.2f} s  ({len(result.ok)} completed)"
        )
        if old:
            per_cell = old / render_cells
            print(
                f"   {cells:4d} cells, old batch extrapolated at {per_cell:.1f} s/cell: {per_cell * cells:8.0f} s  "
                f"-> old/new ~{per_cell * cells / bare_all:.0f}x (not measured at {cells})"
            )
    print(f"   (this machine: {os.cpu_count()} CPUs, shared with other jobs)")


def critical_path_calls() -> int:
    from orchestrator_kit.engine.workflow import DEFAULT_WORKFLOW

    depth: dict[str, int] = {}
    for agent in DEFAULT_WORKFLOW.order():
        after = DEFAULT_WORKFLOW.steps[agent].after
        depth[agent] = 1 + max((depth[a] for a in after), default=0)
    return 2 * max(depth.values())  # plan + act per agent


def bench_real(tmp: Path, cells: int, concurrency: int = 32, latency: float = 1.0) -> None:
    import anthropic  # noqa: F401  (the SDK's import is not the sweep's time)

    from orchestrator_kit import run_sweep
    from orchestrator_kit.testing import FakeAnthropicServer, simulated_responder

    per = cells // 5
    grid = {
        "mode": "real",
        "requests": REQUESTS[:5],
        "repeats": per,
        "max_concurrency": concurrency,
        "render": False,
    }
    path_calls = critical_path_calls()
    ideal = cells * path_calls * latency / concurrency  # the ideal; never below one critical path
    with FakeAnthropicServer(responder=simulated_responder(), latency=latency) as srv:
        t = time.perf_counter()
        result = run_sweep(
            grid, tmp / "real", api_key="sk-ant-test-fake", base_url=srv.base_url, progress=False
        )
        wall = time.perf_counter() - t
        times = sorted(r.time for r in srv.requests if r.path == "/v1/messages")
        calls = len(times)
    print(
        f"2. {cells} real-mode cells against the fake server ({latency:.0f} s per call), concurrency {concurrency}"
    )
    print(
        f"   {len(result.ok)} completed, {calls} calls; critical path {path_calls} calls = {path_calls * latency:.0f} s"
    )
    print(f"   wall time                      {wall:8.2f} s")
    print(f"   first to last call sent        {times[-1] - times[0]:8.2f} s")
    print(f"   ideal (cells x path / conc.)   {ideal:8.2f} s   -> wall / ideal {wall / ideal:.2f}")
    print(f"   calls / concurrency x 1 s      {calls * latency / concurrency:8.2f} s   (the limiter's floor)")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cells", type=int, default=200)
    p.add_argument("--render-cells", type=int, default=None, help="default: --cells")
    p.add_argument("--real-cells", type=int, default=50)
    p.add_argument("--skip-old", action="store_true")
    p.add_argument("--skip-render", action="store_true")
    a = p.parse_args()
    for name in list(os.environ):
        if name.startswith("ANTHROPIC_"):
            del os.environ[name]
    with tempfile.TemporaryDirectory() as tmp:
        bench_simulated(Path(tmp), a.cells, a.render_cells or a.cells, a.skip_old, a.skip_render)
        if a.real_cells:
            bench_real(Path(tmp), a.real_cells)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
