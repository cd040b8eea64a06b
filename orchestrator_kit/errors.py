"""The exception tree of orchestrator_kit.

    OrchestratorError
    ├── ConfigError            bad input: names the problem and the fix (CLI exit 2, HTTP 4xx)
    │   ├── UnknownAgentError
    │   ├── UnknownModelError
    │   ├── ModelRetiredError  the model is past its retirement date (names the replacement)
    │   └── NotARunError       a folder that is not a run folder
    ├── ParseError             model output that could not be read, even after local repair
    ├── BudgetExceeded         the next call could exceed the run's cap (run checkpointed, resumable)
    ├── BackendError           a model call failed for good (after retries); carries the attempts
    │   ├── AuthError          401/403: the key was rejected (says where it came from, never the key)
    │   ├── ConnectionFailed   the base URL could not be reached
    │   ├── RateLimited        429 persisted, or the server demanded a longer wait than allowed
    │   ├── RefusalError       stop_reason == "refusal"
    │   └── ReplayMiss         replay has no recording for a request; shows the nearest one
    └── RunFailed              a workflow step failed; the run folder says where to resume

Errors are told apart by type, never by message text.
"""

from __future__ import annotations

from typing import Any


class OrchestratorError(Exception):
    """Base of every error this package raises on purpose."""


class ConfigError(OrchestratorError, ValueError):
    """Bad input. The message names the problem and the fix."""


class UnknownAgentError(ConfigError):
    pass


class UnknownModelError(ConfigError):
    pass


class ModelRetiredError(ConfigError):
    """The model is past its retirement date: calls to it would fail. The message names the replacement."""


class NotARunError(ConfigError):
    pass


class ParseError(OrchestratorError):
    """Model output that could not be turned into the expected structure."""

    def __init__(self, message: str, *, excerpt: str = "") -> None:
        super().__init__(message)
        self.excerpt = excerpt[:200]


class BudgetExceeded(OrchestratorError):
    def __init__(self, message: str, *, spent: Any = None, cap: Any = None, run_dir: str | None = None):
        super().__init__(message)
        self.spent = spent
        self.cap = cap
        self.run_dir = run_dir


class BackendError(OrchestratorError):
    """A model call that failed for good. ``attempts`` lists every attempt made (dicts)."""

    def __init__(
        self, message: str, *, attempts: list[dict[str, Any]] | None = None, status_code: int | None = None
    ) -> None:
        super().__init__(message)
        self.attempts: list[dict[str, Any]] = list(attempts or [])
        self.status_code = status_code


class AuthError(BackendError):
    pass


class ConnectionFailed(BackendError):
    pass


class RateLimited(BackendError):
    pass


class RefusalError(BackendError):
    pass


class ReplayMiss(BackendError):
    pass


class RunFailed(OrchestratorError):
    def __init__(
        self,
        message: str,
        *,
        run_dir: str | None = None,
        agent: str | None = None,
        cause: BaseException | None = None,
    ) -> None:
        super().__init__(message)
        self.run_dir = run_dir
        self.agent = agent
        self.cause = cause
