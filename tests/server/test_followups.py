"""What a client sees that names the CLI or ignores its words: query parameters (refused by name, the API
has no paging), a budget hint an API client can follow, path ids echoed in full. Real HTTP against a real
uvicorn on 127.0.0.1."""

from __future__ import annotations

import json
from collections.abc import Callable

from server_helpers import Live, new_project, wait_for, wait_run
from test_sse import read_events


# -- query parameters ------------------------------------------------------------------------------
def test_a_query_parameter_is_refused_by_name_not_ignored(start_server: Callable[..., Live]) -> None:
    c = start_server().client()
    pid = new_project(c)
    rid = c.post(f"/projects/{pid}/runs", json={"agents": ["architect"]}).json()["id"]
    wait_run(c, pid, rid)
    base = f"/projects/{pid}/runs/{rid}"
    for path in ("/projects", f"/projects/{pid}", f"/projects/{pid}/runs", base, base + "/artifacts"):
        r = c.get(path, params={"limit": "10", "offset": "20"})
        assert r.status_code == 400, (path, r.text)
        detail = r.json()["detail"]
        assert "unknown query parameters 'limit', 'offset'" in detail, detail
        assert "takes no query parameters" in detail and "every item" in detail, detail
        assert "10" not in detail.replace(path, "")  # values are never echoed
        assert c.get(path).status_code == 200
    r = c.post(f"/projects/{pid}/runs?dry_run=1", json={"agents": ["architect"]})
    assert r.status_code == 400 and "'dry_run'" in r.json()["detail"]
    assert len(c.get(f"/projects/{pid}/runs").json()) == 1  # nothing was started
    r = c.get("/projects?sk-ant-api03-FAKE-KEY-AS-A-NAME" + "x" * 500)
    assert r.status_code == 400 and "FAKE-KEY" not in r.text and len(r.text) < 600, r.text
    assert c.get("/health?probe=1").status_code == 200  # a probe's cache-buster: /health takes any


# -- the budget hint -------------------------------------------------------------------------------
def test_a_budget_stop_says_how_to_resume_over_the_api(start_server: Callable[..., Live]) -> None:
    live = start_server()
    c = live.client()
    pid = new_project(c)
    rid = c.post(f"/projects/{pid}/runs", json={"budget_usd": "0.0001"}).json()["id"]
    base = f"/projects/{pid}/runs/{rid}"
    stopped = wait_run(c, pid, rid)
    assert stopped["status"] == "budget_exceeded"
    hint = f'POST {base}/resume with {{"budget_usd": <dollars>}}'
    assert hint in stopped["error"]["message"], stopped["error"]
    end = read_events(c, base + "/events")[-1]
    assert end["type"] == "run_failed" and hint in end["data"]["message"], end
    for text in (stopped["error"]["message"], json.dumps(end)):
        assert "orchestrator-kit" not in text and "--budget" not in text, text
    assert c.post(base + "/resume", json={"budget_usd": "5"}).status_code == 202
    assert wait_run(c, pid, rid)["status"] == "completed"

    rid = c.post(f"/projects/{pid}/runs", json={"budget_usd": "0.08", "on_budget": "pause"}).json()["id"]
    waiting = wait_for(c, f"/projects/{pid}/runs/{rid}", lambda b: b["status"] == "awaiting_budget")
    message = waiting["pending"]["budget"]["message"]
    assert f"POST /projects/{pid}/runs/{rid}/decision" in message and '"action": "budget"' in message, message
    assert "orchestrator-kit" not in message


# -- ids echoed in error bodies --------------------------------------------------------------------
def test_a_huge_path_id_is_not_echoed_in_full(start_server: Callable[..., Live]) -> None:
    c = start_server().client()
    pid = new_project(c)
    huge = "q" * 30_000
    for path in (
        f"/projects/{huge}",
        f"/projects/{huge}/runs",
        f"/projects/{pid}/runs/{huge}",
        f"/projects/{pid}/runs/{huge}/events",
        f"/projects/{pid}/runs/{huge}/artifacts/architect/{huge}.md",
        f"/nope/{huge}",
    ):
        r = c.get(path)
        assert r.status_code == 404 and len(r.text) < 600, (path[:80], r.status_code, len(r.text))
        assert "q" * 40 in r.text and ",0" in r.text and " characters)" in r.text, r.text
    rid = c.post(f"/projects/{pid}/runs", json={"agents": ["architect"]}).json()["id"]
    wait_run(c, pid, rid)
    r = c.get(f"/projects/{pid}/runs/{rid}/artifacts/architect/{huge}.md")
    assert r.status_code == 404 and len(r.text) < 600, len(r.text)
    assert c.get("/projects/nope").json()["detail"] == "project 'nope' not found"  # short ids stay
    r = c.post("/projects", json={"project_name": "x", huge: 1})  # a field name: said, not in full
    assert r.status_code == 422 and len(r.text) < 800 and "30,000 characters): unknown field" in r.text


def test_the_event_stream_takes_last_event_id_in_the_url_as_polyfills_send_it(
    start_server: Callable[..., Live],
) -> None:
    c = start_server().client()
    pid = new_project(c)
    rid = c.post(f"/projects/{pid}/runs", json={"agents": ["architect"]}).json()["id"]
    wait_run(c, pid, rid)
    path = f"/projects/{pid}/runs/{rid}/events"
    every = read_events(c, path)
    mid = every[1]["seq"]
    assert read_events(c, f"{path}?lastEventId={mid}") == every[2:]  # event-source-polyfill's reconnect
    assert read_events(c, f"{path}?lastEventId=0", last_id=mid) == every[2:]  # the header wins
    r = c.get(f"{path}?lastEventId=x")
    assert r.status_code == 400 and "Last-Event-ID must be" in r.json()["detail"]
