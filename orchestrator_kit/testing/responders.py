"""Responders for FakeAnthropicServer.

``simulated_responder()`` answers each Messages API body the way the simulated backend would, so a
whole workflow runs in real mode (the real SDK, real HTTP) against the fake server with artifacts
that parse — a faithful stand-in for Claude in CI.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from ..llm.selection import select_backend
from ..llm.simulated import SimulatedBackend
from ..llm.types import LLMRequest, Message, SystemBlock


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    return "\n".join(block.get("text", "") for block in content or [] if isinstance(block, dict))


def request_from_body(body: dict[str, Any]) -> LLMRequest:
    """Turn a Messages API request body back into our LLMRequest (labels unknown)."""
    system = body.get("system") or []
    if isinstance(system, str):
        system = [{"type": "text", "text": system}]
    return LLMRequest(
        model=body["model"],
        max_tokens=body["max_tokens"],
        system=tuple(SystemBlock(text=b.get("text", "")) for b in system),
        messages=tuple(Message(role=m["role"], content=_text(m["content"])) for m in body["messages"]),
        stop_sequences=tuple(body.get("stop_sequences") or ()),
    )


def simulated_responder(**simulated_options: Any) -> Callable[[dict[str, Any]], str]:
    chosen = select_backend("simulated", simulated_options=simulated_options).backend
    backend = cast(SimulatedBackend, chosen)  # .answer(): the simulated backend's text, no Completion

    def respond(body: dict[str, Any]) -> str:
        request = request_from_body(body)
        msgs = request.messages
        # the turn that asked (plan, or act after the plan conversation); later turns are a continuation
        asked = max((i for i, m in enumerate(msgs) if m.role == "user" and "<step>" in m.content), default=0)
        full = backend.answer(request.model_copy(update={"messages": msgs[: asked + 1]}))
        if len(msgs) >= asked + 3 and msgs[-2].role == "assistant":  # a continuation: send the rest
            partial = msgs[-2].content
            if full.startswith(partial):
                return full[len(partial) :]
        return full

    return respond
