"""The one seam every model call goes through, and the registry of backends."""

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
_REGISTRY: dict[str, BackendFactory] = {}


def register_backend(name: str, factory: BackendFactory) -> None:
    _REGISTRY[name] = factory


def backend_names() -> list[str]:
    _ensure_builtin()
    return sorted(_REGISTRY)


def create_backend(name: str, **options: object) -> Backend:
    from ..errors import ConfigError

    _ensure_builtin()
    try:
        factory = _REGISTRY[name]
    except KeyError:
        raise ConfigError(
            f"unknown backend {name!r}; choose one of: {', '.join(sorted(_REGISTRY))}"
        ) from None
    return factory(**options)


def _ensure_builtin() -> None:
    if _REGISTRY:
        return

    def simulated(**kw: object) -> Backend:
        from .simulated import SimulatedBackend

        return SimulatedBackend(**kw)  # type: ignore[arg-type]

    def anthropic(**kw: object) -> Backend:
        from .anthropic_backend import AnthropicBackend

        return AnthropicBackend(**kw)  # type: ignore[arg-type]

    def batches(**kw: object) -> Backend:
        from .batches import BatchesBackend

        return BatchesBackend(**kw)  # type: ignore[arg-type]

    def replay(**kw: object) -> Backend:
        from .replay import ReplayBackend

        return ReplayBackend(**kw)  # type: ignore[arg-type]

    _REGISTRY.update(simulated=simulated, anthropic=anthropic, batches=batches, replay=replay)
