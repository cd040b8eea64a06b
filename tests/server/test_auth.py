"""Bearer tokens, the users file, --no-auth on loopback only, and two users who never see each other."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from server_helpers import Live, new_project, wait_run

from orchestrator_kit.errors import ConfigError
from orchestrator_kit.server.auth import Authenticator, parse_users
from orchestrator_kit.server.main import is_loopback, main

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "run_api_server.py"
ALICE = "alice-token-0123456789abcdef"
BOB = "bob-token-0123456789abcdefgh"


def test_no_or_wrong_token_is_401_and_health_is_open(start_server: Callable[..., Live]) -> None:
    live = start_server()
    for token in (None, "wrong-token-000000000000", ""):
        r = live.client(token=token).get("/projects")
        assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
        assert "Authorization: Bearer" in r.json()["detail"]
    r = live.client(token=None).get("/projects", headers={"Authorization": f"Basic {live.token}"})
    assert r.status_code == 401
    assert live.client().get("/projects").status_code == 200
    assert live.client(token=None).get("/health").status_code == 200


def test_a_generated_token_when_none_is_given(start_server: Callable[..., Live]) -> None:
    live = start_server(token=None)
    assert live.token and len(live.token) >= 32
    assert live.client().get("/users/me").json() == {"user_id": "default", "auth": True}


def test_two_users_never_see_each_others_settings_projects_runs_or_artifacts(
    start_server: Callable[..., Live], tmp_path: Path
) -> None:
    users = tmp_path / "users.yaml"
    users.write_text(
        f"users:\n  alice: {{token: {ALICE}}}\n"
        f"  bob: {{token_sha256: {hashlib.sha256(BOB.encode()).hexdigest()}}}\n"
    )
    users.chmod(0o600)
    live = start_server(users_file=users)
    alice, bob = live.client(ALICE), live.client(BOB)
    assert alice.get("/users/me").json()["user_id"] == "alice"
    assert bob.get("/users/me").json()["user_id"] == "bob"

    alice.post(
        "/users/me/provider-settings",
        json={"llm_provider": "anthropic", "api_key": "sk-ant-api03-alice-0000000000"},
    )
    pid = new_project(alice)
    rid = alice.post(f"/projects/{pid}/runs", json={"mode": "simulated", "agents": ["architect"]}).json()[
        "id"
    ]
    assert wait_run(alice, pid, rid)["status"] == "completed"

    assert bob.get("/users/me/provider-settings").json()["api_key_set"] is False
    assert bob.get("/projects").json() == []
    base = f"/projects/{pid}/runs/{rid}"
    for method, path in [
        ("GET", f"/projects/{pid}"),
        ("GET", f"/projects/{pid}/runs"),
        ("GET", base),
        ("GET", base + "/artifacts"),
        ("GET", base + "/artifacts/architect/architecture.md"),
        ("GET", base + "/events"),
        ("POST", base + "/resume"),
        ("POST", f"/projects/{pid}/runs"),
    ]:
        r = bob.request(method, path, json={} if method == "POST" else None)
        assert r.status_code == 404, (method, path, r.status_code)
        assert "architecture" not in r.text
    # bob's own project is invisible to alice, and both keep working
    bpid = new_project(bob, name="bob's")
    assert alice.get(f"/projects/{bpid}").status_code == 404
    assert [p["id"] for p in alice.get("/projects").json()] == [pid]
    assert [p["id"] for p in bob.get("/projects").json()] == [bpid]
    assert live.client("not-a-user-token-00000000").get("/projects").status_code == 401
    assert (live.data_dir / "runs" / "alice" / rid).is_dir()


@pytest.mark.parametrize(
    "doc, problem",
    [
        ({"users": {"a": {"token": "short"}}}, "at least 16"),
        ({"users": {"a": "same-token-000000000", "b": "same-token-000000000"}}, "same token"),
        ({"users": {"../evil": "a-token-long-enough-000"}}, "not allowed"),
        ({"users": {"a": {"token_sha256": "abc"}}}, "64 hex"),
        ({"users": {"a": {"token": "t" * 20, "token_sha256": "0" * 64}}}, "exactly one"),
        ({"users": {}}, "must map"),
        (["alice"], "must map"),
    ],
)
def test_bad_users_files_are_refused_clearly(doc: object, problem: str) -> None:
    with pytest.raises(ConfigError, match=problem) as info:
        parse_users(doc, "users.yaml")
    assert "000000000" not in str(info.value)  # tokens are never echoed


def test_users_file_json_and_unreadable(tmp_path: Path) -> None:
    f = tmp_path / "users.json"
    f.write_text('{"carol": "carol-token-0000000000000"}')
    f.chmod(0o600)
    auth = Authenticator.from_users_file(f)
    assert auth.user_for("Bearer carol-token-0000000000000") == "carol"
    assert auth.user_for("bearer carol-token-0000000000000") == "carol"
    assert auth.user_for("Bearer carol-token-0000000000001") is None
    with pytest.raises(ConfigError, match="cannot read"):
        Authenticator.from_users_file(tmp_path / "missing.yaml")
    (tmp_path / "bad.yaml").write_text("users: [unclosed")
    (tmp_path / "bad.yaml").chmod(0o600)
    with pytest.raises(ConfigError, match="not valid YAML"):
        Authenticator.from_users_file(tmp_path / "bad.yaml")


@pytest.mark.parametrize(
    "host, ok",
    [
        ("127.0.0.1", True),
        ("127.0.0.2", True),
        ("::1", True),
        ("[::1]", True),
        ("localhost", True),
        ("0.0.0.0", False),
        ("::", False),
        ("192.168.1.5", False),
        ("example.com", False),
    ],
)
def test_loopback_hosts(host: str, ok: bool) -> None:
    assert is_loopback(host) is ok


def test_no_auth_is_refused_on_a_non_loopback_host(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--no-auth", "--host", "0.0.0.0", "--port", "0"]) == 2
    err = capsys.readouterr().err
    assert "--no-auth is refused on '0.0.0.0'" in err and "loopback" in err


def test_the_script_refuses_no_auth_on_all_interfaces_with_exit_code_2(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--no-auth", "--host", "0.0.0.0", "--data-dir", str(tmp_path / "d")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2 and "--no-auth is refused" in proc.stderr
    assert not (tmp_path / "d").exists()
