"""Quality next to cost, measured (issue #11). Prints figures; asserts nothing.

    pip install -e '.[bench]'
    python bench/bench_quality.py [--evals 10] [--sizes 100,1000] [--repeats 1]

1. Evaluation time per run: ``evaluate_run`` on simulated runs of the full eight-agent team (sandboxed:
   rlimits, a clean environment, and namespaces where this machine allows them; the isolation is printed).
2. Report generation time (``orchestrator_kit.report.html.build_report``: papermill + nbconvert) over 100
   and 1,000 simulated run folders. The folders are a few real simulated runs (some evaluated) copied under
   new run ids, as a sweep of that size would leave them.
The machine's load average is printed before and after: the figures are only comparable at similar load.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import orchestrator_kit as ok
from orchestrator_kit.evaluate import evaluate_run
from orchestrator_kit.report.html import build_report
from orchestrator_kit.store.run_folder import new_run_id

MODELS = ["claude-haiku-5-5", "claude-sonnet-5-5"]


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.2f} (1 min), {five:.2f} (5 min) on {os.cpu_count()} CPUs"


def evaluation_times(root: Path, n: int) -> list[float]:
    times = []
    for i in range(n):
        run = ok.run_workflow(f"a word counter CLI, variant {i}", mode="simulated", output_dir=root)
        started = time.perf_counter()
        e = evaluate_run(run.run_dir)
        times.append(time.perf_counter() - started)
        if i == 0:
            print(f"  sandbox: {e.isolation}")
            print(
                f"  tests {e.tests_passed}/{e.tests_collected}, imports ok {e.imports_ok}, LOC {e.lines_of_code}"
            )
    return times


def seed_runs(root: Path) -> list[Path]:
    """Four real simulated runs: two models x (evaluated, not evaluated)."""
    seeds = []
    for model in MODELS:
        for evaluated in (True, False):
            r = ok.run_workflow("a CSV to JSON converter", mode="simulated", model=model, output_dir=root)
            if evaluated:
                evaluate_run(r.run_dir)
            seeds.append(r.run_dir)
    return seeds


def copies(seeds: list[Path], target: Path, n: int) -> Path:
    target.mkdir(parents=True)
    for i in range(n):
        shutil.copytree(seeds[i % len(seeds)], target / f"{new_run_id()}-{i:04d}")
    return target


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--evals", type=int, default=10)
    ap.add_argument("--sizes", default="100,1000")
    ap.add_argument("--repeats", type=int, default=1, help="report builds per size (median printed)")
    a = ap.parse_args()
    print(load())
    with tempfile.TemporaryDirectory(prefix="bench-quality-") as tmp:
        root = Path(tmp)
        t = evaluation_times(root / "eval", a.evals)
        print(
            f"evaluation per simulated run (n={len(t)}): median {statistics.median(t):.2f} s, "
            f"min {min(t):.2f} s, max {max(t):.2f} s"
        )
        seeds = seed_runs(root / "seeds")
        for size in (int(s) for s in a.sizes.split(",")):
            started = time.perf_counter()
            runs = copies(seeds, root / f"runs{size}", size)
            made = time.perf_counter() - started
            builds = []
            for k in range(a.repeats):
                started = time.perf_counter()
                build_report(runs, root / f"report{size}-{k}.html")
                builds.append(time.perf_counter() - started)
            html = (root / f"report{size}-0.html").stat().st_size
            print(
                f"report over {size} run folders: median {statistics.median(builds):.1f} s "
                f"(n={len(builds)}; folders made in {made:.1f} s; HTML {html / 1e6:.1f} MB)"
            )
    print(load())


if __name__ == "__main__":
    main()
