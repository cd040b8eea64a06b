"""An artifact cut off at max_tokens twice (answer and continuation) is visible everywhere a reader
looks: summary.json, the CLI table, RunResult.table(), the notebook tables and the HTML report."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from orchestrator_kit import cli
from orchestrator_kit.engine.result import RunResult
from orchestrator_kit.report import export, load_runs, tables
from orchestrator_kit.testing import FakeAnthropicServer, simulated_responder

KEY = "sk-ant-test-fake"
REQUEST = "Build a CLI that converts CSV files to JSON with validation"
CUT = "architect/architecture.md"


def _cut_architect_act() -> Any:
    inner = simulated_responder()

    def respond(body: dict[str, Any]) -> Any:
        full = inner(body)
        # the act call continues the plan conversation (3 turns); its continuation has 5
        turns = body["messages"]
        asked = turns[2]["content"] if len(turns) >= 3 else ""
        asked = asked if isinstance(asked, str) else json.dumps(asked)
        if "<step>act</step>" in asked and "<role>architect" in json.dumps(body["system"]):
            text = full[: len(full) * 2 // 3] if len(turns) == 3 else " more"
            return {"content": [{"type": "text", "text": text}], "stop_reason": "max_tokens"}
        return full

    return respond


@pytest.fixture(scope="module")
def cut_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One real-mode CLI run (the real SDK against the fake server) whose architect is cut off twice."""
    tmp = tmp_path_factory.mktemp("truncated")
    with FakeAnthropicServer(responder=_cut_architect_act(), require_key=KEY) as srv:
        mp = pytest.MonkeyPatch()
        try:
            mp.setenv("ANTHROPIC_API_KEY", KEY)
            mp.setenv("ANTHROPIC_BASE_URL", srv.base_url)
            capture = tmp / "stdout.txt"
            import contextlib

            with capture.open("w") as out, contextlib.redirect_stdout(out):
                code = cli.main(
                    [
                        "run",
                        REQUEST,
                        "--mode",
                        "real",
                        "-q",
                        "--agents",
                        "architect,developer",
                        "-o",
                        str(tmp),
                    ]
                )
        finally:
            mp.undo()
    (run,) = [p for p in tmp.iterdir() if p.is_dir()]
    return {"code": code, "stdout": capture.read_text(), "run": run}


def test_cli_table_says_which_artifact_was_cut(cut_run: dict[str, Any]) -> None:
    assert cut_run["code"] == 0  # the run completed; what it holds is flagged, not hidden
    out = cut_run["stdout"]
    assert f"TRUNCATED: 1 artifact cut off at max_tokens, content incomplete: {CUT}" in out
    assert "developer/" not in out.split("TRUNCATED", 1)[1]


def test_summary_json_counts_and_names_truncated_artifacts(cut_run: dict[str, Any]) -> None:
    summary = json.loads((cut_run["run"] / "summary.json").read_text())
    assert summary["artifacts_truncated"] == 1
    assert summary["truncated_artifacts"] == [CUT]
    # how the parser closed the cut-off answer, with the run (the real SDK's path, not only simulated)
    notes = summary["repair_notes"]["architect"]
    assert notes and all(n.startswith("act: truncated: ") for n in notes)
    assert summary["repairs"] == len(notes) and "developer" not in summary["repair_notes"]


def test_run_result_reloaded_shows_it(cut_run: dict[str, Any]) -> None:
    result = RunResult.load(cut_run["run"])
    assert result.truncated_artifacts == [CUT]
    assert "TRUNCATED: 1 artifact" in result.table()


def test_notebook_tables_show_it(cut_run: dict[str, Any]) -> None:
    runs = load_runs(cut_run["run"])
    tabs = export.standard_tables(runs)
    arts = tabs["artifacts"].set_index("filename")
    assert bool(arts.loc["architecture.md", "truncated"]) is True
    assert not arts.drop(index="architecture.md")["truncated"].any()
    assert "TRUNCATED" in tables.styled(tabs["artifacts"]).to_html()
    assert tabs["runs"]["truncated_artifacts"].tolist() == [1]
    assert (
        f"TRUNCATED: 1 artifact cut off at max_tokens, content incomplete: {runs.runs['run_id'][0]} {CUT}"
        in (runs.describe())
    )


def test_simulated_run_without_truncation_says_nothing(tmp_path: Path) -> None:
    from orchestrator_kit.engine.engine import WorkflowEngine

    result = WorkflowEngine(mode="simulated", agents=["architect"], output_dir=tmp_path).run(REQUEST)
    assert "TRUNCATED" not in result.table()
    assert result.summary is not None
    assert result.summary.artifacts_truncated == 0 and result.summary.truncated_artifacts == []
    runs = load_runs(result.run_dir)
    assert "TRUNCATED" not in runs.describe() and runs.runs["truncated_artifacts"].tolist() == [0]


@pytest.mark.slow
def test_html_report_shows_it(cut_run: dict[str, Any], tmp_path: Path) -> None:
    from orchestrator_kit.report.html import build_report

    text = build_report(cut_run["run"], tmp_path / "report.html").read_text(encoding="utf-8")
    assert "TRUNCATED: 1 artifact cut off at max_tokens" in text and CUT in text
    assert ">Truncated</th>" in text  # the runs table's column
    assert re.search(r"<div class=\"v\">1</div><div class=\"k\">truncated artifacts", text)  # the headline
