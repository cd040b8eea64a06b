"""Human gates over HTTP: a run that waits shows what it asks, POST .../decision resumes it, bad input
changes nothing, another user's run is a 404, and the event stream says when a run starts waiting."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from server_helpers import Live, new_project, wait_for
from test_sse import read_events

ALICE = "alice-token-for-gate-tests-0001"
BOB = "bob-token-for-gate-tests-0002"
WAITS = ("awaiting_approval", "awaiting_budget", "completed", "failed", "budget_exceeded", "interrupted")


def _wait(c: httpx.Client, pid: str, rid: str, statuses: tuple[str, ...] = WAITS) -> dict[str, Any]:
    return wait_for(c, f"/projects/{pid}/runs/{rid}", lambda b: b["status"] in statuses)


def _ok_hashes(run_dir: Path) -> list[str]:
    lines = [json.loads(x) for x in (run_dir / "calls.jsonl").read_text().splitlines() if x.strip()]
    return [ln["request_hash"] for ln in lines if ln["status"] == "ok"]


def _two_users(start_server: Callable[..., Live], tmp_path: Path) -> Live:
    users = tmp_path / "users.yaml"
    users.write_text(
        f"users:\n  alice: {{token: {ALICE}}}\n"
        f"  bob: {{token_sha256: {hashlib.sha256(BOB.encode()).hexdigest()}}}\n"
    )
    users.chmod(0o600)
    return start_server(users_file=users)


def test_a_human_gate_waits_then_a_decision_resumes_the_run(
    start_server: Callable[..., Live], tmp_path: Path
) -> None:
    live = _two_users(start_server, tmp_path)
    alice, bob = live.client(ALICE), live.client(BOB)
    pid = new_project(alice)
    r = alice.post(f"/projects/{pid}/runs", json={"mode": "simulated", "gate": "model+human"})
    assert r.status_code == 202, r.text
    rid = r.json()["id"]
    base = f"/projects/{pid}/runs/{rid}"
    body = _wait(alice, pid, rid)
    assert body["status"] == "awaiting_approval", body
    pending = body["pending"]
    assert pending["kind"] == "approval" and pending["step"] == "consensus"
    assert pending["under_review"] == ["architect/architecture.md", "data/data_pipeline.md"]
    assert pending["proposal"]["approved"] is True  # the model proposed; a person confirms
    assert body["links"]["decision"] == base + "/decision"
    assert body["agents"]["developer"]["status"] == "pending"
    listed = {x["id"]: x["status"] for x in alice.get(f"/projects/{pid}/runs").json()}
    assert listed[rid] == "awaiting_approval"

    # the stream of a waiting run ends with run_waiting (it does not hang, and is not a failure)
    events = read_events(alice, base + "/events")
    assert events[-1]["type"] == "run_waiting" and "run_failed" not in [e["type"] for e in events]
    assert events[-1]["data"]["under_review"] == pending["under_review"]
    assert "run_dir" not in json.dumps(events)
    last_seq = events[-1]["seq"]

    run_dir = live.data_dir / "runs" / "alice" / rid
    state = (run_dir / "state.json").read_bytes()
    before = _ok_hashes(run_dir)

    # another user's run: 404, nothing recorded
    assert bob.post(base + "/decision", json={"action": "approve"}).status_code == 404
    # resume is not the way past a gate
    r = alice.post(base + "/resume")
    assert r.status_code == 409 and "decision" in r.json()["detail"]
    # bad decisions: a clear 422, the run unchanged
    for bad, message in [
        ({"action": "revise", "reasons": []}, "needs at least one reason"),
        ({"action": "revise", "reasons": ["  "]}, "needs at least one reason"),
        ({"action": "edit"}, "needs the edited artifact"),
        ({"action": "edit", "edits": {"architect/architecture.md": " \n"}}, "is empty"),
        ({"action": "edit", "edits": {"developer/x.py": "x = 1"}}, "not under review"),
        ({"action": "budget", "budget_usd": "5"}, "waits at gate"),
    ]:
        r = alice.post(base + "/decision", json=bad)
        assert r.status_code == 422 and message in r.json()["detail"], (bad, r.text)
    assert alice.post(base + "/decision", json={"action": "maybe"}).status_code == 422
    assert (run_dir / "state.json").read_bytes() == state
    assert not (run_dir / "decisions.jsonl").exists()
    assert alice.get(base).json()["status"] == "awaiting_approval"

    r = alice.post(base + "/decision", json={"action": "approve", "reasons": ["looks right"]})
    assert r.status_code == 202, r.text
    assert r.json()["status"] in ("queued", "running", "completed")
    done = _wait(alice, pid, rid, ("completed", "failed", "interrupted", "awaiting_approval"))
    assert done["status"] == "completed" and done["pending"] is None
    after = _ok_hashes(run_dir)
    assert after[: len(before)] == before and len(set(after)) == len(after)  # no call paid twice
    decision = json.loads((run_dir / "decisions.jsonl").read_text())
    assert decision["action"] == "approve" and decision["by"] == "alice"

    # the same stream continues after the decision: Last-Event-ID picks up where it ended
    tail = read_events(alice, base + "/events", last_id=last_seq)
    assert tail[0]["seq"] == last_seq + 1 and tail[0]["type"] == "run_started"
    assert tail[-1]["type"] == "run_finished"
    # a decision on a run that is not waiting: 409, nothing recorded
    r = alice.post(base + "/decision", json={"action": "approve"})
    assert r.status_code == 409 and "only runs awaiting" in r.json()["detail"]
    assert len((run_dir / "decisions.jsonl").read_text().splitlines()) == 1


def test_revise_and_edit_over_http(start_server: Callable[..., Live]) -> None:
    live = start_server()
    c = live.client()
    pid = new_project(c)
    rid = c.post(f"/projects/{pid}/runs", json={"mode": "simulated", "gate": "human"}).json()["id"]
    base = f"/projects/{pid}/runs/{rid}"
    first = _wait(c, pid, rid)["pending"]
    assert first["proposal"] is None  # human: the consensus agent is not asked
    r = c.post(base + "/decision", json={"action": "revise", "reasons": ["stream large files"]})
    assert r.status_code == 202, r.text
    again = _wait(c, pid, rid, ("awaiting_approval", "completed", "failed"))
    assert again["status"] == "awaiting_approval" and again["pending"]["round"] == first["round"] + 1
    text = "# Architecture (edited)\n\nOne module.\n"
    r = c.post(base + "/decision", json={"action": "edit", "edits": {"architect/architecture.md": text}})
    assert r.status_code == 202, r.text
    assert _wait(c, pid, rid, ("completed", "failed", "interrupted"))["status"] == "completed"
    assert c.get(base + "/artifacts/architect/architecture.md").text.rstrip() == text.rstrip()
    run_dir = live.data_dir / "runs" / "default" / rid
    actions = [json.loads(x)["action"] for x in (run_dir / "decisions.jsonl").read_text().splitlines()]
    assert actions == ["revise", "edit"]
    assert len(set(_ok_hashes(run_dir))) == len(_ok_hashes(run_dir))


def test_budget_pause_over_http(start_server: Callable[..., Live]) -> None:
    live = start_server()
    c = live.client()
    pid = new_project(c)
    r = c.post(
        f"/projects/{pid}/runs", json={"mode": "simulated", "budget_usd": "0.08", "on_budget": "pause"}
    )
    rid = r.json()["id"]
    base = f"/projects/{pid}/runs/{rid}"
    body = _wait(c, pid, rid)
    assert body["status"] == "awaiting_budget" and body["error"] is None
    assert body["pending"]["kind"] == "budget" and body["pending"]["budget"]["cap_usd"] == "0.08"
    r = c.post(base + "/decision", json={"action": "budget", "budget_usd": "0.01"})
    assert r.status_code == 422 and "must be more than" in r.json()["detail"]
    assert c.post(base + "/decision", json={"action": "approve"}).status_code == 422
    r = c.post(base + "/decision", json={"action": "budget", "budget_usd": "50"})
    assert r.status_code == 202, r.text
    assert _wait(c, pid, rid, ("completed", "failed", "budget_exceeded"))["status"] == "completed"
    run_dir = live.data_dir / "runs" / "default" / rid
    assert len(set(_ok_hashes(run_dir))) == len(_ok_hashes(run_dir))


def test_a_waiting_run_stays_waiting_across_a_restart(
    start_server: Callable[..., Live], tmp_path: Path
) -> None:
    live = start_server(data_dir=tmp_path / "d")
    c = live.client()
    pid = new_project(c)
    rid = c.post(f"/projects/{pid}/runs", json={"mode": "simulated", "gate": "human"}).json()["id"]
    assert _wait(c, pid, rid)["status"] == "awaiting_approval"
    live.stop()
    again = start_server(data_dir=tmp_path / "d")
    c2 = again.client()
    body = c2.get(f"/projects/{pid}/runs/{rid}").json()
    assert body["status"] == "awaiting_approval" and body["pending"]["step"] == "consensus"
    events = read_events(c2, f"/projects/{pid}/runs/{rid}/events")  # no live handle after a restart
    assert [e["type"] for e in events] == ["run_waiting"]
    assert events[0]["data"]["status"] == "awaiting_approval"
    r = c2.post(f"/projects/{pid}/runs/{rid}/decision", json={"action": "approve"})
    assert r.status_code == 202, r.text
    assert _wait(c2, pid, rid, ("completed", "failed", "interrupted"))["status"] == "completed"
