"""Batch grids: the grid file's checks (fast), and a real grid through papermill in worker processes."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import nbformat
import pytest
from nbhelpers import clean_env

from orchestrator_kit.batch import load_grid, run_grid
from orchestrator_kit.errors import ConfigError

REQUEST = "Build a command-line tool that converts CSV files to JSON"


def _grid(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "grid.yaml"
    path.write_text(text)
    return path


def test_cells_are_the_product_of_the_axes(tmp_path: Path) -> None:
    cells = load_grid(
        _grid(
            tmp_path,
            f"""
requests: ["{REQUEST}", {{request: Build a todo app, project_name: todo}}]
models: [claude-sonnet-5-5, claude-haiku-5-5]
settings: [{{}}, {{budget_usd: 0.5, max_rounds: 1}}, {{agents: [architect, developer]}}]
base: {{max_concurrency: 2}}
""",
        )
    )
    assert len(cells) == 2 * 2 * 3
    assert len({c.cell_id for c in cells}) == 12
    cell = next(c for c in cells if c.cell_id == "r01-m01-s01")
    assert (cell.request, cell.project_name, cell.model) == ("Build a todo app", "todo", "claude-haiku-5-5")
    assert cell.parameters["budget_usd"] == 0.5 and cell.parameters["max_rounds"] == 1
    assert cell.parameters["max_concurrency"] == 2 and cell.parameters["mode"] == "simulated"
    assert "output_dir" not in cell.parameters and "run_id" not in cell.parameters


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("requests: [x]\nmodel: [claude-sonnet-5-5]\n", "unknown key(s) model"),
        ("requests: []\n", "'requests' is an empty list"),
        ("models: [claude-sonnet-5-5]\n", "'requests' is missing"),
        ("requests: [x]\nmodels: []\n", "'models' is an empty list"),
        ("requests: [x]\nsettings: []\n", "'settings' is an empty list"),
        ("requests: x\n", "'requests' must be a list"),
        ("requests: [x]\nsettings: [{budget: 1}]\n", "settings[0]: unknown parameter 'budget'"),
        ("requests: [x]\nsettings: [{model: claude-haiku-5-5}]\n", "'model' is set by the grid's models"),
        ("requests: [x]\nbase: {output_dir: elsewhere}\n", "'output_dir' is set by the grid's run_grid"),
        (
            "requests: [x]\nsettings: [{}, {budget_usd: lots}]\n",
            "cell r00-m00-s01 (requests[0], models[0], settings[1]): parameter 'budget_usd' must be float",
        ),
        ("requests: [x]\nmodels: [gpt-9]\n", "parameter 'model': Unknown model 'gpt-9'"),
        ("requests: [x]\nsettings: [{agents: [architect, wizard]}]\n", "unknown agent 'wizard'"),
        ("- just a list\n", "expected a mapping"),
        ("requests: [x\n", "not valid YAML"),
    ],
)
def test_grid_errors_say_what_is_wrong(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_grid(_grid(tmp_path, text))
    assert message in str(info.value)


def test_a_key_in_the_grid_is_refused_without_echoing_it(tmp_path: Path) -> None:
    key = "sk-ant-api03-FAKE-KEY-FOR-TESTS-ONLY-0000"
    with pytest.raises(ConfigError) as info:
        load_grid(_grid(tmp_path, f"requests: [x]\nsettings: [{{simulated_options: {{k: {key}}}}}]\n"))
    assert "looks like an API key" in str(info.value) and key not in str(info.value)


def test_missing_grid_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_grid(tmp_path / "nope.yaml")


@pytest.fixture(scope="module")
def batch(tmp_path_factory: pytest.TempPathFactory):
    tmp = tmp_path_factory.mktemp("batch")
    grid = _grid(
        tmp,
        f"""
mode: simulated
requests: ["{REQUEST}"]
models: [claude-haiku-5-5]
settings:
  - {{}}
  - {{budget_usd: 0.0001}}
  - {{agents: [architect, developer, reviewer], max_rounds: 1}}
""",
    )
    with clean_env():
        result = run_grid(grid, tmp / "out", workers=2, progress=False)
    return result


@pytest.mark.slow
def test_a_failed_cell_is_reported_and_the_others_go_on(batch) -> None:
    assert [c.status for c in batch.cells] == ["ok", "failed", "ok"]
    failed = batch.failed[0]
    assert failed.cell_id == "r00-m00-s01" and json.loads(failed.settings) == {"budget_usd": 0.0001}
    assert failed.error_type == "BudgetExceeded" and "budget $0.0001" in failed.error_message
    assert failed.run_status == "budget_exceeded"  # its run folder was checkpointed
    assert "failed r00-m00-s01" in str(batch) and "BudgetExceeded" in str(batch)


@pytest.mark.slow
def test_one_notebook_and_one_run_folder_per_cell(batch) -> None:
    out = batch.output_dir
    notebooks = sorted((out / "notebooks").glob("*.ipynb"))
    assert [p.stem for p in notebooks] == ["r00-m00-s00", "r00-m00-s01", "r00-m00-s02"]
    runs = sorted(p for p in (out / "runs").iterdir() if p.is_dir())
    assert len(runs) == 3 and sorted(c.run_id for c in batch.cells) == [p.name for p in runs]
    for cell in batch.cells:
        nb = nbformat.read(cell.notebook, as_version=4)
        assert nb.metadata.papermill.parameters["run_id"] == cell.run_id
        assert bool(nb.metadata.papermill.get("exception")) == (cell.status == "failed")
        manifest = json.loads((Path(cell.run_dir) / "manifest.json").read_text())
        assert manifest["model"] == "claude-haiku-5-5" and manifest["mode"] == "simulated"
    small = next(c for c in batch.cells if c.cell_id == "r00-m00-s02")
    assert json.loads((Path(small.run_dir) / "manifest.json").read_text())["agents"] == [
        "architect",
        "developer",
        "reviewer",
    ]
    assert (Path(small.run_dir) / "tables" / "cost_by_agent.parquet").is_file()


@pytest.mark.slow
def test_summary_csv(batch) -> None:
    rows = list(csv.DictReader(batch.summary_csv.read_text(encoding="utf-8").splitlines()))
    assert [r["cell_id"] for r in rows] == ["r00-m00-s00", "r00-m00-s01", "r00-m00-s02"]
    for row, cell in zip(rows, batch.cells):
        assert row["status"] == cell.status
        if cell.status == "ok":
            summary = json.loads((Path(cell.run_dir) / "summary.json").read_text())
            assert row["cost_usd"] == summary["totals"]["cost_usd"]
            assert float(row["review_score"]) == summary["review_score"]
    table = batch.table()
    assert list(table["status"]) == ["ok", "failed", "ok"]


def test_workers_must_be_positive(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="workers"):
        run_grid(_grid(tmp_path, "requests: [x]\n"), tmp_path / "out", workers=0)
