"""Engine work done once instead of again and again (issue #12, aim 2). Each shortcut must give exactly
what the slower path gave."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from orchestrator_kit.engine import budget, estimate, gates
from orchestrator_kit.engine import engine as engine_module
from orchestrator_kit.engine.budget import Budget, BudgetTracker
from orchestrator_kit.engine.engine import WorkflowEngine
from orchestrator_kit.engine.estimate import _MEMO, estimate_run
from orchestrator_kit.engine.workflow import Workflow
from orchestrator_kit.llm.simulated import SimulatedBackend
from orchestrator_kit.llm.tokens import estimate_tokens, text_counts, tokens_from_counts
from orchestrator_kit.llm.types import LLMRequest, Message, SystemBlock
from orchestrator_kit.store import run_folder

TEXTS = st.text(alphabet=st.characters(blacklist_categories=["Cs"]) | st.sampled_from("\n\t ,.{}[]"))


@given(st.lists(TEXTS, max_size=6))
def test_counts_of_parts_give_the_estimate_of_the_joined_text(parts: list[str]) -> None:
    n = max(len(parts) - 1, 0) + sum(text_counts(p)[0] for p in parts)
    m = sum(text_counts(p)[1] for p in parts)
    assert tokens_from_counts(n, m) == estimate_tokens("\n".join(parts))


class _Naive:
    """The figures the estimate used before: every block and every whole prompt counted afresh."""

    def tokens(self, text: str) -> int:
        return estimate_tokens(text)

    def prompt_tokens(self, request: LLMRequest) -> int:
        return estimate_tokens(request.prompt_text())


CASES: list[dict[str, Any]] = [
    {"request": "Build a CLI that converts CSV files to JSON"},
    {"request": "x", "cache_ttl": None},
    {"request": "日本語の要求 {json} " * 300, "cache_ttl": "1h", "project_name": "Ünïcode"},
    {"request": "short", "agents": ["architect", "developer", "qa"]},
    {
        "request": "with settings",
        "agent_settings": {"qa": {"max_tokens": 900, "extra_instructions": "Be brief; {a: [1]}"}},
    },
]


@pytest.mark.parametrize("case", CASES)
def test_the_estimate_counts_each_text_once_with_the_same_figures(
    case: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    _MEMO.clear()
    counted: list[str] = []
    real = estimate.text_counts

    def counting(text: str) -> tuple[int, int]:
        counted.append(text)
        return real(text)

    monkeypatch.setattr(estimate, "text_counts", counting)
    fast = estimate_run(**case).to_dict()
    assert counted and len(counted) == len(set(counted))  # no text counted twice
    _MEMO.clear()
    monkeypatch.setattr(estimate, "_Counts", _Naive)
    assert estimate_run(**case).to_dict() == fast
    _MEMO.clear()


REQUEST = "Build a CLI that converts CSV files to JSON"


def test_events_nobody_hears_are_not_built(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    built: list[str] = []
    real = engine_module.Event

    def counting(type_: str, *args: Any, **kwargs: Any) -> Any:
        built.append(type_)
        return real(type_, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(engine_module, "Event", counting)
    engine = WorkflowEngine(mode="simulated", output_dir=tmp_path)
    heard: list[Any] = []
    engine.subscribe(heard.append, types=["agent_finished"])
    engine.run(REQUEST)
    assert set(built) == {"agent_finished"}  # not run_started, agent_started, artifact_written
    assert [e.agent for e in heard] == list(engine.workflow.order())


def test_the_output_folder_is_checked_once_per_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    checked: list[Path] = []
    real = run_folder.check_output_root

    def counting(root: Path) -> Path:
        checked.append(root)
        return real(root)

    monkeypatch.setattr(run_folder, "check_output_root", counting)
    WorkflowEngine(mode="simulated", output_dir=tmp_path / "runs").run(REQUEST)
    assert checked == [tmp_path / "runs"]


@pytest.mark.parametrize("run_budget", [Budget.of("5", None), Budget.of(None, None)])
def test_a_prompt_is_estimated_once_for_the_run_budget_and_the_sweep_budget(
    run_budget: Budget, monkeypatch: pytest.MonkeyPatch
) -> None:
    counted: list[str] = []
    real = budget.estimate_tokens

    def counting(text: str) -> int:
        counted.append(text)
        return real(text)

    monkeypatch.setattr(budget, "estimate_tokens", counting)
    sweep = BudgetTracker(Budget.of("10", 10**9))
    run = BudgetTracker(run_budget, parent=sweep)
    request = LLMRequest(
        model="claude-sonnet-5-5",
        system=(SystemBlock(text="S" * 400),),
        messages=(Message(role="user", content="hi"),),
        max_tokens=50,
    )
    run.check(request)
    assert len(counted) == 1
    assert sweep.reserved_tokens == real(request.prompt_text()) + 50  # the parent held the same worst case
    run.release(request)
    assert sweep.reserved_tokens == 0 and run.reserved_tokens == 0


def test_only_steps_that_can_run_together_get_a_task_of_their_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tasked: list[str] = []
    real = asyncio.create_task

    def counting(coro: Any, **kwargs: Any) -> Any:
        if getattr(coro, "__name__", "") == "_run_step":
            tasked.append(coro.cr_frame.f_locals["agent_id"])
        return real(coro, **kwargs)

    monkeypatch.setattr(asyncio, "create_task", counting)
    result = WorkflowEngine(mode="simulated", output_dir=tmp_path).run(REQUEST)
    assert result.ok and len(result.project_state.completed_agents) == 8
    assert sorted(tasked) == ["documentarian", "qa"]  # the one fork of the default workflow


def test_a_step_failing_alone_stops_the_run_like_a_step_failing_in_a_task(tmp_path: Path) -> None:
    class Broken(SimulatedBackend):
        async def complete(self, request: LLMRequest, *, on_delta: Any = None) -> Any:
            if request.labels.agent == "data":
                raise ValueError("the data agent's model is down")
            return await super().complete(request)

    engine = WorkflowEngine(backend=Broken(), output_dir=tmp_path / "runs")
    events: list[Any] = []
    engine.subscribe(events.append, types=["agent_failed", "run_failed"])
    with pytest.raises(Exception, match="the data agent's model is down"):
        engine.run(REQUEST)
    assert [(e.type, e.agent) for e in events] == [("agent_failed", "data"), ("run_failed", None)]
    state = json.loads((next((tmp_path / "runs").iterdir()) / "state.json").read_text())
    assert state["status"] == "failed" and state["steps"]["architect"] == "done"
    assert state["steps"]["data"] == "failed" and state["steps"]["consensus"] == "pending"


def test_a_completed_run_is_checkpointed_once_after_its_last_step(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each step is followed by a checkpoint; after the last one, the run's ending is that checkpoint
    (the same state, with status completed, written with nothing awaited in between). A fresh run has no
    human decisions: its summary says so without reading a decisions file."""
    saved: list[tuple[str, dict[str, str]]] = []
    real_save = run_folder.RunFolder.save_state

    def spy(self: run_folder.RunFolder, state: dict[str, Any]) -> None:
        saved.append((state["status"], dict(state["steps"])))
        real_save(self, state)

    def no_reads(path: Path) -> Any:
        pytest.fail(f"read {path.name}")

    monkeypatch.setattr(run_folder.RunFolder, "save_state", spy)
    monkeypatch.setattr(gates, "read_jsonl", no_reads)
    result = WorkflowEngine(mode="simulated", output_dir=tmp_path).run(REQUEST)
    order = list(result.project_state.completed_agents)
    assert [status for status, _ in saved] == ["running"] * len(order) + ["completed"]
    assert saved[-2][1] == {a: ("done" if a in order[:-1] else "pending") for a in order}
    assert set(saved[-1][1].values()) == {"done"}
    assert result.summary.human_decisions == 0 and result.summary.waiting_s == 0.0
    assert run_folder.RunFolder(result.run_dir).load_state()["status"] == "completed"  # type: ignore[index]


def test_a_runs_manifest_estimates_the_engines_workflow_as_it_is(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = WorkflowEngine(mode="simulated", output_dir=tmp_path, agents=["architect", "developer", "qa"])
    subsets: list[Any] = []
    real = Workflow.subset

    def counting(self: Workflow, *args: Any, **kwargs: Any) -> Workflow:
        subsets.append(args)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Workflow, "subset", counting)
    estimate = engine.manifest(REQUEST, "p")["estimate"]
    assert subsets == []  # the engine's workflow is already the subset it runs
    assert [r["agent"] for r in estimate["agents"]] == ["architect", "developer", "qa"]
    assert (
        estimate_run(REQUEST, agents=["architect", "developer", "qa"], project_name="p").to_dict() == estimate
    )


def test_the_estimate_memo_tells_every_input_apart() -> None:
    """The memo (per request text and settings) never serves one run's estimate to another."""
    from orchestrator_kit.records import AgentSettings

    _MEMO.clear()
    base = estimate_run(REQUEST).to_dict()
    variants: list[dict[str, Any]] = [
        {"agent_settings": {"qa": AgentSettings(max_tokens=900)}},
        {"agent_settings": {"qa": AgentSettings(model="claude-haiku-4-5")}},
        {"agent_settings": {"qa": AgentSettings(enabled=False)}},
        {"agents": ["architect", "developer"]},
        {"model": "claude-haiku-4-5"},
        {"cache_ttl": None},
        {"project_name": "Other"},
    ]
    for kw in variants:
        fresh = estimate_run(REQUEST, **kw).to_dict()
        _MEMO.clear()
        assert estimate_run(REQUEST, **kw).to_dict() == fresh  # the memo's answer is the computed one
        assert estimate_run(REQUEST).to_dict() == base
        assert fresh != base, kw
    # the same settings in new objects hit the memo; to_dict gives each caller its own dicts
    one = estimate_run(REQUEST, agent_settings={"qa": AgentSettings(max_tokens=900)})
    assert estimate_run(REQUEST, agent_settings={"qa": {"max_tokens": 900}}) is one
    assert one.to_dict()["agents"][0] is not one.to_dict()["agents"][0]
    _MEMO.clear()
