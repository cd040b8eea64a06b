"""Benchmark the API server: N concurrent simulated runs plus M status polls over real HTTP on loopback.

    python bench/bench_server.py                      # 50 runs, 1,000 polls
    python bench/bench_server.py --runs 200 --polls 5000 --workers 32 --max-concurrent-runs 16

Prints latency percentiles (ms) for run starts (POST), status polls (GET) and each run's start -> finish
(queued time included, from the index's timestamps), and checks that no run was lost or duplicated.
Figures only: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from orchestrator_kit.server.app import ServerSettings, create_app
from orchestrator_kit.server.main import BackgroundServer

TERMINAL = ("completed", "failed", "budget_exceeded", "interrupted")


def percentiles(values: list[float]) -> str:
    if not values:
        return "n/a"
    ordered = sorted(values)

    def at(p: float) -> float:
        return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))] * 1000

    return (
        f"p50 {at(50):8.1f}  p95 {at(95):8.1f}  p99 {at(99):8.1f}  max {ordered[-1] * 1000:8.1f}  "
        f"(n={len(values)})"
    )


def run(args: argparse.Namespace) -> int:
    for name in [n for n in os.environ if n.startswith("ANTHROPIC_")]:
        del os.environ[name]  # simulated runs only; never the developer's key
    data_dir = Path(tempfile.mkdtemp(prefix="bench-server-"))
    token = "bench-token-000000000000000000"
    app = create_app(
        ServerSettings(
            data_dir=data_dir,
            token=token,
            max_concurrent_runs=args.max_concurrent_runs,
            simulated_latency_s=args.latency,
            max_queued_per_user=max(args.runs, 1),  # one user starts them all: measure, do not refuse
        )
    )
    local = threading.local()
    clients: list[httpx.Client] = []
    lock = threading.Lock()

    with BackgroundServer(app, logging_config=None) as srv:

        def client() -> httpx.Client:
            if not hasattr(local, "c"):
                local.c = httpx.Client(
                    base_url=srv.url, headers={"Authorization": f"Bearer {token}"}, timeout=60
                )
                with lock:
                    clients.append(local.c)
            c: httpx.Client = local.c
            return c

        project = {"project_name": "bench", "request": "a CSV to JSON converter"}
        pid = client().post("/projects", json=project).json()["id"]

        def start(i: int) -> tuple[str, float]:
            t = time.perf_counter()
            r = client().post(f"/projects/{pid}/runs", json={"request": f"converter number {i}"})
            r.raise_for_status()
            return r.json()["id"], time.perf_counter() - t

        wall = time.perf_counter()
        with ThreadPoolExecutor(args.workers) as pool:
            started = list(pool.map(start, range(args.runs)))
        ids = [rid for rid, _ in started]

        def poll(i: int) -> float:
            t = time.perf_counter()
            client().get(f"/projects/{pid}/runs/{ids[i % len(ids)]}").raise_for_status()
            return time.perf_counter() - t

        with ThreadPoolExecutor(args.workers) as pool:
            polls = list(pool.map(poll, range(args.polls)))
        deadline = time.monotonic() + args.timeout
        while True:
            rows: list[dict[str, Any]] = client().get(f"/projects/{pid}/runs").json()
            if all(r["status"] in TERMINAL for r in rows) or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        wall = time.perf_counter() - wall
        for c in clients:
            c.close()

    durations = [
        (datetime.fromisoformat(r["updated_at"]) - datetime.fromisoformat(r["created_at"])).total_seconds()
        for r in rows
        if r["status"] == "completed"
    ]
    statuses: dict[str, int] = {}
    for r in rows:
        statuses[r["status"]] = statuses.get(r["status"], 0) + 1
    lost = set(ids) - {r["id"] for r in rows}
    duplicated = len(rows) - len({r["id"] for r in rows}) + (len(ids) - len(set(ids)))
    print(
        f"server bench: {args.runs} simulated runs (max {args.max_concurrent_runs} at once, "
        f"{args.latency}s/call), {args.polls} polls, {args.workers} client threads, {wall:.2f} s wall"
    )
    print(f"  run start (POST)   ms {percentiles([s for _, s in started])}")
    print(f"  status poll (GET)  ms {percentiles(polls)}")
    print(f"  run start->finish  ms {percentiles(durations)}")
    print(
        f"  statuses {statuses}; lost {len(lost)}; duplicated {duplicated}"
        + (f"; data kept in {data_dir}" if args.keep else "")
    )
    if not args.keep:
        shutil.rmtree(data_dir, ignore_errors=True)
    return 0 if not lost and not duplicated and statuses == {"completed": args.runs} else 1


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=50)
    p.add_argument("--polls", type=int, default=1000)
    p.add_argument("--workers", type=int, default=16, help="client threads")
    p.add_argument("--max-concurrent-runs", type=int, default=8)
    p.add_argument("--latency", type=float, default=0.0, help="seconds per simulated call")
    p.add_argument("--timeout", type=float, default=300.0, help="give up waiting for runs after this")
    p.add_argument("--keep", action="store_true", help="keep the temporary data folder (run folders, index)")
    return run(p.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
