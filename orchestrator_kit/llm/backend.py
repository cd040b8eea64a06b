"""The one seam every model call goes through: ``Backend.complete(request) -> Completion``.

Which backend a run talks to is decided by ``select_backend`` (llm/selection.py), which creates it
through the registry (llm/registry.py).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, runtime_checkable

from .types import Completion, LLMRequest

DeltaCallback = Callable[[str], None]


@runtime_checkable
class Backend(Protocol):
    """``complete(request) -> Completion``. Implementations: simulated, anthropic, batches, replay.

    ``on_delta``, when given, receives partial text as it streams (backends that do not
    stream may call it once with the whole text, or not at all).
    """

    mode: str

    async def complete(self, request: LLMRequest, *, on_delta: DeltaCallback | None = None) -> Completion: ...


BackendFactory = Callable[..., Backend]
