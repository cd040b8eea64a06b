"""Sweeps in simulated mode (no rendering here; see tests/notebooks/test_sweep_render.py): the grid's
checks, every cell at once under one limiter and one budget, failures isolated, the index, resume."""

from __future__ import annotations

import json
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml

from orchestrator_kit import resume_sweep, run_sweep
from orchestrator_kit.cli import main
from orchestrator_kit.errors import ConfigError
from orchestrator_kit.sweep.grid import expand, load_grid, parse_grid

REQ = "Build a command-line tool that converts CSV files to JSON"
TWO = {"agents": ["architect", "developer"]}


def grid_file(tmp_path: Path, doc: dict[str, Any]) -> Path:
    path = tmp_path / "GRID.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def ledger(run_dir: Path) -> list[dict[str, Any]]:
    return [json.loads(x) for x in (run_dir / "calls.jsonl").read_text().splitlines() if x.strip()]


def index(sweep: Path) -> dict[str, Any]:
    return json.loads((sweep / "sweep.json").read_text())


# ---------------------------------------------------------------- the grid


def test_cells_are_the_product_of_the_axes_and_repeats(tmp_path: Path) -> None:
    g = load_grid(
        grid_file(
            tmp_path,
            {
                "requests": [REQ, {"request": "Build a todo app", "project_name": "todo"}],
                "models": ["claude-sonnet-5-5", "claude-haiku-5-5"],
                "settings": [
                    {},
                    {"budget_usd": 0.5, "max_rounds": 1},
                    {"agents": ["architect", "developer"]},
                ],
                "base": {"max_rounds": 2},
                "repeats": 2,
                "max_concurrency": 7,
            },
        )
    )
    cells = expand(g, "simulated")
    assert len(cells) == 2 * 2 * 3 * 2 and len({c.cell_id for c in cells}) == 24
    cell = next(c for c in cells if c.cell_id == "r01-m01-s01-n01")
    assert (cell.request, cell.project_name, cell.model, cell.repeat) == (
        "Build a todo app",
        "todo",
        "claude-haiku-5-5",
        1,
    )
    assert cell.parameters["budget_usd"] == 0.5 and cell.parameters["max_rounds"] == 1
    assert cell.parameters["max_concurrency"] == 7 and cell.parameters["mode"] == "simulated"
    assert next(c for c in cells if c.cell_id == "r00-m00-s00-n00").parameters["max_rounds"] == 2
    assert "output_dir" not in cell.parameters and "run_id" not in cell.parameters
    assert [c.cell_id for c in expand(parse_grid({"requests": [REQ]}), "simulated")] == ["r00-m00-s00"]


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ({"requests": [REQ], "model": ["x"]}, "unknown key 'model'"),
        ({"requests": []}, "'requests' is an empty list"),
        ({"models": ["claude-sonnet-5-5"]}, "'requests' is missing"),
        ({"requests": ["  "]}, "requests[0] is empty"),
        ({"requests": [REQ], "models": []}, "'models' is an empty list"),
        ({"requests": [REQ], "repeats": 0}, "repeats: Input should be greater than or equal to 1"),
        ({"requests": [REQ], "budget_usd": 0}, "budget_usd: Input should be greater than 0"),
        ({"requests": [REQ, REQ]}, "duplicate cell: requests[1] repeats requests[0]"),
        ({"requests": [REQ], "settings": [{}, {}]}, "duplicate cell: settings[1] repeats settings[0]"),
        ({"requests": [REQ], "models": ["gpt-9"]}, "parameter 'model': Unknown model 'gpt-9'"),
        ({"requests": [REQ], "settings": [{"budget": 1}]}, "settings[0]: unknown parameter 'budget'"),
        ({"requests": [REQ], "settings": [{"model": "x"}]}, "'model' is set by the grid's models"),
        ({"requests": [REQ], "base": {"max_concurrency": 2}}, "'max_concurrency' is set by the grid's"),
        ({"requests": [REQ], "base": {"output_dir": "x"}}, "'output_dir' is set by the grid's sweep"),
        ({"requests": [REQ], "mode": "replay"}, "mode: Input should be 'simulated', 'real' or 'auto'"),
        (
            {"requests": [REQ], "settings": [{"agents": ["architect", "wizard"]}]},
            "cell r00-m00-s00 (requests[0], models[0], settings[0]): parameter 'agents': unknown agent",
        ),
        ({"requests": [REQ], "backend": "batches"}, "backend 'batches' sends real calls"),
    ],
)
def test_bad_grids_are_clear_errors_before_any_call(
    tmp_path: Path, doc: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigError) as info:
        run_sweep(doc, tmp_path / "sweep", progress=False)
    assert message in str(info.value)
    assert not (tmp_path / "sweep").exists()  # nothing written, nothing called


def test_a_sweep_budget_below_the_first_calls_worst_case_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"budget_usd \$0.0010 is below the worst case of cell r00-m00-s00"):
        run_sweep({"requests": [REQ], "budget_usd": 0.001, "render": False}, tmp_path / "s", progress=False)
    assert not (tmp_path / "s").exists()


def test_a_key_in_the_grid_is_refused_without_echoing_it(tmp_path: Path) -> None:
    key = "sk-ant-api03-FAKE-KEY-FOR-TESTS-ONLY-0000"
    with pytest.raises(ConfigError) as info:
        run_sweep({"requests": [REQ], "settings": [{"simulated_options": {"k": key}}]}, tmp_path / "s")
    assert "looks like an API key" in str(info.value) and key not in str(info.value)


def test_real_mode_without_a_key_is_refused_before_any_call(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="mode 'real' needs an Anthropic API key"):
        run_sweep({"requests": [REQ], "mode": "real"}, tmp_path / "s", progress=False)


# ---------------------------------------------------------------- running


@pytest.fixture
def sweep(tmp_path: Path):
    events: list[Any] = []
    doc = {
        "requests": [REQ, {"request": "Build a todo app", "project_name": "todo"}],
        "models": ["claude-haiku-5-5"],
        "settings": [TWO, {**TWO, "budget_usd": 0.0001}, {"agents": ["architect"]}],
        "repeats": 2,
        "max_concurrency": 3,
        "render": False,
    }
    result = run_sweep(doc, tmp_path / "sweep", progress=False, subscribers=[events.append])
    return result, events


def test_every_cell_runs_at_once_in_one_driver_and_failures_stay_in_their_cell(sweep) -> None:
    result, events = sweep
    assert len(result.cells) == 12
    statuses = Counter(c.status for c in result.cells)
    assert statuses == {"completed": 8, "budget_exceeded": 4}
    assert {c.cell_id[:11] for c in result.failed} == {"r00-m00-s01", "r01-m00-s01"}
    assert all("budget $0.0001" in c.error_message for c in result.failed)
    # all twelve cells were in flight together (one asyncio process, one task per cell)
    assert max(e.progress.cells_running for e in events) == 12
    assert events[0].type == "sweep_started" and events[-1].type == "sweep_finished"
    last = events[-1].progress
    assert (last.cells_done, last.cells_failed, last.cells_running) == (8, 4, 0)
    assert last.calls == sum(c.calls for c in result.cells) == 4 * 4 + 4 * 2


def test_one_run_folder_per_cell_and_distinct_runs_per_repeat(sweep) -> None:
    result, _ = sweep
    doc = index(result.sweep_dir)
    assert doc["kind"] == "orchestrator-kit sweep" and doc["grid"]["repeats"] == 2
    assert set(doc["cells"]) == {c.cell_id for c in result.cells}
    run_ids = [c["run_id"] for c in doc["cells"].values()]
    assert len(set(run_ids)) == 12
    for cid, rec in doc["cells"].items():
        assert rec["run_id"].endswith(cid) and rec["status"] in ("completed", "budget_exceeded")
        run = result.runs_dir / rec["run_id"]
        manifest = json.loads((run / "manifest.json").read_text())
        assert manifest["model"] == "claude-haiku-5-5" and manifest["mode"] == "simulated"
        if rec["status"] == "completed":
            summary = json.loads((run / "summary.json").read_text())
            assert rec["cost_usd"] == summary["totals"]["cost_usd"]
    # repeats are independent runs; in simulated mode their answers are identical (no seed)
    a, b = (result.runs_dir / doc["cells"][f"r00-m00-s00-n0{k}"]["run_id"] for k in (0, 1))
    assert a != b and (a / "artifacts").is_dir() and (b / "artifacts").is_dir()
    rows = (result.summary_csv).read_text().splitlines()
    assert len(rows) == 13 and rows[0].startswith("cell_id,run_id")


def test_the_whole_sweep_budget_holds_across_cells_and_resume_finishes_without_repaying(
    tmp_path: Path,
) -> None:
    doc = {
        "requests": [REQ, "Build a todo app", "Build a markdown to HTML converter"],
        "models": ["claude-haiku-5-5"],
        "settings": [TWO],
        "budget_usd": 0.0025,  # three cells cost about $0.003: not all fit
        "render": False,
    }
    first = run_sweep(doc, tmp_path / "s", progress=False)
    spent = sum(Decimal(c.cost_usd or 0) for c in first.cells)
    assert first.failed and spent <= Decimal("0.0025")
    assert all(c.status == "budget_exceeded" for c in first.failed)
    assert "orchestrator-kit resume" in first.failed[0].error_message
    done_before = {c.cell_id: ledger(first.runs_dir / c.run_id) for c in first.ok}

    second = resume_sweep(tmp_path / "s", budget_usd=1.0, progress=False)
    assert not second.failed and len(second.ok) == 3
    assert index(tmp_path / "s")["grid"]["budget_usd"] == 1.0
    for c in second.cells:
        lines = ledger(second.runs_dir / c.run_id)
        ok = Counter(ln["request_hash"] for ln in lines if ln["status"] != "error")
        assert max(ok.values()) == 1, c.cell_id  # no call paid twice
        if c.cell_id in done_before:
            assert lines == done_before[c.cell_id]  # a finished cell was skipped


def test_resume_refuses_what_is_not_a_sweep(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fake = tmp_path / "fake"
    fake.mkdir()
    (fake / "sweep.json").write_text('{"kind": "something else", "cells": {}}')
    with pytest.raises(ConfigError, match="is not a sweep index"):
        resume_sweep(fake, progress=False)
    assert main(["resume", str(fake)]) == 2
    assert "is not a sweep index" in capsys.readouterr().err
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ConfigError, match="is not a sweep folder"):
        resume_sweep(empty, progress=False)
    assert main(["resume", str(empty)]) == 2


def test_cli_batch_runs_a_sweep_and_resume_finds_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    grid = grid_file(tmp_path, {"requests": [REQ], "settings": [TWO, {**TWO, "budget_usd": 0.0001}]})
    assert main(["batch", str(grid), "-o", str(tmp_path / "s"), "--no-render", "-q"]) == 1
    out = capsys.readouterr().out
    assert "2 cells (simulated)" in out and "budget_exceeded r00-m00-s01" in out
    assert f"continue with: orchestrator-kit resume {tmp_path / 's'}" in out
    assert main(["batch", str(grid), "-o", str(tmp_path / "s"), "--no-render", "-q"]) == 2  # already a sweep
    assert "already holds a sweep" in capsys.readouterr().err
    assert main(["resume", str(tmp_path / "s"), "--no-render", "-q"]) == 1  # the cell's own cap still holds
    assert "1 completed" in capsys.readouterr().out
    bad = grid_file(tmp_path, {"requests": [REQ], "repeats": 0})
    assert main(["batch", str(bad), "-o", str(tmp_path / "t")]) == 2
    assert "repeats" in capsys.readouterr().err and not (tmp_path / "t").exists()
