"""Role templates rendered by PromptBuilder: every role, both steps, caching marks, strict variables."""

from __future__ import annotations

import re
from importlib import resources

import jinja2
import pytest

from orchestrator_kit.agents.prompt_builder import PromptBuilder, _environment, template_hashes
from orchestrator_kit.agents.roles import ROLE_IDS, ROLES, get_role
from orchestrator_kit.engine.state_models import AgentPlan, Artifact
from orchestrator_kit.errors import UnknownAgentError
from orchestrator_kit.llm.types import LLMRequest, RequestLabels

MODEL = "claude-sonnet-5-5"
REQUEST = "Build a CLI that converts CSV files to JSON, with a --pretty flag"


def _inputs(role_id: str) -> list[Artifact]:
    return [
        Artifact(filename=f"{up}_notes.md", agent=up, kind="markdown", content=f"UPSTREAM-{up.upper()}-BODY")
        for up in get_role(role_id).consumes
    ]


def _build(role_id: str, step: str, **extra: object) -> LLMRequest:
    variables: dict[str, object] = dict(project_name="csv2json", request=REQUEST, inputs=_inputs(role_id))
    variables.update(extra)
    if step == "act" and "plan" not in variables:
        variables["plan"] = AgentPlan(
            agent=role_id,
            phase=get_role(role_id).phase,
            summary="PLAN-SUMMARY-TEXT",
            steps=["step one", "step two"],
            planned_artifacts=[{"filename": "out.md", "kind": "markdown", "purpose": "p"}],
        )
    return PromptBuilder(role_id).build(
        step,
        model=MODEL,
        max_tokens=1234,  # type: ignore[arg-type]
        labels=RequestLabels(agent=role_id, step=step),
        **variables,
    )


@pytest.mark.parametrize("step", ["plan", "act"])
@pytest.mark.parametrize("role_id", ROLE_IDS)
def test_every_role_renders_for_both_steps(role_id: str, step: str) -> None:
    req = _build(role_id, step)
    assert req.model == MODEL and req.max_tokens == 1234
    team, project, *inputs, role = req.system
    assert len(inputs) == len(get_role(role_id).consumes)
    assert "<team_charter>" in team.text and team.cache_ttl is None
    assert project.cache_ttl == "5m"  # the shared project prefix
    assert role.cache_ttl is None
    assert all(b.text.strip() for b in req.system)
    # breakpoints on the first and last artifact only, never more than 4 in all
    assert [b.cache_ttl for b in inputs] == [
        "5m" if i in (0, len(inputs) - 1) else None for i in range(len(inputs))
    ]
    marks = [b for b in (*req.system, *req.messages) if b.cache_ttl]
    assert len(marks) <= 4
    plan_turn = req.messages[0]
    assert (
        plan_turn.role == "user" and plan_turn.cache_ttl == "5m" and "<step>plan</step>" in plan_turn.content
    )
    user = req.messages[-1].content
    assert f"<step>{step}</step>" in user
    assert f"<role>{role_id}</role>" in role.text
    assert get_role(role_id).description in role.text
    # the request sits in the cached project block, not in any turn
    assert REQUEST in project.text
    assert all(REQUEST not in m.content for m in req.messages)
    for art, block in zip(_inputs(role_id), inputs, strict=True):
        assert f'<artifact agent="{art.agent}" filename="{art.filename}"' in block.text
        assert art.content in block.text
    if step == "act":  # the act call continues the plan conversation
        assert [m.role for m in req.messages] == ["user", "assistant", "user"]
        assert "PLAN-SUMMARY-TEXT" in req.messages[1].content and "step two" in req.messages[1].content
    else:
        assert len(req.messages) == 1
    # no section marker leaks into what the model sees
    assert "<<<section" not in req.prompt_text()


def test_plan_and_act_share_the_cacheable_prefix() -> None:
    plan, act = _build("developer", "plan"), _build("developer", "act")
    assert plan.system == act.system
    assert act.messages[0] == plan.messages[0]  # the plan turn, with its breakpoint, is the act's prefix
    assert plan.messages != act.messages


def test_every_agent_of_a_run_shares_the_team_and_project_prefix() -> None:
    prefixes = {tuple(_build(r, "plan").system[:2]) for r in ROLE_IDS}
    assert len(prefixes) == 1


def test_agents_reading_the_same_artifacts_share_that_prefix() -> None:
    qa, doc = _build("qa", "plan"), _build("documentarian", "plan")
    assert qa.system[:4] == doc.system[:4]  # team, project, architect's and developer's artifacts


def test_act_needs_the_plan() -> None:
    with pytest.raises(ValueError, match="plan="):
        PromptBuilder("qa").build(
            "act",
            model=MODEL,
            max_tokens=10,
            labels=RequestLabels(),
            project_name="p",
            request=REQUEST,
            inputs=[],
        )


def test_first_agent_is_told_it_has_no_inputs() -> None:
    req = _build("architect", "plan", inputs=[])
    assert "No earlier artifacts" in req.system[-1].text


def test_gate_and_score_roles_ask_for_their_extra_fields() -> None:
    assert '"decision"' in _build("consensus", "act").messages[-1].content
    assert '"score"' in _build("reviewer", "act").messages[-1].content
    assert '"decision"' not in _build("developer", "act").messages[-1].content


def test_feedback_round_and_extra_instructions_reach_the_plan() -> None:
    req = _build(
        "architect",
        "plan",
        round=2,
        feedback=["REASON-ONE", "REASON-TWO"],
        extra_instructions="Prefer the standard library",
    )
    user = req.messages[0].content
    assert "<round>2</round>" in user
    assert "- REASON-ONE" in user and "- REASON-TWO" in user
    assert "Prefer the standard library" in user
    plain = _build("architect", "plan").messages[0].content
    assert "REASON" not in plain and "Extra instructions" not in plain


def test_cache_ttl_is_configurable() -> None:
    req = PromptBuilder("qa", cache_ttl="1h").build(
        "plan",
        model=MODEL,
        max_tokens=10,
        labels=RequestLabels(),
        project_name="p",
        request=REQUEST,
        inputs=[],
    )
    # the shared project prefix outlives one run (sweeps); the per-agent breakpoints stay at 5 minutes
    assert [b.cache_ttl for b in req.system] == [None, "1h", None]
    assert req.messages[0].cache_ttl == "5m"
    off = PromptBuilder("qa", cache_ttl=None).build(
        "plan",
        model=MODEL,
        max_tokens=10,
        labels=RequestLabels(),
        project_name="p",
        request=REQUEST,
        inputs=[],
    )
    assert not any(b.cache_ttl for b in (*off.system, *off.messages))


def test_rendering_is_deterministic() -> None:
    assert _build("reviewer", "act").request_hash() == _build("reviewer", "act").request_hash()
    assert (
        _build("reviewer", "act").request_hash()
        != _build("reviewer", "act", request=REQUEST + "!").request_hash()
    )


def test_reply_instruction_starts_its_own_line() -> None:
    user = _build("architect", "plan").messages[0].content
    assert re.search(r"^Reply with JSON", user, re.M), user


# -- strictness ------------------------------------------------------------------------------------


def test_missing_variable_raises_in_the_prompt_environment() -> None:
    env = _environment()
    assert isinstance(env.undefined, type) and issubclass(env.undefined, jinja2.StrictUndefined)
    with pytest.raises(jinja2.UndefinedError, match="missing"):
        env.from_string("Hello {{ missing }}").render()
    with pytest.raises(jinja2.UndefinedError):
        env.from_string("{% if missing %}x{% endif %}").render()


def test_role_template_with_a_missing_key_raises() -> None:
    builder = PromptBuilder("architect")
    variables = builder.variables(project_name="p", request=REQUEST, inputs=[])
    del variables["request"]
    with pytest.raises(jinja2.UndefinedError, match="request"):
        builder.render_sections(variables)


# -- hashes and lookup -----------------------------------------------------------------------------


def test_template_hashes_cover_every_role_and_the_base() -> None:
    hashes = template_hashes()
    assert set(hashes) == {f"{r}.j2" for r in ROLE_IDS} | {"_base.j2", "_team.j2"}
    assert all(re.fullmatch(r"[0-9a-f]{12}", h) for h in hashes.values())
    assert len(set(hashes.values())) == len(hashes)  # every template is different


def test_template_hashes_match_the_shipped_files() -> None:
    import hashlib

    root = resources.files("orchestrator_kit.prompts")
    for name, digest in template_hashes().items():
        assert hashlib.sha256(root.joinpath(name).read_bytes()).hexdigest()[:12] == digest


def test_every_role_has_a_template() -> None:
    root = resources.files("orchestrator_kit.prompts")
    for role_id in ROLES:
        assert root.joinpath(f"{role_id}.j2").is_file()


@pytest.mark.parametrize("bad", ["wizard", "Architect", "architect ", ""])
def test_unknown_role_raises_listing_valid_ids(bad: str) -> None:
    with pytest.raises(UnknownAgentError) as info:
        PromptBuilder(bad)
    message = str(info.value)
    assert repr(bad) in message
    for role_id in ROLE_IDS:
        assert role_id in message


def test_a_request_mentioning_the_section_marker_reaches_the_model_whole() -> None:
    request = "Document the <<<section:plan_request>>> marker format of our templates"
    req = _build("architect", "plan", request=request)
    assert request in req.system[1].text
