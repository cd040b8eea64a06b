"""notebooks/workflow.ipynb through papermill with a real kernel, into a temporary folder.

One execution with the defaults (simulated) is shared by the module; wrong parameters each cost one
kernel start and stop in the first code cell.
"""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import nbformat
import pytest
from nbhelpers import NOTEBOOKS, REPO, clean_env, code_outputs, execute
from subprocesses import clean_env as subprocess_env

import orchestrator_kit as ok
from orchestrator_kit.notebook_params import WORKFLOW_PARAMS, notebook_path
from orchestrator_kit.report import export, load_runs

TABLES = (
    "runs",
    "artifacts",
    "tokens_by_kind",
    "cost_by_agent",
    "cost_by_phase",
    "cost_by_model",
    "wasted_spend",
    "cache_savings",
    "estimate_vs_actual",
    "money_by_agent",
    "money_by_phase",
    "quality_per_run",
    "quality_by_model",
)
FIGURES = (
    "money_by_agent",
    "money_by_phase",
    "quality_vs_cost",
    "cost_by_agent",
    "cost_by_phase",
    "tokens_by_kind",
    "cumulative_spend",
    "estimate_vs_actual",
)


@pytest.fixture(scope="module")
def executed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    tmp = tmp_path_factory.mktemp("workflow")
    with clean_env():
        out = execute("workflow.ipynb", tmp / "workflow.ipynb", {"output_dir": "runs"}, cwd=tmp)
    run_dirs = [p for p in (tmp / "runs").iterdir() if p.is_dir()]
    return {"tmp": tmp, "nb": nbformat.read(out, as_version=4), "run_dirs": run_dirs}


def test_the_packaged_notebook_is_the_repository_one() -> None:
    assert notebook_path("workflow.ipynb").read_bytes() == (NOTEBOOKS / "workflow.ipynb").read_bytes()


def test_parameters_are_declared_with_types_and_help() -> None:
    import papermill as pm

    declared = pm.inspect_notebook(str(NOTEBOOKS / "workflow.ipynb"))
    assert list(declared) == [p.name for p in WORKFLOW_PARAMS]
    for p in WORKFLOW_PARAMS:
        assert declared[p.name]["inferred_type_name"] == p.type.__name__
        assert declared[p.name]["help"] == p.help
        assert eval(declared[p.name]["default"]) == p.default


@pytest.mark.slow
def test_runs_and_writes_one_run_folder(executed) -> None:
    nb = executed["nb"]
    assert not nb.metadata.papermill.get("exception")
    assert not [o for o in code_outputs(nb) if o["output_type"] == "error"]
    assert len(executed["run_dirs"]) == 1
    run_dir = executed["run_dirs"][0]
    assert json.loads((run_dir / "summary.json").read_text())["status"] == "completed"
    assert json.loads((run_dir / "manifest.json").read_text())["mode"] == "simulated"


@pytest.mark.slow
def test_tables_and_figures_land_in_the_run_folder(executed) -> None:
    import pandas as pd

    run_dir = executed["run_dirs"][0]
    for name in TABLES:
        parquet = pd.read_parquet(run_dir / "tables" / f"{name}.parquet")
        csv = pd.read_csv(run_dir / "tables" / f"{name}.csv")
        assert list(parquet.columns) == list(csv.columns) and len(parquet) == len(csv)
    for name in FIGURES:
        assert (run_dir / "figures" / f"{name}.png").read_bytes().startswith(b"\x89PNG")
    # The written tables are the package's tables over the run folder, with exact types (Parquet).
    expected = export.standard_tables(load_runs(run_dir))
    pd.testing.assert_frame_equal(
        pd.read_parquet(run_dir / "tables" / "cost_by_agent.parquet"),
        expected["cost_by_agent"],
        check_dtype=False,
    )
    summary = json.loads((run_dir / "summary.json").read_text())
    cost = pd.read_parquet(run_dir / "tables" / "cost_by_agent.parquet")
    assert sum(map(Decimal, cost["cost_usd_exact"])) == Decimal(summary["totals"]["cost_usd"])


@pytest.mark.slow
def test_notebook_shows_artifacts_tables_and_figures(executed) -> None:
    nb = executed["nb"]
    run_dir = executed["run_dirs"][0]
    text = "".join(o.get("text", "") for o in code_outputs(nb) if o["output_type"] == "stream")
    on_disk = sorted(
        p.relative_to(run_dir / "artifacts").as_posix()
        for p in (run_dir / "artifacts").rglob("*")
        if p.is_file()
    )
    assert "\n".join(on_disk) in text
    html = "".join(o.get("data", {}).get("text/html", "") for o in code_outputs(nb))
    for header in ("Cache read", "Cost", "Share", "Phase"):  # human headers, as in the report
        assert f">{header}</th>" in html
    assert "cache_read_tokens</th>" not in html
    pngs = [o for o in code_outputs(nb) if "image/png" in o.get("data", {})]
    assert len(pngs) == len(FIGURES)  # embedded whatever MPLBACKEND says: figures.show() displays PNG


@pytest.mark.slow
def test_a_simulated_run_is_evaluated_and_the_notebook_shows_it(executed) -> None:
    run_dir = executed["run_dirs"][0]
    ev = json.loads((run_dir / "evaluation.json").read_text())  # evaluate="auto": simulated runs
    assert ev["applicable"] and ev["tests_passed"] == ev["tests_collected"] > 0
    text = "".join(o.get("text", "") for o in code_outputs(executed["nb"]) if o["output_type"] == "stream")
    assert "imports  tests" in text and f"{ev['tests_passed']}/{ev['tests_collected']}" in text


@pytest.mark.slow
def test_same_result_as_the_same_workflow_in_process(executed, tmp_path: Path) -> None:
    """The notebook runs the real engine: the simulated run is deterministic, so totals agree."""
    from orchestrator_kit.notebook_params import validate_workflow_params

    params = validate_workflow_params({})
    direct = ok.run_workflow(
        params.request, project_name=params.project_name, output_dir=tmp_path, mode="simulated"
    )
    via_notebook = json.loads((executed["run_dirs"][0] / "summary.json").read_text())
    for key in ("cost_usd", "total_tokens", "calls"):
        assert via_notebook["totals"][key] == direct.totals.to_json()[key]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("budget_usd", "a lot", "float"),
        ("agents", "architect,qa", "list"),
        ("max_rounds", 1.5, "int"),
    ],
)
def test_a_wrong_parameter_names_itself_and_its_type(
    tmp_path: Path, name: str, value: object, expected: str
) -> None:
    from papermill.exceptions import PapermillExecutionError

    out = tmp_path / "bad.ipynb"
    with pytest.raises(PapermillExecutionError) as info:
        execute("workflow.ipynb", out, {name: value, "output_dir": "runs"}, cwd=tmp_path)
    err = info.value
    assert err.ename == "TypeError"
    assert f"parameter {name!r} must be {expected}" in err.evalue
    assert f"'{name}'" in str(err) and expected in str(err)
    nb = nbformat.read(out, as_version=4)
    assert nb.metadata.papermill.exception is True
    assert not (tmp_path / "runs").exists()  # stopped in the first code cell, before any run


@pytest.mark.slow
def test_a_bad_value_names_the_parameter(tmp_path: Path) -> None:
    from papermill.exceptions import PapermillExecutionError

    with pytest.raises(PapermillExecutionError) as info:
        execute("workflow.ipynb", tmp_path / "bad.ipynb", {"agents": ["architect", "wizard"]}, cwd=tmp_path)
    assert info.value.ename == "ConfigError"
    assert "parameter 'agents': unknown agent 'wizard'" in info.value.evalue


@pytest.mark.slow
def test_main_job_script(tmp_path: Path) -> None:
    """scripts/main_job.py (the README's main job): notebook, run folder, tables, figures, report."""
    env = subprocess_env()
    done = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "main_job.py")],
        cwd=tmp_path,
        text=True,
        capture_output=True,
        env=env,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    for alarm in ("Kernel is running over TCP without encryption", "KeyboardInterrupt caught in kernel"):
        assert alarm not in done.stdout + done.stderr  # kernels over IPC, shut down without an interrupt
    out = tmp_path / "out"
    (run_dir,) = [p for p in (out / "runs").iterdir() if p.is_dir()]
    assert f"executed notebook: {out / 'workflow.ipynb'}" in done.stdout
    assert (
        f"run folder:        {run_dir}" in done.stdout
        and f"report:            {out / 'report.html'}" in done.stdout
    )
    assert (out / "workflow.ipynb").is_file() and (out / "report.html").stat().st_size > 10_000
    assert len(list((run_dir / "tables").glob("*.parquet"))) == len(TABLES)
    assert len(list((run_dir / "figures").glob("*.png"))) == len(FIGURES)
