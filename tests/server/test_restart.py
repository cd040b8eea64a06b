"""Projects and runs survive a restart; a run in flight when the server stopped resumes through the API
without repeating finished calls (graceful stop, and a SIGKILLed server process)."""

from __future__ import annotations

import json
import queue
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
from server_helpers import Live, new_project, wait_for, wait_run

from orchestrator_kit.store.run_folder import RunFolder

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "run_api_server.py"
FULL_RUN_CALLS = 16  # eight agents, plan + act each


def ledger(live_or_dir: Live | Path, user: str, run_id: str) -> list[dict[str, object]]:
    data_dir = live_or_dir.data_dir if isinstance(live_or_dir, Live) else live_or_dir
    path = data_dir / "runs" / user / run_id / "calls.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def test_projects_runs_settings_and_artifacts_survive_a_restart(start_server: Callable[..., Live]) -> None:
    first = start_server()
    c = first.client()
    c.post(
        "/users/me/provider-settings",
        json={"llm_provider": "anthropic", "api_key": "sk-ant-api03-kept-000000000"},
    )
    pid = new_project(c)
    rid = c.post(f"/projects/{pid}/runs", json={"mode": "simulated"}).json()["id"]
    before = wait_run(c, pid, rid)
    assert before["status"] == "completed"
    first.stop()

    second = start_server()
    c = second.client()
    assert [p["id"] for p in c.get("/projects").json()] == [pid]
    after = c.get(f"/projects/{pid}/runs/{rid}").json()
    assert after["status"] == "completed" and after["totals"] == before["totals"]
    assert after["agents"] == before["agents"]
    assert len(c.get(f"/projects/{pid}/runs/{rid}/artifacts").json()) == 9
    settings = c.get("/users/me/provider-settings").json()
    assert settings["api_key_masked"] == "…0000" and settings["api_key_readable"] is True
    # the live events are gone; the stream says how the run ended
    with c.stream("GET", f"/projects/{pid}/runs/{rid}/events") as r:
        text = r.read().decode()
    assert "event: run_finished" in text and '"live_events": false' in text


def _resume_and_check(c: httpx.Client, data_dir: Path, pid: str, rid: str) -> None:
    run = c.get(f"/projects/{pid}/runs/{rid}").json()
    assert run["status"] == "interrupted" and run["error"]["type"] in ("Interrupted", "CancelledError")
    statuses = {a["status"] for a in run["agents"].values()}
    assert "done" in statuses and statuses <= {"done", "pending", "interrupted"} and statuses != {"done"}
    done_before = ledger(data_dir, "default", rid)
    assert 0 < len(done_before) < FULL_RUN_CALLS

    r = c.post(f"/projects/{pid}/runs/{rid}/resume")
    assert r.status_code == 202, r.text
    assert r.json()["status"] in ("queued", "running", "completed")
    assert c.post(f"/projects/{pid}/runs/{rid}/resume").status_code == 409  # one resume at a time
    final = wait_run(c, pid, rid)
    assert final["status"] == "completed", final
    lines = ledger(data_dir, "default", rid)
    assert len(lines) == FULL_RUN_CALLS  # nothing finished before the stop was paid for again
    assert lines[: len(done_before)] == done_before
    assert len({(x["agent"], x["step"]) for x in lines}) == FULL_RUN_CALLS
    assert final["totals"]["calls"] == FULL_RUN_CALLS and all(
        a["status"] == "done" for a in final["agents"].values()
    )


def test_a_run_in_flight_at_a_graceful_stop_is_interrupted_then_resumed(
    start_server: Callable[..., Live],
) -> None:
    first = start_server(no_auth=True, simulated_latency_s=0.2)
    c = first.client(token=None)
    pid = new_project(c)
    rid = c.post(f"/projects/{pid}/runs", json={}).json()["id"]
    wait_for(c, f"/projects/{pid}/runs/{rid}", lambda b: b["totals"]["calls"] >= 3, timeout=20)
    first.stop()

    second = start_server(no_auth=True)
    _resume_and_check(second.client(token=None), second.data_dir, pid, rid)


def test_a_run_in_flight_when_the_server_process_is_killed_is_interrupted_then_resumed(
    start_server: Callable[..., Live], tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    proc = subprocess.Popen(
        [
            sys.executable,
            str(SCRIPT),
            "--no-auth",
            "--port",
            "0",
            "--data-dir",
            str(data_dir),
            "--simulated-latency",
            "0.2",
            "--log-level",
            "warning",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        for line in proc.stdout or []:
            lines.put(line)

    threading.Thread(target=pump, daemon=True).start()
    try:
        deadline, url = time.monotonic() + 30, None
        while url is None and time.monotonic() < deadline:
            try:
                m = re.search(r"server on (http://127\.0\.0\.1:\d+)", lines.get(timeout=1))
            except queue.Empty:
                assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
                continue
            url = m.group(1) if m else None
        assert url, "the server process printed no address"
        with httpx.Client(base_url=url, timeout=10) as c:
            pid = new_project(c)
            rid = c.post(f"/projects/{pid}/runs", json={}).json()["id"]
            wait_for(c, f"/projects/{pid}/runs/{rid}", lambda b: b["totals"]["calls"] >= 3, timeout=20)
    finally:
        proc.kill()  # SIGKILL: no shutdown code runs
        proc.wait(timeout=10)
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()
    state = RunFolder(data_dir / "runs" / "default" / rid).load_state()  # the checkpoint log's fold
    assert state is not None and state["status"] == "running"  # the folder never heard about the end

    second = start_server(no_auth=True, data_dir=data_dir)  # startup marks the run interrupted
    _resume_and_check(second.client(token=None), data_dir, pid, rid)


def test_a_run_still_queued_at_a_stop_starts_from_scratch_on_resume(
    start_server: Callable[..., Live],
) -> None:
    first = start_server(max_concurrent_runs=1, simulated_latency_s=0.2)
    c = first.client()
    pid = new_project(c)
    running = c.post(f"/projects/{pid}/runs", json={"agents": ["architect", "data"]}).json()["id"]
    queued = c.post(f"/projects/{pid}/runs", json={"agents": ["architect"]}).json()["id"]
    assert c.get(f"/projects/{pid}/runs/{queued}").json()["status"] == "queued"
    wait_for(c, f"/projects/{pid}/runs/{running}", lambda b: b["totals"]["calls"] >= 1, timeout=20)
    first.stop()

    second = start_server()
    c = second.client()
    runs = {r["id"]: r["status"] for r in c.get(f"/projects/{pid}/runs").json()}
    assert runs == {running: "interrupted", queued: "interrupted"}
    assert not (second.data_dir / "runs" / "default" / queued).exists()
    assert c.post(f"/projects/{pid}/runs/{queued}/resume").status_code == 202
    done = wait_run(c, pid, queued)
    assert (
        done["status"] == "completed"
        and done["mode"] == "simulated"
        and list(done["agents"]) == ["architect"]
    )
    assert len(ledger(second, "default", queued)) == 2
