"""The keywords of ``run_sweep`` and ``resume_sweep`` are typed once (``SweepOptions``, and
``NewSweepOptions`` for what only a new sweep sets), as ``BackendOptions`` is for the engine: a misspelt
keyword is still refused at run time, before anything is written, and by mypy."""

from __future__ import annotations

import inspect
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from orchestrator_kit import resume_sweep, run_sweep
from orchestrator_kit.cli import main
from orchestrator_kit.sweep.driver import NewSweepOptions, SweepOptions

ROOT = Path(__file__).resolve().parents[2]
REQ = "Build a command-line tool that converts CSV files to JSON"
SHARED = {"render", "dask", "budget_usd", "evaluate", "progress", "subscribers"}
SHARED |= {"api_key", "client", "base_url", "retry", "timeout"}


def test_the_keywords_are_declared_once() -> None:
    assert list(inspect.signature(run_sweep).parameters) == ["grid", "output_dir", "options"]
    assert list(inspect.signature(resume_sweep).parameters) == ["sweep_dir", "options"]
    assert set(SweepOptions.__annotations__) == SHARED
    assert set(NewSweepOptions.__annotations__) == SHARED | {"backend", "rpm", "itpm", "otpm"}
    for name in NewSweepOptions.__annotations__:  # each documented where it is declared
        assert f"``{name}``" in (SweepOptions.__doc__ or "") + (NewSweepOptions.__doc__ or "")


@pytest.mark.parametrize(
    ("call", "where"),
    [  # mypy refuses these calls too (the keywords are typed): the ignores say so
        (lambda out: run_sweep({"requests": [REQ]}, out, rendr=False), "run_sweep()"),  # type: ignore[call-arg]
        (lambda out: resume_sweep(out, rpm=5), "resume_sweep()"),  # type: ignore[call-arg]
    ],
)
def test_a_misspelt_or_foreign_keyword_is_refused_before_anything_is_written(
    tmp_path: Path, call: Callable[[Path], object], where: str
) -> None:
    with pytest.raises(TypeError, match=rf"{re.escape(where)} got an unexpected keyword argument"):
        call(tmp_path / "sweep")
    assert not (tmp_path / "sweep").exists()


def test_the_cli_passes_only_declared_keywords(tmp_path: Path) -> None:
    """``batch`` (every shared option and the new-sweep ones) and ``resume SWEEP_DIR`` get through the check."""
    grid = tmp_path / "GRID.yaml"
    grid.write_text(f"requests: ['{REQ}']\nsettings: [{{agents: [architect]}}]\n")
    out = tmp_path / "sweep"
    assert main(["batch", str(grid), "-o", str(out), "--no-render", "-q", "--timeout", "30"]) == 0
    assert main(["resume", str(out), "--no-render", "-q"]) == 0


@pytest.mark.slow
def test_mypy_refuses_a_misspelt_keyword(tmp_path: Path) -> None:
    code = (
        "from orchestrator_kit import resume_sweep, run_sweep\n"
        "run_sweep('GRID.yaml', 'out', render=False, rpm=5, timeout=3.0)\n"
        "run_sweep('GRID.yaml', 'out', rendr=False)\n"
        "resume_sweep('out', budget_usd=2.0)\n"
        "resume_sweep('out', rpm=5)\n"
        "run_sweep('GRID.yaml', 'out', progress='yes')\n"
    )
    snippet = tmp_path / "snippet.py"
    snippet.write_text(code)
    done = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-error-summary", str(snippet)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    lines = [
        line.split(": error: ")[0].rsplit(":", 1)[-1] for line in done.stdout.splitlines() if "error" in line
    ]
    assert lines == ["3", "5", "6"], done.stdout
    assert 'Unexpected keyword argument "rendr" for "run_sweep"' in done.stdout
    assert 'Unexpected keyword argument "rpm" for "resume_sweep"' in done.stdout
