"""A user's key is encrypted at rest and never appears in a response, a log, the index or a run folder."""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from server_helpers import FAKE_KEY, Live, new_project, simulated_responder, wait_run

from orchestrator_kit.errors import ConfigError
from orchestrator_kit.server.app import ServerSettings, create_app
from orchestrator_kit.server.secrets import ENV_VAR, KeyVault, UnreadableSecret
from orchestrator_kit.testing import FakeAnthropicServer


def all_bytes_under(root: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file())


def test_the_key_never_leaves_in_clear(
    start_server: Callable[..., Live], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    bodies: list[str] = []
    with FakeAnthropicServer(require_key=FAKE_KEY, responder=simulated_responder) as api:
        live = start_server(anthropic_base_url=api.base_url)
        c = live.client()

        def keep(r: object) -> None:
            bodies.append(r.text)  # type: ignore[attr-defined]

        keep(
            r := c.post(
                "/users/me/provider-settings", json={"llm_provider": "anthropic", "api_key": FAKE_KEY}
            )
        )
        assert r.status_code == 200 and r.json()["api_key_masked"] == "…0000"
        keep(c.get("/users/me/provider-settings"))
        pid = new_project(c)
        keep(r := c.post(f"/projects/{pid}/runs", json={"agents": ["architect", "data"]}))
        rid = r.json()["id"]
        keep(c.get(f"/projects/{pid}/runs/{rid}/events"))
        done = wait_run(c, pid, rid)
        assert done["status"] == "completed" and done["mode"] == "real"
        keep(c.get(f"/projects/{pid}/runs/{rid}"))
        keep(c.get(f"/projects/{pid}/runs/{rid}/artifacts"))
        keep(c.get(f"/projects/{pid}"))
        keep(c.get("/openapi.json"))
        for bad in (
            {"llm_provider": FAKE_KEY, "api_key": FAKE_KEY},
            {"llm_provider": "anthropic", "key": FAKE_KEY},
        ):
            keep(c.post("/users/me/provider-settings", json=bad))
        live.stop()  # flush the index (WAL) to disk

    assert bodies and not [b for b in bodies if FAKE_KEY in b]
    assert FAKE_KEY not in caplog.text and "FAKE-KEY" not in caplog.text
    assert "provider settings of user default updated" in caplog.text  # logging was captured
    data = live.data_dir
    assert FAKE_KEY.encode() not in all_bytes_under(data / "runs")
    index = b"".join(p.read_bytes() for p in data.glob("index.sqlite3*"))
    assert index and FAKE_KEY.encode() not in index and b"FAKE-KEY" not in index
    for name in ("secret.key", "index.sqlite3"):
        assert stat.S_IMODE((data / name).stat().st_mode) == 0o600, name
    assert stat.S_IMODE(data.stat().st_mode) & 0o077 == 0


def test_the_secret_from_the_environment_and_a_changed_secret(
    start_server: Callable[..., Live], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(ENV_VAR, Fernet.generate_key().decode())
    live = start_server()
    c = live.client()
    c.post("/users/me/provider-settings", json={"llm_provider": "anthropic", "api_key": FAKE_KEY})
    assert not (live.data_dir / "secret.key").exists()
    live.stop()

    monkeypatch.setenv(ENV_VAR, Fernet.generate_key().decode())  # rotated without re-entering keys
    live = start_server()
    c = live.client()
    s = c.get("/users/me/provider-settings").json()
    assert s["api_key_set"] is True and s["api_key_readable"] is False
    pid = new_project(c)
    r = c.post(f"/projects/{pid}/runs", json={})
    assert r.status_code == 409 and "set the key again" in r.json()["detail"]
    assert c.post(f"/projects/{pid}/runs", json={"mode": "simulated"}).status_code == 202


def test_bad_server_secrets_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_VAR, "not-a-fernet-key")
    with pytest.raises(ConfigError, match="not a valid Fernet key") as info:
        create_app(ServerSettings(data_dir=tmp_path / "a", token="t" * 20))
    assert "not-a-fernet-key" not in str(info.value)
    monkeypatch.delenv(ENV_VAR)
    (tmp_path / "b").mkdir()
    key = tmp_path / "b" / "secret.key"
    key.write_bytes(Fernet.generate_key())
    os.chmod(key, 0o644)
    with pytest.raises(ConfigError, match="chmod 600"):
        KeyVault.load(tmp_path / "b")


def test_vault_round_trip_and_repr(tmp_path: Path) -> None:
    vault = KeyVault.load(tmp_path)
    blob = vault.encrypt(FAKE_KEY)
    assert FAKE_KEY.encode() not in blob and vault.decrypt(blob) == FAKE_KEY
    assert "secret.key" in repr(vault) and KeyVault.load(tmp_path).decrypt(blob) == FAKE_KEY
    with pytest.raises(UnreadableSecret):
        KeyVault(Fernet.generate_key(), "another").decrypt(blob)
