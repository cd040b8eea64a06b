"""Helpers for the API server tests (imported by conftest.py and the test modules)."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from orchestrator_kit.server.main import BackgroundServer
from orchestrator_kit.testing import simulated_responder as make_simulated_responder

FAKE_KEY = "sk-ant-api03-FAKE-KEY-FOR-TESTS-ONLY-0000"
TOKEN = "test-token-for-the-default-user-0001"
TERMINAL = ("completed", "failed", "budget_exceeded", "interrupted")


class Live:
    """A running server plus helpers."""

    def __init__(self, bg: BackgroundServer, token: str | None) -> None:
        self.bg, self.token, self.url = bg, token, bg.url
        self.app = bg.app
        self.data_dir: Path = bg.app.state.data_dir
        self._clients: list[httpx.Client] = []

    def client(self, token: str | None = "default", **kw: Any) -> httpx.Client:
        tok = self.token if token == "default" else token
        headers = {"Authorization": f"Bearer {tok}"} if tok else {}
        c = httpx.Client(base_url=self.url, headers=headers, timeout=15, **kw)
        self._clients.append(c)
        return c

    def stop(self) -> None:
        for c in self._clients:
            c.close()
        self.bg.stop()


def wait_for(
    client: httpx.Client,
    path: str,
    done: Callable[[dict[str, Any]], bool],
    timeout: float = 30.0,
    interval: float = 0.02,
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        r = client.get(path)
        assert r.status_code == 200, r.text
        body = r.json()
        if done(body):
            return body
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting on {path}: {body.get('status')}")
        time.sleep(interval)


def wait_run(client: httpx.Client, project_id: str, run_id: str, timeout: float = 30.0) -> dict[str, Any]:
    return wait_for(
        client, f"/projects/{project_id}/runs/{run_id}", lambda b: b["status"] in TERMINAL, timeout
    )


def new_project(
    client: httpx.Client, request: str | None = "a CLI that converts CSV to JSON", name: str = "CSV tool"
) -> str:
    body: dict[str, Any] = {"project_name": name}
    if request is not None:
        body["request"] = request
    r = client.post("/projects", json=body)
    assert r.status_code == 201, r.text
    return r.json()["id"]


# The package's own responder: answers the fake Messages API as the simulated backend would.
simulated_responder = make_simulated_responder()
