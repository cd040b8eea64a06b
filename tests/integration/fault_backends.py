"""Fault-injecting backends for the engine tests: small classes of the public Backend protocol, never mocks
of our own functions (imported by name: tests/ has no packages)."""

from __future__ import annotations

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
