"""What outside clients send that our own tests did not: tokens in URLs, bodies that are not JSON objects,
HEAD requests, unknown routes and methods. Real HTTP against a real uvicorn on 127.0.0.1."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from server_helpers import TOKEN, Live

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
        assert live.client().get("/projects", params={"token": "x"}).status_code == 200
        live.stop()
    access = [r.getMessage() for r in caplog.records if r.name == "uvicorn.access"]
    assert any("/projects?token=[hidden]" in line for line in access), access
    server_lines = [r.getMessage() for r in caplog.records if not r.name.startswith(("httpx", "httpcore"))]
    assert not [line for line in server_lines if TOKEN in line]
