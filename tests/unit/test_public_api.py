"""The declared public API: the guide's module paths, the factory, lazy imports, the exception tree."""

from __future__ import annotations

import importlib
import inspect
import json
import subprocess
import sys

import pytest

import orchestrator_kit
from orchestrator_kit import errors
from orchestrator_kit.agents.roles import ROLE_IDS
from orchestrator_kit.errors import ConfigError, UnknownAgentError

GUIDE_IDS = ("architect", "developer", "qa", "documentarian", "consensus", "steward", "reviewer", "data")


@pytest.mark.parametrize(
    ("module", "names"),
    [
        ("orchestrator_kit.engine.engine", ["WorkflowEngine"]),
        (
            "orchestrator_kit.engine.state_models",
            ["AgentContext", "TaskDefinition", "ProjectState", "PhaseType", "AgentPlan", "AgentOutput"],
        ),
        ("orchestrator_kit.agents", ["create_agent"]),
        ("orchestrator_kit.agents.llm_agent_mixin", ["LlmAgentMixin"]),
        ("orchestrator_kit.agents.prompt_builder", ["PromptBuilder"]),
        ("orchestrator_kit.agents.response_parser", ["ResponseParser"]),
        ("orchestrator_kit.agents.factory", ["create_agent"]),
        ("orchestrator_kit.llm", ["RetryConfig", "retry_async"]),
        ("orchestrator_kit.llm.retry", ["RetryConfig", "retry_async"]),
    ],
)
def test_the_guides_module_paths_import(module: str, names: list[str]) -> None:
    mod = importlib.import_module(module)
    for name in names:
        assert getattr(mod, name) is not None, f"{module}.{name}"


def test_llm_agent_mixin_has_the_guides_methods() -> None:
    from orchestrator_kit.agents.base import Agent
    from orchestrator_kit.agents.llm_agent_mixin import LlmAgentMixin

    for name in ("_llm_plan", "_llm_act"):
        assert inspect.iscoroutinefunction(getattr(LlmAgentMixin, name)), name
    assert issubclass(Agent, LlmAgentMixin)
    assert list(inspect.signature(LlmAgentMixin._llm_plan).parameters) == [
        "self",
        "task",
        "phase",
        "project_state",
        "context",
    ]
    assert list(inspect.signature(LlmAgentMixin._llm_act).parameters) == [
        "self",
        "plan",
        "project_state",
        "context",
    ]


def test_agent_has_the_guides_sync_methods() -> None:
    agent = orchestrator_kit.create_agent("architect")
    assert list(inspect.signature(agent.plan).parameters) == ["task", "phase", "project_state", "context"]
    assert list(inspect.signature(agent.act).parameters) == ["plan", "project_state", "context"]
    assert callable(agent.initialize)


def test_retry_config_takes_the_guides_arguments() -> None:
    from orchestrator_kit.llm import RetryConfig, retry_async

    config = RetryConfig(max_attempts=5, initial_delay=1.0, max_delay=30.0, exponential_base=2.0, jitter=True)
    assert config.max_attempts == 5
    assert inspect.iscoroutinefunction(retry_async)


def test_phase_type_values() -> None:
    from orchestrator_kit.engine.state_models import PhaseType

    assert {p.value for p in PhaseType} >= {"design", "implementation", "verification", "documentation"}


def test_top_level_lazy_names_resolve() -> None:
    for name in orchestrator_kit.__all__:
        if name == "load_runs":
            continue  # lives in the report layer (pandas), tested there
        assert getattr(orchestrator_kit, name) is not None, name
    with pytest.raises(AttributeError):
        orchestrator_kit.not_a_name  # noqa: B018


# -- the factory -----------------------------------------------------------------------------------


def test_create_agent_accepts_exactly_the_eight_ids() -> None:
    from orchestrator_kit.agents import available_agents, create_agent

    assert sorted(ROLE_IDS) == sorted(GUIDE_IDS) and sorted(available_agents()) == sorted(GUIDE_IDS)
    for agent_id in GUIDE_IDS:
        agent = create_agent(agent_id)
        assert agent.id == agent_id and agent.role.id == agent_id
    assert create_agent("qa") is not create_agent("qa")


@pytest.mark.parametrize(
    "bad",
    ["Architect", "ARCHITECT", " architect", "architect ", "wizard", "", "arch", "qa,developer", None, 3],
)
def test_create_agent_refuses_anything_else(bad: object) -> None:
    from orchestrator_kit.agents import create_agent

    with pytest.raises(UnknownAgentError) as info:
        create_agent(bad)  # type: ignore[arg-type]
    assert ", ".join(ROLE_IDS) in str(info.value)
    assert isinstance(info.value, ConfigError) and isinstance(info.value, ValueError)


# -- import cost -----------------------------------------------------------------------------------

HEAVY = ("anthropic", "pandas", "matplotlib", "jinja2", "ipywidgets", "fastapi", "httpx", "numpy", "tenacity")


def test_import_orchestrator_kit_stays_light() -> None:
    code = (
        "import json, sys, orchestrator_kit; "
        f"print(json.dumps([m for m in {list(HEAVY)!r} if m in sys.modules]))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == []


def test_engine_and_agents_do_not_pull_in_ui_report_or_sdk() -> None:
    code = (
        "import json, sys; import orchestrator_kit.engine.engine, orchestrator_kit.agents, "
        "orchestrator_kit.llm.simulated, orchestrator_kit.store.run_folder; "
        "print(json.dumps([m for m in ('anthropic', 'pandas', 'matplotlib', 'ipywidgets', 'fastapi', "
        "'orchestrator_kit.ui', 'orchestrator_kit.report', 'orchestrator_kit.server') if m in sys.modules]))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == []


# -- the exception tree ----------------------------------------------------------------------------

TREE = {
    "OrchestratorError": Exception,
    "ConfigError": errors.OrchestratorError,
    "UnknownAgentError": errors.ConfigError,
    "UnknownModelError": errors.ConfigError,
    "ModelRetiredError": errors.ConfigError,
    "NotARunError": errors.ConfigError,
    "Conflict": errors.ConfigError,
    "DamagedRun": errors.Conflict,
    "TooManyQueued": errors.ConfigError,
    "UnreadableSecret": errors.ConfigError,
    "ParseError": errors.OrchestratorError,
    "BudgetExceeded": errors.OrchestratorError,
    "BackendError": errors.OrchestratorError,
    "AuthError": errors.BackendError,
    "ConnectionFailed": errors.BackendError,
    "RateLimited": errors.BackendError,
    "RefusalError": errors.BackendError,
    "ReplayMiss": errors.BackendError,
    "IncompleteResponse": errors.BackendError,
    "RunFailed": errors.OrchestratorError,
    "OrchestratorWarning": UserWarning,
}


@pytest.mark.parametrize(("name", "parent"), list(TREE.items()))
def test_exception_tree(name: str, parent: type) -> None:
    cls = getattr(errors, name)
    assert cls.__bases__[0] is parent
    assert name in (errors.__doc__ or "")  # the tree is written out in the module docstring


def test_the_tree_is_complete() -> None:
    declared = {n for n, v in vars(errors).items() if isinstance(v, type) and issubclass(v, BaseException)}
    assert declared == set(TREE)


def test_config_errors_are_value_errors_and_others_are_not() -> None:
    assert issubclass(errors.ConfigError, ValueError)
    for name in ("BudgetExceeded", "BackendError", "RunFailed", "ParseError"):
        assert not issubclass(getattr(errors, name), (ValueError, errors.ConfigError))


def test_exceptions_carry_their_data() -> None:
    b = errors.BackendError("x", attempts=[{"number": 1}], status_code=503)
    assert b.attempts == [{"number": 1}] and b.status_code == 503
    assert errors.RateLimited("x").attempts == []
    assert errors.ParseError("bad", excerpt="y" * 500).excerpt == "y" * 200
    be = errors.BudgetExceeded("over", spent=1, cap=2, run_dir="d")
    assert (be.spent, be.cap, be.run_dir) == (1, 2, "d")
    cause = RuntimeError("boom")
    rf = errors.RunFailed("failed", run_dir="d", agent="qa", cause=cause)
    assert (rf.run_dir, rf.agent, rf.cause) == ("d", "qa", cause)
