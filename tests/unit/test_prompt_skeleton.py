"""A role template rendered once per shape and filled in on each call (issue #12) gives the very bytes
a full jinja rendering gives; a template that uses a value in any other way is rendered in full; the
templates are read once per process; one role's skeleton never serves another."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import jinja2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from orchestrator_kit.agents import prompt_builder, prompt_skeleton
from orchestrator_kit.agents.prompt_builder import PromptBuilder, _plan_json, template_hashes
from orchestrator_kit.agents.roles import ROLE_IDS, get_role
from orchestrator_kit.engine.state_models import AgentPlan, Artifact
from orchestrator_kit.llm.types import RequestLabels

# text that tries everything: whitespace at the edges, braces (str.format), jinja syntax, section
# marks and placeholders (their NULs are stripped, as from every value), non-ASCII
text = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["", " ", "\n", "{}", "{0}", "}{", "{{ request }}", ">>>", "\x00hole0\x00", "é 日本"]),
    st.lists(st.sampled_from(["a", " ", "\n", "{", "}", "\x00", "section:", ">>>", "hole1", "\t"])).map(
        "".join
    ),
)
artifacts = st.builds(Artifact, filename=text, content=text, kind=text, agent=text, truncated=st.booleans())


@settings(max_examples=300, deadline=None)
@given(
    role_id=st.sampled_from(ROLE_IDS),
    project_name=text,
    request=text,
    inputs=st.lists(artifacts, max_size=4),
    round=st.integers(1, 4),
    feedback=st.lists(text, max_size=3),
    extra=text,
    plan_summary=st.one_of(st.none(), text),
)
def test_a_filled_skeleton_is_the_full_rendering(
    role_id: str,
    project_name: str,
    request: str,
    inputs: list[Artifact],
    round: int,
    feedback: list[str],
    extra: str,
    plan_summary: str | None,
) -> None:
    builder = PromptBuilder(role_id)
    plan = None
    if plan_summary is not None:
        plan = AgentPlan(agent=role_id, phase=get_role(role_id).phase, summary=plan_summary, steps=["s"])
    values = builder.variables(
        project_name=project_name,
        request=request,
        inputs=inputs,
        round=round,
        feedback=feedback,
        extra_instructions=extra,
        plan=plan,
    )
    assert prompt_skeleton.shape_of(values) is not None
    assert builder.sections(values) == builder.render_sections(values)


def test_the_shipped_templates_are_filled_in_not_rendered_per_call() -> None:
    assert all(prompt_builder._fillable(f"{r}.j2") for r in ROLE_IDS)


@settings(max_examples=300, deadline=None)
@given(
    summary=text,
    steps=st.lists(text, max_size=4),
    planned=st.lists(st.dictionaries(text, text, max_size=3), max_size=3),
)
def test_the_plan_turn_is_the_json_modules_indented_output(
    summary: str, steps: list[str], planned: list[dict[str, str]]
) -> None:
    data = {"summary": summary, "steps": steps, "artifacts": planned}
    assert _plan_json(summary, steps, planned) == json.dumps(data, ensure_ascii=False, indent=1)


def test_a_plan_of_another_shape_is_written_by_the_json_module() -> None:
    odd: list[Any] = ["s", 2, None]
    assert _plan_json("x", odd, [{"n": 1}]) == json.dumps(
        {"summary": "x", "steps": odd, "artifacts": [{"n": 1}]}, ensure_ascii=False, indent=1
    )


# -- which templates can be filled in ------------------------------------------------------------

BASE = "{{ section_mark }}team>>>\n{{ role.id }}\n{{ section_mark }}body>>>\n"


@pytest.mark.parametrize(
    "body",
    [
        "{{ request }}{% if feedback %}{% for r in feedback %}- {{ r }}{% endfor %}{% endif %}",
        "{% for a in inputs %}{{ loop.index }} {{ a.filename }}{% if a.truncated %}!{% endif %}{% endfor %}",
        "{% if extra_instructions %}{{ extra_instructions }}{% else %}none{% endif %} {{ round + 1 }}",
    ],
)
def test_values_printed_or_truth_tested_can_be_filled_in(body: str) -> None:
    env = jinja2.Environment(loader=jinja2.DictLoader({"t.j2": BASE + body}))
    assert prompt_skeleton.fillable(lambda name: env.parse(env.loader.get_source(env, name)[0]), "t.j2")  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "body",
    [
        "{{ request | upper }}",  # a filter
        "{{ request.strip() }}",  # a method
        "{% if request == 'x' %}x{% endif %}",  # a comparison
        "{% set r = request %}{{ r }}",  # a new name
        "{{ inputs | length }}",
        "{% for a in inputs %}{{ a }}{% endfor %}",  # an input printed whole
        "{% for a in inputs %}{{ a.content[:10] }}{% endfor %}",
        "{% for a in inputs if a.content %}{{ a.filename }}{% endfor %}",  # a loop filter
        "{% for r in feedback %}{% if r == 'x' %}{% endif %}{% endfor %}",
        "{% macro m(x) %}{{ x }}{% endmacro %}{{ m(request) }}",
        "{{ request if round else '' }}",
        "{{ unknown_name }}",
        '{% include "other.j2" %}',  # an included template that uses a filter
        "{% include request %}",  # a template named by a value
    ],
)
def test_any_other_use_of_a_value_is_rendered_in_full(body: str) -> None:
    env = jinja2.Environment(
        loader=jinja2.DictLoader({"t.j2": BASE + body, "other.j2": "{{ project_name | trim }}"})
    )
    assert not prompt_skeleton.fillable(lambda name: env.parse(env.loader.get_source(env, name)[0]), "t.j2")  # type: ignore[union-attr]


# -- templates on disk ------------------------------------------------------------------------------


def _act(role: Any = "qa", **changes: Any) -> Any:
    role_id = role if isinstance(role, str) else role.id
    variables: dict[str, Any] = {
        "project_name": "csv2json",
        "request": "Convert CSV to JSON",
        "inputs": [Artifact(filename="a.md", agent="architect", content="ARCH")],
        "plan": AgentPlan(agent=role_id, phase=get_role(role_id).phase, summary="P", steps=["s"]),
        **changes,
    }
    return PromptBuilder(role).build(
        "act", model="claude-sonnet-5-5", max_tokens=100, labels=RequestLabels(), **variables
    )


def test_a_template_edited_on_disk_renders_as_read_until_the_next_process(prompts_dir: Path) -> None:
    before, hashes = _act(), template_hashes()
    qa = prompts_dir / "qa.j2"
    qa.write_text(qa.read_text().replace("{% block role %}", "{% block role %}EDITED "))
    again = _act()
    assert again.request_hash() == before.request_hash()  # read once per process: the run is consistent
    assert template_hashes() == hashes  # and the manifest names what rendered
    prompt_builder._forget_templates()  # what the next process sees
    after = _act()
    assert "EDITED" in after.system[-1].text and "EDITED" not in before.system[-1].text
    assert template_hashes()["qa.j2"] != hashes["qa.j2"]


def test_a_template_that_cannot_be_filled_in_renders_in_full_on_each_call(
    prompts_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    base = prompts_dir / "_base.j2"
    base.write_text(base.read_text().replace("{{ request }}", "{{ request | upper }}"))
    full: list[str] = []
    real = PromptBuilder.render_sections

    def counting(builder: PromptBuilder, values: dict[str, Any]) -> dict[str, str]:
        full.append(builder.role.id)
        return real(builder, values)

    monkeypatch.setattr(PromptBuilder, "render_sections", counting)
    assert not prompt_builder._fillable("qa.j2")
    first, second = _act(request="make it so"), _act(request="and more")
    assert "MAKE IT SO" in first.system[1].text and "AND MORE" in second.system[1].text
    assert full == ["qa", "qa"]
    _act("reviewer")  # the shipped templates still extend the edited base
    assert full == ["qa", "qa", "reviewer"]


def test_a_roles_skeleton_serves_no_other_role() -> None:
    qa, reviewer = _act("qa"), _act("reviewer")
    assert "<role>qa</role>" in qa.system[-1].text and "<role>reviewer</role>" in reviewer.system[-1].text
    other_qa = replace(get_role("qa"), description="Only property tests")  # same id, another role
    custom = _act(other_qa)
    assert "Only property tests" in custom.system[-1].text
    assert "Only property tests" not in _act("qa").system[-1].text


def test_blocks_without_a_value_are_made_once_per_shape_and_ttl() -> None:
    first, second = _act(request="one request"), _act(request="another request")
    assert first.system[0] is second.system[0]  # the team charter: one frozen block for every call
    assert first.system[-1] is second.system[-1]  # the role's instructions
    assert first.messages[2] is second.messages[2]  # the act turn
    assert first.system[1] is not second.system[1] and "another request" in second.system[1].text
    reviewer = _act("reviewer")
    assert reviewer.system[-1] is not first.system[-1] and "<role>reviewer</role>" in reviewer.system[-1].text
    no_cache = PromptBuilder("qa", cache_ttl=None).build(
        "plan",
        model="claude-sonnet-5-5",
        max_tokens=100,
        labels=RequestLabels(),
        project_name="csv2json",
        request="one request",
        inputs=[Artifact(filename="a.md", agent="architect", content="ARCH")],
    )
    assert first.messages[0].cache_ttl == "5m" and no_cache.messages[0].cache_ttl is None
    assert no_cache.messages[0].content == first.messages[0].content
