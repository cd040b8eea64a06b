"""What outside clients send that our own tests did not: tokens in URLs, bodies that are not JSON objects,
HEAD requests, unknown routes and methods. Real HTTP against a real uvicorn on 127.0.0.1."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import pytest
from server_helpers import FAKE_KEY, TOKEN, Live, new_project, wait_run

from orchestrator_kit.server.app import ServerSettings, create_app
from orchestrator_kit.server.main import BackgroundServer


# -- a token in the URL --------------------------------------------------------------------------------
def test_a_token_in_the_url_is_refused_by_name_and_never_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app(ServerSettings(data_dir=tmp_path / "data", token=TOKEN))
    # uvicorn's access log on (the fixture's servers log warnings only)
    bg = BackgroundServer(app, logging_config=None, log_level="info", timeout_graceful_shutdown=2)
    caplog.set_level(logging.INFO)
    with bg:
        live = Live(bg, TOKEN)
        anonymous = live.client(token=None)
        for name in ("token", "access_token"):
            r = anonymous.get("/projects", params={name: TOKEN})
            assert r.status_code == 401, r.text
            assert "token in the URL is not accepted" in r.json()["detail"]
            assert "Authorization: Bearer" in r.json()["detail"]
        r = anonymous.get(f"/projects?{TOKEN}")  # a bare query part
        assert r.status_code == 401 and "missing or wrong bearer token" in r.json()["detail"]
        r = live.client().get("/projects", params={"token": "x"})  # a known caller: not a parameter we take
        assert r.status_code == 400 and "unknown query parameter 'token'" in r.json()["detail"]
        live.stop()
    access = [r.getMessage() for r in caplog.records if r.name == "uvicorn.access"]
    assert any("/projects?token=[hidden]" in line for line in access), access
    server_lines = [r.getMessage() for r in caplog.records if not r.name.startswith(("httpx", "httpcore"))]
    assert not [line for line in server_lines if TOKEN in line]


# -- bodies that are not a JSON object -------------------------------------------------------------
@pytest.mark.parametrize(
    "content, headers, code, words",
    [
        (b'{"project_name": "x"}', {"Content-Type": "text/plain"}, 415, "Content-Type (text/plain)"),
        (b'{"project_name": "x"}', {"Content-Type": ""}, 415, "Content-Type (none)"),
        (b"project_name=x", {"Content-Type": "application/x-www-form-urlencoded"}, 415, "'Content-Type: app"),
        (b"", {"Content-Type": "application/json"}, 422, "the request body is empty"),
        (b"[1, 2]", {"Content-Type": "application/json"}, 422, "must be a JSON object ({...}), not an array"),
        (b"null", {"Content-Type": "application/json"}, 422, "not null"),
        (b'"x"', {"Content-Type": "application/json"}, 422, "not a string"),
        (b'{"project_name": "\xff"}', {"Content-Type": "application/json"}, 400, "byte 18 is not UTF-8"),
        (
            '{"project_name": "é"}'.encode("latin-1"),
            {"Content-Type": "application/json; charset=latin-1"},
            400,
            "not UTF-8",
        ),
        (b"[" * 100_000 + b"]" * 100_000, {"Content-Type": "application/json"}, 400, "nested too deeply"),
        (
            b'{"project_name": ' + b"1" * 5000 + b"}",
            {"Content-Type": "application/json"},
            400,
            "read as JSON",
        ),
    ],
)
def test_a_body_that_is_not_a_json_object_is_named(
    start_server: Callable[..., Live], content: bytes, headers: dict[str, str], code: int, words: str
) -> None:
    c = start_server().client()
    r = c.post("/projects", content=content, headers=headers)
    assert r.status_code == code and words in r.json()["detail"], r.text
    assert c.post("/projects", json={"project_name": "x"}).status_code == 201


# -- unknown routes and methods --------------------------------------------------------------------
def test_404_and_405_name_the_path_and_every_allowed_method(start_server: Callable[..., Live]) -> None:
    c = start_server().client()
    r = c.get("/nope/sk-ant-api03-FAKE-KEY-IN-A-PATH")
    assert r.status_code == 404, r.text
    assert r.json()["detail"].startswith("no such endpoint: GET /nope/") and "/docs" in r.json()["detail"]
    assert "FAKE-KEY" not in r.text
    for method in ("DELETE", "PUT", "OPTIONS"):
        r = c.request(method, "/projects")
        assert r.status_code == 405, r.text
        assert r.headers["allow"] == "GET, HEAD, POST"
        assert r.json()["detail"] == f"method {method} is not allowed on /projects; allowed: GET, HEAD, POST"
    assert c.get("/projects/nope").json()["detail"] == "project 'nope' not found"  # our own 404s stay


# -- HEAD --------------------------------------------------------------------------------------------
def test_head_answers_like_get_without_a_body(start_server: Callable[..., Live]) -> None:
    live = start_server(simulated_latency_s=0.05)
    c = live.client()
    pid = new_project(c)
    rid = c.post(f"/projects/{pid}/runs", json={"agents": ["architect"]}).json()["id"]
    base = f"/projects/{pid}/runs/{rid}"
    r = c.head(base + "/events")  # the run is still going: HEAD does not wait for it
    assert (
        r.status_code == 200
        and r.content == b""
        and r.headers["content-type"].startswith("text/event-stream")
    )
    wait_run(c, pid, rid)
    for path in (
        "/health",
        "/projects",
        base,
        base + "/artifacts",
        base + "/artifacts/architect/architecture.md",
    ):
        got, head = c.get(path), c.head(path)
        assert head.status_code == 200 and head.content == b"", (path, head.status_code)
        assert head.headers["content-length"] == got.headers["content-length"] == str(len(got.content))
        assert head.headers["content-type"] == got.headers["content-type"]
    assert c.head(base + "/artifacts/architect/nope.md").status_code == 404
    assert live.client(token=None).head("/projects").status_code == 401
    assert c.head(base + "/resume").status_code == 405  # POST only
    assert c.get("/health").json()["status"] == "ok"  # the connection and server are fine after all that


# -- an unknown model ------------------------------------------------------------------------------
def test_an_unknown_model_is_refused_with_advice_an_api_client_can_follow(
    start_server: Callable[..., Live],
) -> None:
    c = start_server().client()
    pid = new_project(c)
    for path, body in (
        (f"/projects/{pid}/runs", {"model": "claude-sonet-5-5"}),
        (
            "/users/me/provider-settings",
            {"llm_provider": "anthropic", "api_key": FAKE_KEY, "model": "claude-x"},
        ),
    ):
        r = c.post(path, json=body)
        detail = r.json()["detail"]
        assert r.status_code == 422 and detail.startswith("Unknown model"), r.text
        assert "allow_unknown_model" not in detail and "--allow-unknown-model" not in detail
        assert "This server runs the models of its price table" in detail and "claude-sonnet-5-5" in detail
    assert (
        "Did you mean claude-sonnet-5-5"
        in c.post(f"/projects/{pid}/runs", json={"model": "claude-sonet-5-5"}).text
    )
    assert c.get(f"/projects/{pid}/runs").json() == []  # nothing was started


# -- artifacts: links out of the run folder --------------------------------------------------------
def test_a_link_out_of_the_run_folder_is_neither_listed_nor_served(
    start_server: Callable[..., Live], tmp_path: Path
) -> None:
    live = start_server()
    c = live.client()
    pid = new_project(c)
    rid = c.post(f"/projects/{pid}/runs", json={"agents": ["architect"]}).json()["id"]
    wait_run(c, pid, rid)
    outside = tmp_path / "outside.txt"
    outside.write_text("not the run's")
    arts = live.data_dir / "runs" / "default" / rid / "artifacts" / "architect"
    (arts / "link.md").symlink_to(outside)
    (arts / "inner.md").symlink_to(arts / "architecture.md")  # a link inside the run is fine
    base = f"/projects/{pid}/runs/{rid}/artifacts"
    assert [a["path"] for a in c.get(base).json()] == ["architect/architecture.md", "architect/inner.md"]
    r = c.get(base + "/architect/link.md")
    assert r.status_code == 400 and "escapes the run folder" in r.json()["detail"]
    assert c.get(base + "/architect/inner.md").text == c.get(base + "/architect/architecture.md").text


def test_a_wrong_method_on_the_docs_files_keeps_their_allow_list(start_server: Callable[..., Live]) -> None:
    c = start_server().client(token=None)
    r = c.post("/docs-static/swagger-ui.css")  # inside a mount: no route of ours matches the path
    detail = "method POST is not allowed on /docs-static/swagger-ui.css; allowed: GET, HEAD"
    assert r.status_code == 405 and r.json()["detail"] == detail and r.headers["allow"] == "GET, HEAD"
    head = c.head("/docs-static/swagger-ui.css")
    assert head.status_code == 200 and head.content == b"" and int(head.headers["content-length"]) > 1000
