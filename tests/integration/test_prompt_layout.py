"""Run folders and recordings made with an older prompt layout are refused clearly, never half-replayed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from orchestrator_kit.engine.engine import WorkflowEngine, resume
from orchestrator_kit.errors import ConfigError
from orchestrator_kit.llm.replay import RECORDING_LAYOUT, ReplayBackend

REQUEST = "Build a CLI that converts CSV files to JSON"


def _run(tmp_path: Path) -> Path:
    return (
        WorkflowEngine(mode="simulated", output_dir=tmp_path, agents=["architect", "data"])
        .run(REQUEST)
        .run_dir
    )


def _as_layout_1(path: Path) -> None:
    lines = [json.loads(x) for x in path.read_text().splitlines() if x.strip()]
    path.write_text("".join(json.dumps({k: v for k, v in r.items() if k != "layout"}) + "\n" for r in lines))


def test_a_current_recording_replays(tmp_path: Path) -> None:
    run_dir = _run(tmp_path)
    assert all(
        json.loads(x)["layout"] == RECORDING_LAYOUT
        for x in (run_dir / "responses.jsonl").read_text().splitlines()
    )
    again = WorkflowEngine(
        mode="replay", replay_from=run_dir, output_dir=tmp_path, agents=["architect", "data"]
    )
    assert again.run(REQUEST).ok


def test_an_older_recording_is_refused_with_the_reason(tmp_path: Path) -> None:
    run_dir = _run(tmp_path)
    _as_layout_1(run_dir / "responses.jsonl")
    with pytest.raises(ConfigError, match="prompt layout 1") as info:
        ReplayBackend(run_dir)
    assert "record it again" in str(info.value)


def test_resuming_an_older_run_folder_is_refused_before_paying_again(tmp_path: Path) -> None:
    run_dir = _run(tmp_path)
    manifest = json.loads((run_dir / "manifest.json").read_text())
    del manifest["prompt_layout"]
    (run_dir / "manifest.json").write_text(json.dumps(manifest))
    state = json.loads((run_dir / "state.json").read_text())
    state["status"] = "interrupted"
    state["steps"]["data"] = "pending"
    (run_dir / "state.json").write_text(json.dumps(state))
    calls_before = (run_dir / "calls.jsonl").read_text()
    with pytest.raises(ConfigError, match="prompt layout 1"):
        resume(run_dir)
    assert (run_dir / "calls.jsonl").read_text() == calls_before  # nothing was called
