"""The exception tree of orchestrator_kit.

    OrchestratorError
    ├── ConfigError            bad input: names the problem and the fix (CLI exit 2, HTTP 4xx)
    │   ├── UnknownAgentError
    │   ├── UnknownModelError
    │   ├── ModelRetiredError  the model is past its retirement date (names the replacement)
    │   ├── NotARunError       a folder that is not a run folder
    │   ├── Conflict           valid, but the resource's state forbids it (server: HTTP 409)
    │   │   └── DamagedRun     a run folder whose files cannot be read as a run (HTTP 409)
    │   ├── TooManyQueued      a user has as many runs waiting as allowed (HTTP 429, Retry-After)
    │   └── UnreadableSecret   a stored key the current server secret cannot decrypt (HTTP 409)
    ├── ParseError             model output that could not be read, even after local repair
    ├── BudgetExceeded         the next call could exceed the run's cap (run checkpointed, resumable)
    ├── BackendError           a model call failed for good (after retries); carries the attempts
    │   ├── AuthError          401/403: the key was rejected (says where it came from, never the key)
    │   ├── ConnectionFailed   the base URL could not be reached
    │   ├── RateLimited        429 persisted, or the server demanded a longer wait than allowed
    │   ├── RefusalError       stop_reason == "refusal"
    │   ├── ReplayMiss         replay has no recording for a request; shows the nearest one
    │   └── IncompleteResponse a response cut short or unreadable (retryable); carries partial usage
    └── RunFailed              a workflow step failed; the run folder says where to resume

    OrchestratorWarning (UserWarning)
    ├── ModelRetirementWarning (llm/pricing.py)  the model retires soon
    ├── UnknownPriceWarning    (llm/pricing.py)  no price for a model: its cost shows as unknown
    ├── PlaceholderKeyWarning  (llm/keys.py)     a placeholder key was ignored
    └── UnreadableKeyLineWarning (llm/keys.py)   a .env key line python-dotenv could not read

Errors are told apart by type, never by message text. Every exception class of the package derives from
``OrchestratorError`` and every warning from ``OrchestratorWarning`` (tests/unit/test_public_api.py scans
every module). The classes stay importable from where they were first defined (server/failures.py,
server/secrets.py, llm/retry.py); the warnings are defined next to the code that emits them.
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


class Conflict(ConfigError):
    """The request is valid but the resource's state forbids it (HTTP 409)."""


class DamagedRun(Conflict):
    """A run folder whose files cannot be read as a run (hand-edited or damaged): HTTP 409."""


class TooManyQueued(ConfigError):
    """The user has as many runs waiting as the server allows (HTTP 429, with Retry-After)."""

    def __init__(self, message: str, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class UnreadableSecret(ConfigError):
    """A stored blob that the current server secret cannot decrypt (the secret changed)."""


class ParseError(OrchestratorError):
    """Model output that could not be turned into the expected structure."""

    def __init__(
        self, message: str, *, excerpt: str = "", agent: str | None = None, step: str | None = None
    ) -> None:
        super().__init__(message)
        self.excerpt = excerpt[:200]
        self.agent = agent  # whose answer, and which step's (plan, act), when known
        self.step = step


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


class IncompleteResponse(BackendError):
    """A response that broke off or could not be read: a stream cut short or without a stop_reason,
    a body that is not valid JSON. Retryable. ``usage`` holds what the partial response reported."""

    def __init__(self, message: str, *, status_code: int | None = None, usage: Any = None) -> None:
        super().__init__(message, status_code=status_code)
        self.usage = usage


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


class OrchestratorWarning(UserWarning):
    """Base of every warning this package emits: ``warnings.simplefilter("ignore", OrchestratorWarning)``
    silences them all."""
