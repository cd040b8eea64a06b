"""The guide's end-to-end test: the whole workflow in simulated mode, and in real mode through the
real SDK against the fake Messages API server; a process killed with SIGKILL mid-run resumes without
paying twice; the guide's script; live calls only behind ``--run-live``."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections import Counter
from pathlib import Path

import pytest
from documented import AGENT_ORDER
from subprocesses import clean_env

import orchestrator_kit as ok
from orchestrator_kit.engine.engine import WorkflowEngine
from orchestrator_kit.llm.anthropic_backend import AnthropicBackend
from orchestrator_kit.llm.retry import RetryConfig
from orchestrator_kit.store.run_folder import RunFolder
from orchestrator_kit.testing import FakeAnthropicServer, simulated_responder

KEY = "sk-ant-api03-FAKE-KEY-FOR-TESTS-ONLY-0000"
REQUEST = "Build a command-line tool that converts CSV files to JSON and reports invalid rows"
ROOT = Path(__file__).resolve().parents[2]


def _body_hash(body: dict) -> str:
    body = {k: v for k, v in body.items() if k != "stream"}
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def test_simulated_workflow_end_to_end(tmp_path):
    result = ok.run_workflow(REQUEST, project_name="csv2json", mode="simulated", output_dir=tmp_path)
    assert result.ok and result.mode == "simulated"
    assert {a.agent for a in result.artifacts} == set(AGENT_ORDER)
    assert 0 <= result.review_score <= 10
    assert result.totals.cost_basis == "estimate"
    assert (result.run_dir / "summary.json").is_file()


def test_real_workflow_end_to_end_against_fake_server(tmp_path, monkeypatch):
    with FakeAnthropicServer(responder=simulated_responder(), require_key=KEY) as srv:
        monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
        monkeypatch.setenv("ANTHROPIC_BASE_URL", srv.base_url)
        result = ok.run_workflow(
            REQUEST,
            project_name="csv2json",
            mode="auto",
            output_dir=tmp_path,
            retry=RetryConfig(initial_delay=0.01, max_delay=0.05),
        )
        assert srv.count() == 16
    assert result.ok and result.mode == "real"
    manifest = json.loads((result.run_dir / "manifest.json").read_text())
    assert manifest["key_source"] == "environment"
    for f in result.run_dir.rglob("*"):
        if f.is_file():
            assert KEY not in f.read_text(errors="replace")


def test_guide_script_runs_in_both_modes(tmp_path):
    script = ROOT / "scripts" / "run_workflow_test.py"
    env = clean_env()
    out = subprocess.run(
        [sys.executable, str(script), "-o", str(tmp_path / "sim")],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert "mode: simulated" in out.stdout and "run folder:" in out.stdout
    with FakeAnthropicServer(responder=simulated_responder(), require_key=KEY) as srv:
        real_env = {**env, "ANTHROPIC_API_KEY": KEY, "ANTHROPIC_BASE_URL": srv.base_url}
        out = subprocess.run(
            [sys.executable, str(script), "--real-llm", "-o", str(tmp_path / "real")],
            env=real_env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert out.returncode == 0, out.stderr
        assert srv.count() == 16
    assert "mode: real" in out.stdout and KEY not in out.stdout + out.stderr
    out = subprocess.run(
        [sys.executable, str(script), "--real-llm"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 2 and "ANTHROPIC_API_KEY" in out.stderr


@pytest.mark.slow
def test_sigkill_mid_run_then_resume_loses_nothing_paid_for(tmp_path):
    child = textwrap.dedent(f"""
        import sys
        from orchestrator_kit.engine.engine import WorkflowEngine
        from orchestrator_kit.llm.anthropic_backend import AnthropicBackend
        from orchestrator_kit.llm.retry import RetryConfig
        backend = AnthropicBackend({KEY!r}, base_url=sys.argv[1], retry=RetryConfig(initial_delay=0.01, max_delay=0.05))
        WorkflowEngine(backend=backend, output_dir=sys.argv[2], max_concurrency=1).run({REQUEST!r})
    """)
    runs = tmp_path / "runs"
    with FakeAnthropicServer(responder=simulated_responder(), require_key=KEY, latency=0.05) as srv:
        proc = subprocess.Popen([sys.executable, "-c", child, srv.base_url, str(runs)], cwd=tmp_path)
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                ledgers = list(runs.glob("*/calls.jsonl"))
                if ledgers and len(ledgers[0].read_text().splitlines()) >= 5:
                    break
                time.sleep(0.02)
            else:
                pytest.fail("the child run did not make 5 calls in time")
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=10)
        finally:
            if proc.poll() is None:
                proc.kill()
        (run,) = list(runs.iterdir())
        before = srv.count()
        # a request torn by the kill arrives without a readable body: it was never answered
        answered_before = {_body_hash(r.body) for r in srv.requests if r.body is not None}
        # killed: no chance to say so; its state is the fold of the checkpoint log (no state.json yet)
        assert RunFolder(run).load_state()["status"] == "running"
        assert not (run / "state.json").exists()

        backend = AnthropicBackend(
            KEY, base_url=srv.base_url, retry=RetryConfig(initial_delay=0.01, max_delay=0.05)
        )
        result = WorkflowEngine.for_resume(run, backend=backend).resume(run)
        assert result.ok
        resumed = srv.requests[before:]
        # Every completion that reached responses.jsonl before the kill was served from there.
        recorded = {
            json.loads(x)["hash"] for x in (run / "responses.jsonl").read_text().splitlines()[:before]
        }
        assert len(recorded) >= 5
        # (a torn request may be recorded after ``before`` was read: the server's thread saw the socket close)
        repeated = [r for r in resumed if r.body is not None and _body_hash(r.body) in answered_before]
        assert len(repeated) <= 1  # at most the one call in flight at the moment of the kill
        readable = sum(1 for r in srv.requests if r.body is not None)
        assert srv.count() - readable <= 1  # at most the one request the kill cut mid-send
        assert readable - len(repeated) == 16
    lines = [json.loads(x) for x in (run / "calls.jsonl").read_text().splitlines() if x.strip()]
    ok_hashes = Counter(ln["request_hash"] for ln in lines if ln["status"] != "error")
    assert len(ok_hashes) == 16 and max(ok_hashes.values()) == 1


@pytest.mark.live
def test_live_claude_single_agent(tmp_path):
    """Opt in: ORCHESTRATOR_KIT_LIVE_KEY=sk-ant-... pytest --run-live (the test env clears ANTHROPIC_*). Costs cents."""
    key = os.environ.get("ORCHESTRATOR_KIT_LIVE_KEY") or os.environ.get("ANTHROPIC_API_KEY")
    if not key:
        pytest.skip("no ANTHROPIC_API_KEY for the live test")
    result = WorkflowEngine(
        mode="real", api_key=key, agents=["architect"], budget_usd=0.25, output_dir=tmp_path
    ).run("A tiny CLI that reverses lines of a text file")
    assert result.ok and result.totals.cost_basis == "actual"
