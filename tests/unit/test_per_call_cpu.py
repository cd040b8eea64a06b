"""Work done once instead of per call (issue #12): the act call reuses the plan call's rendering, the
recorded request is the canonical data (not decoded again), template hashes are read once, a run's
repr is one line. Each must give exactly what the slower path gave."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from orchestrator_kit.agents import prompt_builder
from orchestrator_kit.agents.prompt_builder import PromptBuilder, RenderMemo, template_hashes
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


def _build(step: str, memo: RenderMemo | None, **variables: Any) -> Any:
    return PromptBuilder("qa").build(
        step,  # type: ignore[arg-type]
        model="claude-sonnet-5-5",
        max_tokens=1000,
        labels=RequestLabels(agent="qa", step=step),
        memo=memo,
        **variables,
    )


@pytest.fixture
def renders(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Counts template renderings (and still renders)."""
    seen: list[str] = []
    real = PromptBuilder.render_sections

    def counting(self: PromptBuilder, variables: dict[str, Any]) -> dict[str, str]:
        seen.append(self.role.id)
        return real(self, variables)

    monkeypatch.setattr(PromptBuilder, "render_sections", counting)
    return seen


def test_the_act_request_reuses_the_plan_rendering_and_is_the_same_request(renders: list[str]) -> None:
    fresh_plan, fresh_act = (
        _build("plan", None, **_variables()),
        _build("act", None, **_variables(plan=_plan())),
    )
    assert len(renders) == 2
    memo = RenderMemo()
    plan_req = _build("plan", memo, **_variables())
    act_req = _build("act", memo, **_variables(plan=_plan()))
    assert len(renders) == 3  # the act step did not render again
    assert plan_req.canonical_json() == fresh_plan.canonical_json()
    assert act_req.canonical_json() == fresh_act.canonical_json()


@pytest.mark.parametrize(
    "change",
    [
        {"feedback": ["add tests for empty files"]},
        {"round": 2},
        {"extra_instructions": "be brief"},
        {"inputs": [Artifact(filename="architecture.md", agent="architect", content="CHANGED")]},
        {"request": REQUEST + " and YAML"},
    ],
)
def test_changed_inputs_render_again(renders: list[str], change: dict[str, Any]) -> None:
    memo = RenderMemo()
    _build("plan", memo, **_variables())
    act = _build("act", memo, **_variables(plan=_plan(), **change))
    assert len(renders) == 2
    assert act.canonical_json() == _build("act", None, **_variables(plan=_plan(), **change)).canonical_json()


def test_a_run_renders_each_agent_once_and_keeps_no_prompt_text(renders: list[str], tmp_path: Path) -> None:
    plans: list[AgentPlan] = []
    engine = WorkflowEngine(mode="simulated", output_dir=tmp_path)
    real_act = type(engine._get_or_create_agent("architect"))._llm_act

    async def keep(self: Any, plan: AgentPlan, *args: Any) -> Any:
        out = await real_act(self, plan, *args)
        plans.append(plan)
        return out

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(type(engine._get_or_create_agent("architect")), "_llm_act", keep)
        result = engine.run(f"{REQUEST} ({tmp_path.name})")  # a request not estimated before
    assert result.ok
    # one rendering per agent for the pre-run estimate and one for the run (not two each)
    assert sorted(renders) == sorted([*engine.workflow.steps, *engine.workflow.steps])
    assert len(plans) == len(engine.workflow.steps)
    assert all(p._prompt is None for p in plans)  # the rendering is dropped once the act call used it


def test_the_recorded_request_is_the_canonical_data() -> None:
    req = _build("act", None, **_variables(plan=_plan()))
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
    assert prompt_builder._template_hashes.cache_info().currsize == 1


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

    req = _build("act", None, **_variables(plan=_plan()))
    text = req.canonical_json()
    assert len(text) > 1000
    assert req.request_hash() == hashlib.sha256(text.encode("utf-8")).hexdigest()
    # a request in flight (1,000 workflows: thousands of them) holds no second copy of its prompt as JSON
    assert not any(isinstance(v, str) and len(v) > 1000 for v in vars(req).values())
