"""The API server under test: real uvicorn on an ephemeral 127.0.0.1 port, real HTTP (httpx).

The parent conftest clears ANTHROPIC_* and runs each test from tmp_path; here ORCHESTRATOR_KIT_* goes too.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from server_helpers import TOKEN, Live

from orchestrator_kit.server.app import ServerSettings, create_app
from orchestrator_kit.server.main import BackgroundServer


@pytest.fixture(autouse=True)
def _no_server_secrets_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("ORCHESTRATOR_KIT_"):
            monkeypatch.delenv(name, raising=False)


@pytest.fixture
def start_server(tmp_path: Path) -> Iterator[Callable[..., Live]]:
    """``start_server(**ServerSettings fields)``; data in tmp_path/data unless given; stopped at the end."""
    started: list[Live] = []

    def start(**kw: Any) -> Live:
        kw.setdefault("data_dir", tmp_path / "data")
        if not kw.get("no_auth") and kw.get("users_file") is None:
            kw.setdefault("token", TOKEN)
        app = create_app(ServerSettings(**kw))
        live = Live(
            BackgroundServer(app, logging_config=None, timeout_graceful_shutdown=2).start(), app.state.token
        )
        started.append(live)
        return live

    yield start
    for live in reversed(started):
        live.stop()
