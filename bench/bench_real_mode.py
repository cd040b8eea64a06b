"""Real-mode benchmarks (issue #3) against the fake Messages API server. Prints figures; asserts nothing.

    python bench/bench_real_mode.py [--latency 0.2] [--repeat 3]

1. Full-workflow wall time / the DAG's critical-path latency, with a fixed server latency per call,
   for the concurrent engine and for a sequential one (max_concurrency=1), in one bench run.
2. Input cost of a full workflow with prompt caching vs without, at the default model's prices.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from decimal import Decimal
from pathlib import Path

from orchestrator_kit.engine.engine import WorkflowEngine
from orchestrator_kit.engine.workflow import DEFAULT_WORKFLOW
from orchestrator_kit.llm.anthropic_backend import AnthropicBackend
from orchestrator_kit.llm.pricing import DEFAULT_MODEL, get_price
from orchestrator_kit.records import RunTotals
from orchestrator_kit.testing import FakeAnthropicServer, simulated_responder

KEY = "sk-ant-api03-FAKE-KEY-FOR-BENCH-ONLY-0000"
REQUEST = "Build a CLI that converts CSV files to JSON, with validation and a summary report"


def run_once(srv: FakeAnthropicServer, root: Path, **kw) -> tuple[float, RunTotals]:
    backend = AnthropicBackend(KEY, base_url=srv.base_url)
    t = time.perf_counter()
    result = WorkflowEngine(backend=backend, output_dir=root, **kw).run(REQUEST)
    return time.perf_counter() - t, result.totals


def bench_critical_path(latency: float, repeat: int, root: Path) -> None:
    # Each agent makes two sequential calls (plan, act), each taking `latency` at the server.
    critical = DEFAULT_WORKFLOW.critical_path(dict.fromkeys(DEFAULT_WORKFLOW.steps, 2 * latency))
    with FakeAnthropicServer(responder=simulated_responder(), latency=latency) as srv:
        run_once(srv, root)  # warm-up
        conc = [run_once(srv, root, max_concurrency=4)[0] for _ in range(repeat)]
        seq = [run_once(srv, root, max_concurrency=1)[0] for _ in range(repeat)]
    c, s = statistics.median(conc), statistics.median(seq)
    print(
        f"[critical path] server latency {latency * 1e3:.0f} ms per call; critical path {critical:.2f} s "
        f"(7 agents x 2 calls); medians of {repeat}"
    )
    print(f"  concurrent (limit 4): {c:.2f} s  -> ratio {c / critical:.3f}  (aim <= 1.1)")
    print(f"  sequential (limit 1): {s:.2f} s  -> ratio {s / critical:.3f}")


def bench_caching(root: Path) -> None:
    price = get_price(DEFAULT_MODEL)
    assert price is not None and price.input is not None
    with FakeAnthropicServer(responder=simulated_responder()) as srv:
        _, cached = run_once(srv, root, cache_ttl="5m")
    with FakeAnthropicServer(responder=simulated_responder()) as srv:
        _, plain = run_once(srv, root, cache_ttl=None)

    def input_cost(t: RunTotals) -> Decimal:
        per = Decimal(1_000_000)
        return (
            t.input_tokens * price.input
            + t.cache_write_5m_tokens * price.cache_write_5m
            + t.cache_write_1h_tokens * price.cache_write_1h
            + t.cache_read_tokens * price.cache_read
        ) / per

    a, b = input_cost(cached), input_cost(plain)
    print(
        f"[caching] full workflow input cost at {DEFAULT_MODEL} prices "
        f"(${price.input}/MTok input, writes ${price.cache_write_5m}, reads ${price.cache_read}):"
    )
    print(f"  without caching: ${b:.5f} ({plain.input_tokens:,} input tokens)")
    print(
        f"  with caching:    ${a:.5f} ({cached.input_tokens:,} uncached, {cached.cache_write_5m_tokens:,} "
        f"written, {cached.cache_read_tokens:,} read)  -> {1 - a / b:.1%} less; "
        f"ledger's cache_savings_usd {cached.cache_savings_usd}"
    )
    print(
        f"  input cost with caching / without: {a / b:.3f}  (aim <= 0.5; the fake server applies "
        f"{DEFAULT_MODEL}'s minimum cacheable length, {price.min_cache_tokens:,} tokens)"
    )
    print(
        f"  total run cost: ${Decimal(cached.cost_usd or 0):.5f} cached vs ${Decimal(plain.cost_usd or 0):.5f} plain"
    )


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--latency", type=float, default=0.2)
    p.add_argument("--repeat", type=int, default=3)
    a = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        bench_critical_path(a.latency, a.repeat, Path(tmp))
        bench_caching(Path(tmp))


if __name__ == "__main__":
    main()
