"""A project request or name that is not valid Unicode text (a lone surrogate: an unpaired JSON
``\\ud800`` escape, or argv bytes that are not UTF-8) is refused up front with a clear error, in the
engine, the estimate, the CLI and the server, instead of a UnicodeEncodeError from deep inside a run."""

from __future__ import annotations

from pathlib import Path

import pytest
from subprocesses import run_cli

from orchestrator_kit.engine.engine import WorkflowEngine
from orchestrator_kit.engine.estimate import estimate_run
from orchestrator_kit.errors import ConfigError
from orchestrator_kit.records import ProjectState, request_problem, text_problem

LONE = "a CSV tool \ud800 for teams"


def test_text_problem_names_the_surrogate_and_where_it_is() -> None:
    assert text_problem("plain text, accents é and emoji 🙂") is None
    problem = text_problem(LONE)
    assert problem is not None and "U+D800" in problem and "character 11" in problem
    assert request_problem("  ") is not None and "empty" in str(request_problem("  "))
    name = "name \udcff"
    assert request_problem("fine", name) == f"the project name {text_problem(name)}"


@pytest.mark.parametrize(("request_text", "name"), [(LONE, "CSV tool"), ("a CSV tool", "CSV \udcff tool")])
def test_the_engine_refuses_it_before_writing_anything(tmp_path: Path, request_text: str, name: str) -> None:
    engine = WorkflowEngine(output_dir=tmp_path / "runs")
    with pytest.raises(ConfigError, match="lone surrogate"):
        engine.run(request_text, project_name=name)
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())
    with pytest.raises(ConfigError, match="lone surrogate"):
        estimate_run(request_text, project_name=name)
    with pytest.raises(ValueError, match="lone surrogate"):
        ProjectState(request=request_text, project_name=name)


def test_the_cli_says_what_is_wrong_with_undecodable_argv(tmp_path: Path) -> None:
    # b"\xff" in argv is not UTF-8: Python hands it over as the lone surrogate U+DCFF.
    r = run_cli("run", "-q", "-o", str(tmp_path / "runs"), "a CSV tool \udcff", cwd=tmp_path)
    assert r.returncode == 2, r.stderr
    assert "the project request holds a lone surrogate (U+DCFF)" in r.stderr
    assert "Traceback" not in r.stderr
