"""The LLM layer: ONE backend seam (simulated | anthropic | batches | replay), retry, rate limits,
pricing, tokens.

Public names load lazily so importing a submodule does not pull in the SDK.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_exports

_LAZY = {
    "RetryConfig": "retry",
    "retry_async": "retry",
    "LLMRequest": "types",
    "Completion": "types",
    "Usage": "types",
    "SystemBlock": "types",
    "Message": "types",
    "Backend": "backend",
    "create_backend": "registry",
    "register_backend": "registry",
    "backend_names": "registry",
    "SimulatedBackend": "simulated",
    "AnthropicBackend": "anthropic_backend",
    "BatchesBackend": "batches",
    "RateLimiter": "ratelimit",
    "ReplayBackend": "replay",
    "RecordingBackend": "replay",
    "select_backend": "selection",
    "resolve_api_key": "keys",
    "cost_of": "pricing",
    "price_table": "pricing",
    "DEFAULT_MODEL": "pricing",
    "estimate_tokens": "tokens",
}
__all__ = list(_LAZY)

if TYPE_CHECKING:  # pragma: no cover
    from .anthropic_backend import AnthropicBackend
    from .backend import Backend
    from .batches import BatchesBackend
    from .keys import resolve_api_key
    from .pricing import DEFAULT_MODEL, cost_of, price_table
    from .ratelimit import RateLimiter
    from .registry import backend_names, create_backend, register_backend
    from .replay import RecordingBackend, ReplayBackend
    from .retry import RetryConfig, retry_async
    from .selection import select_backend
    from .simulated import SimulatedBackend
    from .tokens import estimate_tokens
    from .types import Completion, LLMRequest, Message, SystemBlock, Usage


__getattr__ = lazy_exports(__name__, _LAZY)
