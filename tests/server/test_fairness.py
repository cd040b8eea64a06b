"""A greedy user cannot starve another: run slots go round robin across users, and each user's queue is
capped (429 with Retry-After beyond it)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path

from server_helpers import Live, new_project, wait_run

from orchestrator_kit.server.scheduler import FairSlots

ALICE = "alice-token-0123456789abcdef"
BOB = "bob-token-0123456789abcdefgh"


def test_slots_are_handed_out_round_robin_by_user() -> None:
    async def scenario() -> list[str]:
        slots, order = FairSlots(1), []

        async def run(user: str, name: str) -> None:
            await slots.acquire(user)
            order.append(name)
            await asyncio.sleep(0)
            slots.release()

        await slots.acquire("alice")  # a run in progress
        tasks = [asyncio.create_task(run("alice", f"a{i}")) for i in range(1, 5)]
        await asyncio.sleep(0)
        tasks += [asyncio.create_task(run("bob", "b1")), asyncio.create_task(run("carol", "c1"))]
        await asyncio.sleep(0)
        slots.release()
        await asyncio.gather(*tasks)
        assert slots.active == 0
        return order

    assert asyncio.run(scenario()) == ["a1", "b1", "c1", "a2", "a3", "a4"]


def test_a_cancelled_waiter_gives_its_turn_away() -> None:
    async def scenario() -> None:
        slots = FairSlots(1)
        await slots.acquire("a")
        waiter = asyncio.create_task(slots.acquire("a"))
        other = asyncio.create_task(slots.acquire("b"))
        await asyncio.sleep(0)
        waiter.cancel()
        await asyncio.sleep(0)
        assert slots.waiting("a") == 0 and slots.waiting("b") == 1
        slots.release()
        await other
        slots.release()
        assert slots.active == 0

    asyncio.run(scenario())


def started_at(data_dir: Path, user: str, run_id: str) -> str:
    return str(json.loads((data_dir / "runs" / user / run_id / "summary.json").read_text())["started_at"])


def test_another_users_run_goes_before_a_greedy_users_queue(
    start_server: Callable[..., Live], tmp_path: Path
) -> None:
    users = tmp_path / "users.yaml"
    users.write_text(f"users:\n  alice: {{token: {ALICE}}}\n  bob: {{token: {BOB}}}\n")
    users.chmod(0o600)
    live = start_server(
        users_file=users, max_concurrent_runs=1, max_queued_per_user=3, simulated_latency_s=0.25
    )  # each run lasts about 0.5 s: alice's first run is still going when bob posts, even under load
    alice, bob = live.client(ALICE), live.client(BOB)
    apid, bpid = new_project(alice), new_project(bob)
    body = {"agents": ["architect"]}
    greedy = [alice.post(f"/projects/{apid}/runs", json=body) for _ in range(4)]
    assert [r.status_code for r in greedy] == [202, 202, 202, 202]  # one runs, three wait
    r = alice.post(f"/projects/{apid}/runs", json=body)
    assert r.status_code == 429, r.text
    assert int(r.headers["Retry-After"]) >= 1 and "--max-queued-per-user 3" in r.json()["detail"]
    other = bob.post(f"/projects/{bpid}/runs", json=body)
    assert other.status_code == 202, other.text  # bob's own queue is empty

    ids = [g.json()["id"] for g in greedy]
    for rid in ids:
        assert wait_run(alice, apid, rid)["status"] == "completed"
    assert wait_run(bob, bpid, other.json()["id"])["status"] == "completed"
    bob_start = started_at(live.data_dir, "bob", other.json()["id"])
    alice_starts = [started_at(live.data_dir, "alice", rid) for rid in ids]
    # served in turn: alice's running run, her next one, then bob's, before her last two
    assert sum(s < bob_start for s in alice_starts) <= 2, (alice_starts, bob_start)
    assert alice.post(f"/projects/{apid}/runs", json=body).status_code == 202  # the queue drained
