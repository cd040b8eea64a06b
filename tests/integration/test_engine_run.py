"""WorkflowEngine end to end in simulated mode: the run folder, ledger, summary, events and result of one
full run; no secret in the run folder; the API surface (run_workflow, arun_workflow, output folders).
(The guide snippet, determinism and replay are in test_guide_and_replay.py.)"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from decimal import Decimal
from pathlib import Path

import pytest
from run_helpers import artifact_bytes, read_jsonl, read_state

from orchestrator_kit.engine.engine import arun_workflow, run_workflow
from orchestrator_kit.engine.events import Event
from orchestrator_kit.engine.result import RunResult
from orchestrator_kit.engine.state_models import AgentContext, ProjectState
from orchestrator_kit.engine.workflow import DEFAULT_WORKFLOW
from orchestrator_kit.errors import ConfigError
from orchestrator_kit.records import TOKEN_KINDS
from orchestrator_kit.store.run_folder import read_responses

REQUEST = "Build a CLI that converts CSV to JSON"
AGENTS = DEFAULT_WORKFLOW.order()
KEY = "sk-ant-api03-FAKE-KEY-FOR-TESTS-ONLY-0000"
RUN_FILES = {"manifest.json", "state.json", "calls.jsonl", "responses.jsonl", "summary.json"}


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
        for r in read_responses(result.run_dir / "responses.jsonl")
        if "<role>qa</role>" in r["request"]["system"][-1]["text"]
    ]
    assert len(qa_prompts) == 2 and all("Focus on malformed rows" in p for p in qa_prompts)


def test_empty_request_is_refused_before_any_folder(tmp_path: Path) -> None:
    for bad in ("", "   \n\t"):
        with pytest.raises(ConfigError, match="request is empty"):
            run_workflow(bad, mode="simulated", output_dir=tmp_path / "runs")
    assert not (tmp_path / "runs").exists()
