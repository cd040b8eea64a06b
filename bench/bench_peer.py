"""Engine overhead per model call, side by side with LangGraph (issue #12). Prints figures; asserts nothing.

    pip install -e '.[bench]'        # langgraph, langgraph-checkpoint-sqlite, langchain-core
    python bench/bench_peer.py [--runs 10] [--reps 5]

Same 8-agent DAG (architect -> data -> consensus -> developer -> {qa, documentarian} -> reviewer ->
steward), two model calls per agent, an instant model on both sides: LangGraph with langchain-core's
fake chat model; ours with completions memoised from the simulated backend (a warm-up run fills the
memo). Ours runs with full durability (run folder: manifest, checkpoint after every agent, ledger,
responses, artifacts). Measured on a quiet machine, then again while a busy-loop process occupies a core.
"""

from __future__ import annotations

import argparse
import os
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Annotated, Any, TypedDict

from orchestrator_kit.engine.engine import WorkflowEngine
from orchestrator_kit.llm.simulated import SimulatedBackend
from orchestrator_kit.llm.types import Completion, LLMRequest

REQUEST = "Build a CLI that converts CSV files to JSON, with validation and a summary report"
AGENTS = ["architect", "data", "consensus", "developer", "qa", "documentarian", "reviewer", "steward"]
EDGES = [
    ("architect", "data"),
    ("data", "consensus"),
    ("consensus", "developer"),
    ("developer", "qa"),
    ("developer", "documentarian"),
    ("qa", "reviewer"),
    ("documentarian", "reviewer"),
    ("reviewer", "steward"),
]
CALLS_PER_RUN = 2 * len(AGENTS)
BENCH_NOTE = (
    "note: ours' system time is mostly the run folder's file creation (24 files and folders per run). On\n"
    "ext4 without a journal (fs/ext4/ialloc.c: recently_deleted), creating a file steps over every inode\n"
    "freed in its block group in the last minute or more, so it costs about 10x more after anything was\n"
    "deleted nearby (a test suite, an earlier bench). Compare runs with the same history, put the run\n"
    "folders on tmpfs (--root /dev/shm) to see the engine alone, or on a fresh file system for each run:\n"
    "truncate -s 2G x.img && mkfs.ext4 -q x.img && mount -o loop x.img /mnt/x, then --root /mnt/x."
)


def _merge(a: dict[str, str], b: dict[str, str]) -> dict[str, str]:
    return {**a, **b}


class State(TypedDict):
    """The LangGraph side's state: the request and each agent's output."""

    request: str
    artifacts: Annotated[dict[str, str], _merge]


class MemoBackend:
    """An instant model: the simulated backend's completions, memoised by request hash."""

    mode = "simulated"

    def __init__(self) -> None:
        self.inner = SimulatedBackend()
        self.memo: dict[str, Completion] = {}

    async def complete(self, request: LLMRequest, *, on_delta: Any = None) -> Completion:
        h = request.request_hash()
        c = self.memo.get(h)
        if c is None:
            c = self.memo[h] = await self.inner.complete(request)
        return c


class Ours:
    """Our engine on the memoised model, run ``runs`` times per timing. ``new_request``: each run pays
    the pre-run estimate as a new request would (the engine memoises it per request text, so repeating
    one request, as a sweep's repeats do, skips it)."""

    def __init__(self, root: Path, *, new_request: bool) -> None:
        self.engine = WorkflowEngine(backend=MemoBackend(), output_dir=root)
        self.engine.run(REQUEST)  # warm-up: fills the memo
        self.new_request = new_request

    def time(self, runs: int) -> tuple[float, float, float]:
        """(wall, user CPU, system CPU) seconds per model call."""
        from orchestrator_kit.engine import estimate

        r0, t = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
        for _ in range(runs):
            if self.new_request:
                estimate._MEMO.clear()  # the bench makes every run a new request
            self.engine.run(REQUEST)
        wall, r1 = time.perf_counter() - t, resource.getrusage(resource.RUSAGE_SELF)
        n = runs * CALLS_PER_RUN
        return wall / n, (r1.ru_utime - r0.ru_utime) / n, (r1.ru_stime - r0.ru_stime) / n


def fake_model() -> Any:
    """LangGraph's side of the instant model: langchain-core's fake chat model."""
    from langchain_core.language_models.fake_chat_models import FakeListChatModel

    return FakeListChatModel(responses=['{"summary": "s", "steps": ["a"], "artifacts": []}'])


def langgraph_graph(checkpointer: Any = None, node: Any = None) -> Any:
    """The same DAG as ours in LangGraph; ``node(agent)`` builds an agent's node (default: two
    instant synchronous model calls)."""
    from langgraph.graph import END, START, StateGraph

    if node is None:
        model = fake_model()

        def node(agent: str) -> Any:
            def run(state: State) -> dict[str, Any]:
                plan = model.invoke(f"{agent} plan: {state['request']}")
                out = model.invoke(f"{agent} act: {plan.content}")
                return {"artifacts": {agent: str(out.content)}}

            return run

    g = StateGraph(State)
    for a in AGENTS:
        g.add_node(a, node(a))
    g.add_edge(START, "architect")
    for a, b in EDGES:
        g.add_edge(a, b)
    g.add_edge("steward", END)
    return g.compile(checkpointer=checkpointer)


class Peer:
    """LangGraph on its fake chat model, without persistence or with its durable SQLite checkpointer."""

    def __init__(self, root: Path, *, durable: bool) -> None:
        self.saver_cm: Any = None
        checkpointer = None
        if durable:
            from langgraph.checkpoint.sqlite import SqliteSaver

            self.saver_cm = SqliteSaver.from_conn_string(str(root / "lg.sqlite"))
            checkpointer = self.saver_cm.__enter__()
        self.graph = langgraph_graph(checkpointer)
        self.threads = 0
        self.run()  # warm-up

    def run(self) -> None:
        self.threads += 1
        config = {"configurable": {"thread_id": f"t{self.threads}"}}
        self.graph.invoke({"request": REQUEST, "artifacts": {}}, config)

    def time(self, runs: int) -> float:
        t = time.perf_counter()
        for _ in range(runs):
            self.run()
        return (time.perf_counter() - t) / (runs * CALLS_PER_RUN)

    def close(self) -> None:
        if self.saver_cm is not None:
            self.saver_cm.__exit__(None, None, None)


def measure(root: Path, runs: int, reps: int, label: str) -> None:
    """Each side timed ``reps`` times, interleaved (load changes hit all sides alike); medians. Run
    folders go under ``root``, which the caller removes when the whole bench is done."""
    root.mkdir()
    same, new = Ours(root / "same", new_request=False), Ours(root / "new", new_request=True)
    bare, durable = Peer(root, durable=False), Peer(root, durable=True)
    figures: dict[str, list[Any]] = {"same": [], "new": [], "bare": [], "durable": []}
    try:
        for _ in range(reps):
            figures["same"].append(same.time(runs))
            figures["new"].append(new.time(runs))
            figures["bare"].append(bare.time(runs))
            figures["durable"].append(durable.time(runs))
    finally:
        durable.close()
    med = statistics.median
    a, a_new = med(f[0] for f in figures["same"]), med(f[0] for f in figures["new"])
    user, system = med(f[1] for f in figures["same"]), med(f[2] for f in figures["same"])
    b, c = med(figures["bare"]), med(figures["durable"])
    print(
        f"[{label}] per model call, median of {reps} x {runs} runs: ours (durable run folder) {a * 1e3:.3f} ms "
        f"(CPU: user {user * 1e3:.3f}, system {system * 1e3:.3f}); ours with a new request each run "
        f"{a_new * 1e3:.3f} ms; LangGraph, no persistence {b * 1e3:.3f} ms; LangGraph, SQLite checkpointer "
        f"{c * 1e3:.3f} ms"
    )
    print(
        f"  ours / LangGraph without persistence: {a / b:.2f}  (aim <= 1.0); new request each run: "
        f"{a_new / b:.2f}; ours / LangGraph durable: {a / c:.2f}"
    )


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--runs", type=int, default=10, help="runs per timing")
    p.add_argument("--reps", type=int, default=5, help="timings per side (medians are printed)")
    p.add_argument("--root", default=None, help="where run folders go (default: a temp folder)")
    args = p.parse_args()
    try:
        import langchain_core  # noqa: F401
        import langgraph
        import langgraph.checkpoint.sqlite  # noqa: F401
    except ImportError:
        sys.exit(
            "bench_peer needs LangGraph: pip install -e '.[bench]' (langgraph, langgraph-checkpoint-sqlite)"
        )
    # One folder for the whole bench, removed at the end: removing the first phase's run folders before
    # the second would slow the second's file creation on some file systems (see BENCH_NOTE)
    with tempfile.TemporaryDirectory(dir=args.root) as tmp:
        measure(Path(tmp) / "quiet", args.runs, args.reps, "quiet machine")
        busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])  # occupies one core
        try:
            measure(
                Path(tmp) / "loaded",
                args.runs,
                args.reps,
                "machine under load (a busy loop on the other core)",
            )
        finally:
            os.kill(busy.pid, signal.SIGKILL)
            busy.wait()
    print(BENCH_NOTE)


if __name__ == "__main__":
    main()
