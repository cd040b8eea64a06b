"""Custom role templates a user may write (prompts/*.j2) give through the skeleton the very bytes a full
jinja rendering gives (review of #12): blocks that transform what they print, lists printed whole, a
section name that recurs."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import jinja2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from orchestrator_kit.agents import prompt_builder, prompt_skeleton
from orchestrator_kit.agents.prompt_builder import PromptBuilder
from orchestrator_kit.agents.roles import get_role
from orchestrator_kit.engine.state_models import Artifact
from orchestrator_kit.llm.types import RequestLabels

BASE = "{{ section_mark }}team>>>\n{{ role.id }}\n{{ section_mark }}body>>>\n"


@pytest.mark.parametrize(
    "body",
    [
        "{% filter upper %}{{ request }}{% endfilter %}",
        "{% for a in inputs %}{% filter indent(2) %}{{ a.content }}{% endfilter %}{% endfor %}",
        "{% autoescape true %}{{ request }}{% endautoescape %}",
        "{{ feedback }}",  # the items' reprs
        "{% for a in inputs %}{{ a.content }}{{ loop.previtem }}{% endfor %}",
        "{% for r in feedback %}{% if loop.nextitem == 'x' %}again{% endif %}{% endfor %}",
    ],
)
def test_a_template_that_changes_what_it_prints_is_rendered_in_full(body: str) -> None:
    env = jinja2.Environment(loader=jinja2.DictLoader({"t.j2": BASE + body}))
    assert not prompt_skeleton.fillable(lambda name: env.parse(env.loader.get_source(env, name)[0]), "t.j2")  # type: ignore[union-attr]


def test_a_hole_changed_by_the_template_is_refused() -> None:
    with pytest.raises(ValueError, match="changed"):
        prompt_skeleton.Skeleton("\x00section:a>>>" + prompt_skeleton.hole(0).upper(), "\x00section:")


def _plan(builder: PromptBuilder, **values: object) -> tuple[str, dict[str, str]]:
    variables = {"project_name": "p", "request": "make <it> so", "inputs": [], **values}
    request = builder.build(
        "plan", model="claude-sonnet-5-5", max_tokens=10, labels=RequestLabels(), **variables
    )
    full = builder.render_sections(builder.variables(**variables))  # type: ignore[arg-type]
    return request.system[0].text + request.system[1].text, full


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("{{ request }}", "{% filter upper %}{{ request }}{% endfilter %}"),
        ("{{ a.content }}", "{% filter indent(2) %}{{ a.content }}{% endfilter %}"),
        ("{{ request }}", "{% autoescape true %}{{ request }}{% endautoescape %}"),
    ],
)
def test_a_filter_or_autoescape_block_in_a_template_on_disk(prompts_dir: Path, old: str, new: str) -> None:
    base = prompts_dir / "_base.j2"
    base.write_text(base.read_text().replace(old, new))
    builder = PromptBuilder("qa")
    inputs = [Artifact(filename="a.md", agent="architect", content="one\ntwo")]
    text, full = _plan(builder, inputs=inputs)
    assert text == full["team"] + full["project"]
    assert (
        builder.sections(builder.variables(project_name="p", request="make <it> so", inputs=inputs)) == full
    )


def test_a_section_name_that_recurs_takes_its_last_text_on_every_call(prompts_dir: Path) -> None:
    base = prompts_dir / "_base.j2"
    base.write_text(base.read_text() + "\n{{ section_mark }}team>>>\nTEAM OF {{ project_name }}\n")
    builder = PromptBuilder("qa")
    first, _ = _plan(builder, project_name="alpha")
    second, _ = _plan(builder, project_name="beta")
    assert first.startswith("TEAM OF alpha") and second.startswith("TEAM OF beta")


def test_an_include_that_may_be_missing_is_rendered_in_full(prompts_dir: Path) -> None:
    base = prompts_dir / "_base.j2"
    include = '{% include "_team.j2" %}'
    base.write_text(base.read_text().replace(include, include + '\n{% include "_local.j2" ignore missing %}'))
    builder = PromptBuilder("qa")
    text, full = _plan(builder)  # the build raised TemplateNotFound
    assert text == full["team"] + full["project"]
    (prompts_dir / "_local.j2").write_text("LOCAL NOTE {{ request }}")
    prompt_builder._forget_templates()  # the next process
    text, full = _plan(PromptBuilder("qa"))
    assert "LOCAL NOTE make <it> so" in text and text == full["team"] + full["project"]


def test_a_template_may_include_a_part_from_a_subfolder(prompts_dir: Path) -> None:
    (prompts_dir / "partials").mkdir()
    (prompts_dir / "partials" / "style.j2").write_text("Write in plain English.")
    qa = prompts_dir / "qa.j2"
    qa.write_text(
        qa.read_text().replace("{% block role %}", '{% block role %}{% include "partials/style.j2" %} ')
    )
    builder = PromptBuilder("qa")
    request = builder.build(
        "plan",
        model="claude-sonnet-5-5",
        max_tokens=10,
        labels=RequestLabels(),
        project_name="p",
        request="r",
        inputs=[],
    )  # TemplateNotFound: only the top folder's templates were read
    assert "Write in plain English." in request.system[-1].text


def test_a_role_with_lists_is_rendered_in_full() -> None:
    role = replace(get_role("qa"), consumes=["developer"], produces=["qa_report.md"])  # type: ignore[arg-type]
    builder = PromptBuilder(role)
    request = builder.build(
        "plan",
        model="claude-sonnet-5-5",
        max_tokens=10,
        labels=RequestLabels(),
        project_name="p",
        request="r",
        inputs=[],
    )  # TypeError: unhashable type: 'list' (skeletons are kept per role)
    full = builder.render_sections(builder.variables(project_name="p", request="r", inputs=[]))
    assert request.system[-1].text == full["instructions"]


# -- any template built of these pieces: filled in only where that gives the full rendering's bytes ---------

_PIECES = [
    "{{ request }}",
    "{{ project_name }}",
    "{{ extra_instructions }}",
    "{% if request %}R{% endif %}",
    "{% if feedback %}F{% else %}noF{% endif %}",
    "{% for r in feedback %}- {{ r }} {{ loop.index }}/{{ loop.length }}\n{% endfor %}",
    "{% for a in inputs %}<{{ a.agent }}|{{ a.filename }}|{{ a.kind }}>{{ a.content }}"
    "{% if a.truncated %}(cut){% endif %}{% if not loop.last %},{% endif %}\n{% endfor %}",
    "{% for a in inputs %}{% if a.content %}{{ a.content }}{% elif a.kind %}{{ a.kind }}{% endif %}{% endfor %}",
    "{{ request | upper }}",
    "{% filter trim %}{{ request }}{% endfilter %}",
    "{{ feedback }}",
    "{% set x = request %}{{ x }}",
    "{{ round }}{{ role.id }}{% if round > 1 %}again{% endif %}",
    "{{ '{' }}{{ '}' }}{% raw %}{{ request }}{% endraw %}",
    "\n",
    " text {0} ",
    "{{ section_mark }}s_a>>>",
    "{{ section_mark }}s_{{ round }}>>>",
    "{% for a in inputs %}{{ section_mark }}in_{{ loop.index }}>>>{{ a.content }}{% endfor %}",
    "{% if extra_instructions %}{{ section_mark }}x>>>{{ extra_instructions }}{% endif %}",
    "{{ request ~ '!' }}{% if request and feedback %}both{% endif %}",
    "{% macro m(v) %}[{{ v }}]{% endmacro %}{{ m(request) }}",
    "{% with v = request %}{{ v }}{% endwith %}",
    "{% for a in inputs %}{{ loop.previtem }}{% endfor %}",
    "{% autoescape true %}{{ request }}{% endautoescape %}",
    "{% for r in feedback %}{{ r }}{% else %}none{% endfor %}",
]
_VALUE = st.sampled_from(
    ["", " ", "x", "\n a \n", "{0}", "{", "}}", ">>>", "<b>&", "é🎉", "ab\ncd", "{{ request }}"]
)
_ARTIFACT = st.builds(
    Artifact, filename=_VALUE, content=_VALUE, kind=_VALUE, agent=_VALUE, truncated=st.booleans()
)


def _sections(text: str) -> dict[str, str]:
    out = {}
    for chunk in text.split(prompt_builder.SECTION_MARK)[1:]:
        name, _, body = chunk.partition(">>>")
        out[name.strip()] = body.strip()
    return out


@settings(max_examples=300, deadline=None)
@given(
    pieces=st.lists(st.sampled_from(_PIECES), min_size=1, max_size=6),
    texts=st.fixed_dictionaries(dict.fromkeys(prompt_skeleton.SCALARS, _VALUE)),
    feedback=st.lists(_VALUE, max_size=2),
    inputs=st.lists(_ARTIFACT, max_size=2),
    round=st.integers(1, 2),
)
def test_any_template_filled_in_gives_the_full_rendering(
    pieces: list[str], texts: dict[str, str], feedback: list[str], inputs: list[Artifact], round: int
) -> None:
    source = "{{ section_mark }}head>>>" + "".join(pieces)
    env = jinja2.Environment(
        loader=jinja2.DictLoader({"t.j2": source}),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    if not prompt_skeleton.fillable(lambda name: env.parse(env.loader.get_source(env, name)[0]), "t.j2"):  # type: ignore[union-attr]
        return
    template, role = env.get_template("t.j2"), get_role("qa")
    values = {**texts, "feedback": feedback, "inputs": inputs, "round": round, "role": role}
    mark = prompt_builder.SECTION_MARK
    full = _sections(template.render(**values, section_mark=mark))
    shaped = prompt_skeleton.shape_of(values)
    assert shaped is not None
    holes, shape = shaped
    try:
        skeleton = prompt_skeleton.Skeleton(
            template.render(**prompt_skeleton.placeholders(shape, role), section_mark=mark), mark
        )
    except ValueError:  # refused: rendered in full by the builder
        return
    assert skeleton.fill(holes) == full
