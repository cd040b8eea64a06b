"""SimulatedBackend: parseable deterministic answers, runnable developer output, the gate, usage."""

from __future__ import annotations

import asyncio
import subprocess
import sys

import pytest

from orchestrator_kit.agents.prompt_builder import PromptBuilder
from orchestrator_kit.agents.response_parser import parse_act, parse_plan
from orchestrator_kit.agents.roles import ROLE_IDS, get_role
from orchestrator_kit.engine.state_models import AgentPlan, Artifact
from orchestrator_kit.llm.backend import Backend
from orchestrator_kit.llm.pricing import min_cache_tokens
from orchestrator_kit.llm.simulated import SimulatedBackend
from orchestrator_kit.llm.tokens import estimate_tokens
from orchestrator_kit.llm.types import Completion, LLMRequest, RequestLabels

MODEL = "claude-sonnet-5-5"
REQUEST = "Build a CLI that converts CSV to JSON"


def _request(
    role_id: str,
    step: str = "act",
    *,
    request: str = REQUEST,
    project_name: str = "Untitled project",
    round: int = 1,
    cache_ttl: str | None = "5m",
    model: str = MODEL,
) -> LLMRequest:
    role = get_role(role_id)
    inputs = [Artifact(filename=f"{up}.md", agent=up, content=f"notes of {up}") for up in role.consumes]
    extra: dict[str, object] = {}
    if step == "act":
        extra["plan"] = AgentPlan(agent=role_id, phase=role.phase, summary="s", steps=["do it"])
    return PromptBuilder(role, cache_ttl=cache_ttl).build(  # type: ignore[arg-type]
        step,
        model=model,
        max_tokens=role.default_max_tokens,  # type: ignore[arg-type]
        labels=RequestLabels(agent=role_id, phase=role.phase.value, step=step),
        project_name=project_name,
        request=request,
        inputs=inputs,
        round=round,
        **extra,
    )


def _complete(backend: SimulatedBackend, req: LLMRequest) -> Completion:
    return asyncio.run(backend.complete(req))


def test_simulated_backend_implements_the_backend_protocol() -> None:
    assert isinstance(SimulatedBackend(), Backend)
    assert SimulatedBackend.mode == "simulated"


@pytest.mark.parametrize("role_id", ROLE_IDS)
def test_plan_parses_and_names_the_deliverables(role_id: str) -> None:
    parsed = parse_plan(SimulatedBackend().answer(_request(role_id, "plan")))
    assert parsed.repairs == ()
    assert parsed.data.steps and parsed.data.artifacts
    assert REQUEST in parsed.data.summary


@pytest.mark.parametrize("role_id", ROLE_IDS)
def test_act_output_parses_cleanly(role_id: str) -> None:
    role = get_role(role_id)
    completion = _complete(SimulatedBackend(), _request(role_id))
    assert completion.stop_reason == "end_turn" and completion.mode == "simulated"
    parsed = parse_act(completion.text, require_decision=role.needs_decision, require_score=role.needs_score)
    assert parsed.repairs == ()  # the simulated answer needs no local repair
    assert parsed.data.artifacts
    assert all(a.content.strip() for a in parsed.data.artifacts)
    assert (parsed.data.decision is not None) == role.needs_decision
    assert (parsed.data.score is not None) == role.needs_score
    if parsed.data.score is not None:
        assert 0 <= parsed.data.score.value <= 10


@pytest.mark.parametrize("role_id", ROLE_IDS)
def test_act_artifacts_mention_the_request(role_id: str) -> None:
    parsed = parse_act(SimulatedBackend().answer(_request(role_id)))
    assert any(REQUEST in a.content for a in parsed.data.artifacts), [
        a.filename for a in parsed.data.artifacts
    ]


@pytest.mark.parametrize("role_id", ROLE_IDS)
def test_act_artifacts_mention_the_project(role_id: str) -> None:
    parsed = parse_act(SimulatedBackend().answer(_request(role_id, project_name="Ledger Lens")))
    text = "\n".join(a.content for a in parsed.data.artifacts)
    assert "Ledger Lens" in text or "ledger_lens" in text


DEVELOPER_CASES = {
    "csv-to-json": (REQUEST, "Untitled project"),
    "quotes": ('Parse "quoted" values, emit """triple""" quotes; and report totals', "Quote Tool"),
    "stdlib-name": ("Build a CSV tool", "Untitled project"),  # csv.py would shadow the standard library
    "keyword-name": ("Build a lambda", "Untitled project"),  # lambda.py cannot be imported
    "project-named-json": ("Track invoices; and send reminders", "json"),
    "accents-and-digits": ("Créer un outil de facturation", "2024 billing"),
    "backslashes": (r"Read Windows paths like C:\Users\data and convert them", "Untitled project"),
}


def _developer_files(case: str) -> dict[str, str]:
    request_text, project_name = DEVELOPER_CASES[case]
    parsed = parse_act(
        SimulatedBackend().answer(_request("developer", request=request_text, project_name=project_name))
    )
    return {a.filename: a.content for a in parsed.data.artifacts}


@pytest.fixture(scope="module")
def generated_test_results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[str]]:
    """Write every case's developer output to its own folder and run them all with pytest in ONE
    subprocess (pytest start-up is the slow part); returns the result lines of each case."""
    root = tmp_path_factory.mktemp("generated")
    for case in DEVELOPER_CASES:
        (root / case).mkdir()
        for name, content in _developer_files(case).items():
            (root / case / name).write_text(content, encoding="utf-8")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-rA",
            "-p",
            "no:cacheprovider",
            "-W",
            "error",
            "--continue-on-collection-errors",
            *DEVELOPER_CASES,
        ],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
    )
    results: dict[str, list[str]] = {case: [] for case in DEVELOPER_CASES}
    for line in proc.stdout.splitlines():
        outcome, _, nodeid = line.partition(" ")
        if outcome in ("PASSED", "FAILED", "ERROR") and "/" in nodeid:
            results[nodeid.split("/")[0]].append(f"{outcome} {nodeid}")
    return results


@pytest.mark.parametrize("case", list(DEVELOPER_CASES))
def test_developer_output_is_valid_python_whose_tests_pass(
    case: str, generated_test_results: dict[str, list[str]]
) -> None:
    files = _developer_files(case)
    assert len(files) == 2
    (module,) = [f for f in files if not f.startswith("test_")]
    assert f"test_{module}" in files
    assert module.endswith(".py") and module[:-3].isidentifier()
    for name, content in files.items():
        compile(content, name, "exec")  # valid Python
    results = generated_test_results[case]
    assert results and all(r.startswith("PASSED") for r in results), results
    assert len(results) == 5


def test_developer_module_names_avoid_the_standard_library() -> None:
    import keyword

    for case in DEVELOPER_CASES:
        (module,) = [f[:-3] for f in _developer_files(case) if not f.startswith("test_")]
        assert module not in sys.stdlib_module_names and not keyword.iskeyword(module), (case, module)


def test_same_request_gives_identical_text() -> None:
    a, b = SimulatedBackend(), SimulatedBackend()
    for role_id in ROLE_IDS:
        for step in ("plan", "act"):
            req = _request(role_id, step)
            first = _complete(a, req).text
            assert _complete(a, req).text == first  # same instance, cache state changed
            assert _complete(b, req).text == first  # another instance


def test_different_requests_give_different_text() -> None:
    backend = SimulatedBackend()
    assert backend.answer(_request("architect")) != backend.answer(
        _request("architect", request=REQUEST + " fast")
    )


def test_consensus_rejections_reject_round_one_and_approve_round_two() -> None:
    backend = SimulatedBackend(consensus_rejections=1)
    first = parse_act(backend.answer(_request("consensus", round=1)), require_decision=True).data
    second = parse_act(backend.answer(_request("consensus", round=2)), require_decision=True).data
    assert first.decision is not None and first.decision.approved is False
    assert first.decision.reasons
    assert second.decision is not None and second.decision.approved is True
    assert "SENT BACK" in first.artifacts[0].content and "APPROVED" in second.artifacts[0].content


def test_default_consensus_approves_round_one() -> None:
    data = parse_act(SimulatedBackend().answer(_request("consensus")), require_decision=True).data
    assert data.decision is not None and data.decision.approved


def test_negative_rejections_are_refused() -> None:
    with pytest.raises(ValueError):
        SimulatedBackend(consensus_rejections=-1)


def test_usage_is_estimated_and_the_second_call_reads_the_cache() -> None:
    backend = SimulatedBackend()
    plan, act = _request("architect", "plan"), _request("architect", "act")
    assert plan.system == act.system
    first, second = _complete(backend, plan).usage, _complete(backend, act).usage
    assert first.estimated and second.estimated
    assert first.cache_write_5m_tokens > 0 and first.cache_read_tokens == 0
    assert second.cache_read_tokens == first.cache_write_5m_tokens
    assert second.cache_write_5m_tokens == 0 and second.cache_write_1h_tokens == 0
    assert first.input_tokens > 0 and first.output_tokens > 0


def test_cache_is_per_model_and_per_prefix() -> None:
    backend = SimulatedBackend()
    _complete(backend, _request("qa", "plan", model="claude-sonnet-5"))
    other_model = _complete(backend, _request("qa", "plan", model="claude-opus-4-8")).usage
    other_prefix = _complete(
        backend, _request("qa", "plan", model="claude-sonnet-5", request="Another")
    ).usage
    assert other_model.cache_read_tokens == 0 and other_model.cache_write_5m_tokens > 0
    assert other_prefix.cache_read_tokens == 0 and other_prefix.cache_write_5m_tokens > 0


def test_agents_reading_the_same_artifacts_share_the_cached_prefix() -> None:
    backend = SimulatedBackend()
    qa = _complete(backend, _request("qa", "plan", model="claude-sonnet-5")).usage
    doc = _complete(backend, _request("documentarian", "plan", model="claude-sonnet-5")).usage
    assert qa.cache_read_tokens == 0 and qa.cache_write_5m_tokens > 0
    assert 0 < doc.cache_read_tokens < qa.cache_write_5m_tokens  # team, project and the two artifacts


def test_one_hour_cache_writes_are_counted_as_such() -> None:
    # claude-sonnet-5 caches from 1,024 tokens: the shared project prefix (1h) passes it
    usage = _complete(
        SimulatedBackend(), _request("qa", "plan", cache_ttl="1h", model="claude-sonnet-5")
    ).usage
    assert usage.cache_write_1h_tokens > 1024 and usage.cache_write_5m_tokens > 0  # then the 5m breakpoints


def test_nothing_is_cached_below_the_models_minimum() -> None:
    # claude-haiku-5-5 caches nothing below 4,096 tokens; this prompt is shorter
    backend = SimulatedBackend()
    req = _request("qa", "plan", model="claude-haiku-5-5")
    assert estimate_tokens(req.prompt_text()) < min_cache_tokens("claude-haiku-5-5") == 4096
    for _ in range(2):
        u = _complete(backend, req).usage
        assert u.cache_write_5m_tokens == u.cache_write_1h_tokens == u.cache_read_tokens == 0
        assert u.input_tokens == estimate_tokens(req.prompt_text())
    # the same prompt on a model with a lower minimum is cached
    assert _complete(backend, _request("qa", "plan", model="claude-sonnet-5")).usage.cache_write_5m_tokens > 0


def test_uncached_requests_have_no_cache_tokens() -> None:
    for backend, req in (
        (SimulatedBackend(simulate_cache=False), _request("qa", "plan")),
        (SimulatedBackend(), _request("qa", "plan", cache_ttl=None)),
    ):
        usage = _complete(backend, req).usage
        usage_again = _complete(backend, req).usage
        for u in (usage, usage_again):
            assert u.estimated
            assert u.cache_write_5m_tokens == u.cache_write_1h_tokens == u.cache_read_tokens == 0


def test_on_delta_receives_the_text() -> None:
    seen: list[str] = []
    completion = asyncio.run(SimulatedBackend().complete(_request("qa"), on_delta=seen.append))
    assert "".join(seen) == completion.text
