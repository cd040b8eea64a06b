"""The server against a hostile page on the same machine and a careless operator: Host/Origin checks,
odd headers, secrets in field names and logs, the start banner, file modes, slow bodies, IPv6, offline
docs, and a hand-damaged run folder."""

from __future__ import annotations

import json
import logging
import socket
import stat
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from server_helpers import FAKE_KEY, TOKEN, Live, new_project, wait_run

from orchestrator_kit.errors import ConfigError
from orchestrator_kit.server.app import ServerSettings, create_app
from orchestrator_kit.server.auth import Authenticator
from orchestrator_kit.server.failures import public_text
from orchestrator_kit.server.main import BackgroundServer, banner, build_parser

SETTINGS = "/users/me/provider-settings"
KEY_BODY = {"llm_provider": "anthropic", "api_key": FAKE_KEY}


# -- DNS rebinding: Host and Origin -----------------------------------------------------------------------
@pytest.mark.parametrize("no_auth", [True, False])
def test_a_foreign_host_or_origin_is_refused(start_server: Callable[..., Live], no_auth: bool) -> None:
    live = start_server(no_auth=no_auth)
    c = live.client()
    r = c.post(SETTINGS, json=KEY_BODY, headers={"Host": "evil.example"})
    assert r.status_code == 403 and "--allowed-hosts" in r.json()["detail"], r.text
    r = c.post(SETTINGS, json=KEY_BODY, headers={"Origin": "http://evil.example:8000"})
    assert r.status_code == 403 and "Origin" in r.json()["detail"]
    r = c.post(SETTINGS, json=KEY_BODY, headers={"Origin": "null"})
    assert r.status_code == 403
    assert c.get(SETTINGS).json()["api_key_set"] is False  # nothing was stored
    for host in (f"localhost:{live.bg.port}", f"127.0.0.1:{live.bg.port}", f"[::1]:{live.bg.port}"):
        assert c.get("/users/me", headers={"Host": host}).status_code == 200, host
    r = c.get("/users/me", headers={"Origin": f"http://localhost:{live.bg.port}"})
    assert r.status_code == 200


def test_allowed_hosts_widen_the_check(start_server: Callable[..., Live]) -> None:
    live = start_server(no_auth=True, allowed_hosts=("api.example",))
    c = live.client()
    assert c.get("/users/me", headers={"Host": "api.example:8000"}).status_code == 200
    assert c.get("/users/me", headers={"Origin": "https://api.example"}).status_code == 200
    assert c.get("/users/me", headers={"Host": "evil.example"}).status_code == 403
    args = build_parser().parse_args(["--allowed-hosts", "a.example,b.example", "--allowed-hosts", "c"])
    assert args.allowed_hosts == ["a.example,b.example", "c"]


# -- headers, field names, logs -----------------------------------------------------------------------------
@pytest.mark.parametrize("value", ["²", "١٢".encode(), "１２".encode(), "9" * 5000, "-1", "1e3", "0x10"])
def test_a_bad_last_event_id_is_a_400(start_server: Callable[..., Live], value: str | bytes) -> None:
    live = start_server()
    c = live.client()
    pid = new_project(c)
    rid = c.post(f"/projects/{pid}/runs", json={"agents": ["architect"]}).json()["id"]
    wait_run(c, pid, rid)
    raw = value if isinstance(value, bytes) else value.encode("latin-1", "replace")
    r = c.get(f"/projects/{pid}/runs/{rid}/events", headers={"Last-Event-ID": raw})
    assert r.status_code == 400 and "Last-Event-ID" in r.json()["detail"], r.text
    assert c.get(f"/projects/{pid}/runs/{rid}/events", headers={"Last-Event-ID": "1"}).status_code == 200


def test_a_key_as_a_field_name_is_redacted_in_422_bodies(start_server: Callable[..., Live]) -> None:
    live = start_server()
    c = live.client()
    for path, body in (
        ("/projects", {"project_name": "p", FAKE_KEY: "x"}),
        (SETTINGS, {"llm_provider": "anthropic", "api_key": "sk-ant-x", FAKE_KEY: 1}),
        ("/projects", {"project_name": {FAKE_KEY: 1}}),
    ):
        r = c.post(path, json=body)
        assert r.status_code == 422, r.text
        assert "FAKE-KEY" not in r.text, r.text
        if FAKE_KEY in body:
            assert "[redacted-key]: unknown field" in r.json()["detail"]


def test_a_key_in_a_path_is_redacted_in_404_bodies(start_server: Callable[..., Live]) -> None:
    c = start_server().client()
    pid = new_project(c)
    for path in (f"/projects/{FAKE_KEY}", f"/projects/{pid}/runs/{FAKE_KEY}"):
        r = c.get(path)
        assert r.status_code == 404 and "FAKE-KEY" not in r.text and "[redacted-key]" in r.text, r.text
    r = c.get("/projects", headers={"Authorization": "Bearer wrong-token-000000000000"})
    assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"


def test_logs_never_show_key_shaped_text(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    create_app(ServerSettings(data_dir=tmp_path / "d", token=TOKEN))  # installs the redaction
    caplog.set_level(logging.INFO)
    logging.getLogger("orchestrator_kit.server").warning("user pasted %s", FAKE_KEY)
    try:
        raise ValueError(f"bad key {FAKE_KEY}")
    except ValueError:
        logging.getLogger("uvicorn.error").exception("Exception in ASGI application")
    text = caplog.text
    assert "FAKE-KEY" not in text and text.count("[redacted-key]") == 2, text
    # uvicorn's access lines keep their argument tuple (its formatter unpacks it)
    from uvicorn.logging import AccessFormatter

    from orchestrator_kit.server.logs import RedactFilter

    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("1.2.3.4:5", "GET", f"/x?k={FAKE_KEY}", "1.1", 200),
        None,
    )
    assert RedactFilter().filter(record)
    line = AccessFormatter("%(client_addr)s %(request_line)s %(status_code)s").format(record)
    assert "FAKE-KEY" not in line and "/x?k=[hidden]" in line and "GET" in line  # query values hidden


# -- the banner -------------------------------------------------------------------------------------------------
def test_only_a_generated_token_is_printed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    own = create_app(ServerSettings(data_dir=tmp_path / "a", token="operator-chosen-token-0001"))
    text = banner(own, "127.0.0.1", 8000)
    assert "operator-chosen-token-0001" not in text and "not shown" in text
    monkeypatch.setenv("ORCHESTRATOR_KIT_TOKEN", "operator-env-token-000000001")
    env = create_app(ServerSettings(data_dir=tmp_path / "b"))
    assert "operator-env-token-000000001" not in banner(env, "127.0.0.1", 8000)
    monkeypatch.delenv("ORCHESTRATOR_KIT_TOKEN")
    made = create_app(ServerSettings(data_dir=tmp_path / "c"))
    assert made.state.token in banner(made, "127.0.0.1", 8000)
    assert "--allowed-hosts" not in banner(made, "127.0.0.1", 8000)
    assert "add --allowed-hosts NAME" in banner(made, "0.0.0.0", 8000)


# -- file modes ----------------------------------------------------------------------------------------------------
def mode(p: Path) -> int:
    return stat.S_IMODE(p.stat().st_mode)


def test_the_data_folder_is_private_whether_or_not_it_existed(
    start_server: Callable[..., Live], tmp_path: Path
) -> None:
    data = tmp_path / "data"
    old = data / "runs" / "default" / "20200101T000000000000Z-aaaaaa"
    old.mkdir(parents=True, mode=0o755)
    for p in (data, data / "runs", data / "runs" / "default", old):
        p.chmod(0o755)
    (old / "calls.jsonl").write_text("")
    (old / "calls.jsonl").chmod(0o644)
    live = start_server(data_dir=data)
    assert mode(data) == 0o700 and mode(old) == 0o700 and mode(old / "calls.jsonl") == 0o600
    c = live.client()
    pid = new_project(c)
    rid = c.post(f"/projects/{pid}/runs", json={"agents": ["architect"]}).json()["id"]
    wait_run(c, pid, rid)
    run = data / "runs" / "default" / rid
    found = [run, *run.rglob("*")]
    assert len(found) > 5
    for p in found:
        assert mode(p) == (0o700 if p.is_dir() else 0o600), (p, oct(mode(p)))
    assert mode(data / "runs") == 0o700 and mode(data / "index.sqlite3") == 0o600


def test_a_fresh_data_folder_is_private(start_server: Callable[..., Live], tmp_path: Path) -> None:
    live = start_server(data_dir=tmp_path / "fresh" / "data")
    c = live.client()
    pid = new_project(c)
    wait_run(c, pid, c.post(f"/projects/{pid}/runs", json={"agents": ["architect"]}).json()["id"])
    for p in (live.data_dir, live.data_dir / "runs", live.data_dir / "runs" / "default"):
        assert mode(p) == 0o700, (p, oct(mode(p)))


def test_a_users_file_others_can_read_is_refused_with_the_fix(tmp_path: Path) -> None:
    f = tmp_path / "users.yaml"
    f.write_text("users:\n  alice: {token: alice-token-0123456789abcdef}\n")
    f.chmod(0o644)
    with pytest.raises(ConfigError, match="chmod 600") as info:
        Authenticator.from_users_file(f)
    assert "readable by others" in str(info.value) and "alice-token" not in str(info.value)
    f.chmod(0o600)
    assert Authenticator.from_users_file(f).user_for("Bearer alice-token-0123456789abcdef") == "alice"


def test_error_text_shows_paths_relative_to_the_data_folder(tmp_path: Path) -> None:
    data = tmp_path / "srv"
    text = f"[Errno 28] No space left on device: '{data}/runs/alice/r1/.state.json.tmp' (in {data})"
    shown = public_text(text, data)
    assert str(tmp_path) not in shown and "'runs/alice/r1/.state.json.tmp'" in shown and "(in .)" in shown


# -- slow bodies ---------------------------------------------------------------------------------------------------
def test_a_stalled_body_is_cut_off(start_server: Callable[..., Live]) -> None:
    live = start_server(body_timeout_s=1.0)
    with socket.create_connection(("127.0.0.1", live.bg.port), timeout=20) as s:
        s.sendall(
            b"POST /projects HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            + f"Authorization: Bearer {TOKEN}\r\n".encode()
            + b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n"
            + b'{"project_'
        )
        reply = b""
        while b"\r\n\r\n" not in reply or not reply.rstrip().endswith(b"}"):
            chunk = s.recv(4096)  # the socket timeout bounds the wait; the server answers first
            if not chunk:
                break
            reply += chunk
    assert reply.startswith(b"HTTP/1.1 408"), reply[:200]
    assert b"not received within 1 s" in reply
    assert live.client().get("/health").status_code == 200


# -- IPv6 -------------------------------------------------------------------------------------------------------------
def _ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


@pytest.mark.skipif(not _ipv6_loopback(), reason="this machine has no IPv6 loopback (::1)")
@pytest.mark.parametrize("host", ["::1", "[::1]"])
def test_no_auth_on_ipv6_loopback(tmp_path: Path, host: str) -> None:
    app = create_app(ServerSettings(data_dir=tmp_path / "d", no_auth=True))
    with BackgroundServer(app, host, logging_config=None, timeout_graceful_shutdown=2) as srv:
        assert srv.url.startswith("http://[::1]:")
        with httpx.Client(base_url=srv.url, timeout=10) as c:
            assert c.get("/users/me").json()["user_id"] == "default"
            assert c.post("/projects", json={"project_name": "v6"}).status_code == 201


# -- docs without the internet ------------------------------------------------------------------------------
def test_docs_load_nothing_from_a_cdn(start_server: Callable[..., Live]) -> None:
    live = start_server()
    c = live.client(token=None)
    page = c.get("/docs")
    assert page.status_code == 200
    assert "cdn" not in page.text.lower() and "https://" not in page.text
    for asset in ("swagger-ui-bundle.js", "swagger-ui.css"):
        assert f"/docs-static/{asset}" in page.text
        r = c.get(f"/docs-static/{asset}")
        assert r.status_code == 200 and len(r.content) > 10_000
    assert c.get("/openapi.json").json()["info"]["title"] == "orchestrator_kit API"


# -- a hand-damaged run folder ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "damage, words",
    [
        ([1, 2], "holds a list"),
        ({"status": "completed", "steps": "architect"}, "'steps' is a str"),
        (
            {"status": "completed", "steps": {}, "project_state": {"artifacts": [1]}},
            "project_state.artifacts",
        ),
        ("{not json", "not valid JSON"),
    ],
)
def test_a_damaged_state_json_is_named_and_other_runs_stay_served(
    start_server: Callable[..., Live], damage: object, words: str
) -> None:
    live = start_server()
    c = live.client()
    pid = new_project(c)
    rids = [c.post(f"/projects/{pid}/runs", json={"agents": ["architect"]}).json()["id"] for _ in range(2)]
    for rid in rids:
        wait_run(c, pid, rid)
    state = live.data_dir / "runs" / "default" / rids[0] / "state.json"
    state.write_text(damage if isinstance(damage, str) else json.dumps(damage))
    r = c.get(f"/projects/{pid}/runs/{rids[0]}")
    assert r.status_code == 409, r.text
    detail = r.json()["detail"]
    assert words in detail and "state.json" in detail and "is damaged" in detail
    assert str(live.data_dir) not in detail
    assert c.get(f"/projects/{pid}/runs/{rids[1]}").json()["status"] == "completed"
    assert len(c.get(f"/projects/{pid}/runs").json()) == 2
