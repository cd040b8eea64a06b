"""What the parser had to repair in an agent's answers (plan and act) is kept with the run: in its checkpointed
state (so a resume keeps it), the ``agent_finished`` event, summary.json, ``RunResult.table()`` and the report's
run table; a ParseError names the agent and the step whose answer could not be read."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from fault_backends import OddAnswers, as_fenced_files, as_text_plan
from run_helpers import only_run, read_state

from orchestrator_kit.engine.engine import WorkflowEngine, run_workflow
from orchestrator_kit.engine.events import Event
from orchestrator_kit.engine.result import RunResult
from orchestrator_kit.errors import ParseError
from orchestrator_kit.report import load_runs

REQUEST = "Build a CLI that converts CSV files to JSON with validation"
AGENTS = ["architect", "developer"]
V0 = Path(__file__).parents[1] / "fixtures" / "runs_v0"


def _odd_architect() -> OddAnswers:
    return OddAnswers({"architect/plan": as_text_plan, "architect/act": as_fenced_files})


def _architect_notes(notes: list[str]) -> None:
    assert "plan: read a plain-text numbered or bulleted plan" in notes
    assert any(n.startswith("act: read ") and n.endswith(" file(s) from fenced code blocks") for n in notes)


def test_repair_notes_are_kept_in_state_event_summary_and_tables(tmp_path: Path) -> None:
    events: list[Event] = []
    result = run_workflow(
        REQUEST, agents=AGENTS, backend=_odd_architect(), output_dir=tmp_path, subscribers=[events.append]
    )
    assert result.ok
    notes = result.project_state.repairs["architect"]
    _architect_notes(notes)
    assert "developer" not in result.project_state.repairs  # a clean answer leaves no entry

    finished = {e.agent: e.data for e in events if e.type == "agent_finished"}
    assert finished["architect"]["repairs"] == notes
    assert finished["developer"]["repairs"] == []

    run_dir = only_run(tmp_path)
    assert read_state(run_dir)["project_state"]["repairs"] == {"architect": notes}
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["repairs"] == len(notes)
    assert summary["repair_notes"] == {"architect": notes}

    loaded = RunResult.load(run_dir)
    assert loaded.project_state.repairs == {"architect": notes}
    table = loaded.table()
    assert f"REPAIRED: {len(notes)} repair" in table and "architect: " + "; ".join(notes) in table
    assert "developer:" not in table.split("REPAIRED", 1)[1]
    rows = {line.split()[0]: line.split() for line in table.splitlines()[2:] if line[:1].isalpha()}
    assert table.split()[:2] == ["agent", "artifacts"] and table.splitlines()[0].split()[-1] == "repairs"
    assert rows["architect"][-1] == str(len(notes)) and rows["developer"][-1] == "0"
    assert rows["total"][-1] == str(len(notes))
    runs = load_runs(tmp_path).runs
    assert runs["repairs"].tolist() == [len(notes)]


def test_a_parse_error_names_agent_and_step_and_resume_keeps_earlier_notes(tmp_path: Path) -> None:
    def nothing(_: str) -> str:
        return "no files today, sorry"

    backend = OddAnswers({**_odd_architect().rewrite, "developer/act": nothing, "developer/reask": nothing})
    with pytest.raises(ParseError) as info:
        run_workflow(REQUEST, agents=AGENTS, backend=backend, output_dir=tmp_path)
    message = str(info.value)
    assert message.startswith("developer act: ")  # the agent and the step, then the parser's reason
    assert info.value.agent == "developer" and info.value.step == "act"

    run_dir = only_run(tmp_path)
    state = read_state(run_dir)
    assert state["status"] == "failed" and state["error"]["message"] == message
    kept = state["project_state"]["repairs"]["architect"]
    _architect_notes(kept)

    result = WorkflowEngine.for_resume(run_dir, backend=OddAnswers({})).resume(run_dir)
    assert result.ok
    assert result.project_state.repairs == {"architect": kept}  # the architect did not run again
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["repair_notes"] == {"architect": kept}


def test_a_run_folder_without_repairs_still_loads(tmp_path: Path) -> None:
    root = tmp_path / "runs"
    shutil.copytree(V0, root)
    (run_dir,) = root.iterdir()
    result = RunResult.load(run_dir)
    assert result.project_state.repairs == {}
    assert "REPAIRED" not in result.table()
    assert load_runs(root).runs["repairs"].tolist() == [0]


def test_a_plan_read_with_repairs_says_so(tmp_path: Path) -> None:
    """The plan itself carries its notes (a guide's custom engine or a notebook reads plans too)."""
    from orchestrator_kit.agents.factory import create_agent
    from orchestrator_kit.llm.gateway import Gateway
    from orchestrator_kit.records import AgentContext, ProjectState, TaskDefinition

    state = ProjectState(request=REQUEST)
    task = TaskDefinition(description=REQUEST)
    ctx: Any = AgentContext(project_state=state, task=task, gateway=Gateway(_odd_architect()))
    agent = create_agent("architect")
    plan = agent.plan(task, None, state, ctx)
    assert plan.repairs == ["read a plain-text numbered or bulleted plan"]
    assert plan.truncated is False


def test_an_agent_run_again_keeps_only_its_latest_notes(tmp_path: Path) -> None:
    """The consensus gate sends the design back: the architect's clean second answer leaves no notes behind
    (its notes describe the artifacts it now has), while the first round's event told of them."""
    answers = 0

    def odd_once(text: str) -> str:
        nonlocal answers
        answers += 1
        return as_fenced_files(text) if answers == 1 else text

    events: list[Event] = []
    backend = OddAnswers({"architect/act": odd_once}, consensus_rejections=1)
    result = run_workflow(
        REQUEST,
        agents=["architect", "data", "consensus"],
        backend=backend,
        output_dir=tmp_path,
        subscribers=[events.append],
    )
    assert result.ok and result.project_state.design_round == 2
    told = [e.data["repairs"] for e in events if e.type == "agent_finished" and e.agent == "architect"]
    assert len(told) == 2 and told[0] and told[1] == []
    assert "architect" not in result.project_state.repairs
    assert json.loads((only_run(tmp_path) / "summary.json").read_text())["repairs"] == 0
