"""A client that follows a run's event stream across a server restart, reconnecting with Last-Event-ID as
EventSource does: it learns how the run ended, then every event of the run's resumption, never a stream
that ends with nothing to say (on which EventSource reconnects forever)."""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx
from server_helpers import Live, new_project, wait_for, wait_run
from test_sse import read_events


def first_ids(c: httpx.Client, path: str, n: int) -> list[int]:
    """The ids of a live stream's first ``n`` events (then the client hangs up)."""
    ids: list[int] = []
    with c.stream("GET", path, timeout=httpx.Timeout(10, read=20)) as r:
        for line in r.iter_lines():
            if line.startswith("data: "):
                ids.append(json.loads(line[6:])["seq"])
                if len(ids) == n:
                    break
    return ids


def test_last_event_id_from_before_a_restart_gets_the_end_then_the_resumed_run(
    start_server: Callable[..., Live],
) -> None:
    first = start_server(simulated_latency_s=0.2)
    c = first.client()
    pid = new_project(c)
    rid = c.post(f"/projects/{pid}/runs", json={}).json()["id"]
    base = f"/projects/{pid}/runs/{rid}"
    wait_for(c, base, lambda b: b["totals"]["calls"] >= 3, timeout=20)
    last = max(first_ids(c, base + "/events", 3))
    first.stop()  # the run is interrupted; the stream ended without saying how the run ended

    second = start_server()
    c = second.client()
    end = read_events(c, base + "/events", last_id=last)
    assert [e["type"] for e in end] == ["run_failed"], end
    assert end[0]["seq"] > last and end[0]["data"]["status"] == "interrupted"
    assert read_events(c, base + "/events", last_id=end[0]["seq"]) == []  # seen it: nothing again

    assert c.post(base + "/resume").status_code == 202
    assert wait_run(c, pid, rid)["status"] == "completed"
    resumed = read_events(c, base + "/events", last_id=end[0]["seq"])
    assert resumed and resumed[0]["type"] == "run_started" and resumed[-1]["type"] == "run_finished"
    assert all(e["seq"] > end[0]["seq"] for e in resumed)
    assert read_events(c, base + "/events", last_id=last) == resumed  # an older id: the same events
    assert read_events(c, base + "/events", last_id=resumed[-1]["seq"]) == []


def test_last_event_id_of_a_run_whose_handle_was_let_go_gets_how_it_ended(
    start_server: Callable[..., Live],
) -> None:
    live = start_server()
    live.app.state.runs._keep_finished = 2  # the live events of two finished runs are kept (default 256)
    c = live.client()
    pid = new_project(c)
    done = c.post(f"/projects/{pid}/runs", json={"agents": ["architect"]}).json()["id"]
    waits = c.post(f"/projects/{pid}/runs", json={"gate": "model+human"}).json()["id"]
    wait_run(c, pid, done)
    wait_for(c, f"/projects/{pid}/runs/{waits}", lambda b: b["status"] == "awaiting_approval")
    seen = {rid: read_events(c, f"/projects/{pid}/runs/{rid}/events") for rid in (done, waits)}
    for _ in range(2):  # newer runs finish: the two runs' live events are let go
        wait_run(c, pid, c.post(f"/projects/{pid}/runs", json={"agents": ["architect"]}).json()["id"])
    assert live.app.state.runs.handle(done) is None and live.app.state.runs.handle(waits) is None

    for rid, kind in ((done, "run_finished"), (waits, "run_waiting")):
        path = f"/projects/{pid}/runs/{rid}/events"
        mid, last = seen[rid][1]["seq"], seen[rid][-1]["seq"]
        end = read_events(c, path, last_id=mid)
        assert [e["type"] for e in end] == [kind] and end[0]["seq"] == last, end
        assert read_events(c, path, last_id=last) == []  # seen it: nothing again
        assert [e["type"] for e in read_events(c, path)] == [kind]  # from the start: how it ended

    base = f"/projects/{pid}/runs/{waits}"
    assert c.post(base + "/decision", json={"action": "approve"}).status_code == 202
    wait_run(c, pid, waits)
    resumed = read_events(c, base + "/events", last_id=seen[waits][-1]["seq"])
    assert resumed[0]["type"] == "run_started" and resumed[-1]["type"] == "run_finished", resumed
