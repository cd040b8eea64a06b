"""The workflow notebook's ``evaluate`` parameter: auto (simulated runs), yes (also model-written code), no."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

import orchestrator_kit as ok
from orchestrator_kit.errors import ConfigError
from orchestrator_kit.notebook_params import validate_workflow_params


def test_a_bad_choice_names_the_parameter_and_the_choices() -> None:
    with pytest.raises(ConfigError, match="parameter 'evaluate': 'maybe' is not a choice; choose auto"):
        validate_workflow_params({"evaluate": "maybe"})
    with pytest.raises(TypeError, match="parameter 'evaluate' must be str"):
        validate_workflow_params({"evaluate": True})
    assert validate_workflow_params({}).evaluate == "auto"


def test_auto_evaluates_simulated_runs_no_skips_and_a_loaded_run_keeps_its_evaluation(tmp_path: Path) -> None:
    result = ok.run_workflow("a word counter", mode="simulated", agents=["developer"], output_dir=tmp_path)
    assert validate_workflow_params({"evaluate": "no"}).evaluation(result) is None
    assert not (result.run_dir / "evaluation.json").exists()
    ev = validate_workflow_params({}).evaluation(result)
    assert ev is not None and ev["applicable"] and ev["imports_ok"]
    assert json.loads((result.run_dir / "evaluation.json").read_text()) == ev
    # a run loaded with run_dir (as a sweep renders it) shows the evaluation it has, without running code
    shutil.rmtree(result.run_dir / "artifacts" / "developer")
    loaded = validate_workflow_params({"run_dir": str(result.run_dir)})
    assert loaded.evaluation(loaded.run()) == ev


def test_auto_does_not_run_code_a_model_wrote(tmp_path: Path) -> None:
    sim = ok.run_workflow("a word counter", mode="simulated", agents=["developer"], output_dir=tmp_path / "a")
    replay = ok.run_workflow(
        "a word counter",
        mode="replay",
        replay_from=sim.run_dir,
        agents=["developer"],
        output_dir=tmp_path / "b",
    )
    assert replay.mode == "replay"
    assert validate_workflow_params({}).evaluation(replay) is None
    with pytest.raises(ConfigError):  # not "yes" -> evaluate_run refuses; "yes" runs it sandboxed
        ok.evaluate.evaluate_run(replay.run_dir)
    ev = validate_workflow_params({"evaluate": "yes"}).evaluation(replay)
    assert ev is not None and ev["mode"] == "replay" and ev["imports_ok"]
