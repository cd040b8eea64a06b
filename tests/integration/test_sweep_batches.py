"""Sweeps through Message Batches and paced by rate limits: the real SDK against the fake server."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml
from subprocesses import clean_env

from orchestrator_kit import run_sweep
from orchestrator_kit.cli import main
from orchestrator_kit.errors import ConfigError
from orchestrator_kit.llm.retry import RetryConfig
from orchestrator_kit.store.run_folder import read_jsonl
from orchestrator_kit.testing import FakeAnthropicServer, RateLimits, simulated_responder

KEY = "sk-ant-test-fake"
FAST = RetryConfig(max_attempts=3, initial_delay=0.01, max_delay=2.0, jitter=False)
REQUESTS = [
    "Build a CLI that converts CSV files to JSON",
    "Build a todo list web app",
    "Build a unit converter",
]
TWO = {"agents": ["architect", "developer"]}


def _grid(**extra: Any) -> dict[str, Any]:
    return {"requests": REQUESTS, "settings": [TWO], "mode": "real", "render": False, **extra}


def _lines(result: Any) -> list[dict[str, Any]]:
    return [ln for c in result.cells for ln in read_jsonl(result.runs_dir / c.run_id / "calls.jsonl")]


def _sweep(srv: FakeAnthropicServer, out: Path, **kw: Any) -> Any:
    return run_sweep(_grid(), out, api_key=KEY, base_url=srv.base_url, retry=FAST, progress=False, **kw)


def test_a_batches_sweep_costs_exactly_half_and_batches_every_cell(tmp_path: Path) -> None:
    with FakeAnthropicServer(responder=simulated_responder()) as srv:
        standard = _sweep(srv, tmp_path / "standard")
    with FakeAnthropicServer(responder=simulated_responder()) as srv:
        batched = _sweep(srv, tmp_path / "batches", backend="batches")
        creates = [r.body for r in srv.requests if r.method == "POST" and r.path == "/v1/messages/batches"]
        assert srv.count("/v1/messages") == 0
    assert len(standard.ok) == len(batched.ok) == 3
    lines = _lines(batched)
    assert all(ln["batch_id"] for ln in lines) and not any(ln["batch_id"] for ln in _lines(standard))
    # all three cells wait on the model together: one batch per sequential call (2 agents x plan, act)
    assert [len(b["requests"]) for b in creates] == [3, 3, 3, 3]
    cost = {
        name: sum((Decimal(ln["cost_usd"]) for ln in _lines(r)), Decimal(0))
        for name, r in (("standard", standard), ("batches", batched))
    }
    assert cost["batches"] == cost["standard"] * Decimal("0.5") > 0
    journal = read_jsonl(tmp_path / "batches" / "batches.jsonl")
    assert [e["event"] for e in journal].count("submitted") == 4


def test_batches_need_real_mode_and_no_message_rate_caps(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="pace the standard Messages API"):
        run_sweep(_grid(backend="batches", rpm=50), tmp_path / "a", api_key=KEY, progress=False)
    with pytest.raises(ConfigError, match="backend 'batches' sends real calls"):
        run_sweep(_grid(mode="simulated"), tmp_path / "b", backend="batches", progress=False)
    with pytest.raises(ConfigError, match="backend"):
        run_sweep(_grid(), tmp_path / "c", backend="carrier-pigeon", api_key=KEY, progress=False)


def test_a_real_sweep_is_paced_by_the_ratelimit_headers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two requests left in the minute: the sweep's limiter reads that from the first answer and waits
    instead of running into 429s (an unpaced sweep gets two here)."""
    grid = tmp_path / "GRID.yaml"
    grid.write_text(yaml.safe_dump({**_grid(requests=REQUESTS[:1]), "max_concurrency": 4}))
    with FakeAnthropicServer(responder=simulated_responder(), rate_limits=RateLimits(rpm=60)) as srv:
        assert srv.rate_limiter is not None
        srv.rate_limiter.consume(requests=58)
        monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
        monkeypatch.setenv("ANTHROPIC_BASE_URL", srv.base_url)
        out = tmp_path / "s"
        assert main(["batch", str(grid), "-o", str(out), "--rpm", "600", "-q", "--no-render"]) == 0
        assert srv.count("/v1/messages") == 4 and srv.rate_limited == 0
    assert json.loads((out / "sweep.json").read_text())["grid"]["rpm"] == 600


def _journal(sweep: Path) -> list[dict[str, Any]]:
    path = sweep / "batches.jsonl"
    return read_jsonl(path) if path.is_file() else []


@pytest.mark.slow
def test_killed_batches_sweep_cancel_then_resume(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """SIGKILL the driver once its first batch is journaled; `resume --cancel-batches` cancels it (nothing
    resubmitted); a plain `resume` then submits the canceled requests anew and finishes every cell."""
    grid = tmp_path / "GRID.yaml"
    grid.write_text(yaml.safe_dump(_grid(backend="batches")))
    sweep = tmp_path / "s"
    with FakeAnthropicServer(responder=simulated_responder(), batch_processing_s=120) as srv:
        env = clean_env(ANTHROPIC_API_KEY=KEY, ANTHROPIC_BASE_URL=srv.base_url)
        cmd = [sys.executable, "-m", "orchestrator_kit", "batch", str(grid), "-o", str(sweep), "-q"]
        log = tmp_path / "driver.log"
        with open(log, "wb") as err:
            proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=err)
        try:
            deadline = time.monotonic() + 90
            while not _journal(sweep):
                assert proc.poll() is None and time.monotonic() < deadline, log.read_text()
                time.sleep(0.05)
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=10)
        (submitted,) = _journal(sweep)
        assert len(submitted["custom_ids"]) == 3  # the three cells' first calls, in one batch

        monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
        monkeypatch.setenv("ANTHROPIC_BASE_URL", srv.base_url)
        assert main(["resume", str(sweep), "--cancel-batches"]) == 0
        assert srv.count(f"/v1/messages/batches/{submitted['batch_id']}/cancel") == 1
        assert [e["event"] for e in _journal(sweep)] == ["submitted", "cancel_requested", "ended"]

        srv.batches.processing_s = 0.0
        assert main(["resume", str(sweep), "-q"]) == 0
        creates = [
            [item["custom_id"] for item in r.body["requests"]]
            for r in srv.requests
            if r.method == "POST" and r.path == "/v1/messages/batches"
        ]
    for custom_id in submitted["custom_ids"]:  # canceled ids are never sent again: retries get new ids
        assert sum(ids.count(custom_id) for ids in creates) == 1
    index = json.loads((sweep / "sweep.json").read_text())
    assert {c["status"] for c in index["cells"].values()} == {"completed"}
