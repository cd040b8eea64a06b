"""Kernel benchmarks (issue #2). Prints figures; asserts nothing.

    python bench/bench_kernel.py [--runs 15] [--workflows 100]

1. Engine overhead per model call in simulated mode over a full 8-agent run (median of runs):
   wall time minus time inside the backend, split into disk writes (run folder) and the rest.
2. `python -c "import orchestrator_kit"` wall time (median of 10) against `python -c "pass"`.
3. Workflows per second for N simulated workflows in one process.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from orchestrator_kit.engine.engine import WorkflowEngine
from orchestrator_kit.llm.simulated import SimulatedBackend
from orchestrator_kit.store import run_folder as rf

REQUEST = "Build a CLI that converts CSV files to JSON, with validation and a summary report"


class Timer:
    def __init__(self) -> None:
        self.total = 0.0


@contextmanager
def timed_methods(targets: list[tuple[Any, str]], timer: Timer) -> Iterator[None]:
    """Accumulate wall time spent in the given functions (bench instrumentation only)."""
    originals = [(obj, name, getattr(obj, name)) for obj, name in targets]

    def wrap(fn: Any) -> Any:
        def inner(*a: Any, **kw: Any) -> Any:
            t = time.perf_counter()
            try:
                return fn(*a, **kw)
            finally:
                timer.total += time.perf_counter() - t

        return inner

    for obj, name, fn in originals:
        setattr(obj, name, wrap(fn))
    try:
        yield
    finally:
        for obj, name, fn in originals:
            setattr(obj, name, fn)


class TimedBackend:
    """Measures time inside the simulated backend (that is the 'model', not engine overhead)."""

    mode = "simulated"

    def __init__(self) -> None:
        self.inner = SimulatedBackend()
        self.seconds = 0.0
        self.calls = 0

    async def complete(self, request: Any, *, on_delta: Any = None) -> Any:
        t = time.perf_counter()
        try:
            return await self.inner.complete(request, on_delta=on_delta)
        finally:
            self.seconds += time.perf_counter() - t
            self.calls += 1


def bench_overhead(runs: int, root: Path) -> None:
    disk = Timer()
    per_call, disk_per_call, backend_per_call = [], [], []
    targets = [
        (rf, "write_json_atomic"),
        (rf.RunFolder, "_append"),
        (rf.RunFolder, "write_artifact"),
        (rf.RunFolder, "calls"),
        (rf.RunFolder, "manifest"),
        (rf, "check_output_root"),
    ]
    WorkflowEngine(mode="simulated", output_dir=root).run(REQUEST)  # warm-up: imports, template compile
    with timed_methods(targets, disk):
        for _ in range(runs):
            disk.total = 0.0
            backend = TimedBackend()
            engine = WorkflowEngine(backend=backend, output_dir=root)
            t = time.perf_counter()
            engine.run(REQUEST)
            wall = time.perf_counter() - t
            per_call.append((wall - backend.seconds) / backend.calls)
            disk_per_call.append(disk.total / backend.calls)
            backend_per_call.append(backend.seconds / backend.calls)
    med, med_disk = statistics.median(per_call), statistics.median(disk_per_call)
    print(f"[overhead] {runs} full 8-agent simulated runs, {backend.calls} calls each")
    print(f"  engine overhead per call (median): {med * 1e3:.3f} ms")
    print(f"    of which disk writes/reads:      {med_disk * 1e3:.3f} ms ({med_disk / med:.0%})")
    print(f"    excluding disk:                  {(med - med_disk) * 1e3:.3f} ms  (aim < 1 ms)")
    print(
        f"  simulated backend per call:        {statistics.median(backend_per_call) * 1e3:.3f} ms (not overhead)"
    )


def bench_import(n: int = 10) -> None:
    def run(code: str) -> float:
        t = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True)
        return time.perf_counter() - t

    base = statistics.median(run("pass") for _ in range(n))
    imp = statistics.median(run("import orchestrator_kit") for _ in range(n))
    print(
        f"[import] python -c 'import orchestrator_kit': {imp:.3f} s median of {n} "
        f"(interpreter alone {base:.3f} s; import itself {imp - base:.3f} s; aim < 0.3 s)"
    )


def bench_throughput(n: int, root: Path) -> None:
    engine = WorkflowEngine(mode="simulated", output_dir=root)
    t = time.perf_counter()
    for i in range(n):
        engine.run(f"{REQUEST} (variant {i})")
    wall = time.perf_counter() - t
    print(
        f"[throughput] {n} simulated 8-agent workflows in one process: {wall:.2f} s, "
        f"{n / wall:.1f} workflows/s, {wall / n * 1e3:.1f} ms per workflow"
    )


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--runs", type=int, default=15)
    p.add_argument("--workflows", type=int, default=100)
    a = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        bench_overhead(a.runs, Path(tmp) / "overhead")
        bench_import()
        bench_throughput(a.workflows, Path(tmp) / "throughput")


if __name__ == "__main__":
    main()
