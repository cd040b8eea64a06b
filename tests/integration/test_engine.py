"""The engine end to end with real parts: simulated backend, run folders, gate, budgets, resume.
(The guide snippet, determinism and replay are in test_guide_and_replay.py.)

Fault injection uses small Backend classes (the public protocol), never mocks of our own functions.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from run_helpers import artifact_bytes, only_run, read_jsonl, read_state

import orchestrator_kit
from orchestrator_kit.engine.engine import WorkflowEngine, arun_workflow, resume, run_workflow
from orchestrator_kit.engine.events import Event
from orchestrator_kit.engine.result import RunResult
from orchestrator_kit.engine.state_models import AgentContext, ProjectState
from orchestrator_kit.engine.workflow import DEFAULT_WORKFLOW
from orchestrator_kit.errors import BackendError, BudgetExceeded, ConfigError, RunFailed
from orchestrator_kit.llm.backend import Backend, DeltaCallback
from orchestrator_kit.llm.gateway import ConcurrencyLimiter
from orchestrator_kit.llm.simulated import SimulatedBackend
from orchestrator_kit.llm.types import Completion, LLMRequest
from orchestrator_kit.records import TOKEN_KINDS

REQUEST = "Build a CLI that converts CSV to JSON"
AGENTS = DEFAULT_WORKFLOW.order()
KEY = "sk-ant-api03-FAKE-KEY-FOR-TESTS-ONLY-0000"
RUN_FILES = {"manifest.json", "state.json", "calls.jsonl", "responses.jsonl", "summary.json"}


# -- helpers ---------------------------------------------------------------------------------------


def _ok_hashes(run_dir: Path) -> list[str]:
    return [ln["request_hash"] for ln in read_jsonl(run_dir / "calls.jsonl") if ln["status"] == "ok"]


def _started(events: list[Event]) -> list[str]:
    return [e.agent for e in events if e.type == "agent_started" and e.agent]


class FailOnCall:
    """A Backend that serves simulated answers and fails for good on its ``fail_on``-th call."""

    mode = "simulated"

    def __init__(self, fail_on: int, **simulated: Any) -> None:
        self.inner = SimulatedBackend(**simulated)
        self.fail_on = fail_on
        self.calls: list[str] = []

    async def complete(self, request: LLMRequest, *, on_delta: DeltaCallback | None = None) -> Completion:
        self.calls.append(f"{request.labels.agent}/{request.labels.step}")
        if len(self.calls) == self.fail_on:
            raise BackendError(
                "injected: the API answered 529 overloaded three times",
                attempts=[
                    {"number": n, "error": "OverloadedError", "status_code": 529, "latency_s": 0.0}
                    for n in (1, 2, 3)
                ],
                status_code=529,
            )
        return await self.inner.complete(request, on_delta=on_delta)


class FullPriceOutput:
    """A Backend whose answers use every output token allowed: actual cost is close to the worst case."""

    mode = "simulated"

    def __init__(self, latency_s: float) -> None:
        self.inner = SimulatedBackend(latency_s=latency_s)

    async def complete(self, request: LLMRequest, *, on_delta: DeltaCallback | None = None) -> Completion:
        c = await self.inner.complete(request, on_delta=on_delta)
        return c.model_copy(
            update={"usage": c.usage.model_copy(update={"output_tokens": request.max_tokens})}
        )


def test_fault_injectors_are_backends() -> None:
    assert isinstance(FailOnCall(1), Backend) and isinstance(FullPriceOutput(0), Backend)


# -- one full run, shared by the read-only tests ---------------------------------------------------


@pytest.fixture(scope="module")
def full_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[RunResult, list[Event]]:
    events: list[Event] = []
    result = run_workflow(
        REQUEST,
        project_name="csv2json",
        mode="simulated",
        output_dir=tmp_path_factory.mktemp("full") / "runs",
        subscribers=[events.append],
    )
    return result, events


def test_full_run_leaves_the_documented_files(full_run: tuple[RunResult, list[Event]]) -> None:
    result, _ = full_run
    run_dir = result.run_dir
    assert {p.name for p in run_dir.iterdir() if p.is_file()} == RUN_FILES
    arts = artifact_bytes(run_dir)
    assert len(arts) == 9
    assert {name.split("/")[0] for name in arts} == set(AGENTS)
    assert "developer/csv2json.py" in arts and "developer/test_csv2json.py" in arts
    assert not [p for p in run_dir.rglob("*") if p.name.endswith(".tmp")]
    state = read_state(run_dir)
    assert state["status"] == "completed" and state["steps"] == dict.fromkeys(AGENTS, "done")
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["status"] == "completed" and summary["artifacts"] == 9 and summary["design_rounds"] == 1
    assert summary["consensus_approved"] is True and 0 <= summary["review_score"] <= 10
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["mode"] == "simulated" and manifest["request"] == REQUEST and manifest["agents"] == AGENTS
    assert manifest["run_id"] == run_dir.name


def test_ledger_has_two_estimated_lines_per_agent(full_run: tuple[RunResult, list[Event]]) -> None:
    result, _ = full_run
    lines = read_jsonl(result.run_dir / "calls.jsonl")
    assert len(lines) == 16
    assert Counter(ln["agent"] for ln in lines) == dict.fromkeys(AGENTS, 2)
    assert all(ln["step"] in ("plan", "act") for ln in lines)
    assert {ln["cost_basis"] for ln in lines} == {"estimate"}
    assert {(ln["status"], ln["mode"], ln["wasted"], ln["estimated"]) for ln in lines} == {
        ("ok", "simulated", False, True)
    }
    assert all(Decimal(ln["cost_usd"]) > 0 for ln in lines)
    assert len({ln["request_hash"] for ln in lines}) == 16
    responses = read_jsonl(result.run_dir / "responses.jsonl")
    assert sorted(r["hash"] for r in responses) == sorted(ln["request_hash"] for ln in lines)


def test_summary_totals_are_exact_sums_of_the_ledger(full_run: tuple[RunResult, list[Event]]) -> None:
    result, _ = full_run
    lines = read_jsonl(result.run_dir / "calls.jsonl")
    summary = json.loads((result.run_dir / "summary.json").read_text())
    totals = summary["totals"]
    assert Decimal(totals["cost_usd"]) == sum((Decimal(ln["cost_usd"]) for ln in lines), Decimal(0))
    assert Decimal(totals["cache_savings_usd"]) == sum(
        (Decimal(ln["cache_savings_usd"]) for ln in lines), Decimal(0)
    )
    assert Decimal(totals["wasted_usd"]) == 0
    for kind in TOKEN_KINDS:
        assert totals[kind] == sum(ln[kind] for ln in lines), kind
    assert totals["total_tokens"] == sum(ln[k] for ln in lines for k in TOKEN_KINDS)
    assert totals["calls"] == 16 and totals["failed_attempts"] == 0 and totals["cost_basis"] == "estimate"
    assert totals["cache_read_tokens"] > 0  # each act call reads its plan call's cached prefix
    assert list(summary["agents"]) == AGENTS
    for agent, per in summary["agents"].items():
        mine = [ln for ln in lines if ln["agent"] == agent]
        assert Decimal(per["cost_usd"]) == sum((Decimal(ln["cost_usd"]) for ln in mine), Decimal(0))
        assert per["output_tokens"] == sum(ln["output_tokens"] for ln in mine)
    assert sum((Decimal(p["cost_usd"]) for p in summary["agents"].values()), Decimal(0)) == Decimal(
        totals["cost_usd"]
    )


def test_events_arrive_in_a_sane_order(full_run: tuple[RunResult, list[Event]]) -> None:
    result, events = full_run
    types = [e.type for e in events]
    assert types[0] == "run_started" and types[-1] == "run_finished"
    assert types.count("run_started") == 1 and types.count("run_finished") == 1
    assert "run_failed" not in types and "agent_failed" not in types
    assert {e.run_id for e in events} == {result.run_id}
    position = {(e.type, e.agent): i for i, e in enumerate(events)}
    for agent in AGENTS:
        start, finish = position[("agent_started", agent)], position[("agent_finished", agent)]
        assert start < finish, agent
        for dep in DEFAULT_WORKFLOW.steps[agent].after:
            assert position[("agent_finished", dep)] < start, (dep, agent)
    assert Counter(e.agent for e in events if e.type == "call_finished") == dict.fromkeys(AGENTS, 2)
    assert types.count("call_started") == 16
    written = [e for e in events if e.type == "artifact_written"]
    assert len(written) == 9
    for e in written:
        assert (result.run_dir / e.data["path"]).is_file()
        assert position[("agent_finished", e.agent)] > events.index(e)
    assert events[-1].data["totals"]["cost_usd"] == str(result.totals.cost_usd)


def test_run_result_knows_its_run(full_run: tuple[RunResult, list[Event]]) -> None:
    result, _ = full_run
    assert result.ok and result.status == "completed" and result.mode == "simulated"
    assert result.run_dir.is_dir() and result.run_id == result.run_dir.name
    assert len(result.artifacts) == 9 and len(result.calls) == 16
    assert result.totals.to_json() == json.loads((result.run_dir / "summary.json").read_text())["totals"]
    review = result.artifact("review.md")
    assert (
        review.agent == "reviewer"
        and review.content == (result.run_dir / "artifacts/reviewer/review.md").read_text()
    )
    with pytest.raises(KeyError, match=r"architecture\.md"):
        result.artifact("nope.md")
    table = result.table()
    for agent in AGENTS:
        assert agent in table
    assert "total" in table and "simulated" in table and "estimate" in table
    assert f"{result.totals.output_tokens:,}" in table


def test_run_result_load_round_trips(full_run: tuple[RunResult, list[Event]]) -> None:
    result, _ = full_run
    loaded = RunResult.load(result.run_dir)
    assert (loaded.run_dir, loaded.status, loaded.mode, loaded.model) == (
        result.run_dir,
        result.status,
        result.mode,
        result.model,
    )
    assert loaded.summary == result.summary
    assert loaded.calls == result.calls
    assert loaded.project_state == result.project_state
    assert loaded.table() == result.table()


# -- secrets ---------------------------------------------------------------------------------------


def test_no_secret_reaches_the_run_folder(tmp_path: Path) -> None:
    result = run_workflow(REQUEST, mode="simulated", api_key=KEY, output_dir=tmp_path / "runs")
    files = [p for p in result.run_dir.rglob("*") if p.is_file()]
    assert len(files) == len(RUN_FILES) + 9
    for p in files:
        text = p.read_text(encoding="utf-8")
        assert KEY not in text and "FAKE-KEY-FOR-TESTS" not in text and "sk-ant-" not in text, p
    manifest = json.loads((result.run_dir / "manifest.json").read_text())
    assert manifest["key_source"] is None
    assert KEY not in repr(result) and KEY not in result.table()


def test_agent_context_hides_the_key() -> None:
    ctx = AgentContext(
        project_state=ProjectState(request=REQUEST), llm_api_key=KEY, model="claude-sonnet-5-5"
    )
    assert ctx.llm_api_key is not None and ctx.llm_api_key.get_secret_value() == KEY
    shown = [repr(ctx), str(ctx), ctx.model_dump_json(), json.dumps(ctx.model_dump(mode="json")), f"{ctx}"]
    for text in shown:
        assert KEY not in text and "FAKE-KEY" not in text


# -- concurrency -----------------------------------------------------------------------------------


def test_qa_and_documentarian_overlap(tmp_path: Path) -> None:
    events: list[Event] = []
    limiter = ConcurrencyLimiter(4)  # our own: the process-wide one remembers other tests' peaks
    engine = WorkflowEngine(
        backend=SimulatedBackend(latency_s=0.05), limiter=limiter, output_dir=tmp_path / "runs"
    )
    engine.subscribe(events.append)
    engine.run(REQUEST)
    assert limiter.peak >= 2 and limiter.in_flight == 0
    pos = {(e.type, e.agent): i for i, e in enumerate(events)}
    for a, b in (("qa", "documentarian"), ("documentarian", "qa")):
        assert pos[("agent_started", a)] < pos[("agent_finished", b)]


def test_max_concurrency_one_serialises_calls(tmp_path: Path) -> None:
    engine = WorkflowEngine(
        backend=SimulatedBackend(latency_s=0.05), max_concurrency=1, output_dir=tmp_path / "runs"
    )
    assert engine.limiter.max_concurrent == 1
    engine.run(REQUEST)
    assert engine.limiter.peak == 1 and engine.limiter.in_flight == 0


def test_invalid_max_concurrency_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        WorkflowEngine(mode="simulated", max_concurrency=0, output_dir=tmp_path)


# -- the consensus gate ----------------------------------------------------------------------------


def test_consensus_rejection_runs_a_second_design_round(tmp_path: Path) -> None:
    events: list[Event] = []
    result = run_workflow(
        REQUEST,
        mode="simulated",
        simulated_options={"consensus_rejections": 1},
        output_dir=tmp_path / "runs",
        subscribers=[events.append],
    )
    assert result.ok and result.summary is not None
    assert result.summary.design_rounds == 2 and result.summary.consensus_approved is True
    lines = read_jsonl(result.run_dir / "calls.jsonl")
    counts = Counter(ln["agent"] for ln in lines)
    assert counts == {
        "architect": 4,
        "data": 4,
        "consensus": 4,
        "developer": 2,
        "qa": 2,
        "documentarian": 2,
        "reviewer": 2,
        "steward": 2,
    }
    assert len(_ok_hashes(result.run_dir)) == len(set(_ok_hashes(result.run_dir))) == 22
    assert [e.data["round"] for e in events if e.type == "gate_rejected"] == [2]
    assert _started(events)[:7] == [
        "architect",
        "data",
        "consensus",
        "architect",
        "data",
        "consensus",
        "developer",
    ]

    responses = read_jsonl(result.run_dir / "responses.jsonl")

    def of(agent: str, step: str, round_: int) -> list[dict[str, Any]]:
        return [
            r
            for r in responses
            if f"<role>{agent}</role>" in r["request"]["system"][-1]["text"]
            and f"<step>{step}</step>" in r["request"]["messages"][-1]["content"]
            and f"<round>{round_}</round>" in r["request"]["messages"][-1]["content"]
        ]

    (rejection,) = of("consensus", "act", 1)
    reasons = json.loads(rejection["completion"]["text"])["decision"]["reasons"]
    assert reasons and json.loads(rejection["completion"]["text"])["decision"]["approved"] is False
    (round2_plan,) = of("architect", "plan", 2)
    prompt = round2_plan["request"]["messages"][0]["content"]
    for reason in reasons:
        assert reason in prompt
    (round1_plan,) = of("architect", "plan", 1)
    assert not any(reason in round1_plan["request"]["messages"][0]["content"] for reason in reasons)
    # the final decision in the folder is the approval
    assert "APPROVED" in (result.run_dir / "artifacts/consensus/consensus_decision.md").read_text()


def test_gate_that_never_approves_fails_the_run(tmp_path: Path) -> None:
    events: list[Event] = []
    with pytest.raises(RunFailed) as info:
        run_workflow(
            REQUEST,
            mode="simulated",
            simulated_options={"consensus_rejections": 5},
            max_rounds=2,
            output_dir=tmp_path / "runs",
            subscribers=[events.append],
        )
    run_dir = only_run(tmp_path / "runs")
    assert info.value.agent == "consensus"
    assert info.value.run_dir == str(run_dir)
    assert any(str(run_dir) in note for note in info.value.__notes__)
    state = read_state(run_dir)
    assert state["status"] == "failed" and state["error"]["type"] == "RunFailed"
    assert state["steps"]["developer"] == "pending"
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["status"] == "failed" and summary["consensus_approved"] is False
    assert summary["design_rounds"] == 2
    assert Counter(ln["agent"] for ln in read_jsonl(run_dir / "calls.jsonl")) == {
        "architect": 4,
        "data": 4,
        "consensus": 4,
    }
    assert events[-1].type == "run_failed" and "developer" not in _started(events)
    assert not (run_dir / "artifacts" / "developer").exists()


def test_resume_does_not_slip_past_a_failed_gate(tmp_path: Path) -> None:
    with pytest.raises(RunFailed):
        run_workflow(
            REQUEST,
            mode="simulated",
            simulated_options={"consensus_rejections": 5},
            max_rounds=2,
            output_dir=tmp_path / "runs",
        )
    run_dir = only_run(tmp_path / "runs")
    paid_before = read_jsonl(run_dir / "calls.jsonl")
    with pytest.raises(RunFailed):
        resume(run_dir)
    assert read_state(run_dir)["status"] == "failed"
    assert json.loads((run_dir / "summary.json").read_text())["status"] == "failed"
    assert not (run_dir / "artifacts" / "developer").exists()
    assert read_jsonl(run_dir / "calls.jsonl") == paid_before  # the rejection was re-read, not re-bought


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
    assert _started(events) == ["developer", "qa", "documentarian", "reviewer", "steward"]
    ok_hashes = _ok_hashes(run_dir)
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
    assert again.ok and _ok_hashes(run_dir) == ok_hashes


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
    ok = _ok_hashes(run_dir)
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
    ok = _ok_hashes(run_dir)
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


# -- the API surface -------------------------------------------------------------------------------


def test_run_workflow_works_inside_a_running_loop(tmp_path: Path) -> None:
    async def main() -> RunResult:
        asyncio.get_running_loop()  # what Jupyter has
        return run_workflow(REQUEST, mode="simulated", output_dir=tmp_path / "runs")

    assert asyncio.run(main()).ok


def test_arun_workflow(tmp_path: Path) -> None:
    result = asyncio.run(
        arun_workflow(
            REQUEST, mode="simulated", output_dir=tmp_path / "runs", agents=["architect", "developer"]
        )
    )
    assert result.ok and [a.agent for a in result.artifacts] == ["architect", "developer", "developer"]
    assert len(result.calls) == 4


def test_relative_output_dir_is_the_working_directory(tmp_path: Path) -> None:
    result = run_workflow(REQUEST, mode="simulated", agents=["architect"])  # default output_dir "runs"
    assert result.ok
    assert (tmp_path / "runs" / result.run_id / "artifacts" / "architect" / "architecture.md").is_file()


def test_agent_settings_disable_and_instruct(tmp_path: Path) -> None:
    result = run_workflow(
        REQUEST,
        mode="simulated",
        output_dir=tmp_path / "runs",
        agent_settings={
            "documentarian": {"enabled": False},
            "qa": {"extra_instructions": "Focus on malformed rows"},
        },
    )
    assert result.ok
    assert "documentarian" not in {ln.agent for ln in result.calls}
    qa_prompts = [
        r["request"]["messages"][0]["content"]  # the plan turn, which the act call continues
        for r in read_jsonl(result.run_dir / "responses.jsonl")
        if "<role>qa</role>" in r["request"]["system"][-1]["text"]
    ]
    assert len(qa_prompts) == 2 and all("Focus on malformed rows" in p for p in qa_prompts)


def test_empty_request_is_refused_before_any_folder(tmp_path: Path) -> None:
    for bad in ("", "   \n\t"):
        with pytest.raises(ConfigError, match="request is empty"):
            run_workflow(bad, mode="simulated", output_dir=tmp_path / "runs")
    assert not (tmp_path / "runs").exists()
