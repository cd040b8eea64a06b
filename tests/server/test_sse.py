"""The run's engine events as server-sent events: live, replayed to late subscribers, resumable by id."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import httpx
from server_helpers import Live, new_project, wait_run

AGENTS = {"architect", "data", "consensus", "developer", "qa", "documentarian", "reviewer", "steward"}


def read_events(
    c: httpx.Client, path: str, *, last_id: int | None = None, limit_s: float = 30.0
) -> list[dict[str, Any]]:
    """Parse the stream until it ends (the run finished), within ``limit_s``."""
    headers = {"Last-Event-ID": str(last_id)} if last_id is not None else {}
    events: list[dict[str, Any]] = []
    deadline = time.monotonic() + limit_s
    with c.stream("GET", path, headers=headers, timeout=httpx.Timeout(10, read=limit_s)) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        fields: dict[str, str] = {}
        for line in r.iter_lines():
            assert time.monotonic() < deadline, "the event stream did not end in time"
            if line == "":
                if "data" in fields:
                    event = json.loads(fields["data"])
                    assert event["type"] == fields["event"] and str(event["seq"]) == fields["id"]
                    events.append(event)
                fields = {}
            elif not line.startswith(":"):
                name, _, value = line.partition(": ")
                fields[name] = value
    return events


def test_live_stream_until_run_finished_then_replay_and_last_event_id(
    start_server: Callable[..., Live],
) -> None:
    live = start_server(simulated_latency_s=0.02)
    c = live.client()
    pid = new_project(c)
    rid = c.post(f"/projects/{pid}/runs", json={}).json()["id"]
    path = f"/projects/{pid}/runs/{rid}/events"

    events = read_events(c, path)
    kinds = [e["type"] for e in events]
    assert kinds[0] == "run_started" and kinds[-1] == "run_finished"
    assert {e["agent"] for e in events if e["type"] == "agent_finished"} == AGENTS
    assert kinds.count("call_finished") == 16 and kinds.count("artifact_written") == 9
    seqs = [e["seq"] for e in events]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    assert all(e["run_id"] == rid for e in events)
    assert "run_dir" not in json.dumps(events)  # no server paths in the stream
    assert events[-1]["data"]["totals"]["calls"] == 16

    # a late subscriber gets the same history (live-only call_delta text aside)
    replay = read_events(c, path)
    assert list(replay) == [e for e in events if e["type"] != "call_delta"]
    # Last-Event-ID: only what came after
    k = replay[10]["seq"]
    tail = read_events(c, path, last_id=k)
    assert [e["seq"] for e in tail] == [e["seq"] for e in replay if e["seq"] > k]


def test_a_failed_run_ends_its_stream_with_run_failed(start_server: Callable[..., Live]) -> None:
    live = start_server()
    c = live.client()
    pid = new_project(c)
    rid = c.post(f"/projects/{pid}/runs", json={"budget_usd": "0.0001"}).json()["id"]
    assert wait_run(c, pid, rid)["status"] == "budget_exceeded"
    events = read_events(c, f"/projects/{pid}/runs/{rid}/events")
    assert events[-1]["type"] == "run_failed" and events[-1]["data"]["status"] == "budget_exceeded"


def test_streams_end_when_the_server_stops(start_server: Callable[..., Live]) -> None:
    live = start_server(simulated_latency_s=0.3, sse_heartbeat_s=0.2)
    c = live.client()
    pid = new_project(c)
    rid = c.post(f"/projects/{pid}/runs", json={}).json()["id"]
    got: list[str] = []
    started = time.monotonic()
    with c.stream("GET", f"/projects/{pid}/runs/{rid}/events", timeout=httpx.Timeout(10, read=20)) as r:
        for line in r.iter_lines():
            got.append(line)
            if len(got) == 1:
                live.bg.server.should_exit = True  # stop while the stream is open
    assert time.monotonic() - started < 15
    assert any(line.startswith("event: run_started") for line in got)
