"""The parser's fast paths (issue #12) answer exactly what the general paths answer: loose key lookup on
objects whose keys are already loose, the surrogate check of ASCII text, and the agent's plan and output
built from the parsed records without copies."""

from __future__ import annotations

import re
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from orchestrator_kit.agents import shapes
from orchestrator_kit.agents.base import Agent
from orchestrator_kit.agents.json_extract import to_text
from orchestrator_kit.agents.response_parser import _string, parse_act, parse_plan
from orchestrator_kit.agents.roles import get_role
from orchestrator_kit.engine.state_models import AgentContext, ProjectState, TaskDefinition
from orchestrator_kit.llm.gateway import Gateway
from orchestrator_kit.llm.simulated import SimulatedBackend

_SURROGATES = re.compile("[\ud800-\udfff]")


def reference_lookup(obj: dict[str, Any], names: tuple[str, ...]) -> tuple[str | None, Any]:
    """``shapes.lookup`` before its fast path: always through the table of loose keys."""
    loose = {shapes.key(k): k for k in obj if isinstance(k, str)}
    for name in names:
        real = loose.get(name)
        if real is not None and obj[real] is not None:
            return real, obj[real]
    return None, None


keys = st.one_of(
    st.sampled_from([*shapes.STEP_KEYS, *shapes.NAME_KEYS, *shapes.CONTENT_KEYS, "approved", "reasons"]),
    st.sampled_from(["fileName", "file_name", "File Name", "STEPS", "Summary", "x", "", "steps "]),
    st.text(max_size=6),
)
objects = st.dictionaries(keys, st.one_of(st.none(), st.integers(), st.text(max_size=3)), max_size=6)
name_groups = st.sampled_from(
    [
        shapes.STEP_KEYS,
        shapes.NAME_KEYS,
        shapes.CONTENT_KEYS,
        shapes.SUMMARY_KEYS,
        ("approved",),
        ("filename", "File_Name"),  # a name not in loose form never matches
    ]
)


@settings(max_examples=500, deadline=None)
@given(obj=objects, names=name_groups)
def test_lookup_finds_what_the_table_of_loose_keys_finds(obj: dict[str, Any], names: tuple[str, ...]) -> None:
    assert shapes.lookup(obj, names) == reference_lookup(obj, names)


def test_the_keys_taken_as_loose_are_loose() -> None:
    assert all(shapes.key(k) == k for k in shapes._LOOSE_ALREADY)
    assert {
        "summary",
        "steps",
        "artifacts",
        "filename",
        "kind",
        "content",
        "approved",
    } <= shapes._LOOSE_ALREADY


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(["a", " ", "é", "\ud800", "\udfff", "\n", "\ufeff"]), max_size=12))
def test_surrogates_are_replaced_in_ascii_and_other_text_alike(text: str) -> None:
    notes: list[str] = []
    expected = _SURROGATES.sub("\ufffd", text)
    assert _string(text, "where", notes) == expected
    assert bool(notes) == (expected != text)
    notes = []
    replaced = to_text(text, notes)
    assert "\ud800" not in replaced and "\udfff" not in replaced
    assert ("lone surrogate characters replaced with U+FFFD" in notes) == (expected != text)


def _ctx(state: ProjectState) -> AgentContext:
    return AgentContext(
        project_state=state, mode="simulated", gateway=Gateway(SimulatedBackend()), run_id="r"
    )


def test_the_plan_and_output_carry_what_the_parser_read() -> None:
    state = ProjectState(project_name="p", request="Build a CLI that converts CSV files to JSON")
    for role_id in ("reviewer", "consensus"):
        agent = Agent(get_role(role_id))
        plan = agent.plan(TaskDefinition(), project_state=state, context=_ctx(state))
        output = agent.act(plan, project_state=state, context=_ctx(state))
        assert plan.planned_artifacts and all(
            list(p) == ["filename", "kind", "purpose"] for p in plan.planned_artifacts
        )
        assert output.decision is not None or output.score is not None
        assert output.model_dump()["artifacts"]


def test_planned_artifacts_are_the_parsed_records_as_dicts() -> None:
    parsed = parse_plan(
        '{"summary": "s", "steps": ["a"], "artifacts": [{"filename": "x.md", "purpose": "why"}, "y.py"]}'
    )
    dumped = [a.model_dump() for a in parsed.data.artifacts]
    assert dumped == [
        {"filename": "x.md", "kind": "markdown", "purpose": "why"},
        {"filename": "y.py", "kind": "python", "purpose": ""},
    ]
    act = parse_act(
        '{"summary": "s", "artifacts": [], "decision": {"approved": "yes", "reasons": "ok"}}',
        require_decision=True,
    )
    assert act.data.decision is not None and act.data.decision.approved is True
