"""Message Batches and rate-limit pacing (issue #10) against the fake Messages API. Prints figures.

    python bench/bench_batches.py [--cells 8] [--latency 0.2] [--batch-s 1.0] [--paced-cells 6]

1. The same sweep (``run_sweep``, ``--cells`` cells, full default workflow, real mode) through the standard
   Messages API and through Message Batches: total cost of each (Decimal, from the ledgers), their ratio
   (exactly 0.5), wall times, batches created and API requests made.
2. With the fake server enforcing 60 requests/min: ``--paced-cells`` workflows at once in one event loop
   sharing one AnthropicBackend, without and with a RateLimiter (a sweep always has one; this compares the
   two): 429s received, cells that failed, wall time.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

from orchestrator_kit import run_sweep
from orchestrator_kit.engine.engine import WorkflowEngine
from orchestrator_kit.llm.anthropic_backend import AnthropicBackend
from orchestrator_kit.llm.ratelimit import RateLimiter
from orchestrator_kit.testing import FakeAnthropicServer, RateLimits, simulated_responder

KEY = "sk-ant-test-fake"


async def sweep(make_backend: Callable[[Callable[[], int]], Any], root: Path, cells: int) -> list[Any]:
    """Every cell's workflow at once, one shared backend (what the sweep driver does)."""
    tasks: list[asyncio.Task[Any]] = []
    backend = make_backend(lambda: sum(not t.done() for t in tasks))
    for i in range(cells):
        engine = WorkflowEngine(backend=backend, output_dir=root, max_concurrency=64)
        coro = engine.arun(f"A CLI tool number {i} that converts CSV to JSON", run_id=f"cell{i:03d}")
        tasks.append(asyncio.create_task(coro))
    results = await asyncio.gather(*tasks, return_exceptions=True)
    aclose = getattr(backend, "aclose", None)
    if aclose is not None:
        await aclose()
    return results


def ledger_cost(root: Path) -> Decimal:
    total = Decimal(0)
    for calls in root.glob("*/calls.jsonl"):
        for line in calls.read_text(encoding="utf-8").splitlines():
            cost = json.loads(line)["cost_usd"]
            total += Decimal(cost) if cost is not None else Decimal(0)
    return total


def bench_cost(cells: int, latency: float, batch_s: float, tmp: Path) -> None:
    print(
        f"== a sweep of {cells} cells (run_sweep, real mode): standard Messages API (server latency {latency} "
        f"s/call) vs Message Batches (each batch in progress {batch_s} s)"
    )
    grid = {
        "requests": [f"A CLI tool number {i} that converts CSV to JSON" for i in range(cells)],
        "mode": "real",
        "render": False,
        "max_concurrency": 64,
    }
    figures = {}
    for backend in ("anthropic", "batches"):
        options = {"latency": latency} if backend == "anthropic" else {"batch_processing_s": batch_s}
        with FakeAnthropicServer(responder=simulated_responder(), **options) as srv:
            t = time.perf_counter()
            result = run_sweep(
                grid, tmp / backend, backend=backend, api_key=KEY, base_url=srv.base_url, progress=False
            )
            wall = time.perf_counter() - t
            batches = srv.count("/v1/messages/batches", method="POST")
            print(
                f"{backend:>9}: ${ledger_cost(result.runs_dir)} in {wall:.2f} s; {len(result.ok)}/{cells} cells ok; "
                f"{srv.count('/v1/messages')} Messages requests, {batches} batches, {srv.count(None)} HTTP requests"
            )
            figures[backend] = ledger_cost(result.runs_dir)
    ratio = figures["batches"] / figures["anthropic"]
    print(f"cost ratio batches/standard = {ratio} (Decimal; exactly 0.5: {ratio == Decimal('0.5')})")


def bench_pacing(cells: int, tmp: Path) -> None:
    print(f"== {cells} workflows at once, fake server enforcing 60 requests/min")
    for paced in (False, True):
        with FakeAnthropicServer(responder=simulated_responder(), rate_limits=RateLimits(rpm=60)) as srv:
            limiter = RateLimiter() if paced else None
            t = time.perf_counter()
            results = asyncio.run(
                sweep(
                    lambda _, lim=limiter: AnthropicBackend(KEY, base_url=srv.base_url, rate_limiter=lim),
                    tmp / f"paced-{paced}",
                    cells,
                )
            )
            wall = time.perf_counter() - t
            failed = sum(isinstance(r, BaseException) for r in results)
            print(
                f"{'with pacing   ' if paced else 'without pacing'}: {srv.rate_limited} 429s received, "
                f"{srv.count('/v1/messages')} requests, {failed}/{cells} cells failed, {wall:.1f} s"
                + (f", limiter {limiter.stats}" if limiter is not None else "")
            )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cells", type=int, default=8)
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--batch-s", type=float, default=1.0)
    parser.add_argument("--paced-cells", type=int, default=6)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        bench_cost(args.cells, args.latency, args.batch_s, Path(tmp))
        bench_pacing(args.paced_cells, Path(tmp))


if __name__ == "__main__":
    main()
