"""An answer cut off at max_tokens and continued is joined the way the model wrote it (the real SDK against
the fake Messages API server): the model continues from the turn it was shown (its cut-off answer without
trailing whitespace), and real models sometimes open the continuation with a ```json fence or start the
whole answer over. None of these may change an artifact's text silently or throw the paid answer away."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import pytest

from orchestrator_kit.agents.factory import create_agent
from orchestrator_kit.llm.anthropic_backend import AnthropicBackend
from orchestrator_kit.llm.gateway import Gateway
from orchestrator_kit.records import AgentContext, AgentOutput, ProjectState, TaskDefinition
from orchestrator_kit.testing import FakeAnthropicServer

KEY = "sk-ant-test-not-a-key"
CONTENT = "# Design\n\ndef load(path):\n    return open(path).read()\n\nThe end.\n"
ANSWER = json.dumps(
    {
        "summary": "one file",
        "artifacts": [{"filename": "architecture.md", "kind": "markdown", "content": CONTENT}],
    }
)
PLAN = json.dumps({"summary": "plan", "steps": ["write it"], "artifacts": []})
CUT = ANSWER.index("    return")  # inside the content string, just before the indentation


def _scripted(first: str, continuation: Callable[[str], str]) -> Callable[[dict[str, Any]], Any]:
    """Plan: PLAN. Act: ``first``, cut off at max_tokens; its continuation: ``continuation(turn shown)``."""

    def respond(body: dict[str, Any]) -> Any:
        turns = body["messages"]
        if len(turns) == 1:
            return PLAN
        if len(turns) == 3:
            return {"content": [{"type": "text", "text": first}], "stop_reason": "max_tokens"}
        shown = turns[-2]["content"]
        shown = shown if isinstance(shown, str) else shown[0]["text"]
        return continuation(shown)

    return respond


def _one(respond: Callable[[dict[str, Any]], Any]) -> tuple[AgentOutput, int]:
    """The architect's plan and act through the real SDK; (its output, the number of API calls)."""

    async def go(base_url: str) -> AgentOutput:
        backend = AnthropicBackend(KEY, base_url=base_url)
        try:
            state = ProjectState(request="Convert CSV to JSON")
            ctx = AgentContext(project_state=state, gateway=Gateway(backend))
            agent = create_agent("architect")
            plan = await agent.aplan(TaskDefinition(), None, state, ctx)
            return await agent.aact(plan, state, ctx)
        finally:
            await backend.aclose()

    with FakeAnthropicServer(responder=respond, require_key=KEY) as srv:
        return asyncio.run(go(srv.base_url)), srv.count()


def test_the_model_continues_from_the_turn_it_was_shown() -> None:
    # cut after whitespace inside a string: the turn shown ends before it, and the model writes it again
    first = ANSWER[: CUT + 4]
    out, calls = _one(_scripted(first, lambda shown: ANSWER[len(shown) :]))
    assert calls == 3 and not out.truncated
    assert [a.content for a in out.artifacts] == [CONTENT]  # not 8 spaces of indentation


def test_an_empty_cut_off_answer_is_continued_after_the_brace_shown() -> None:
    out, calls = _one(_scripted("", lambda shown: ANSWER[len(shown) :]))
    assert calls == 3 and [a.content for a in out.artifacts] == [CONTENT] and out.summary == "one file"


@pytest.mark.parametrize("fence", ["```json\n", "```\n", "\n```json\n"])
def test_a_continuation_that_opens_a_json_fence_adds_no_fence_to_the_content(fence: str) -> None:
    out, calls = _one(_scripted(ANSWER[: CUT + 4], lambda shown: fence + ANSWER[len(shown) :] + "\n```"))
    assert calls == 3 and [a.content for a in out.artifacts] == [CONTENT]
    assert any("fence" in r and "continuation" in r for r in out.repairs)


@pytest.mark.parametrize("wrap", ["{}", "```json\n{}\n```", "Here is the complete JSON:\n```json\n{}\n```"])
def test_a_continuation_that_starts_the_answer_over_is_read_alone(wrap: str) -> None:
    first = "```json\n" + ANSWER[:CUT]
    restart = wrap.replace("{}", ANSWER)
    out, calls = _one(_scripted(first, lambda shown: restart))
    assert calls == 3 and not out.truncated  # no re-ask: the paid answer is used
    assert [a.content for a in out.artifacts] == [CONTENT]
    assert any("started the answer over" in r for r in out.repairs)


def test_a_legitimate_continuation_that_holds_a_fence_is_kept_as_written() -> None:
    content = "# Guide\n\n```python\nprint(1)\n```\n"
    answer = json.dumps(
        {"summary": "s", "artifacts": [{"filename": "g.md", "kind": "markdown", "content": content}]}
    )
    cut = answer.index("```python")
    out, calls = _one(_scripted(answer[:cut], lambda shown: answer[len(shown) :]))
    assert calls == 3 and [a.content for a in out.artifacts] == [content] and out.repairs == []


def test_an_answer_cut_off_twice_keeps_its_complete_artifacts_marked_truncated() -> None:
    # a long answer: two files, cut again by the continuation after the second file's name
    files = [
        {"filename": "a.md", "kind": "markdown", "content": CONTENT},
        {"filename": "b.md", "kind": "markdown", "content": "x"},
    ]
    answer = json.dumps({"summary": "two files", "artifacts": files})
    cut = answer.index('"b.md"') + len('"b.md", "kind": "markdown", ')

    def again(shown: str) -> Any:
        return {"content": [{"type": "text", "text": answer[len(shown) : cut]}], "stop_reason": "max_tokens"}

    out, calls = _one(_scripted(answer[:CUT], again))
    assert calls == 3  # no re-ask: what arrived is kept
    assert [(a.filename, a.content, a.truncated) for a in out.artifacts] == [("a.md", CONTENT, True)]
    assert "truncated: dropped artifacts[1], cut off before its content" in out.repairs
