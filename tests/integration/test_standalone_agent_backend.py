"""An agent used on its own (the guide's snippet, no engine) follows each call's context: a later context
with another mode or key is served by that mode and key, not by the backend the first call made."""

from __future__ import annotations

import pytest

import orchestrator_kit
from orchestrator_kit.engine.state_models import AgentContext, PhaseType, ProjectState, TaskDefinition
from orchestrator_kit.testing.fake_server import FakeAnthropicServer
from orchestrator_kit.testing.responders import simulated_responder

KEY_A = "sk-ant-test-not-a-key-aaaa"
KEY_B = "sk-ant-test-not-a-key-bbbb"


def _key(headers: dict[str, str]) -> str | None:
    """The key a request was sent with (the SDK sends it as a bearer token or as x-api-key)."""
    auth = headers.get("authorization", "")
    return auth[7:] if auth.lower().startswith("bearer ") else headers.get("x-api-key")


def _plan(agent: object, ctx: AgentContext) -> None:
    agent.plan(ctx.task, PhaseType.IMPLEMENTATION, ctx.project_state, ctx)  # type: ignore[attr-defined]


@pytest.mark.usefixtures("anthropic_env")
def test_a_later_context_with_another_mode_or_key_is_served_by_it(monkeypatch: pytest.MonkeyPatch) -> None:
    with FakeAnthropicServer(responder=simulated_responder()) as server:
        monkeypatch.setenv("ANTHROPIC_BASE_URL", server.base_url)
        agent = orchestrator_kit.create_agent("developer")
        try:
            _calls(server, agent)
        finally:
            agent.close()  # type: ignore[attr-defined]


def _calls(fake_anthropic: FakeAnthropicServer, agent: object) -> None:
    state = ProjectState(project_name="csv2json", request="A CLI that turns CSV into JSON.")
    task = TaskDefinition(title="Implement")

    def ctx(mode: str, key: str | None) -> AgentContext:
        return AgentContext(
            project_state=state, task=task, llm_api_key=key, mode=mode, model="claude-sonnet-5-5"
        )

    _plan(agent, ctx("simulated", None))
    assert fake_anthropic.count() == 0
    _plan(agent, ctx("real", KEY_A))  # was served by the simulated backend of the first call, silently
    assert fake_anthropic.count() == 1
    _plan(agent, ctx("real", KEY_B))  # another user's key: sent with that key, not the first one
    _plan(agent, ctx("real", KEY_B))  # the same settings again
    keys = [_key(r.headers) for r in fake_anthropic.requests]
    assert keys == [KEY_A, KEY_B, KEY_B]
