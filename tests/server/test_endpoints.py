"""The endpoints over real HTTP: the guide's curl flow, runs, progress, artifacts, real mode via the fake API."""

from __future__ import annotations

from collections.abc import Callable

from server_helpers import FAKE_KEY, Live, new_project, simulated_responder, wait_run

from orchestrator_kit.testing import FakeAnthropicServer

AGENTS = ["architect", "data", "consensus", "developer", "qa", "documentarian", "reviewer", "steward"]


def test_the_guides_curl_commands_work_as_written_with_no_auth(start_server: Callable[..., Live]) -> None:
    live = start_server(no_auth=True)
    c = live.client(token=None)  # no Authorization header, as in the guide
    headers = {"Content-Type": "application/json"}
    r = c.post(
        "/users/me/provider-settings",
        headers=headers,
        content='{"llm_provider": "anthropic", "api_key": "sk-ant-api03-..."}',
    )
    assert r.status_code == 200, r.text
    assert r.json()["api_key_set"] is True and "sk-ant-api03" not in r.text
    r = c.post("/projects", headers=headers, content='{"project_name": "My Project"}')
    assert r.status_code == 201, r.text
    assert r.json()["project_name"] == "My Project" and r.json()["request"] is None
    assert [p["project_name"] for p in c.get("/projects").json()] == ["My Project"]
    assert c.get("/users/me").json() == {"user_id": "default", "auth": False}


def test_openapi_docs_and_health(start_server: Callable[..., Live]) -> None:
    live = start_server()
    c = live.client(token=None)
    assert c.get("/health").json()["status"] == "ok"
    assert c.get("/docs").status_code == 200
    paths = c.get("/openapi.json").json()["paths"]
    for p in (
        "/users/me/provider-settings",
        "/projects",
        "/projects/{project_id}/runs/{run_id}",
        "/projects/{project_id}/runs/{run_id}/resume",
        "/projects/{project_id}/runs/{run_id}/events",
        "/projects/{project_id}/runs/{run_id}/artifacts/{artifact_path}",
    ):
        assert p in paths


def test_a_user_without_a_key_runs_simulated_with_progress_tokens_cost_and_artifacts(
    start_server: Callable[..., Live],
) -> None:
    live = start_server()
    c = live.client()
    pid = new_project(c)
    r = c.post(f"/projects/{pid}/runs", json={})  # falls back to the project's request
    assert r.status_code == 202, r.text
    run = r.json()
    assert run["mode"] == "simulated" and run["status"] in ("queued", "running")
    assert list(run["agents"]) == AGENTS
    done = wait_run(c, pid, run["id"])
    assert done["status"] == "completed", done
    assert all(a["status"] == "done" and a["calls"] == 2 for a in done["agents"].values())
    assert done["totals"]["calls"] == 16 and done["totals"]["total_tokens"] > 0
    assert float(done["totals"]["cost_usd"]) > 0 and done["totals"]["cost_basis"] == "estimate"
    assert done["artifacts"] == 9 and done["review_score"] is not None

    project = c.get(f"/projects/{pid}").json()
    assert project["run_count"] == 1 and project["runs"][0]["id"] == run["id"]
    assert [x["id"] for x in c.get(f"/projects/{pid}/runs").json()] == [run["id"]]

    arts = c.get(f"/projects/{pid}/runs/{run['id']}/artifacts").json()
    assert len(arts) == 9 and {"agent": "architect", "filename": "architecture.md"}.items() <= arts[0].items()
    r = c.get(f"/projects/{pid}/runs/{run['id']}/artifacts/architect/architecture.md")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/markdown")
    assert "CSV" in r.text
    assert c.get(f"/projects/{pid}/runs/{run['id']}/artifacts/architect/nope.md").status_code == 404
    assert c.get(f"/projects/{pid}/runs/nope").status_code == 404
    assert c.get("/projects/prj_missing").status_code == 404


def test_run_options_agents_budget_and_a_budget_stop(start_server: Callable[..., Live]) -> None:
    live = start_server()
    c = live.client()
    pid = new_project(c, request=None)
    r = c.post(
        f"/projects/{pid}/runs",
        json={"request": "a tiny URL shortener", "agents": ["architect", "developer"], "mode": "simulated"},
    )
    assert r.status_code == 202, r.text
    done = wait_run(c, pid, r.json()["id"])
    assert done["status"] == "completed" and list(done["agents"]) == ["architect", "developer"]
    assert done["request"] == "a tiny URL shortener"

    r = c.post(f"/projects/{pid}/runs", json={"request": "a tiny URL shortener", "budget_usd": "0.0001"})
    stopped = wait_run(c, pid, r.json()["id"])
    assert stopped["status"] == "budget_exceeded" and stopped["error"]["type"] == "BudgetExceeded"
    r = c.post(f"/projects/{pid}/runs/{stopped['id']}/resume", json={"budget_usd": "5"})
    assert r.status_code == 202, r.text
    assert wait_run(c, pid, stopped["id"])["status"] == "completed"
    # a project without a request, and a run without one: a clear 422
    r = c.post(f"/projects/{pid}/runs", json={})
    assert r.status_code == 422 and "no request" in r.json()["detail"]


def test_a_user_with_a_key_runs_real_mode_with_that_key(start_server: Callable[..., Live]) -> None:
    with FakeAnthropicServer(require_key=FAKE_KEY, responder=simulated_responder) as api:
        live = start_server(anthropic_base_url=api.base_url)
        c = live.client()
        r = c.post(
            "/users/me/provider-settings",
            json={"llm_provider": "anthropic", "api_key": FAKE_KEY, "model": "claude-sonnet-5-5"},
        )
        assert r.status_code == 200 and r.json()["api_key_masked"] == "…0000"
        pid = new_project(c)
        r = c.post(f"/projects/{pid}/runs", json={"agents": ["architect", "data"]})
        assert r.status_code == 202 and r.json()["mode"] == "real"
        done = wait_run(c, pid, r.json()["id"])
        assert done["status"] == "completed", done
        assert done["totals"]["cost_basis"] == "actual" and done["totals"]["calls"] == 4
        assert api.count("/v1/messages") == 4  # and each was sent with the user's key (require_key)
        # the user may still ask for a $0 simulated run
        r = c.post(f"/projects/{pid}/runs", json={"agents": ["architect"], "mode": "simulated"})
        assert r.json()["mode"] == "simulated" and wait_run(c, pid, r.json()["id"])["status"] == "completed"
        assert api.count("/v1/messages") == 4


def test_a_rejected_key_fails_the_run_clearly_and_never_falls_back(start_server: Callable[..., Live]) -> None:
    with FakeAnthropicServer(require_key="sk-ant-api03-the-right-one-000000000000") as api:
        live = start_server(anthropic_base_url=api.base_url)
        c = live.client()
        c.post("/users/me/provider-settings", json={"llm_provider": "anthropic", "api_key": FAKE_KEY})
        pid = new_project(c)
        r = c.post(f"/projects/{pid}/runs", json={"agents": ["architect"]})
        done = wait_run(c, pid, r.json()["id"])
        assert done["status"] == "failed" and done["mode"] == "real"
        assert done["error"]["type"] == "AuthError" and "provider settings" in done["error"]["message"]
        assert FAKE_KEY not in str(done)
        # after DELETE the user has no key: real mode is refused, auto is simulated
        assert c.delete("/users/me/provider-settings").status_code == 204
        assert c.get("/users/me/provider-settings").json()["api_key_set"] is False
        r = c.post(f"/projects/{pid}/runs", json={"agents": ["architect"], "mode": "real"})
        assert r.status_code == 409 and "provider-settings" in r.json()["detail"]
        r = c.post(f"/projects/{pid}/runs", json={"agents": ["architect"]})
        assert r.json()["mode"] == "simulated"
        wait_run(c, pid, r.json()["id"])


def test_max_concurrent_calls_reaches_every_run(start_server: Callable[..., Live]) -> None:
    import json

    live = start_server(max_concurrent_calls=1)
    c = live.client()
    pid = new_project(c)
    run = c.post(f"/projects/{pid}/runs", json={"agents": ["architect"]}).json()
    assert wait_run(c, pid, run["id"])["status"] == "completed"
    (manifest,) = list(live.data_dir.rglob("manifest.json"))
    assert json.loads(manifest.read_text())["max_concurrency"] == 1
