"""Sweeps measure what each cell bought: every completed cell is evaluated on the sweep's executor (local
processes or a Dask LocalCluster), each run's manifest names its sweep and setting, and the report groups
quality by model and by grid setting. ``orchestrator-kit evaluate SWEEP_DIR`` runs on the same executors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from orchestrator_kit import run_sweep
from orchestrator_kit.cli import main
from orchestrator_kit.errors import ConfigError
from orchestrator_kit.report import load_runs
from orchestrator_kit.report.quality import quality_by, quality_per_run
from orchestrator_kit.sweep.grid import parse_grid, setting_label

REQ = "Build a command-line tool that converts CSV files to JSON"
CODE = {"agents": ["architect", "developer"], "max_rounds": 1}


def index(sweep: Path) -> dict[str, Any]:
    return json.loads((sweep / "sweep.json").read_text())


@pytest.fixture(scope="module")
def evaluated(tmp_path_factory: pytest.TempPathFactory):
    """A simulated sweep, no rendering: the default ('evaluate: auto') evaluates its completed cells on
    local worker processes."""
    out = tmp_path_factory.mktemp("sweep") / "csv-sweep"
    grid = {
        "requests": [REQ],
        "models": ["claude-haiku-5-5", "claude-sonnet-5-5"],
        "settings": [CODE, {"agents": ["architect"]}],
        "render": False,
        "render_workers": 2,
    }
    return run_sweep(grid, out, progress=False)


def test_a_simulated_sweep_evaluates_every_completed_cell_by_default(evaluated) -> None:
    cells = index(evaluated.sweep_dir)["cells"]
    assert {c["evaluation"] for c in cells.values()} == {"evaluated"}
    for cid, c in cells.items():
        ev = json.loads((evaluated.runs_dir / c["run_id"] / "evaluation.json").read_text())
        if c["settings"] == CODE:  # the developer wrote code: it imports and its tests pass
            assert ev["applicable"] and ev["imports_ok"] and c["imports_ok"] is True, cid
            assert c["tests_collected"] and c["tests_passed"] == c["tests_collected"] == ev["tests_passed"]
        else:  # no developer: not applicable, not 0
            assert not ev["applicable"] and c["imports_ok"] is None and c["tests_collected"] is None
        assert c["completeness"] == ev["completeness"]
    summary = (evaluated.sweep_dir / "sweep_summary.csv").read_text().splitlines()[0]
    assert "evaluation" in summary and "tests_passed" in summary


def test_each_run_manifest_names_its_sweep_and_setting(evaluated) -> None:
    sweep_id = None
    for c in evaluated.cells:
        m = json.loads((evaluated.runs_dir / c.run_id / "manifest.json").read_text())
        s = m["sweep"]
        assert s["name"] == "csv-sweep" and s["cell"] == c.cell_id and s["params"] == c.settings
        assert s["setting"] == setting_label(c.settings)
        sweep_id = sweep_id or s["id"]
        assert s["id"] == sweep_id  # one id for the whole sweep


def test_load_runs_has_sweep_and_setting_and_quality_groups_by_setting(evaluated, tmp_path: Path) -> None:
    runs = load_runs(evaluated.runs_dir)
    assert set(runs.runs["sweep"]) == {"csv-sweep"}
    assert set(runs.runs["setting"]) == {"agents=architect+developer, max_rounds=1", "agents=architect"}
    per_run = quality_per_run(runs.runs, runs.evaluations)
    groups = quality_by(per_run, ["model", "setting"])
    assert len(groups) == 4 and set(groups["runs"]) == {1}
    with_code = groups[groups["setting"].str.contains("developer")]
    assert (with_code["pass_rate"] == 1.0).all()
    # a run outside any sweep (older folders too): no sweep, an empty setting
    import orchestrator_kit as ok

    solo = ok.run_workflow(REQ, mode="simulated", agents=["architect"], output_dir=tmp_path / "solo")
    one = load_runs(solo.run_dir.parent)
    assert one.runs["sweep"].isna().all() and one.runs["setting"].tolist() == [""]


def test_setting_labels_are_short_and_flat() -> None:
    assert setting_label({}) == "defaults"
    label = setting_label({"max_rounds": 1, "agent_settings": {"developer": {"max_tokens": 2048}}})
    assert label == "max_rounds=1, agent_settings.developer.max_tokens=2048"
    assert setting_label({"budget_usd": 0.5}) == "budget_usd=0.5"
    assert len(setting_label({"project_name_x": "y" * 200})) < 60


def test_evaluate_off_and_reserved_and_real_sweeps_need_allow_model_code(tmp_path: Path) -> None:
    off = run_sweep(
        {"requests": [REQ], "settings": [CODE], "render": False},
        tmp_path / "off",
        evaluate=False,
        progress=False,
    )
    assert [c["evaluation"] for c in index(off.sweep_dir)["cells"].values()] == ["pending"]
    assert not list(off.runs_dir.glob("*/evaluation.json"))
    with pytest.raises(ConfigError, match="'evaluate' is set by the grid's evaluate"):
        parse_grid({"requests": [REQ], "settings": [{"evaluate": "yes"}]})
    with pytest.raises(ConfigError, match="allow_model_code: true"):
        run_sweep(
            {"requests": [REQ], "mode": "real", "evaluate": True, "render": False},
            tmp_path / "real",
            api_key="sk-ant-test-fake",
            base_url="http://127.0.0.1:9",
            progress=False,
        )
    assert not (tmp_path / "real" / "sweep.json").exists()  # refused before the folder or any call


def test_cli_evaluate_a_sweep_on_local_worker_processes(
    evaluated, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["evaluate", str(evaluated.sweep_dir), "--workers", "2"]) == 0
    out = capsys.readouterr().out
    assert all(c.run_id in out for c in evaluated.cells)
    assert out.count("n/a") >= 2  # the two architect-only cells


@pytest.fixture
def cluster():
    from distributed import LocalCluster

    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None, death_timeout=60
    ) as c:
        yield c


@pytest.mark.slow
def test_cli_evaluate_and_batch_evaluate_on_a_dask_cluster(
    cluster, evaluated, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = {
        c.run_id: (evaluated.runs_dir / c.run_id / "evaluation.json").stat().st_mtime_ns
        for c in evaluated.cells
    }
    assert main(["evaluate", str(evaluated.sweep_dir), "--dask", cluster.scheduler_address]) == 0
    out = capsys.readouterr().out
    assert all(c.run_id in out for c in evaluated.cells)
    for run_id, mtime in before.items():  # written again, by the cluster's workers
        assert (evaluated.runs_dir / run_id / "evaluation.json").stat().st_mtime_ns > mtime
    grid = tmp_path / "GRID.yaml"
    grid.write_text(yaml.safe_dump({"requests": [REQ], "settings": [CODE], "evaluate": False}))
    sweep = tmp_path / "s"
    args = ["batch", str(grid), "-o", str(sweep), "--evaluate", "--dask", cluster.scheduler_address, "-q"]
    assert main(args) == 0
    (cell,) = index(sweep)["cells"].values()
    assert cell["evaluation"] == "evaluated" and cell["render"] == "rendered", cell
    assert cell["tests_passed"] and cell["tests_passed"] == cell["tests_collected"]
    assert (sweep / "runs" / cell["run_id"] / "evaluation.json").is_file()
