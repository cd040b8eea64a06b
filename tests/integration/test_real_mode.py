"""Real mode through the engine: the real SDK, real HTTP, the fake Messages API server on 127.0.0.1.

Each fault asserts: how many attempts the server saw, the ledger lines, what the user sees, the run
folder's state, and that resume repeats no finished call.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from orchestrator_kit.engine.engine import WorkflowEngine
from orchestrator_kit.errors import (
    AuthError,
    BackendError,
    BudgetExceeded,
    ParseError,
    RateLimited,
    RefusalError,
)
from orchestrator_kit.llm.anthropic_backend import AnthropicBackend
from orchestrator_kit.llm.retry import RetryConfig
from orchestrator_kit.testing import FakeAnthropicServer, Fault, simulated_responder

KEY = "sk-ant-api03-FAKE-KEY-FOR-TESTS-ONLY-0000"
FAST = RetryConfig(max_attempts=3, initial_delay=0.01, max_delay=0.05)
REQUEST = "Build a CLI that converts CSV files to JSON with validation"
TWO = ["architect", "developer"]  # 4 calls: architect/plan, architect/act, developer/plan, developer/act


@pytest.fixture
def srv():
    with FakeAnthropicServer(responder=simulated_responder(), require_key=KEY) as server:
        yield server


def backend(srv: FakeAnthropicServer, **kw: Any) -> AnthropicBackend:
    return AnthropicBackend(KEY, base_url=srv.base_url, retry=kw.pop("retry", FAST), **kw)


def engine(srv: FakeAnthropicServer, tmp_path: Path, agents=TWO, **kw: Any) -> WorkflowEngine:
    b = kw.pop("backend", None) or backend(srv)
    return WorkflowEngine(backend=b, agents=agents, output_dir=tmp_path / "runs", **kw)


def only_run(tmp_path: Path) -> Path:
    (run,) = list((tmp_path / "runs").iterdir())
    return run


def ledger(run: Path) -> list[dict[str, Any]]:
    return [json.loads(x) for x in (run / "calls.jsonl").read_text().splitlines() if x.strip()]


def state(run: Path) -> dict[str, Any]:
    return json.loads((run / "state.json").read_text())


def assert_nothing_paid_twice(run: Path) -> None:
    ok = Counter(ln["request_hash"] for ln in ledger(run) if ln["status"] != "error")
    assert ok and max(ok.values()) == 1, ok


def resume(srv: FakeAnthropicServer, run: Path, **kw: Any):
    return WorkflowEngine.for_resume(run, backend=backend(srv), **kw).resume(run)


def test_full_workflow_in_real_mode_uses_cache_and_reports_savings(srv, tmp_path):
    result = engine(srv, tmp_path, agents=None).run(REQUEST, project_name="csv2json")
    assert result.ok and result.mode == "real"
    assert srv.count() == 16
    req = srv.requests[0]
    assert req.headers["authorization"] == f"Bearer {KEY}"
    assert "temperature" not in req.body
    assert req.body["system"][1]["cache_control"] == {"type": "ephemeral"}  # the shared project prefix
    t = result.totals
    assert t.cost_basis == "actual"
    assert t.cache_write_5m_tokens > 0 and t.cache_read_tokens > 0
    assert float(t.cache_savings_usd) > 0
    assert len(result.artifacts) == 9
    for line in ledger(result.run_dir):
        assert line["estimated"] is False and line["mode"] == "real"


@pytest.mark.parametrize("code", [429, 529, 500, 502, 503, 504, 408, 409])
def test_transient_status_is_retried_and_counted(srv, tmp_path, code):
    srv.script(Fault.status(code, retry_after_ms=10))
    result = engine(srv, tmp_path).run(REQUEST)
    assert result.ok
    assert srv.count() == 5  # 4 calls + 1 retried attempt
    lines = ledger(result.run_dir)
    errors = [ln for ln in lines if ln["status"] == "error"]
    assert len(errors) == 1 and errors[0]["status_code"] == code and errors[0]["wasted"] is True
    assert errors[0]["agent"] == "architect" and errors[0]["step"] == "plan"
    assert result.totals.failed_attempts == 1 and result.totals.calls == 4
    assert_nothing_paid_twice(result.run_dir)


@pytest.mark.parametrize(
    "fault", [Fault.drop(), Fault.malformed()], ids=["dropped-connection", "malformed-body"]
)
def test_broken_transfer_is_retried(srv, tmp_path, fault):
    srv.script(fault)
    result = engine(srv, tmp_path).run(REQUEST)
    assert result.ok and srv.count() == 5
    assert sum(ln["status"] == "error" for ln in ledger(result.run_dir)) == 1


def test_timeout_is_retried(srv, tmp_path):
    srv.script(Fault.delay(1.0))
    result = engine(srv, tmp_path, backend=backend(srv, timeout=0.3)).run(REQUEST)
    assert result.ok and srv.count() == 5


@pytest.mark.parametrize("code", [400, 403, 404, 413, 422])
def test_permanent_status_is_not_retried_and_fails_the_run(srv, tmp_path, code):
    srv.script(Fault.status(code))
    with pytest.raises(BackendError) as info:
        engine(srv, tmp_path).run(REQUEST)
    assert srv.count() == 1
    run = only_run(tmp_path)
    assert state(run)["status"] == "failed"
    assert [ln["status"] for ln in ledger(run)] == ["error"]
    assert "orchestrator-kit resume" in "\n".join(info.value.__notes__)
    # Resume once the server behaves: everything runs, nothing is paid twice.
    result = resume(srv, run)
    assert result.ok and srv.count() == 5
    assert_nothing_paid_twice(run)


def test_rejected_key_says_where_it_came_from_and_never_shows_it(srv, tmp_path):
    wrong = "sk-ant-api03-WRONG-FAKE-KEY-0000"
    b = AnthropicBackend(wrong, base_url=srv.base_url, retry=FAST, key_source="the environment")
    with pytest.raises(AuthError) as info:
        engine(srv, tmp_path, backend=b).run(REQUEST)
    assert srv.count() == 1
    message = str(info.value)
    assert "rejected" in message and "environment" in message and wrong not in message
    run = only_run(tmp_path)
    for f in run.rglob("*"):
        if f.is_file():
            assert wrong not in f.read_text(errors="replace")


def test_persistent_429_fails_with_advice_then_resume_finishes(srv, tmp_path):
    srv.script(*[Fault.status(429, retry_after_ms=10)] * 3)
    with pytest.raises(RateLimited) as info:
        engine(srv, tmp_path).run(REQUEST)
    assert srv.count() == 3
    assert "concurrency" in str(info.value) or "wait" in str(info.value)
    run = only_run(tmp_path)
    assert state(run)["status"] == "failed"
    assert [ln["status_code"] for ln in ledger(run)] == [429, 429, 429]
    result = resume(srv, run)
    assert result.ok and srv.count() == 7
    assert_nothing_paid_twice(run)


def test_demanded_wait_longer_than_max_delay_fails_fast_naming_it(srv, tmp_path):
    srv.script(Fault.status(429, retry_after=3600))
    with pytest.raises(RateLimited) as info:
        engine(srv, tmp_path).run(REQUEST)
    assert srv.count() == 1
    assert "3600" in str(info.value)


def test_max_tokens_gets_one_continuation(srv, tmp_path):
    responder = simulated_responder()
    calls = {"n": 0}

    def cut_first(body):
        calls["n"] += 1
        full = responder(body)
        if calls["n"] == 1:
            return {"content": [{"type": "text", "text": full[:120]}], "stop_reason": "max_tokens"}
        return full

    srv.responder = cut_first
    result = engine(srv, tmp_path).run(REQUEST)
    assert result.ok and srv.count() == 5
    lines = ledger(result.run_dir)
    assert [ln["status"] for ln in lines][:2] == ["truncated", "ok"]
    assert lines[1]["step"] == "continue" and lines[0]["wasted"] is False
    assert srv.requests[1].body["messages"][1]["role"] == "assistant"
    assert not any(a.truncated for a in result.artifacts)


def test_twice_truncated_output_is_marked_truncated(srv, tmp_path):
    responder = simulated_responder()

    def always_cut_act(body):
        full = responder(body)
        last = body["messages"][-1]["content"]
        text = last if isinstance(last, str) else json.dumps(last)
        # the act call continues the plan conversation: 3 turns; its continuation has 5
        if len(body["messages"]) >= 3 and "<role>architect" in json.dumps(body["system"]):
            cut = full[: len(full) * 2 // 3] if "<step>act</step>" in text else ""
            return {"content": [{"type": "text", "text": cut or " "}], "stop_reason": "max_tokens"}
        return full

    srv.responder = always_cut_act
    result = engine(srv, tmp_path).run(REQUEST)
    arts = result.project_state.artifacts["architect"]
    assert arts and all(a.truncated for a in arts)


def test_refusal_fails_the_agent_with_the_reason(srv, tmp_path):
    srv.script(Fault.refusal("I can't help with that request."))
    with pytest.raises(RefusalError) as info:
        engine(srv, tmp_path).run(REQUEST)
    assert "can't help" in str(info.value)
    run = only_run(tmp_path)
    assert [ln["status"] for ln in ledger(run)] == ["refused"]
    assert state(run)["status"] == "failed"


def test_malformed_output_gets_one_reask_counted_as_wasted(srv, tmp_path):
    srv.script(Fault.respond("Sure! Here is my plan: I will design it carefully."))
    result = engine(srv, tmp_path).run(REQUEST)
    assert result.ok and srv.count() == 5
    lines = ledger(result.run_dir)
    assert lines[0]["status"] == "malformed" and lines[0]["wasted"] is True
    assert lines[1]["step"] == "reask"
    assert "could not be read" in srv.requests[1].body["messages"][0]["content"]
    assert float(result.totals.wasted_usd) > 0 and result.totals.reasks == 1


def test_malformed_twice_fails_with_parse_error(srv, tmp_path):
    srv.script(Fault.respond("no json here"), Fault.respond("still no json"))
    with pytest.raises(ParseError):
        engine(srv, tmp_path).run(REQUEST)
    assert srv.count() == 2
    assert state(only_run(tmp_path))["status"] == "failed"


def test_budget_stops_before_the_call_then_resume_with_more_finishes(srv, tmp_path):
    with pytest.raises(BudgetExceeded) as info:
        engine(srv, tmp_path, budget_usd=0.05).run(REQUEST)
    run = only_run(tmp_path)
    assert state(run)["status"] == "budget_exceeded"
    assert "resume" in str(info.value)
    seen = srv.count()
    assert 0 < seen < 4
    result = resume(srv, run, budget_usd=5)
    assert result.ok and srv.count() == 4
    assert_nothing_paid_twice(run)


def test_streaming_passes_partial_text_to_subscribers(srv, tmp_path):
    eng = engine(srv, tmp_path, backend=backend(srv, stream_threshold=1))
    deltas: list[str] = []
    eng.subscribe(lambda e: deltas.append(e.data["text"]) if e.type == "call_delta" else None)
    result = eng.run(REQUEST)
    assert result.ok and deltas
    assert srv.requests[0].body.get("stream") is True


def test_ready_agents_call_the_api_at_the_same_time(srv, tmp_path):
    srv.latency = 0.15
    eng = engine(srv, tmp_path, agents=["architect", "developer", "qa", "documentarian"])
    eng.run(REQUEST)
    qa = [r.time for r in srv.requests if "<role>qa</role>" in json.dumps(r.body)]
    doc = [r.time for r in srv.requests if "<role>documentarian</role>" in json.dumps(r.body)]
    assert abs(qa[0] - doc[0]) < 0.15  # both first calls sent before either answered
    assert eng.limiter.peak >= 2


def test_a_recorded_real_run_replays_byte_identical_in_another_process(srv, tmp_path):
    import subprocess
    import sys

    result = engine(srv, tmp_path, agents=None).run(REQUEST)
    code = (
        "import sys; from orchestrator_kit.engine.engine import WorkflowEngine; "
        "r = WorkflowEngine(mode='replay', replay_from=sys.argv[1], output_dir=sys.argv[2]).run(sys.argv[3]); "
        "print(r.run_dir); print(r.totals.cost_basis)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(result.run_dir), str(tmp_path / "replayed"), REQUEST],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    replay_dir, basis = Path(out.stdout.split()[0]), out.stdout.split()[1]
    assert basis == "replay" and srv.count() == 16  # nothing new reached the server
    original = {
        p.relative_to(result.run_dir / "artifacts"): p.read_bytes()
        for p in (result.run_dir / "artifacts").rglob("*")
        if p.is_file()
    }
    replayed = {
        p.relative_to(replay_dir / "artifacts"): p.read_bytes()
        for p in (replay_dir / "artifacts").rglob("*")
        if p.is_file()
    }
    assert original == replayed and len(original) == 9


def test_one_limiter_is_shared_by_several_runs_in_one_process(srv, tmp_path):
    import asyncio

    from orchestrator_kit.llm.gateway import ConcurrencyLimiter

    srv.latency = 0.05
    limiter = ConcurrencyLimiter(2)
    engines = [
        engine(srv, tmp_path, agents=["architect", "developer", "qa", "documentarian"], limiter=limiter)
        for _ in range(3)
    ]

    async def both():
        return await asyncio.gather(*(e.arun(f"{REQUEST} #{i}") for i, e in enumerate(engines)))

    results = asyncio.run(both())
    assert all(r.ok for r in results)
    assert limiter.peak == 2  # three runs with ready work, never more than two requests in flight
    assert srv.count() == 24


@pytest.mark.parametrize("stop_reason", ["model_context_window_exceeded", "pause_turn"])
def test_answer_cut_short_without_a_continuation_is_marked_truncated(srv, tmp_path, stop_reason):
    inner = simulated_responder()

    def cut_architect_act(body):
        full = inner(body)
        if len(body["messages"]) == 3 and "<role>architect" in json.dumps(body["system"]):
            return {
                "content": [{"type": "text", "text": full[: len(full) * 2 // 3]}],
                "stop_reason": stop_reason,
            }
        return full

    srv.responder = cut_architect_act
    result = engine(srv, tmp_path).run(REQUEST)
    assert srv.count() == 4  # a continuation cannot help: the context is full, or the turn was paused
    assert [ln["status"] for ln in ledger(result.run_dir)] == ["ok", "truncated", "ok", "ok"]
    assert all(a.truncated for a in result.project_state.artifacts["architect"])
