"""WorkflowEngine failures and resume: a backend failure, budgets in dollars and tokens, overspending;
resuming pays nothing twice."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from fault_backends import FailOnCall, FullPriceOutput
from run_helpers import artifact_bytes, ok_request_hashes, only_run, read_jsonl, read_state, started_agents

import orchestrator_kit
from orchestrator_kit.engine.engine import WorkflowEngine, resume, run_workflow
from orchestrator_kit.engine.events import Event
from orchestrator_kit.engine.workflow import DEFAULT_WORKFLOW
from orchestrator_kit.errors import BackendError, BudgetExceeded
from orchestrator_kit.llm.backend import Backend
from orchestrator_kit.llm.gateway import ConcurrencyLimiter
from orchestrator_kit.records import TOKEN_KINDS

REQUEST = "Build a CLI that converts CSV to JSON"
AGENTS = DEFAULT_WORKFLOW.order()


def test_fault_injectors_are_backends() -> None:
    assert isinstance(FailOnCall(1), Backend) and isinstance(FullPriceOutput(0), Backend)


# -- failures and resume ---------------------------------------------------------------------------


def test_resume_after_a_backend_failure_pays_nothing_twice(tmp_path: Path) -> None:
    backend = FailOnCall(8)  # architect 1-2, data 3-4, consensus 5-6, developer plan 7, act 8
    with pytest.raises(BackendError) as info:
        run_workflow(REQUEST, backend=backend, output_dir=tmp_path / "runs")
    assert backend.calls[-1] == "developer/act"
    run_dir = only_run(tmp_path / "runs")
    assert any(str(run_dir) in note for note in info.value.__notes__)
    state = read_state(run_dir)
    assert state["status"] == "failed" and state["error"]["type"] == "BackendError"
    assert [a for a, s in state["steps"].items() if s == "done"] == ["architect", "data", "consensus"]
    errors = [ln for ln in read_jsonl(run_dir / "calls.jsonl") if ln["status"] == "error"]
    assert [(ln["agent"], ln["step"], ln["status_code"], ln["wasted"]) for ln in errors] == [
        ("developer", "act", 529, True)
    ] * 3
    assert json.loads((run_dir / "summary.json").read_text())["status"] == "failed"
    artifacts_before = artifact_bytes(run_dir)

    events: list[Event] = []
    engine = WorkflowEngine.for_resume(run_dir)
    assert engine.mode == "simulated"
    engine.subscribe(events.append)
    result = engine.resume(run_dir)

    assert result.ok and read_state(run_dir)["status"] == "completed"
    assert started_agents(events) == ["developer", "qa", "documentarian", "reviewer", "steward"]
    ok_hashes = ok_request_hashes(run_dir)
    assert len(ok_hashes) == 16 and len(set(ok_hashes)) == 16
    reused = [e for e in events if e.type == "call_finished" and e.data.get("reused")]
    assert [(e.agent, e.data["step"]) for e in reused] == [("developer", "plan")]
    after = artifact_bytes(run_dir)
    assert len(after) == 9
    for name, content in artifacts_before.items():  # finished agents' files are untouched
        assert after[name] == content
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["status"] == "completed" and summary["totals"]["failed_attempts"] == 3
    assert summary["totals"]["calls"] == 16
    # resuming a completed run is a no-op
    again = resume(run_dir)
    assert again.ok and ok_request_hashes(run_dir) == ok_hashes


def test_budget_exceeded_then_resume_with_a_larger_budget(tmp_path: Path) -> None:
    with pytest.raises(BudgetExceeded) as info:
        run_workflow(REQUEST, mode="simulated", budget_usd="0.10", output_dir=tmp_path / "runs")
    run_dir = only_run(tmp_path / "runs")
    exc = info.value
    assert exc.run_dir == str(run_dir) and exc.cap == Decimal("0.10")
    assert "--budget" in str(exc) and str(run_dir) in str(exc)
    state = read_state(run_dir)
    assert state["status"] == "budget_exceeded"
    done = [a for a, s in state["steps"].items() if s == "done"]
    assert done and len(done) < 8  # stopped part-way
    before = read_jsonl(run_dir / "calls.jsonl")
    spent = sum((Decimal(ln["cost_usd"]) for ln in before), Decimal(0))
    assert spent <= Decimal("0.10") and exc.spent == spent
    assert json.loads((run_dir / "summary.json").read_text())["status"] == "budget_exceeded"

    result = orchestrator_kit.resume(run_dir, budget_usd=10)
    assert result.ok and read_state(run_dir)["status"] == "completed"
    after = read_jsonl(run_dir / "calls.jsonl")
    assert after[: len(before)] == before
    ok = ok_request_hashes(run_dir)
    assert len(ok) == 16 and len(set(ok)) == 16


def test_token_budget_exceeded_then_resume(tmp_path: Path) -> None:
    with pytest.raises(BudgetExceeded) as info:
        run_workflow(REQUEST, mode="simulated", budget_tokens=20_000, output_dir=tmp_path / "runs")
    run_dir = only_run(tmp_path / "runs")
    assert info.value.cap == 20_000
    assert "--budget-tokens" in str(info.value)
    assert read_state(run_dir)["status"] == "budget_exceeded"
    before = read_jsonl(run_dir / "calls.jsonl")
    assert 0 < len(before) < 16
    assert sum(ln[k] for ln in before for k in TOKEN_KINDS) <= 20_000
    result = resume(run_dir, budget_tokens=1_000_000)
    assert result.ok
    ok = ok_request_hashes(run_dir)
    assert len(ok) == 16 and len(set(ok)) == 16


def test_budget_too_small_for_the_first_call_makes_no_call(tmp_path: Path) -> None:
    with pytest.raises(BudgetExceeded):
        run_workflow(REQUEST, mode="simulated", budget_usd="0.001", output_dir=tmp_path / "runs")
    run_dir = only_run(tmp_path / "runs")
    assert not (run_dir / "calls.jsonl").exists() or read_jsonl(run_dir / "calls.jsonl") == []
    assert not (run_dir / "responses.jsonl").exists() or read_jsonl(run_dir / "responses.jsonl") == []
    assert read_state(run_dir)["status"] == "budget_exceeded"


def test_concurrent_calls_cannot_overspend_the_cap(tmp_path: Path) -> None:
    """qa and documentarian check the budget while each other's call is in flight: the cap must
    count the call in flight, or both pass the check and together overspend."""
    probe = run_workflow(
        REQUEST, backend=FullPriceOutput(0.0), output_dir=tmp_path / "probe", limiter=ConcurrencyLimiter(4)
    )
    lines = probe.calls
    before_qa = sum((ln.cost_usd or Decimal(0) for ln in lines if ln.agent in AGENTS[:4]), Decimal(0))
    qa_plan = next(ln.cost_usd for ln in lines if (ln.agent, ln.step) == ("qa", "plan"))
    assert qa_plan is not None
    cap = before_qa + qa_plan * Decimal("1.05")  # room for one of the two parallel plan calls, not both
    with pytest.raises(BudgetExceeded):
        run_workflow(
            REQUEST,
            backend=FullPriceOutput(0.05),
            budget_usd=cap,
            output_dir=tmp_path / "runs",
            limiter=ConcurrencyLimiter(4),
        )
    spent = sum(
        (Decimal(ln["cost_usd"]) for ln in read_jsonl(only_run(tmp_path / "runs") / "calls.jsonl")),
        Decimal(0),
    )
    assert spent <= cap
