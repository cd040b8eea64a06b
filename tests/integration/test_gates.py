"""Human gates: a run pauses durably, a decision (possibly from another process) resumes it, no call repaid."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import orchestrator_kit as ok
from orchestrator_kit.engine.gates import pending_gate
from orchestrator_kit.engine.workflow import DEFAULT_WORKFLOW, Gate, Workflow
from orchestrator_kit.errors import ConfigError

REQUEST = "a tool that converts CSV files to JSON"


def _ok_hashes(run_dir: Path) -> list[str]:
    lines = [json.loads(x) for x in (run_dir / "calls.jsonl").read_text().splitlines() if x.strip()]
    return [ln["request_hash"] for ln in lines if ln["status"] == "ok"]


def _calls_by_agent(run_dir: Path) -> dict[str, int]:
    out: dict[str, int] = {}
    for ln in (run_dir / "calls.jsonl").read_text().splitlines():
        agent = json.loads(ln)["agent"]
        out[agent] = out.get(agent, 0) + 1
    return out


def _run(tmp_path: Path, **kw: object) -> ok.RunResult:
    return ok.run_workflow(REQUEST, mode="simulated", output_dir=tmp_path / "runs", **kw)  # type: ignore[arg-type]


def test_the_default_workflow_keeps_the_model_gate() -> None:
    gate = DEFAULT_WORKFLOW.steps["consensus"].gate
    assert gate is not None and gate.policy == "model" and not gate.human
    with pytest.raises(ConfigError, match="unknown gate policy"):
        Gate(policy="committee")


def test_human_gate_pauses_without_asking_the_consensus_agent(tmp_path: Path) -> None:
    events: list[ok.engine.Event] = []  # type: ignore[name-defined]
    result = _run(tmp_path, gate_policy="human", subscribers=[events.append])
    assert result.status == "awaiting_approval"
    assert _calls_by_agent(result.run_dir) == {"architect": 2, "data": 2}  # consensus never called
    gate = pending_gate(result.run_dir)
    assert gate is not None and gate.step == "consensus" and gate.proposal is None
    assert gate.under_review == ["architect/architecture.md", "data/data_pipeline.md"]
    waiting = [e for e in events if e.type == "run_waiting"]
    assert len(waiting) == 1 and waiting[0].data["under_review"] == gate.under_review
    assert json.loads((result.run_dir / "state.json").read_text())["status"] == "awaiting_approval"
    with pytest.raises(ConfigError, match="waiting for a decision at gate consensus"):
        ok.resume(result.run_dir)


def test_decision_from_another_process_resumes_without_repaying(tmp_path: Path) -> None:
    result = _run(tmp_path, gate_policy="model+human")
    gate = pending_gate(result.run_dir)
    assert gate is not None and gate.proposal is not None and gate.proposal["approved"] is True
    before = _ok_hashes(result.run_dir)
    proc = subprocess.run(
        [sys.executable, "-m", "orchestrator_kit", "decide", str(result.run_dir), "approve", "--by", "alice"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    after = _ok_hashes(result.run_dir)
    assert after[: len(before)] == before and len(set(after)) == len(after)  # nothing paid twice
    done = ok.RunResult.load(result.run_dir)
    assert done.status == "completed" and done.summary is not None and done.summary.human_decisions == 1
    decision = json.loads((result.run_dir / "decisions.jsonl").read_text())
    assert decision["action"] == "approve" and decision["by"] == "alice" and decision["waited_s"] >= 0


def test_revise_goes_back_to_the_architect_and_counts_rounds(tmp_path: Path) -> None:
    result = _run(tmp_path, gate_policy="human", max_rounds=2)
    again = ok.decide(result.run_dir, "revise", reasons=["stream large files"], by="bob")
    assert again.status == "awaiting_approval"
    assert _calls_by_agent(again.run_dir) == {"architect": 4, "data": 4}
    assert again.project_state.feedback["architect"] == ["stream large files"]
    state_before = (again.run_dir / "state.json").read_bytes()
    with pytest.raises(ConfigError, match="no design rounds left"):
        ok.decide(again.run_dir, "revise", reasons=["more"])
    assert (again.run_dir / "state.json").read_bytes() == state_before
    done = ok.decide(again.run_dir, "approve")
    assert done.status == "completed" and done.summary is not None and done.summary.design_rounds == 2
    assert len(set(_ok_hashes(done.run_dir))) == len(_ok_hashes(done.run_dir))


def test_edit_replaces_the_artifact_and_records_the_diff(tmp_path: Path) -> None:
    result = _run(tmp_path, gate_policy="human")
    text = "# Architecture (edited)\n\nOne module, csv2json.py, reading stdin.\n"
    done = ok.decide(result.run_dir, "edit", edits={"architect/architecture.md": text}, by="carol")
    assert done.status == "completed"
    assert (done.run_dir / "artifacts" / "architect" / "architecture.md").read_text() == text
    record = json.loads((done.run_dir / "decisions.jsonl").read_text())
    assert (
        record["by"] == "carol" and "+# Architecture (edited)" in record["edits"]["architect/architecture.md"]
    )
    manifest = json.loads((done.run_dir / "manifest.json").read_text())
    assert manifest["human_edits"][0]["artifact"] == "architect/architecture.md"
    assert _calls_by_agent(done.run_dir)["developer"] == 2  # the developer ran on the edited design
    assert done.project_state.artifacts["architect"][0].content == text


@pytest.mark.parametrize(
    ("action", "kw", "message"),
    [
        ("revise", {}, "needs at least one reason"),
        ("revise", {"reasons": ["   "]}, "needs at least one reason"),
        ("edit", {}, "needs the edited artifact"),
        ("edit", {"edits": {"architect/architecture.md": "  \n"}}, "is empty"),
        ("edit", {"edits": {"developer/x.py": "x = 1"}}, "not under review"),
        ("budget", {"budget_usd": 5}, "is not waiting for|waits at gate"),
        ("maybe", {}, "unknown decision"),
    ],
)
def test_bad_decisions_change_nothing(tmp_path: Path, action: str, kw: dict, message: str) -> None:
    result = _run(tmp_path, gate_policy="human")
    state = (result.run_dir / "state.json").read_bytes()
    with pytest.raises(ConfigError, match=message):
        ok.decide(result.run_dir, action, **kw)
    assert (result.run_dir / "state.json").read_bytes() == state
    assert not (result.run_dir / "decisions.jsonl").exists()
    assert pending_gate(result.run_dir) is not None


def test_a_decision_on_a_run_that_is_not_waiting_is_refused(tmp_path: Path) -> None:
    result = _run(tmp_path, agents=["architect"])
    with pytest.raises(ConfigError, match="is not waiting for a decision"):
        ok.decide(result.run_dir, "approve")


def test_budget_as_a_gate(tmp_path: Path) -> None:
    result = _run(tmp_path, budget_usd=0.08, on_budget="pause")
    assert result.status == "awaiting_budget"
    gate = pending_gate(result.run_dir)
    assert gate is not None and gate.kind == "budget"
    before = _ok_hashes(result.run_dir)
    assert 0 < len(before) < 16  # some calls were paid before the pause, not all
    with pytest.raises(ConfigError, match="must be more than"):
        ok.decide(result.run_dir, "budget", budget_usd="0.001")
    with pytest.raises(ConfigError, match="waits for more budget"):
        ok.decide(result.run_dir, "approve")
    done = ok.decide(result.run_dir, "budget", budget_usd="5")
    assert done.status == "completed"
    after = _ok_hashes(done.run_dir)
    assert after[: len(before)] == before and len(set(after)) == len(after)
    assert json.loads((done.run_dir / "manifest.json").read_text())["budget"]["max_usd"] == "5"


def test_any_step_can_be_a_human_gate(tmp_path: Path) -> None:
    wf = DEFAULT_WORKFLOW.with_gate_policy("human", steps=["developer"])
    assert wf.steps["developer"].gate == Gate(send_back_to="developer", max_rounds=3, policy="human")
    assert wf.steps["consensus"].gate is not None and wf.steps["consensus"].gate.policy == "model"
    result = _run(tmp_path, workflow=wf, agents=["architect", "developer", "reviewer"])
    gate = pending_gate(result.run_dir)
    assert gate is not None and gate.step == "developer"
    assert all(p.startswith("developer/") for p in gate.under_review) and gate.under_review
    again = ok.decide(result.run_dir, "revise", reasons=["add type hints"])
    assert again.status == "awaiting_approval" and _calls_by_agent(again.run_dir)["developer"] == 4
    assert ok.decide(again.run_dir, "approve").status == "completed"


def test_workflow_round_trips_the_policy() -> None:
    wf = DEFAULT_WORKFLOW.with_gate_policy("model+human")
    assert Workflow.from_dict(wf.to_dict()) == wf


def test_cli_gate_decide_and_runs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from orchestrator_kit.cli import main

    runs = tmp_path / "runs"
    assert main(["run", REQUEST, "--mode", "simulated", "--gate", "human", "-o", str(runs), "-q"]) == 0
    err = capsys.readouterr().err
    assert "waiting at gate 'consensus'" in err and "orchestrator-kit decide" in err
    run_dir = next(runs.iterdir())
    assert main(["runs", str(runs)]) == 0
    out = capsys.readouterr().out
    assert "awaiting_approval" in out and "1 run(s) wait for a decision" in out
    edited = tmp_path / "architecture.md"
    edited.write_text("# Mine\n")
    assert main(["decide", str(run_dir), "edit", str(tmp_path / "missing.md")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["decide", str(run_dir), "edit", str(edited), "--by", "dana"]) == 0
    assert ok.RunResult.load(run_dir).status == "completed"
