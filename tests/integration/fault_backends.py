"""Fault-injecting backends for the engine tests: small classes of the public Backend protocol, never mocks
of our own functions (imported by name: tests/ has no packages)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from orchestrator_kit.errors import BackendError
from orchestrator_kit.llm.backend import DeltaCallback
from orchestrator_kit.llm.simulated import SimulatedBackend
from orchestrator_kit.llm.types import Completion, LLMRequest


class FailOnCall:
    """A Backend that serves simulated answers and fails for good on its ``fail_on``-th call."""

    mode = "simulated"

    def __init__(self, fail_on: int, **simulated: Any) -> None:
        self.inner = SimulatedBackend(**simulated)
        self.fail_on = fail_on
        self.calls: list[str] = []

    async def complete(self, request: LLMRequest, *, on_delta: DeltaCallback | None = None) -> Completion:
        self.calls.append(f"{request.labels.agent}/{request.labels.step}")
        if len(self.calls) == self.fail_on:
            raise BackendError(
                "injected: the API answered 529 overloaded three times",
                attempts=[
                    {"number": n, "error": "OverloadedError", "status_code": 529, "latency_s": 0.0}
                    for n in (1, 2, 3)
                ],
                status_code=529,
            )
        return await self.inner.complete(request, on_delta=on_delta)


class FullPriceOutput:
    """A Backend whose answers use every output token allowed: actual cost is close to the worst case."""

    mode = "simulated"

    def __init__(self, latency_s: float) -> None:
        self.inner = SimulatedBackend(latency_s=latency_s)

    async def complete(self, request: LLMRequest, *, on_delta: DeltaCallback | None = None) -> Completion:
        c = await self.inner.complete(request, on_delta=on_delta)
        return c.model_copy(
            update={"usage": c.usage.model_copy(update={"output_tokens": request.max_tokens})}
        )


class OddAnswers:
    """A Backend that serves simulated answers, rewritten for some ``agent/step`` (e.g. ``architect/act``) by
    the function given for it: answers the parser reads only after a repair, or not at all."""

    mode = "simulated"

    def __init__(self, rewrite: dict[str, Callable[[str], str]], **simulated: Any) -> None:
        self.inner = SimulatedBackend(**simulated)
        self.rewrite = rewrite

    async def complete(self, request: LLMRequest, *, on_delta: DeltaCallback | None = None) -> Completion:
        c = await self.inner.complete(request, on_delta=on_delta)
        fn = self.rewrite.get(f"{request.labels.agent}/{request.labels.step}")
        return c if fn is None else c.model_copy(update={"text": fn(c.text)})


def as_text_plan(text: str) -> str:
    """A JSON plan written as a plain numbered list (read with a repair note)."""
    steps = json.loads(text[text.index("{") : text.rindex("}") + 1])["steps"]
    return "Plan:\n" + "".join(f"{n}. {s}\n" for n, s in enumerate(steps, 1))


def as_fenced_files(text: str) -> str:
    """A JSON act written as prose and fenced code blocks, one per file (read with a repair note)."""
    data = json.loads(text[text.index("{") : text.rindex("}") + 1])
    blocks = "".join(
        f"```{a.get('kind', '')} {a['filename']}\n{a['content']}\n```\n\n" for a in data["artifacts"]
    )
    return f"{data['summary']}\n\n{blocks}"
