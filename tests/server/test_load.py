"""A bounded load test: 50 concurrent simulated runs and 1,000 status polls; no run lost or duplicated.

Latency percentiles are printed (``pytest -s``), never asserted. ``bench/bench_server.py`` is the benchmark.
"""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import httpx
from server_helpers import TERMINAL, Live, new_project

RUNS, POLLS = 50, 1000


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))] * 1000


def test_fifty_concurrent_runs_and_a_thousand_polls(start_server: Callable[..., Live]) -> None:
    live = start_server(max_concurrent_runs=8, max_queued_per_user=RUNS)
    local = threading.local()
    clients: list[httpx.Client] = []
    lock = threading.Lock()

    def client() -> httpx.Client:
        if not hasattr(local, "c"):
            local.c = live.client()
            with lock:
                clients.append(local.c)
        return local.c

    setup = live.client()
    projects = [new_project(setup, name=f"load {i}") for i in range(5)]

    def start(i: int) -> tuple[str, str, float]:
        pid = projects[i % len(projects)]
        t = time.perf_counter()
        r = client().post(
            f"/projects/{pid}/runs", json={"request": f"tool number {i} that converts CSV to JSON"}
        )
        assert r.status_code == 202, r.text
        return pid, r.json()["id"], time.perf_counter() - t

    with ThreadPoolExecutor(16) as pool:
        started = list(pool.map(start, range(RUNS)))
    run_ids = [rid for _, rid, _ in started]
    assert len(set(run_ids)) == RUNS

    def poll(i: int) -> tuple[float, str]:
        pid, rid, _ = started[i % RUNS]
        t = time.perf_counter()
        r = client().get(f"/projects/{pid}/runs/{rid}")
        assert r.status_code == 200, r.text
        return time.perf_counter() - t, r.json()["status"]

    t0 = time.perf_counter()
    with ThreadPoolExecutor(16) as pool:
        polls = list(pool.map(poll, range(POLLS)))
    poll_wall = time.perf_counter() - t0

    deadline = time.monotonic() + 60
    while True:
        listed = [r for pid in projects for r in setup.get(f"/projects/{pid}/runs").json()]
        if all(r["status"] in TERMINAL for r in listed) or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    for c in clients:
        c.close()

    # no run lost or duplicated: the index, the listings and the run folders agree with what was started
    assert sorted(r["id"] for r in listed) == sorted(run_ids)
    assert {r["status"] for r in listed} == {"completed"}, {r["status"] for r in listed}
    assert live.app.state.db.count_runs() == RUNS
    folders = sorted(p.name for p in (live.data_dir / "runs" / "default").iterdir())
    assert folders == sorted(run_ids)
    for pid, rid, _ in started[::10]:
        assert setup.get(f"/projects/{pid}/runs/{rid}").json()["totals"]["calls"] == 16
    assert sum(p["run_count"] for p in setup.get("/projects").json()) == RUNS

    starts = [s for _, _, s in started]
    lat = [p for p, _ in polls]
    print(
        f"\n[load] {RUNS} runs started: p50 {pct(starts, 50):.1f} ms, p95 {pct(starts, 95):.1f} ms, "
        f"p99 {pct(starts, 99):.1f} ms"
    )
    print(
        f"[load] {POLLS} status polls in {poll_wall:.2f} s ({POLLS / poll_wall:.0f}/s): p50 {pct(lat, 50):.1f} ms, "
        f"p95 {pct(lat, 95):.1f} ms, p99 {pct(lat, 99):.1f} ms, mean {statistics.mean(lat) * 1000:.1f} ms"
    )
