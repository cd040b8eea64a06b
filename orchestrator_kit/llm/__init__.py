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
    # `X as X`: the explicit re-export form, for type checkers (the names load lazily at run time)
    from .anthropic_backend import AnthropicBackend as AnthropicBackend
    from .backend import Backend as Backend
    from .batches import BatchesBackend as BatchesBackend
    from .keys import resolve_api_key as resolve_api_key
    from .pricing import DEFAULT_MODEL as DEFAULT_MODEL
    from .pricing import cost_of as cost_of
    from .pricing import price_table as price_table
    from .ratelimit import RateLimiter as RateLimiter
    from .registry import backend_names as backend_names
    from .registry import create_backend as create_backend
    from .registry import register_backend as register_backend
    from .replay import RecordingBackend as RecordingBackend
    from .replay import ReplayBackend as ReplayBackend
    from .retry import RetryConfig as RetryConfig
    from .retry import retry_async as retry_async
    from .selection import select_backend as select_backend
    from .simulated import SimulatedBackend as SimulatedBackend
    from .tokens import estimate_tokens as estimate_tokens
    from .types import Completion as Completion
    from .types import LLMRequest as LLMRequest
    from .types import Message as Message
    from .types import SystemBlock as SystemBlock
    from .types import Usage as Usage


__getattr__ = lazy_exports(__name__, _LAZY)
