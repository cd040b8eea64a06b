"""Retries in one place: which failures earn another attempt, and how long to wait first.

    result = await retry_async(my_llm_function, config=RetryConfig(max_attempts=3))

Decided by exception type (never by message text), built on tenacity:

- retried: anthropic ``RateLimitError`` (429), ``RequestTimeoutError`` (408), ``ConflictError`` (409),
  ``InternalServerError`` and every other status >= 500 (500, 502, 503, 504, 529), ``APIConnectionError``
  and ``APITimeoutError``; an ``event: error`` inside a stream whose error type is transient
  (overloaded, api, rate limit, timeout); the bare errors the SDK lets out of streams (httpx2 timeouts,
  network and remote protocol errors, ``json.JSONDecodeError``); ``anthropic.RetryableError``; and our
  ``IncompleteResponse``.
- never retried: 400, 401, 403, 404, 413, 422 and other 4xx, our own ``OrchestratorError``s (other than
  ``IncompleteResponse``), and anything else.

Wait before retry n (n = 1, 2, ...): the server's ``retry-after-ms``, else ``retry-after`` in seconds,
else ``retry-after`` as an HTTP date. A demanded wait longer than ``max_delay`` is not obeyed: the call
fails at once with ``RateLimited`` naming the wait and the cap. Without a usable header:
``min(initial_delay * exponential_base ** (n - 1), max_delay)``, times a jitter factor in (0.75, 1]
when ``jitter`` is on.
"""

from __future__ import annotations

import asyncio
import json
import math
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar

from ..errors import ConfigError, OrchestratorError, RateLimited
from ..errors import IncompleteResponse as IncompleteResponse  # defined in the tree, re-exported here

T = TypeVar("T")
AttemptFailed = Callable[[int, BaseException, "float | None"], None]
"""``on_attempt_failed(attempt_number, exc, wait_seconds)``; ``wait_seconds`` is None when no retry follows."""

_TRANSIENT_STREAM_ERROR_TYPES = frozenset(
    {"overloaded_error", "api_error", "rate_limit_error", "timeout_error"}
)


@dataclass(frozen=True)
class RetryConfig:
    max_attempts: int = 3  # attempts in all, the first included
    initial_delay: float = 2.0  # seconds before the first retry (before jitter)
    max_delay: float = 30.0  # cap on any wait, and the longest retry-after we obey
    exponential_base: float = 2.0
    jitter: bool = True

    def __post_init__(self) -> None:
        n = self.max_attempts
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ConfigError(f"RetryConfig.max_attempts must be a whole number, at least 1, not {n!r}")
        for name in ("initial_delay", "max_delay", "exponential_base"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise ConfigError(f"RetryConfig.{name} must be a finite number of seconds, not {value!r}")
        if self.initial_delay < 0 or self.max_delay < 0:
            raise ConfigError("RetryConfig delays must not be negative")
        if self.exponential_base < 1:
            raise ConfigError(f"RetryConfig.exponential_base must be at least 1, not {self.exponential_base}")
        if not isinstance(self.jitter, bool):
            raise ConfigError(f"RetryConfig.jitter must be True or False, not {self.jitter!r}")


def is_retryable(exc: BaseException) -> bool:
    """Whether another attempt may succeed, by the type of ``exc``."""
    import anthropic
    import httpx2

    if isinstance(exc, IncompleteResponse):
        return True
    if isinstance(exc, OrchestratorError):
        return False
    if isinstance(exc, anthropic.APIStatusError):
        if isinstance(
            exc,
            (
                anthropic.RateLimitError,
                anthropic.RequestTimeoutError,
                anthropic.ConflictError,
                anthropic.InternalServerError,
            ),
        ):
            return True
        if exc.status_code < 400:  # an `event: error` inside a 200 stream: its error type tells
            return exc.type in _TRANSIENT_STREAM_ERROR_TYPES
        return exc.status_code >= 500
    if isinstance(exc, (anthropic.APIConnectionError, anthropic.RetryableError)):
        return True
    if isinstance(exc, (httpx2.TimeoutException, httpx2.NetworkError, httpx2.RemoteProtocolError)):
        return True
    return isinstance(exc, json.JSONDecodeError)


def retry_after_seconds(exc: BaseException, *, now: float | None = None) -> float | None:
    """The wait the server asked for in the error's response headers, in seconds, or None.

    ``retry-after-ms`` first, then ``retry-after`` as seconds, then as an HTTP date. Zero, negative
    and unreadable values count as absent (as in the SDK).
    """
    headers = getattr(getattr(exc, "response", None), "headers", None)
    if headers is None:
        return None
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        raw = headers.get(name)
        if raw is None:
            continue
        value: float | None
        try:
            value = float(raw) * scale
        except ValueError:
            value = _http_date_wait(raw, now) if name == "retry-after" else None
        if value is not None and math.isfinite(value) and value > 0:
            return value
    return None


def _http_date_wait(raw: str, now: float | None) -> float | None:
    try:
        moment = parsedate_to_datetime(raw)
    except (TypeError, ValueError, IndexError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    current = datetime.fromtimestamp(time.time() if now is None else now, tz=UTC)
    return (moment - current).total_seconds()


def backoff_delay(
    config: RetryConfig, retry_number: int, *, random_fn: Callable[[], float] = random.random
) -> float:
    """The wait before retry ``retry_number`` (1 = the first retry) when the server named none."""
    exponent = max(0, retry_number - 1)
    try:
        delay = config.initial_delay * config.exponential_base**exponent
    except OverflowError:
        delay = math.inf
    delay = min(delay, config.max_delay)
    if config.jitter:
        delay *= 1.0 - 0.25 * random_fn()
    return delay


class _Policy:
    """The tenacity wait/stop/before-sleep callables for one call."""

    def __init__(self, config: RetryConfig, on_attempt_failed: AttemptFailed | None) -> None:
        self.config = config
        self.on_attempt_failed = on_attempt_failed
        self.attempts = 0

    def demanded_too_long(self, exc: BaseException | None) -> float | None:
        """The server's demanded wait, when it is longer than ``max_delay``."""
        if exc is None or not is_retryable(exc):
            return None
        demanded = retry_after_seconds(exc)
        return demanded if demanded is not None and demanded > self.config.max_delay else None

    def wait(self, state: Any) -> float:
        exc = state.outcome.exception() if state.outcome is not None else None
        demanded = retry_after_seconds(exc) if exc is not None else None
        if demanded is not None:
            return min(demanded, self.config.max_delay)
        return backoff_delay(self.config, state.attempt_number)

    def stop(self, state: Any) -> bool:
        if state.attempt_number >= self.config.max_attempts:
            return True
        outcome = state.outcome
        return outcome is not None and self.demanded_too_long(outcome.exception()) is not None

    def before_sleep(self, state: Any) -> None:
        if self.on_attempt_failed is not None and state.outcome is not None:
            self.on_attempt_failed(
                state.attempt_number, state.outcome.exception(), float(state.upcoming_sleep)
            )

    def failed_for_good(self, exc: Exception) -> Exception:
        """Report the last attempt and choose what to raise: ``exc`` itself, or ``RateLimited``."""
        if self.on_attempt_failed is not None:
            self.on_attempt_failed(self.attempts, exc, None)
        demanded = self.demanded_too_long(exc)
        if demanded is None:
            return exc
        error = RateLimited(
            f"the API asked to wait {demanded:g} s before retrying, longer than the {self.config.max_delay:g} s "
            "allowed (RetryConfig.max_delay); wait and resume, or raise max_delay",
            status_code=getattr(exc, "status_code", None),
        )
        return error

    def tenacity_kwargs(self) -> dict[str, Any]:
        from tenacity import retry_if_exception

        return {
            "stop": self.stop,
            "wait": self.wait,
            "retry": retry_if_exception(is_retryable),
            "before_sleep": self.before_sleep,
            "reraise": True,
        }


async def retry_async(
    fn: Callable[..., Awaitable[T]],
    *args: Any,
    config: RetryConfig | None = None,
    on_attempt_failed: AttemptFailed | None = None,
    sleep: Callable[[float], Awaitable[None]] | None = None,
    **kwargs: Any,
) -> T:
    """``await fn(*args, **kwargs)``, retried per ``config`` (default ``RetryConfig()``).

    ``on_attempt_failed(attempt_number, exc, wait_seconds)`` is called for every failed attempt,
    the last one with ``wait_seconds=None``. ``sleep`` (async) replaces ``asyncio.sleep``, for tests.
    The final failure is re-raised as it was, except a too-long demanded wait (``RateLimited``).
    """
    from tenacity import AsyncRetrying

    policy = _Policy(config or RetryConfig(), on_attempt_failed)

    async def attempt() -> T:
        policy.attempts += 1
        return await fn(*args, **kwargs)

    retrying = AsyncRetrying(sleep=sleep or asyncio.sleep, **policy.tenacity_kwargs())
    try:
        return await retrying(attempt)
    except Exception as exc:
        final = policy.failed_for_good(exc)
        if final is exc:
            raise
        raise final from exc


def retry_sync(
    fn: Callable[..., T],
    *args: Any,
    config: RetryConfig | None = None,
    on_attempt_failed: AttemptFailed | None = None,
    sleep: Callable[[float], None] | None = None,
    **kwargs: Any,
) -> T:
    """The blocking twin of ``retry_async`` (same policy; ``sleep`` replaces ``time.sleep``)."""
    from tenacity import Retrying

    policy = _Policy(config or RetryConfig(), on_attempt_failed)

    def attempt() -> T:
        policy.attempts += 1
        return fn(*args, **kwargs)

    retrying = Retrying(sleep=sleep or time.sleep, **policy.tenacity_kwargs())
    try:
        return retrying(attempt)
    except Exception as exc:
        final = policy.failed_for_good(exc)
        if final is exc:
            raise
        raise final from exc
