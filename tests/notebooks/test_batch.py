"""Sweeps render every cell: papermill executes each cell's workflow notebook against its finished run
folder (real kernels) on local worker processes or a Dask LocalCluster; the notebook widget reads the
sweep's events."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbhelpers import clean_env, code_outputs

from orchestrator_kit import resume_sweep, run_sweep
from orchestrator_kit.cli import main
from orchestrator_kit.errors import ConfigError
from orchestrator_kit.sweep.executors import make_executor
from orchestrator_kit.sweep.render import render_job, render_notebook

REQ = "Build a command-line tool that converts CSV files to JSON"
SMALL = {"agents": ["architect", "developer", "reviewer"], "max_rounds": 1}


def ledgers(result: Any) -> dict[str, str]:
    return {c.cell_id: (result.runs_dir / c.run_id / "calls.jsonl").read_text() for c in result.cells}


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory):
    tmp = tmp_path_factory.mktemp("sweep")
    grid = {
        "requests": [REQ],
        "models": ["claude-haiku-5-5"],
        "settings": [SMALL, {**SMALL, "budget_usd": 0.0001}, {"agents": ["architect"]}],
    }
    with clean_env():
        return run_sweep(grid, tmp / "sweep", progress=False)


@pytest.mark.slow
def test_every_completed_cell_gets_its_executed_notebook(rendered) -> None:
    result = rendered
    assert [c.status for c in result.cells] == ["completed", "budget_exceeded", "completed"]
    assert [c.render for c in result.cells] == ["rendered", "pending", "rendered"]  # rendered after a resume
    for cell in result.ok:
        nb = nbformat.read(cell.notebook, as_version=4)
        params = nb.metadata.papermill.parameters
        run_dir = result.runs_dir / cell.run_id
        assert params["run_dir"] == str(run_dir) and params["model"] == "claude-haiku-5-5"
        assert not nb.metadata.papermill.get("exception")
        assert not [o for o in code_outputs(nb) if o["output_type"] == "error"]
        assert (run_dir / "tables" / "cost_by_agent.parquet").is_file()
        assert (run_dir / "figures" / "cost_by_agent.png").read_bytes().startswith(b"\x89PNG")
        text = "".join(o.get("text", "") for o in code_outputs(nb) if o["output_type"] == "stream")
        assert f"run folder: {run_dir}" in text
        assert params["evaluate"] == "auto" and "imports  tests" in text  # the sweep's evaluation, shown
        # the notebook loaded the run: no second run folder, no call
        assert len(list(result.runs_dir.iterdir())) == 3
    assert sorted(p.stem for p in (result.sweep_dir / "notebooks").glob("*.ipynb")) == [
        "r00-m00-s00",
        "r00-m00-s02",
    ]
    index = json.loads((result.sweep_dir / "sweep.json").read_text())
    assert index["cells"]["r00-m00-s00"]["render"] == "rendered"


@pytest.mark.slow
def test_rendering_a_run_that_did_not_complete_is_an_error_of_that_cell(rendered, tmp_path: Path) -> None:
    failed = rendered.failed[0]
    run_dir = rendered.runs_dir / failed.run_id
    out = render_notebook(render_job({"mode": "simulated"}, run_dir, tmp_path / "nb.ipynb"))
    assert out["status"] == "failed"
    assert "RunFailed" in out["error"] and "budget_exceeded, not completed" in out["error"]
    assert f"orchestrator-kit resume {run_dir}" in out["error"]


@pytest.mark.slow
def test_resume_renders_finished_cells_without_any_call(tmp_path: Path) -> None:
    grid = {"requests": [REQ, "Build a todo app"], "settings": [SMALL], "render": False}
    with clean_env():
        first = run_sweep(grid, tmp_path / "s", progress=False)
        assert [c.render for c in first.cells] == ["pending", "pending"] and not first.failed
        before = ledgers(first)
        second = resume_sweep(tmp_path / "s", render=True, progress=False)
    assert [c.render for c in second.cells] == ["rendered", "rendered"]
    assert ledgers(second) == before


@pytest.fixture
def cluster():
    from distributed import LocalCluster

    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None, death_timeout=60
    ) as c:
        yield c


@pytest.mark.slow
def test_rendering_on_a_dask_cluster(cluster, tmp_path: Path) -> None:
    grid = {"requests": [REQ, "Build a todo app"], "settings": [SMALL], "render_workers": 2}
    with clean_env():
        result = run_sweep(grid, tmp_path / "s", dask=cluster.scheduler_address, progress=False)
    assert [c.render for c in result.cells] == ["rendered", "rendered"], [
        c.render_error for c in result.cells
    ]
    for c in result.cells:
        nb = nbformat.read(c.notebook, as_version=4)
        assert not nb.metadata.papermill.get("exception")


@pytest.mark.slow
def test_dask_local_runs_work_in_worker_processes_and_closes_itself() -> None:
    ex = make_executor("local", workers=2)
    try:
        pids = {ex.submit(os.getpid).result(timeout=60) for _ in range(6)}
        cluster = ex.cluster
        assert os.getpid() not in pids and len(cluster.workers) == 2
    finally:
        ex.shutdown()
    assert cluster.status.name == "closed"


@pytest.mark.slow
def test_an_unreachable_dask_scheduler_is_a_clear_error_before_any_call(tmp_path: Path, capsys) -> None:
    grid = tmp_path / "GRID.yaml"
    grid.write_text(f"requests: [{REQ}]\n")
    with pytest.raises(ConfigError, match=r"Dask scheduler 'tcp://127\.0\.0\.1:9' is unreachable"):
        make_executor("tcp://127.0.0.1:9", connect_timeout=2)
    assert main(["batch", str(grid), "-o", str(tmp_path / "s"), "--dask", "tcp://127.0.0.1:9", "-q"]) == 2
    assert "is unreachable" in capsys.readouterr().err
    assert not (tmp_path / "s").exists()


def test_the_widget_follows_the_sweep(tmp_path: Path) -> None:
    from orchestrator_kit.ui import SweepProgressWidget

    widget = SweepProgressWidget()
    run_sweep(
        {
            "requests": [REQ],
            "settings": [SMALL, {**SMALL, "budget_usd": 0.0001}],
            "render": False,
            "budget_usd": 5,
        },
        tmp_path / "s",
        progress=False,
        subscribers=[widget],
    )
    assert (widget.bar.value, widget.bar.max, widget.bar.bar_style) == (2, 2, "danger")
    assert "1/2 cells done · 1 failed · 0 running · 6 calls · spend $0" in widget.label.value
    assert "of $5.00" in widget.label.value


def test_executor_specs() -> None:
    with pytest.raises(ConfigError, match="processes:N"):
        make_executor("processes:zero")
    with pytest.raises(ConfigError, match="workers must be >= 1"):
        make_executor(None, workers=0)
    ex = make_executor("processes:1")
    try:
        assert ex.submit(os.getpid).result(timeout=120) != os.getpid()
    finally:
        ex.shutdown()
