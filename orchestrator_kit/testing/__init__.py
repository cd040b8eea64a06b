"""Test helpers for orchestrator_kit and for users' CI.

``FakeAnthropicServer`` is a real HTTP server on 127.0.0.1 that speaks the Messages API, with
scripted ``Fault``s (status errors, delays, dropped connections, malformed bodies, truncated,
refused and cut-off streams), message batches that take time and come back mixed, and enforced
rate limits (``RateLimits``). The pytest fixtures ``fake_anthropic`` and ``anthropic_env`` live in
``orchestrator_kit.testing.pytest_plugin``; enable them with
``pytest_plugins = ["orchestrator_kit.testing.pytest_plugin"]``.
"""

from ._faults import Fault, RecordedRequest
from ._ratelimits import RateLimits
from .fake_server import FakeAnthropicServer, Responder
from .responders import request_from_body, simulated_responder

__all__ = [
    "FakeAnthropicServer",
    "Fault",
    "RateLimits",
    "RecordedRequest",
    "Responder",
    "request_from_body",
    "simulated_responder",
]
