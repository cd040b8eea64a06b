"""Wall time over the critical path, and memory, at sweep scale (issue #12). Prints figures; asserts nothing.

    pip install -e '.[bench]'
    python bench/bench_scale.py [--workflows 1000]

1. One workflow with an ``asyncio.sleep(0.1)`` model per call: wall time / critical path, ours and LangGraph.
2. N concurrent workflows in one process at 0.5 s per call: wall time / critical path, ours and LangGraph,
   and the peak RSS per workflow (each side runs in its own fresh process, so its RSS is its own). The
   host's speed drifts by 20% from minute to minute on a shared machine, so this phase runs ``--reps``
   times (default 3), the two sides interleaved, and prints the median with the range.
Both sides run the same 8-agent DAG with two calls per agent; the critical path is 7 agents deep.
Each side also prints its CPU time per model call and the share of it spent in the garbage collector
(measured over the timed part only; the GC runs with Python's default settings on both sides).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable
from contextlib import nullcontext
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from bench_peer import BENCH_NOTE, CALLS_PER_RUN, REQUEST, MemoBackend, State, fake_model, langgraph_graph

from orchestrator_kit.engine.engine import WorkflowEngine
from orchestrator_kit.engine.workflow import DEFAULT_WORKFLOW
from orchestrator_kit.llm.types import Completion, LLMRequest


class SleepBackend(MemoBackend):
    """The memoised simulated answers, each after ``delay`` seconds of ``asyncio.sleep``."""

    def __init__(self, delay: float) -> None:
        super().__init__()
        self.delay = delay

    async def complete(self, request: LLMRequest, *, on_delta: Any = None) -> Completion:
        c = await super().complete(request)
        if self.first_call is None:
            self.first_call = time.perf_counter()
        await asyncio.sleep(self.delay)
        return c

    first_call: float | None = None


def critical_path(delay: float) -> float:
    return DEFAULT_WORKFLOW.critical_path(dict.fromkeys(DEFAULT_WORKFLOW.steps, 2 * delay))


async def ours(n: int, delay: float, root: Path) -> dict[str, float]:
    backend = SleepBackend(delay)
    engine = WorkflowEngine(backend=backend, output_dir=root, max_concurrency=10 * n + 10)
    backend.delay = 0.0
    await engine.arun(REQUEST)  # warm-up: fills the memo
    backend.delay, backend.first_call = delay, None
    with Timed() as t:
        await asyncio.gather(*(t.ended(engine.arun(REQUEST)) for _ in range(n)))
    return t.figures(backend.first_call)


async def peer(n: int, delay: float) -> dict[str, float]:
    model = fake_model()

    first_call: list[float] = []

    def node(agent: str) -> Any:
        async def run(state: State) -> dict[str, Any]:
            plan = await model.ainvoke(f"{agent} plan: {state['request']}")
            if not first_call:
                first_call.append(time.perf_counter())
            await asyncio.sleep(delay)
            out = await model.ainvoke(f"{agent} act: {plan.content}")
            await asyncio.sleep(delay)
            return {"artifacts": {agent: str(out.content)}}

        return run

    graph = langgraph_graph(node=node)
    with Timed() as t:
        await asyncio.gather(
            *(t.ended(graph.ainvoke({"request": REQUEST, "artifacts": {}})) for _ in range(n))
        )
    return t.figures(first_call[0] if first_call else None)


class Timed:
    """Wall time, process CPU time and CPU time inside garbage collections (Python's default GC
    settings, untouched) of the ``with`` block, and when the workflows passed to ``ended`` ended."""

    def __init__(self) -> None:
        self.gc = 0.0
        self._gc_start = 0.0
        self.ends: list[float] = []

    async def ended(self, run: Awaitable[Any]) -> None:
        await run
        self.ends.append(time.perf_counter())

    def _callback(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._gc_start = time.process_time()
        else:
            self.gc += time.process_time() - self._gc_start

    def __enter__(self) -> Timed:
        gc.callbacks.append(self._callback)
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        self.start = self.wall
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall, self.cpu = time.perf_counter() - self.wall, time.process_time() - self.cpu
        gc.callbacks.remove(self._callback)

    def figures(self, first_call: float | None) -> dict[str, float]:
        """Seconds: wall, CPU and GC time; the first model call's start and the first and last
        workflow's end, counted from the start (``nan`` where not known)."""
        nan = float("nan")
        return {
            "wall": self.wall,
            "cpu": self.cpu,
            "gc": self.gc,
            "first_call": nan if first_call is None else first_call - self.start,
            "first_end": min(self.ends, default=self.start + nan) - self.start,
            "last_end": max(self.ends, default=self.start + nan) - self.start,
        }


def side(name: str, n: int, delay: float, root: str) -> None:
    """One side in this (fresh) process; prints JSON: wall, CPU and GC time of the timed part, and peak
    RSS growth. A single workflow is timed 5 times (the median by wall time): one is too noisy. Run
    folders go to a new folder under ``root``, left for the caller to remove when the bench ends."""
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    timings, tmp = [], Path(tempfile.mkdtemp(prefix=f"{name}-{n}-", dir=root))
    for i in range(5 if n == 1 else 1):
        timings.append(asyncio.run(ours(n, delay, tmp / str(i)) if name == "ours" else peer(n, delay)))
    figures = sorted(timings, key=lambda f: f["wall"])[len(timings) // 2]
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({**figures, "rss_kb": after, "rss_growth_kb": after - before}))


async def sleeps_alone(delay: float) -> float:
    """Wall time of the critical path's calls as bare ``asyncio.sleep(delay)`` in sequence: the event
    loop's own timer overshoot, a floor no engine goes below."""
    calls = round(critical_path(delay) / delay)
    t = time.perf_counter()
    for _ in range(calls):
        await asyncio.sleep(delay)
    return time.perf_counter() - t


def cold_cpu_factor(delay: float, reps: int = 15) -> float:
    """How much more CPU the same small piece of work (about 0.7 ms) takes right after sleeping ``delay``
    than right after other work: the machine's cold start (caches, clock, a virtual CPU rescheduled).
    Every gap between two calls of a workflow starts cold like this, on both sides."""

    def work() -> float:
        t = time.thread_time()
        d = {str(i): i for i in range(2000)}
        sum(d[str(i)] for i in range(2000))
        json.dumps(d)
        return time.thread_time() - t

    warm, cold = [], []
    for _ in range(reps):
        warm.append(work())
        time.sleep(delay)
        cold.append(work())
    return statistics.median(cold) / statistics.median(warm)


def run_side(name: str, n: int, delay: float, root: str) -> dict[str, float]:
    cmd = [
        sys.executable,
        __file__,
        "--side",
        name,
        "--workflows",
        str(n),
        "--delay",
        str(delay),
        "--root",
        root,
    ]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--workflows", type=int, default=1000)
    p.add_argument("--delay", type=float, default=None)
    p.add_argument("--side", choices=["ours", "langgraph"], default=None)
    p.add_argument("--root", default=None, help="where run folders go (default: a temp folder)")
    p.add_argument(
        "--reps", type=int, default=3, help="repetitions of the N-workflow phase (medians printed)"
    )
    a = p.parse_args()
    if a.side:
        # the caller's --root outlives this process; without one, a temp folder is removed at the end
        with nullcontext(a.root) if a.root else tempfile.TemporaryDirectory() as root:
            side(a.side, a.workflows, a.delay, root)
        return
    # One folder for the whole bench, removed at the end, so that removing one phase's run folders does
    # not slow the next phase's file creation (bench_peer.BENCH_NOTE)
    with tempfile.TemporaryDirectory(dir=a.root) as root:
        compare(a.workflows, root, max(1, a.reps))
    print(BENCH_NOTE)


def median_run(runs: list[dict[str, float]]) -> dict[str, float]:
    """The run with the median wall time, with the range of wall times as ``wall_min``/``wall_max``."""
    walls = sorted(r["wall"] for r in runs)
    mid = sorted(runs, key=lambda r: r["wall"])[len(runs) // 2]
    return {**mid, "wall_min": walls[0], "wall_max": walls[-1]}


def spread(figures: dict[str, float], cp: float) -> str:
    if figures["wall_min"] == figures["wall_max"]:
        return ""
    return f" (range {figures['wall_min'] / cp:.3f}-{figures['wall_max'] / cp:.3f})"


def compare(workflows: int, root: str, reps: int) -> None:
    for n, delay in ((1, 0.1), (workflows, 0.5)):
        cp = critical_path(delay)
        mine_runs: list[dict[str, float]] = []
        theirs_runs: list[dict[str, float]] = []
        for _ in range(1 if n == 1 else reps):  # a single workflow is already a median of 5 (side())
            mine_runs.append(run_side("ours", n, delay, root))
            theirs_runs.append(run_side("langgraph", n, delay, root))
        mine, theirs = median_run(mine_runs), median_run(theirs_runs)
        aim = "1.01" if n == 1 else "1.25"
        reps_note = f", median of {len(mine_runs)} interleaved runs per side" if len(mine_runs) > 1 else ""
        print(f"[{n} workflow(s), {delay} s per call] critical path {cp:.2f} s{reps_note}")
        if n == 1:
            floor = asyncio.run(sleeps_alone(delay))
            print(
                f"  the sleeps alone, in sequence: {floor:.3f} s -> {floor / cp:.3f} (the event loop's floor); "
                f"work after a {delay} s sleep takes {cold_cpu_factor(delay):.1f}x the CPU it takes warm here"
            )
        print(
            f"  ours {mine['wall']:.3f} s -> {mine['wall'] / cp:.3f}{spread(mine, cp)} (aim <= {aim}); "
            f"LangGraph {theirs['wall']:.3f} s -> {theirs['wall'] / cp:.3f}{spread(theirs, cp)}"
        )
        calls = n * CALLS_PER_RUN
        print(
            f"  CPU per model call: ours {mine['cpu'] / calls * 1e3:.3f} ms ({mine['gc'] / mine['cpu']:.0%} in GC); "
            f"LangGraph {theirs['cpu'] / calls * 1e3:.3f} ms ({theirs['gc'] / theirs['cpu']:.0%} in GC)"
        )
        if n > 1:
            print(
                f"  the first model call started after: ours {mine['first_call']:.3f} s, LangGraph "
                f"{theirs['first_call']:.3f} s; workflows ended from/to: ours {mine['first_end']:.2f}-"
                f"{mine['last_end']:.2f} s, LangGraph {theirs['first_end']:.2f}-{theirs['last_end']:.2f} s"
            )
            print(
                f"  peak RSS: ours {mine['rss_kb'] / 1024:.0f} MB, growth {mine['rss_growth_kb'] / n:.0f} KB per "
                f"workflow (aim < 200); LangGraph {theirs['rss_kb'] / 1024:.0f} MB, growth "
                f"{theirs['rss_growth_kb'] / n:.0f} KB per workflow"
            )


if __name__ == "__main__":
    main()
