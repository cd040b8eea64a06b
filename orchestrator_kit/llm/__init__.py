"""The LLM layer: ONE backend seam (simulated | anthropic | replay), retry, pricing, tokens.

Public names load lazily so importing a submodule does not pull in the SDK.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

_LAZY = {
    "RetryConfig": "retry", "retry_async": "retry",
    "LLMRequest": "types", "Completion": "types", "Usage": "types", "SystemBlock": "types", "Message": "types",
    "Backend": "backend", "create_backend": "backend", "register_backend": "backend",
    "SimulatedBackend": "simulated", "AnthropicBackend": "anthropic_backend",
    "ReplayBackend": "replay", "RecordingBackend": "replay",
    "select_backend": "selection", "resolve_api_key": "keys",
    "cost_of": "pricing", "price_table": "pricing", "DEFAULT_MODEL": "pricing",
    "estimate_tokens": "tokens",
}
__all__ = list(_LAZY)

if TYPE_CHECKING:  # pragma: no cover
    from .anthropic_backend import AnthropicBackend
    from .backend import Backend, create_backend, register_backend
    from .keys import resolve_api_key
    from .pricing import DEFAULT_MODEL, cost_of, price_table
    from .replay import RecordingBackend, ReplayBackend
    from .retry import RetryConfig, retry_async
    from .selection import select_backend
    from .simulated import SimulatedBackend
    from .tokens import estimate_tokens
    from .types import Completion, LLMRequest, Message, SystemBlock, Usage


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
