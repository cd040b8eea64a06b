"""Bad input gets a 4xx with a clear message, and the server keeps serving."""

from __future__ import annotations

import http.client
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from server_helpers import FAKE_KEY, TOKEN, Live, wait_run

from orchestrator_kit.server.app import ServerSettings, create_app
from orchestrator_kit.server.main import BackgroundServer


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    app = create_app(ServerSettings(data_dir=tmp_path_factory.mktemp("bad") / "data", token=TOKEN))
    server = Live(BackgroundServer(app, logging_config=None, timeout_graceful_shutdown=2).start(), TOKEN)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def client(live: Live) -> httpx.Client:
    return live.client()


@pytest.fixture(scope="module")
def done_run(client: httpx.Client) -> tuple[str, str]:
    pid = client.post("/projects", json={"project_name": "p", "request": "a CSV to JSON tool"}).json()["id"]
    rid = client.post(f"/projects/{pid}/runs", json={"agents": ["architect"]}).json()["id"]
    assert wait_run(client, pid, rid)["status"] == "completed"
    return pid, rid


JSON = {"Content-Type": "application/json"}


@pytest.mark.parametrize(
    "path, body, code, words",
    [
        ("/projects", '{"project_name": "x",', 400, "not valid JSON"),
        ("/projects", "not json at all", 400, "not valid JSON"),
        ("/projects", '{"project_name": ""}', 422, "project_name"),
        ("/projects", '{"project_name": "   "}', 422, "project_name"),
        ("/projects", '{"name": "x"}', 422, "unknown field"),
        ("/projects", "[1, 2]", 422, "invalid request"),
        (
            "/users/me/provider-settings",
            '{"llm_provider": "openai", "api_key": "sk-x-1234567890"}',
            422,
            "unknown llm_provider 'openai'; supported: anthropic",
        ),
        (
            "/users/me/provider-settings",
            '{"llm_provider": "anthropic", "api_key": ""}',
            422,
            "api_key is empty",
        ),
        (
            "/users/me/provider-settings",
            '{"llm_provider": "anthropic", "api_key": "   "}',
            422,
            "api_key is empty",
        ),
        ("/users/me/provider-settings", '{"llm_provider": "anthropic"}', 422, "api_key: Field required"),
        (
            "/users/me/provider-settings",
            '{"llm_provider": "anthropic", "api_key": "sk-ant-a b"}',
            422,
            "spaces",
        ),
        (
            "/users/me/provider-settings",
            '{"llm_provider": "anthropic", "api_key": "sk-ant-api03-xxxxxxxxxxxx", "model": "gpt-9"}',
            422,
            "Unknown model 'gpt-9'",
        ),
    ],
)
def test_bad_bodies(client: httpx.Client, path: str, body: str, code: int, words: str) -> None:
    r = client.post(path, content=body, headers=JSON)
    assert r.status_code == code, r.text
    assert words in r.json()["detail"]


@pytest.mark.parametrize(
    "body, code, words",
    [
        ({"agents": ["architect", "wizard"]}, 422, "unknown agent 'wizard'; valid agents are: architect"),
        ({"agents": []}, 422, "agents"),
        ({"model": "claude-nonexistent-9"}, 422, "Unknown model"),
        ({"budget_usd": -1}, 422, "budget_usd"),
        ({"budget_usd": "lots"}, 422, "budget_usd"),
        ({"mode": "replay"}, 422, "mode"),
        ({"mode": "real"}, 409, "needs your Anthropic API key"),
        ({"request": "x", "extra": 1}, 422, "extra: unknown field"),
    ],
)
def test_bad_run_requests(
    client: httpx.Client, done_run: tuple[str, str], body: dict[str, Any], code: int, words: str
) -> None:
    pid, _ = done_run
    before = len(client.get(f"/projects/{pid}/runs").json())
    r = client.post(f"/projects/{pid}/runs", json=body)
    assert r.status_code == code, r.text
    assert words in r.json()["detail"]
    assert len(client.get(f"/projects/{pid}/runs").json()) == before  # nothing was indexed or started


def test_a_secret_in_a_bad_field_is_never_echoed(client: httpx.Client) -> None:
    for body in (
        {"llm_provider": FAKE_KEY, "api_key": FAKE_KEY},
        {"llm_provider": "anthropic", "apikey": FAKE_KEY},
        {"llm_provider": "anthropic", "api_key": [FAKE_KEY]},
        {"project_name": FAKE_KEY, "x": FAKE_KEY},
    ):
        for path in ("/users/me/provider-settings", "/projects"):
            r = client.post(path, json=body)
            assert 400 <= r.status_code < 500
            assert FAKE_KEY not in r.text and "FAKE-KEY" not in r.text


def test_oversized_bodies_get_413(client: httpx.Client) -> None:
    big = '{"project_name": "x", "request": "' + "a" * (2 << 20) + '"}'
    r = client.post("/projects", content=big, headers=JSON)
    assert r.status_code == 413 and "too large" in r.json()["detail"]

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it arrives
        yield b'{"project_name": "x", "request": "'
        for _ in range(40):
            yield b"a" * 65536
        yield b'"}'

    r = client.post("/projects", content=chunks(), headers=JSON)
    assert r.status_code == 413
    assert client.get("/health").status_code == 200


@pytest.mark.parametrize(
    "tail",
    [
        "architect/..%2F..%2Fmanifest.json",
        "..%2F..%2Fmanifest.json",
        "architect/..%2F..%2F..%2F..%2Findex.sqlite3",
        "architect/%2E%2E%2F%2E%2E%2Fstate.json",
        "architect/%2Fetc%2Fpasswd",
        "architect/../../manifest.json",
        "../../../../index.sqlite3",
        "architect/..",
        "..%5C..%5Cmanifest.json",
        "architect",
        "architect/",
        "architect/a%00b.md",
        "architect/.hidden",
    ],
)
def test_artifact_path_traversal_is_refused(live: Live, done_run: tuple[str, str], tail: str) -> None:
    pid, rid = done_run
    # http.client sends the path byte for byte (no dot-segment clean-up), as an attacker would
    conn = http.client.HTTPConnection("127.0.0.1", live.bg.port, timeout=10)
    try:
        conn.request(
            "GET",
            f"/projects/{pid}/runs/{rid}/artifacts/{tail}",
            headers={"Authorization": f"Bearer {TOKEN}"},
        )
        resp = conn.getresponse()
        text = resp.read().decode("utf-8", "replace")
    finally:
        conn.close()
    assert 400 <= resp.status < 500, (tail, resp.status, text[:200])
    assert '"run_id"' not in text and "root:" not in text and "SQLite" not in text


def test_conflicts_and_missing_things(client: httpx.Client, done_run: tuple[str, str]) -> None:
    pid, rid = done_run
    r = client.post(f"/projects/{pid}/runs/{rid}/resume")
    assert r.status_code == 409 and "completed" in r.json()["detail"]
    assert client.post(f"/projects/{pid}/runs/nope/resume").status_code == 404
    assert client.post("/projects/nope/runs", json={}).status_code == 404
    r = client.post(f"/projects/{pid}/runs/{rid}/resume", json={"budget_usd": 0})
    assert r.status_code == 422


def test_the_server_still_serves_after_all_that(client: httpx.Client) -> None:
    assert client.get("/health").json()["status"] == "ok"
    assert client.post("/projects", json={"project_name": "still fine"}).status_code == 201
