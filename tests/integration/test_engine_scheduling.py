"""WorkflowEngine scheduling: concurrent steps under the limiter, and the consensus gate's design rounds."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from run_helpers import ok_request_hashes, only_run, read_jsonl, read_state, started_agents

from orchestrator_kit.engine.engine import WorkflowEngine, resume, run_workflow
from orchestrator_kit.engine.events import Event
from orchestrator_kit.errors import ConfigError, RunFailed
from orchestrator_kit.llm.gateway import ConcurrencyLimiter
from orchestrator_kit.llm.simulated import SimulatedBackend
from orchestrator_kit.store.run_folder import read_responses

REQUEST = "Build a CLI that converts CSV to JSON"


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
    assert len(ok_request_hashes(result.run_dir)) == len(set(ok_request_hashes(result.run_dir))) == 22
    assert [e.data["round"] for e in events if e.type == "gate_rejected"] == [2]
    assert started_agents(events)[:7] == [
        "architect",
        "data",
        "consensus",
        "architect",
        "data",
        "consensus",
        "developer",
    ]

    responses = read_responses(result.run_dir / "responses.jsonl")

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
    assert events[-1].type == "run_failed" and "developer" not in started_agents(events)
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
