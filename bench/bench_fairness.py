"""Benchmark fairness across users: another user's one-agent run, alone and behind a greedy user's queue.

    python bench/bench_fairness.py                    # 200 queued full runs, 0.3 s per simulated call
    python bench/bench_fairness.py --greedy-runs 500 --latency 0.1 --max-concurrent-runs 4

Two users on one server (real HTTP on loopback, simulated runs). ``bob`` starts a one-agent run alone and
the time from POST to ``completed`` is taken; then ``alice`` queues ``--greedy-runs`` full runs (eight
agents each) and ``bob`` starts the same run again. Prints both times and their ratio, then how many of
alice's runs the default per-user cap (``--max-queued-per-user 20``) would have accepted.
Figures only: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import os
import shutil
import stat
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

from orchestrator_kit.server.app import ServerSettings, create_app
from orchestrator_kit.server.main import BackgroundServer

ALICE, BOB = "alice-bench-token-000000000001", "bob-bench-token-00000000000001"
TERMINAL = ("completed", "failed", "budget_exceeded", "interrupted")


def timed_run(c: httpx.Client, pid: str, timeout: float) -> float:
    """Seconds from POST to a final status of a one-agent run."""
    t = time.perf_counter()
    r = c.post(f"/projects/{pid}/runs", json={"agents": ["architect"]})
    r.raise_for_status()
    rid = r.json()["id"]
    while True:
        status = c.get(f"/projects/{pid}/runs/{rid}").json()["status"]
        if status in TERMINAL:
            if status != "completed":
                raise RuntimeError(f"bob's run ended {status}")
            return time.perf_counter() - t
        if time.perf_counter() - t > timeout:
            raise RuntimeError(f"bob's run did not finish within {timeout} s")
        time.sleep(0.02)


def queue_greedy(c: httpx.Client, pid: str, n: int) -> tuple[int, int]:
    """Start ``n`` full runs as fast as 16 client threads can; (accepted, refused with 429)."""

    def start(_: int) -> int:
        return c.post(f"/projects/{pid}/runs", json={}).status_code

    with ThreadPoolExecutor(16) as pool:
        codes = list(pool.map(start, range(n)))
    return codes.count(202), codes.count(429)


def server(data_dir: Path, users: Path, args: argparse.Namespace, cap: int) -> BackgroundServer:
    settings = ServerSettings(
        data_dir=data_dir,
        users_file=users,
        max_concurrent_runs=args.max_concurrent_runs,
        simulated_latency_s=args.latency,
        max_queued_per_user=cap,
    )
    return BackgroundServer(create_app(settings), logging_config=None, timeout_graceful_shutdown=2)


def project(c: httpx.Client) -> str:
    r = c.post("/projects", json={"project_name": "bench", "request": "a CLI that converts CSV to JSON"})
    r.raise_for_status()
    return str(r.json()["id"])


def run(args: argparse.Namespace) -> int:
    for name in [n for n in os.environ if n.startswith(("ANTHROPIC_", "ORCHESTRATOR_KIT_"))]:
        del os.environ[name]  # simulated runs only; never the developer's key
    tmp = Path(tempfile.mkdtemp(prefix="bench-fairness-"))
    users = tmp / "users.yaml"
    users.write_text(f"users:\n  alice: {{token: {ALICE}}}\n  bob: {{token: {BOB}}}\n")
    users.chmod(stat.S_IRUSR | stat.S_IWUSR)
    results: dict[str, Any] = {}
    try:
        with server(tmp / "data", users, args, cap=args.greedy_runs + 1) as srv:
            alice = httpx.Client(base_url=srv.url, headers={"Authorization": f"Bearer {ALICE}"}, timeout=60)
            bob = httpx.Client(base_url=srv.url, headers={"Authorization": f"Bearer {BOB}"}, timeout=60)
            apid, bpid = project(alice), project(bob)
            timed_run(bob, bpid, args.timeout)  # warm-up (imports, first run folder)
            results["alone"] = timed_run(bob, bpid, args.timeout)
            t = time.perf_counter()
            accepted, _ = queue_greedy(alice, apid, args.greedy_runs)
            results["queue_s"] = time.perf_counter() - t
            results["accepted"] = accepted
            results["behind"] = timed_run(bob, bpid, args.timeout)
            alice.close()
            bob.close()
        with server(tmp / "capped", users, args, cap=20) as srv:
            alice = httpx.Client(base_url=srv.url, headers={"Authorization": f"Bearer {ALICE}"}, timeout=60)
            results["capped"] = queue_greedy(alice, project(alice), args.greedy_runs)
            alice.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    alone, behind = results["alone"], results["behind"]
    print(
        f"fairness bench: simulated calls of {args.latency} s, at most {args.max_concurrent_runs} runs at once\n"
        f"  bob's one-agent run alone:                         {alone:7.2f} s\n"
        f"  alice queued {results['accepted']} full runs in {results['queue_s']:.2f} s; then\n"
        f"  bob's one-agent run behind alice's queue:          {behind:7.2f} s\n"
        f"  ratio behind/alone:                                {behind / alone:7.2f}\n"
        f"  with the default --max-queued-per-user 20, alice's {args.greedy_runs} starts: "
        f"{results['capped'][0]} accepted, {results['capped'][1]} refused with 429"
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--greedy-runs", type=int, default=200, help="full runs the greedy user queues")
    p.add_argument("--latency", type=float, default=0.3, help="seconds per simulated call")
    p.add_argument("--max-concurrent-runs", type=int, default=8)
    p.add_argument("--timeout", type=float, default=600.0, help="give up on bob's run after this")
    return run(p.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
