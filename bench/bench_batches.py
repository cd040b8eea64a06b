"""Message Batches and rate-limit pacing (issue #10) against the fake Messages API. Prints figures.

    python bench/bench_batches.py [--cells 8] [--latency 0.2] [--batch-s 1.0] [--paced-cells 6]

1. The same sweep (``--cells`` full workflows at once in one event loop, one shared backend) through the
   standard Messages API and through Message Batches: total cost of each (Decimal, from the ledgers), their
   ratio (exactly 0.5), wall times, batches created and API requests made.
2. With the fake server enforcing 60 requests/min: the same sweep of ``--paced-cells`` workflows without
   and with the RateLimiter: 429s received, cells that failed, wall time.
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

from orchestrator_kit.engine.engine import WorkflowEngine
from orchestrator_kit.llm.anthropic_backend import AnthropicBackend
from orchestrator_kit.llm.batches import BatchesBackend
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
        f"== {cells} workflows: standard Messages API (server latency {latency} s/call) vs Message Batches "
        f"(each batch in progress {batch_s} s)"
    )
    with FakeAnthropicServer(responder=simulated_responder(), latency=latency) as srv:
        t = time.perf_counter()
        asyncio.run(sweep(lambda _: AnthropicBackend(KEY, base_url=srv.base_url), tmp / "standard", cells))
        standard_s = time.perf_counter() - t
        standard_requests = srv.count("/v1/messages")
    with FakeAnthropicServer(responder=simulated_responder(), batch_processing_s=batch_s) as srv:
        backend: list[BatchesBackend] = []

        def make(active: Callable[[], int]) -> BatchesBackend:
            backend.append(
                BatchesBackend(
                    KEY,
                    base_url=srv.base_url,
                    active_runs=active,
                    journal=tmp / "batches.jsonl",
                    poll_initial_s=0.25,
                    poll_max_s=2.0,
                )
            )
            return backend[0]

        t = time.perf_counter()
        results = asyncio.run(sweep(make, tmp / "batches", cells))
        batches_s = time.perf_counter() - t
        stats = backend[0].stats
        batch_http = srv.count(None)
    failed = sum(isinstance(r, BaseException) for r in results)
    standard, batched = ledger_cost(tmp / "standard"), ledger_cost(tmp / "batches")
    print(f"standard: ${standard} in {standard_s:.2f} s, {standard_requests} Messages requests")
    print(
        f"batches:  ${batched} in {batches_s:.2f} s, {stats['batches_created']} batches holding "
        f"{stats['requests_submitted']} requests, {stats['polls']} polls, {batch_http} HTTP requests, "
        f"{failed} failed cells"
    )
    print(
        f"cost ratio batches/standard = {batched / standard} (Decimal; exactly 0.5: {batched / standard == Decimal('0.5')})"
    )


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
