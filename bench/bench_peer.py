"""Engine overhead per model call, side by side with LangGraph (issue #12). Prints figures; asserts nothing.

    pip install -e '.[bench]'        # langgraph, langgraph-checkpoint-sqlite, langchain-core
    python bench/bench_peer.py [--runs 20]

Same 8-agent DAG (architect -> data -> consensus -> developer -> {qa, documentarian} -> reviewer ->
steward), two model calls per agent, an instant model on both sides: LangGraph with langchain-core's
fake chat model; ours with completions memoised from the simulated backend (a warm-up run fills the
memo). Ours runs with full durability (run folder: manifest, checkpoint after every agent, ledger,
responses, artifacts). Measured on a quiet machine, then again while a busy-loop process occupies a core.
"""

from __future__ import annotations

import argparse
import os
import signal
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


def ours(runs: int, root: Path) -> float:
    backend = MemoBackend()
    engine = WorkflowEngine(backend=backend, output_dir=root)
    engine.run(REQUEST)  # warm-up: fills the memo
    t = time.perf_counter()
    for _ in range(runs):
        engine.run(REQUEST)
    return (time.perf_counter() - t) / (runs * CALLS_PER_RUN)


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


def peer(runs: int, root: Path, *, durable: bool) -> float:
    saver_cm = None
    checkpointer = None
    if durable:
        from langgraph.checkpoint.sqlite import SqliteSaver

        saver_cm = SqliteSaver.from_conn_string(str(root / "lg.sqlite"))
        checkpointer = saver_cm.__enter__()
    try:
        graph = langgraph_graph(checkpointer)
        graph.invoke({"request": REQUEST, "artifacts": {}}, {"configurable": {"thread_id": "warm"}})
        t = time.perf_counter()
        for i in range(runs):
            graph.invoke({"request": REQUEST, "artifacts": {}}, {"configurable": {"thread_id": f"t{i}"}})
        return (time.perf_counter() - t) / (runs * CALLS_PER_RUN)
    finally:
        if saver_cm is not None:
            saver_cm.__exit__(None, None, None)


def measure(runs: int, label: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        a = ours(runs, root / "ours")
        b = peer(runs, root, durable=False)
        c = peer(runs, root, durable=True)
    print(
        f"[{label}] per model call: ours (durable run folder) {a * 1e3:.3f} ms; LangGraph, no persistence "
        f"{b * 1e3:.3f} ms; LangGraph, SQLite checkpointer {c * 1e3:.3f} ms"
    )
    print(
        f"  ours / LangGraph without persistence: {a / b:.2f}  (aim <= 1.0); ours / LangGraph durable: {a / c:.2f}"
    )


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--runs", type=int, default=20)
    args = p.parse_args()
    try:
        import langchain_core  # noqa: F401
        import langgraph
        import langgraph.checkpoint.sqlite  # noqa: F401
    except ImportError:
        sys.exit(
            "bench_peer needs LangGraph: pip install -e '.[bench]' (langgraph, langgraph-checkpoint-sqlite)"
        )
    measure(args.runs, "quiet machine")
    busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])  # occupies one core
    try:
        measure(args.runs, "machine under load (a busy loop on the other core)")
    finally:
        os.kill(busy.pid, signal.SIGKILL)
        busy.wait()


if __name__ == "__main__":
    main()
