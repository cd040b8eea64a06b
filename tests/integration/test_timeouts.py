"""A hung Messages API (the fake server delays past the per-attempt timeout): each attempt times out,
is retried per the policy, then the run fails with a clear message and resumes once the server answers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from orchestrator_kit.engine.engine import WorkflowEngine
from orchestrator_kit.errors import BackendError, ConfigError
from orchestrator_kit.llm.anthropic_backend import DEFAULT_TIMEOUT_S, AnthropicBackend
from orchestrator_kit.llm.retry import RetryConfig
from orchestrator_kit.testing import FakeAnthropicServer, Fault, simulated_responder

KEY = "sk-ant-test-fake"
FAST = RetryConfig(max_attempts=3, initial_delay=0.01, max_delay=0.05, jitter=False)
REQUEST = "Build a CLI that converts CSV files to JSON"


@pytest.fixture
def srv():
    with FakeAnthropicServer(responder=simulated_responder()) as server:
        yield server


def _ledger(run: Path) -> list[dict]:
    return [json.loads(x) for x in (run / "calls.jsonl").read_text().splitlines() if x.strip()]


def test_hung_server_times_out_each_attempt_then_fails_resumably(srv, tmp_path):
    srv.script(*[Fault.delay(2.0) for _ in range(3)])
    engine = WorkflowEngine(
        mode="real",
        api_key=KEY,
        base_url=srv.base_url,
        retry=FAST,
        timeout=0.3,
        agents=["architect"],
        output_dir=tmp_path / "runs",
    )
    with pytest.raises(BackendError, match=r"within 0\.3 s per attempt, after 3 attempts") as info:
        engine.run(REQUEST)
    assert "--timeout" in str(info.value) and "resume" in str(info.value)
    assert srv.count() == 3  # the first call, tried three times
    (run,) = list((tmp_path / "runs").iterdir())
    lines = _ledger(run)
    assert [ln["status"] for ln in lines] == ["error"] * 3
    assert [ln["attempt"] for ln in lines] == [1, 2, 3]
    assert len({ln["ts"] for ln in lines}) == 3 and [ln["t"] for ln in lines] == sorted(
        ln["t"] for ln in lines
    )
    assert all(ln["error"] == "APITimeoutError" for ln in lines)
    state = json.loads((run / "state.json").read_text())
    assert state["status"] == "failed"
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["timeout_s"] == 0.3

    resumed = WorkflowEngine.for_resume(run, api_key=KEY, base_url=srv.base_url, retry=FAST).resume(run)
    assert resumed.ok and srv.count() == 5  # plan and act, answered this time


def test_a_slow_answer_within_the_timeout_is_not_retried(srv, tmp_path):
    srv.script(Fault.delay(0.2))
    backend = AnthropicBackend(KEY, base_url=srv.base_url, retry=FAST, timeout=5)
    result = WorkflowEngine(backend=backend, agents=["architect"], output_dir=tmp_path).run(REQUEST)
    assert result.ok and srv.count() == 2


def test_default_timeout_is_120_seconds_per_attempt_not_the_sdks_600():
    assert DEFAULT_TIMEOUT_S == 120
    backend = AnthropicBackend(KEY, base_url="http://127.0.0.1:9")
    assert backend.timeout == 120

    async def built() -> float:
        client = backend.client()
        await backend.aclose()
        return client.timeout

    import asyncio

    assert asyncio.run(built()) == 120


@pytest.mark.parametrize("bad", [0, -1])
def test_timeout_must_be_positive(bad):
    with pytest.raises(ConfigError, match="timeout"):
        AnthropicBackend(KEY, timeout=bad)
