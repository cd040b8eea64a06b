"""Work done once instead of per call (issue #12): templates are rendered once per shape, the
recorded request is the canonical data (not decoded again), template hashes are read once, a run's
repr is one line. Each must give exactly what the slower path gave."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from orchestrator_kit.agents import prompt_builder
from orchestrator_kit.agents.prompt_builder import PromptBuilder, template_hashes
from orchestrator_kit.agents.roles import get_role
from orchestrator_kit.agents.shapes import key
from orchestrator_kit.engine.engine import WorkflowEngine
from orchestrator_kit.engine.state_models import AgentPlan, Artifact
from orchestrator_kit.llm.replay import recording_record
from orchestrator_kit.llm.types import Completion, RequestLabels, Usage

REQUEST = "Build a CLI that converts CSV files to JSON, with a --pretty flag"


def _variables(**changes: Any) -> dict[str, Any]:
    inputs = [Artifact(filename="architecture.md", agent="architect", content="ARCH-BODY")]
    return {"project_name": "csv2json", "request": REQUEST, "inputs": inputs, **changes}


def _plan() -> AgentPlan:
    return AgentPlan(agent="qa", phase=get_role("qa").phase, summary="PLAN", steps=["one"])


def _build(step: str, **variables: Any) -> Any:
    return PromptBuilder("qa").build(
        step,  # type: ignore[arg-type]
        model="claude-sonnet-5-5",
        max_tokens=1000,
        labels=RequestLabels(agent="qa", step=step),
        **variables,
    )


def test_a_run_renders_no_template_once_its_shapes_are_known(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each role's template is rendered once per shape per process (prompt_skeleton), never per call."""
    full: list[str] = []
    real = PromptBuilder.render_sections

    def counting(builder: PromptBuilder, values: dict[str, Any]) -> dict[str, str]:
        full.append(builder.role.id)
        return real(builder, values)

    monkeypatch.setattr(PromptBuilder, "render_sections", counting)
    engine = WorkflowEngine(mode="simulated", output_dir=tmp_path)
    assert engine.run(REQUEST).ok
    rendered = prompt_builder._skeleton.cache_info().misses
    result = engine.run(REQUEST + " and YAML")  # other text, the same shapes
    assert result.ok and len(result.artifacts) >= len(engine.workflow.steps)
    assert prompt_builder._skeleton.cache_info().misses == rendered
    assert full == []  # the shipped templates are filled in, never rendered in full per call


def test_the_recorded_request_is_the_canonical_data() -> None:
    req = _build("act", **_variables(plan=_plan()))
    completion = Completion(
        text="{}", stop_reason="end_turn", usage=Usage(), model=req.model, mode="simulated"
    )
    record = recording_record(req, completion)
    assert record["request"] == json.loads(req.canonical_json())
    assert json.dumps(record["request"], sort_keys=True, separators=(",", ":"), ensure_ascii=False) == (
        req.canonical_json()
    )
    copy = req.model_copy(update={"max_tokens": 7})  # a copy computes its own
    assert copy.canonical_data()["max_tokens"] == 7 and req.canonical_data()["max_tokens"] == 1000


def test_template_hashes_are_a_fresh_dict_each_time() -> None:
    first = template_hashes()
    first["qa.j2"] = "changed"
    assert template_hashes()["qa.j2"] != "changed"
    assert prompt_builder._sources.cache_info().currsize == 1


def test_loose_keys_are_the_same_memoised_or_not() -> None:
    assert key("File_Name") == key("file-name") == key("FILE NAME") == "filename"
    long = "X_" * 100
    assert key(long) == "x" * 100


def test_a_run_result_repr_is_one_line_without_artifact_text(tmp_path: Path) -> None:
    result = WorkflowEngine(mode="simulated", agents=["architect"], output_dir=tmp_path).run(REQUEST)
    text = repr(result)
    assert "\n" not in text and len(text) < 300
    assert result.run_id in text and "status='completed'" in text and "artifacts=1" in text
    assert result.artifacts[0].content[:40] not in text


def test_the_hash_is_of_the_canonical_json_and_the_request_keeps_no_copy_of_it() -> None:
    import hashlib

    req = _build("act", **_variables(plan=_plan()))
    text = req.canonical_json()
    assert len(text) > 1000
    assert req.request_hash() == hashlib.sha256(text.encode("utf-8")).hexdigest()
    # a request in flight (1,000 workflows: thousands of them) holds no second copy of its prompt as JSON
    assert not any(isinstance(v, str) and len(v) > 1000 for v in vars(req).values())


def test_a_block_whose_text_recurs_is_one_object(monkeypatch: pytest.MonkeyPatch) -> None:
    """An act call's system prompt is its plan call's: the same frozen blocks, not copies; a block of
    other text is another block; past the memo's bound, blocks are made again, equal to the first."""
    plan = _build("plan", **_variables())
    act = _build("act", **_variables(plan=_plan()))
    assert len(plan.system) == len(act.system) >= 3
    assert all(p is a for p, a in zip(plan.system, act.system, strict=True))
    other = _build("plan", **_variables(request=REQUEST + " and YAML"))
    assert other.system[1] is not plan.system[1] and other.system[1].text != plan.system[1].text
    monkeypatch.setattr(prompt_builder, "_MAX_SHARED_CHARS", 1)
    _build("plan", **_variables(request=REQUEST + " and TOML"))  # a new block: the memo starts afresh
    again = _build("plan", **_variables())
    assert again.system == plan.system and again.system[1] is not plan.system[1]
    assert again.request_hash() == plan.request_hash()
