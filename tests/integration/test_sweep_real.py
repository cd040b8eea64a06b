"""Sweeps in real mode: the real SDK against the fake Messages API on 127.0.0.1. One limiter for all
cells, one backend, and a driver killed with SIGKILL mid-sweep loses no paid answer."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml
from subprocesses import clean_env

from orchestrator_kit import run_sweep
from orchestrator_kit.llm.retry import RetryConfig
from orchestrator_kit.store.run_folder import read_jsonl, read_responses
from orchestrator_kit.testing import FakeAnthropicServer, simulated_responder

KEY = "sk-ant-test-fake"
FAST = RetryConfig(max_attempts=2, initial_delay=0.01, max_delay=0.05)
REQUESTS = [
    "Build a CLI that converts CSV files to JSON",
    "Build a todo list web app",
    "Build a markdown to HTML converter",
    "Build a unit converter library",
]
TWO = {"agents": ["architect", "developer"]}


class PeakResponder:
    """Answers as the simulated backend would, holding each request a moment to count overlaps."""

    def __init__(self, hold_s: float) -> None:
        self.inner = simulated_responder()
        self.hold_s = hold_s
        self.lock = threading.Lock()
        self.now = 0
        self.peak = 0

    def __call__(self, body: dict[str, Any]) -> str:
        with self.lock:
            self.now += 1
            self.peak = max(self.peak, self.now)
        try:
            time.sleep(self.hold_s)
            return self.inner(body)
        finally:
            with self.lock:
                self.now -= 1


def test_real_cells_share_one_limiter_and_one_backend(tmp_path: Path) -> None:
    responder = PeakResponder(0.05)
    with FakeAnthropicServer(responder=responder, require_key=KEY) as srv:
        result = run_sweep(
            {
                "requests": REQUESTS[:3],
                "settings": [TWO],
                "mode": "real",
                "max_concurrency": 2,
                "render": False,
            },
            tmp_path / "s",
            api_key=KEY,
            base_url=srv.base_url,
            retry=FAST,
            progress=False,
        )
        assert result.mode == "real" and len(result.ok) == 3
        assert responder.peak == 2  # three cells, four sequential calls each, never more than 2 in flight
        lines = [ln for c in result.cells for ln in read_jsonl(result.runs_dir / c.run_id / "calls.jsonl")]
        assert srv.count() == len(lines) == 12
        assert all(ln["mode"] == "real" for ln in lines)


def _key(system: list[str], messages: list[tuple[str, str]], model: str) -> str:
    return json.dumps([model, system, messages])


def _body_key(body: dict[str, Any]) -> str:
    def text(c: Any) -> str:
        return c if isinstance(c, str) else "\n".join(b.get("text", "") for b in c)

    return _key(
        [b["text"] for b in body.get("system") or []],
        [(m["role"], text(m["content"])) for m in body["messages"]],
        body["model"],
    )


def _answered(sweep: Path) -> Counter[str]:
    out: Counter[str] = Counter()
    for f in sweep.glob("runs/*/responses.jsonl"):
        for rec in read_responses(f):
            r = rec["request"]
            out[
                _key(
                    [b["text"] for b in r["system"]],
                    [(m["role"], m["content"]) for m in r["messages"]],
                    r["model"],
                )
            ] += 1
    return out


@pytest.mark.slow
def test_a_killed_driver_loses_no_paid_answer(tmp_path: Path) -> None:
    grid = tmp_path / "GRID.yaml"
    grid.write_text(
        yaml.safe_dump({"requests": REQUESTS, "settings": [TWO], "mode": "real", "max_concurrency": 3})
    )
    with FakeAnthropicServer(responder=simulated_responder(), require_key=KEY, latency=0.15) as srv:
        env = clean_env(ANTHROPIC_API_KEY=KEY, ANTHROPIC_BASE_URL=srv.base_url)
        cmd = [
            sys.executable,
            "-m",
            "orchestrator_kit",
            "batch",
            str(grid),
            "-o",
            str(tmp_path / "s"),
            "--no-render",
            "-q",
        ]
        log = tmp_path / "driver.log"
        with open(log, "wb") as err:
            proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=err)
        try:
            deadline = time.monotonic() + 60
            while sum(_answered(tmp_path / "s").values()) < 6:  # some answers paid and saved, more in flight
                assert proc.poll() is None and time.monotonic() < deadline, log.read_text()
                time.sleep(0.02)
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=10)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=10)
        sent_before = len(srv.requests)
        answered_before = _answered(tmp_path / "s")
        assert 6 <= sum(answered_before.values()) < 16 and max(answered_before.values()) == 1
        index = json.loads((tmp_path / "s" / "sweep.json").read_text())
        assert "running" in {c["status"] for c in index["cells"].values()}  # it really died mid-sweep

        resumed = subprocess.run(
            [sys.executable, "-m", "orchestrator_kit", "resume", str(tmp_path / "s"), "--no-render", "-q"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert resumed.returncode == 0, resumed.stderr
        assert "4 cells (real)" in resumed.stdout and "4 completed" in resumed.stdout
        after = [_body_key(r.body) for r in srv.requests[sent_before:] if r.body is not None]
        assert not set(after) & set(answered_before)  # no answer received before the kill was bought again
        everything = Counter(  # a body cut off by the kill was never a call
            _body_key(r.body) for r in srv.requests if r.path == "/v1/messages" and r.body is not None
        )
        assert len(everything) == 16  # 4 cells x 4 calls
        repaid = [k for k, n in everything.items() if n > 1]
        assert (
            len(repaid) <= 3
        )  # at most the calls in flight at the kill (max_concurrency 3), never an answered one
    final = _answered(tmp_path / "s")
    assert sum(final.values()) == 16 and max(final.values()) == 1


@pytest.mark.slow
def test_batch_timeout_flag_against_a_hung_server_fails_the_cell_resumably(tmp_path: Path) -> None:
    """``batch --timeout`` bounds each attempt of each real call (as ``run --timeout`` does); the cell
    fails naming the timeout, and ``resume SWEEP_DIR --timeout`` finishes it."""
    from subprocesses import run_cli

    from orchestrator_kit.testing import Fault

    grid = tmp_path / "GRID.yaml"
    grid.write_text(
        yaml.safe_dump({"requests": REQUESTS[:1], "settings": [{"agents": ["architect"]}], "mode": "real"})
    )
    with FakeAnthropicServer(responder=simulated_responder(), require_key=KEY) as srv:
        srv.script(*[Fault.delay(3.0) for _ in range(3)])
        env = clean_env(ANTHROPIC_API_KEY=KEY, ANTHROPIC_BASE_URL=srv.base_url)
        args = ("batch", str(grid), "-o", "s", "--no-render", "-q", "--timeout", "0.4")
        proc = run_cli(*args, cwd=tmp_path, env=env, timeout=90)
        assert proc.returncode == 1, proc.stderr
        assert "within 0.4 s per attempt, after 3 attempts" in proc.stdout + proc.stderr
        assert srv.count() == 3
        resumed = run_cli(
            "resume", "s", "-q", "--no-render", "--timeout", "30", cwd=tmp_path, env=env, timeout=90
        )
        assert resumed.returncode == 0, resumed.stdout + resumed.stderr
        assert srv.count() == 5  # the architect's plan and act, asked once each
