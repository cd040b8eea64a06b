"""The guide's programmatic usage (script, Jupyter kernel, running loop), determinism across processes,
and record/replay. Split from test_engine.py."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import textwrap
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from run_helpers import artifact_bytes, only_run, read_jsonl, read_state
from subprocesses import clean_env

import orchestrator_kit
from orchestrator_kit.engine.engine import WorkflowEngine, run_workflow
from orchestrator_kit.engine.state_models import AgentContext, PhaseType, ProjectState, TaskDefinition
from orchestrator_kit.errors import ConfigError, ModelRetiredError, ReplayMiss
from orchestrator_kit.llm.pricing import GUIDE_MODEL, ModelRetirementWarning
from orchestrator_kit.records import TOKEN_KINDS

REQUEST = "Build a CLI that converts CSV to JSON"
KEY = "sk-ant-api03-FAKE-KEY-FOR-TESTS-ONLY-0000"


# -- determinism, record and replay ----------------------------------------------------------------


def _cli(*args: str, cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "orchestrator_kit", *args],
        cwd=cwd,
        env=clean_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _finish(proc: subprocess.Popen[str]) -> str:
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    return out


def test_same_request_in_two_processes_gives_identical_artifacts(tmp_path: Path) -> None:
    procs = [
        _cli("run", REQUEST, "--mode", "simulated", "-q", "-o", str(tmp_path / name), cwd=tmp_path)
        for name in ("one", "two")
    ]
    for p in procs:
        _finish(p)
    one, two = only_run(tmp_path / "one"), only_run(tmp_path / "two")
    assert one.name != two.name
    arts = artifact_bytes(one)
    assert len(arts) == 9 and arts == artifact_bytes(two)

    def usage(run_dir: Path) -> list[tuple[Any, ...]]:
        return sorted(
            (ln["agent"], ln["step"], ln["request_hash"], *(ln[k] for k in TOKEN_KINDS), ln["cost_usd"])
            for ln in read_jsonl(run_dir / "calls.jsonl")
        )

    assert usage(one) == usage(two)


def test_replay_in_another_process_is_byte_identical(tmp_path: Path) -> None:
    recorded = run_workflow(REQUEST, mode="simulated", output_dir=tmp_path / "recorded")
    out = _finish(
        _cli(
            "run",
            REQUEST,
            "--mode",
            "replay",
            "--replay-from",
            str(recorded.run_dir),
            "-q",
            "-o",
            str(tmp_path / "replayed"),
            cwd=tmp_path,
        )
    )
    assert "replay" in out
    replayed = only_run(tmp_path / "replayed")
    assert artifact_bytes(replayed) == artifact_bytes(recorded.run_dir)
    lines = read_jsonl(replayed / "calls.jsonl")
    assert len(lines) == 16
    assert {(ln["mode"], ln["cost_basis"]) for ln in lines} == {("replay", "replay")}
    summary = json.loads((replayed / "summary.json").read_text())
    assert summary["mode"] == "replay" and summary["totals"]["cost_basis"] == "replay"
    manifest = json.loads((replayed / "manifest.json").read_text())
    assert manifest["mode"] == "replay" and manifest["replay_from"] == str(recorded.run_dir)
    original = {(ln.agent, ln.step): [getattr(ln, k) for k in TOKEN_KINDS] for ln in recorded.calls}
    assert {(ln["agent"], ln["step"]): [ln[k] for k in TOKEN_KINDS] for ln in lines} == original


def test_replay_of_a_changed_request_shows_a_diff(tmp_path: Path) -> None:
    recorded = run_workflow(REQUEST, mode="simulated", output_dir=tmp_path / "recorded", agents=["architect"])
    changed = REQUEST.replace("JSON", "YAML")
    with pytest.raises(ReplayMiss) as info:
        run_workflow(
            changed,
            mode="replay",
            replay_from=recorded.run_dir,
            output_dir=tmp_path / "replayed",
            agents=["architect"],
        )
    message = str(info.value)
    assert "architect/plan" in message
    assert "nearest recorded" in message and "this request" in message
    diff_lines = message.splitlines()
    assert any(ln.startswith("-") and "JSON" in ln for ln in diff_lines)
    assert any(ln.startswith("+") and "YAML" in ln for ln in diff_lines)
    assert read_state(only_run(tmp_path / "replayed"))["status"] == "failed"


def test_replay_needs_a_recording(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="replay_from"):
        WorkflowEngine(mode="replay", output_dir=tmp_path)
    with pytest.raises(ConfigError, match="no recording"):
        WorkflowEngine(mode="replay", replay_from=tmp_path / "nothing-here", output_dir=tmp_path)


# -- the guide's programmatic usage ----------------------------------------------------------------

SNIPPET = textwrap.dedent("""
    import asyncio, json
    from orchestrator_kit.engine.engine import WorkflowEngine
    from orchestrator_kit.engine.state_models import AgentContext, TaskDefinition, ProjectState, PhaseType
    from orchestrator_kit.agents import create_agent

    project_state = ProjectState(project_name="csv2json", request="Build a CLI that converts CSV to JSON")
    task = TaskDefinition(title="Design", description="Design the converter")
    phase = PhaseType.DESIGN

    # Create agent
    agent = create_agent("architect")

    # Create context with LLM credentials
    context = AgentContext(
        project_state=project_state,
        task=task,
        user_id="user-001",
        llm_api_key=None,
        llm_provider="anthropic",
        model="claude-sonnet-5-5",
    )

    # Initialize and run agent
    agent.initialize(project_state, context)
    plan = agent.plan(task, phase, project_state, context)
    output = agent.act(plan, project_state, context)
    print(json.dumps({"plan": plan.summary, "steps": len(plan.steps), "phase": plan.phase.value,
                      "artifacts": [a.filename for a in output.artifacts],
                      "content": output.artifacts[0].content}))
""")


def _check_snippet_output(stdout: str) -> None:
    data = json.loads(stdout.strip().splitlines()[-1])
    assert data["artifacts"] == ["architecture.md"]
    assert data["phase"] == "design" and data["steps"] > 0
    assert "Build a CLI that converts CSV to JSON" in data["content"]


@pytest.mark.usefixtures("no_key_anywhere")
def test_guide_snippet_runs_in_a_plain_script(tmp_path: Path) -> None:
    script = tmp_path / "snippet.py"
    script.write_text(SNIPPET, encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "-W", "error", str(script)],
        cwd=tmp_path,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    _check_snippet_output(proc.stdout)


@pytest.mark.slow
@pytest.mark.usefixtures("no_key_anywhere")
def test_guide_snippet_runs_in_a_jupyter_kernel(tmp_path: Path) -> None:
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell(
            "import asyncio\nloop = asyncio.get_running_loop()\nprint(loop.is_running())"
        ),
        nbformat.v4.new_code_cell(SNIPPET),
    ]
    client = nbclient.NotebookClient(
        nb,
        timeout=60,
        startup_timeout=60,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},
    )
    client.execute()
    first = "".join(o.get("text", "") for o in nb.cells[0].outputs if o.output_type == "stream")
    assert first.strip() == "True"  # a loop is running where the snippet runs
    out = "".join(o.get("text", "") for o in nb.cells[1].outputs if o.output_type == "stream")
    _check_snippet_output(out)


def test_guide_snippet_in_process_with_a_running_loop() -> None:
    state = ProjectState(project_name="csv2json", request=REQUEST)
    task = TaskDefinition(title="Design")
    context = AgentContext(
        project_state=state, task=task, llm_api_key=None, mode="simulated", model="claude-sonnet-5-5"
    )
    agent = orchestrator_kit.create_agent("developer")
    agent.initialize(state, context)

    async def main() -> list[str]:
        plan = agent.plan(task, PhaseType.IMPLEMENTATION, state, context)
        output = await agent.aact(plan, state, context)
        return [a.filename for a in output.artifacts]

    assert asyncio.run(main()) == ["csv2json.py", "test_csv2json.py"]


def test_guide_model_warns_on_its_last_day_and_is_refused_after(tmp_path: Path) -> None:
    with pytest.warns(ModelRetirementWarning, match="2026-11-30"):
        engine = WorkflowEngine(
            mode="simulated", model=GUIDE_MODEL, output_dir=tmp_path, today=date(2026, 11, 30)
        )
    assert engine.model == GUIDE_MODEL
    for where in ({"model": GUIDE_MODEL}, {"agent_settings": {"qa": {"model": GUIDE_MODEL}}}):
        with pytest.raises(ModelRetiredError, match="claude-sonnet-5-5"):
            WorkflowEngine(mode="simulated", output_dir=tmp_path / "x", today=date(2026, 12, 1), **where)
    assert not (tmp_path / "x").exists()  # refused before any run folder or call


def test_guide_model_is_refused_in_the_guide_snippet() -> None:
    state = ProjectState(request=REQUEST)
    context = AgentContext(
        project_state=state,
        task=TaskDefinition(),
        user_id="user-001",
        llm_api_key=None,
        llm_provider="anthropic",
        model=GUIDE_MODEL,
        mode="simulated",
    )
    agent = orchestrator_kit.create_agent("architect")
    agent.initialize(state, context)
    # the real clock: 2026-11-30 was the model's last day
    with pytest.raises(ModelRetiredError, match="Use claude-sonnet-5-5"):
        agent.plan(TaskDefinition(), PhaseType.DESIGN, state, context)


def test_unknown_provider_is_refused_with_the_supported_one() -> None:
    from orchestrator_kit.agents import create_agent

    state = ProjectState(project_name="x", request=REQUEST)
    task = TaskDefinition(title="x", description=REQUEST)
    ctx = AgentContext(project_state=state, task=task, llm_provider="openai")
    with pytest.raises(ConfigError, match="anthropic"):
        create_agent("architect").plan(task, PhaseType.DESIGN, state, ctx)
