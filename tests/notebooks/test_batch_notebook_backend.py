"""The sweep notebook's ``backend`` parameter: a real-mode sweep through Message Batches (a real kernel,
the fake Messages API on 127.0.0.1)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from nbhelpers import clean_env, execute, simulated_responder

from orchestrator_kit.testing import FakeAnthropicServer

KEY = "sk-ant-test-fake"


@pytest.mark.slow
def test_the_batch_notebook_sends_a_sweep_through_message_batches(tmp_path: Path) -> None:
    grid = tmp_path / "grid.yaml"
    grid.write_text(
        "mode: real\nrender: false\nrequests: [Build a todo app, Build a CSV to JSON tool]\n"
        "settings: [{agents: [architect]}]\n"
    )
    with (
        FakeAnthropicServer(responder=simulated_responder) as srv,
        clean_env(ANTHROPIC_API_KEY=KEY, ANTHROPIC_BASE_URL=srv.base_url),
    ):
        execute(
            "batch.ipynb",
            tmp_path / "batch.ipynb",
            {"grid_path": str(grid), "output_dir": "sweep", "backend": "batches"},
            cwd=tmp_path,
        )
        assert srv.count("/v1/messages") == 0 and srv.count("/v1/messages/batches", method="POST") == 2
    lines = [
        json.loads(ln)
        for f in (tmp_path / "sweep" / "runs").glob("*/calls.jsonl")
        for ln in f.read_text().splitlines()
    ]
    assert len(lines) == 4 and all(ln["batch_id"] for ln in lines)
    assert (tmp_path / "sweep" / "batches.jsonl").is_file()
