"""RetryConfig and retry_async/retry_sync: which errors retry, how long to wait. No real sleeping."""

from __future__ import annotations

import asyncio
import json
from dataclasses import FrozenInstanceError
from datetime import UTC, datetime
from email.utils import format_datetime

import anthropic
import httpx2
import pytest

from orchestrator_kit.errors import BackendError, ConfigError, ParseError, RateLimited
from orchestrator_kit.llm.retry import (
    IncompleteResponse,
    RetryConfig,
    backoff_delay,
    is_retryable,
    retry_after_seconds,
    retry_async,
    retry_sync,
)

REQUEST = httpx2.Request("POST", "http://127.0.0.1:9/v1/messages")
STATUS_CLASSES: dict[int, type[anthropic.APIStatusError]] = {
    400: anthropic.BadRequestError,
    401: anthropic.AuthenticationError,
    403: anthropic.PermissionDeniedError,
    404: anthropic.NotFoundError,
    408: anthropic.RequestTimeoutError,
    409: anthropic.ConflictError,
    413: anthropic.ContentTooLargeError,
    422: anthropic.UnprocessableEntityError,
    429: anthropic.RateLimitError,
    500: anthropic.InternalServerError,
    502: anthropic.InternalServerError,
    503: anthropic.ServiceUnavailableError,
    504: anthropic.GatewayTimeoutError,
    529: anthropic.OverloadedError,
}


def status_error(
    status: int,
    headers: dict[str, str] | None = None,
    error_type: str = "api_error",
    cls: type[anthropic.APIStatusError] | None = None,
) -> anthropic.APIStatusError:
    body = {"type": "error", "error": {"type": error_type, "message": "boom"}}
    response = httpx2.Response(status, headers=headers or {}, request=REQUEST, json=body)
    return (cls or STATUS_CLASSES.get(status, anthropic.APIStatusError))("boom", response=response, body=body)


class Sleeps:
    def __init__(self) -> None:
        self.calls: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.calls.append(float(seconds))


class Flaky:
    """Raises the given exceptions in turn, then returns "ok"."""

    def __init__(self, *errors: BaseException) -> None:
        self.errors = list(errors)
        self.calls = 0

    async def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "ok"


NO_JITTER = RetryConfig(max_attempts=5, initial_delay=1.0, max_delay=10.0, exponential_base=2.0, jitter=False)


# -- the config and the backoff arithmetic ----------------------------------------------------------


def test_retry_config_defaults_and_frozen() -> None:
    config = RetryConfig()
    assert (
        config.max_attempts,
        config.initial_delay,
        config.max_delay,
        config.exponential_base,
        config.jitter,
    ) == (3, 2.0, 30.0, 2.0, True)
    with pytest.raises(FrozenInstanceError):
        config.max_attempts = 5  # type: ignore[misc]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"max_attempts": 0},
        {"max_attempts": "3"},  # a raw TypeError at the first comparison, before
        {"max_attempts": 2.5},
        {"max_attempts": True},
        {"initial_delay": -1.0},
        {"max_delay": -1.0},
        {"exponential_base": 0.5},
        {"initial_delay": float("nan")},  # NaN passed every comparison: accepted, before
        {"max_delay": float("inf")},
        {"exponential_base": float("nan")},
        {"initial_delay": "2"},
        {"jitter": "no"},  # a non-empty string is truthy: jitter on, before
    ],
)
def test_retry_config_rejects_nonsense(kwargs: dict[str, object]) -> None:
    with pytest.raises(ConfigError) as info:
        RetryConfig(**kwargs)  # type: ignore[arg-type]
    assert f"RetryConfig.{next(iter(kwargs))}" in str(info.value) or "delays" in str(info.value)


def test_backoff_sequence_is_exponential_and_capped() -> None:
    assert [backoff_delay(NO_JITTER, n) for n in range(1, 8)] == [1.0, 2.0, 4.0, 8.0, 10.0, 10.0, 10.0]


def test_backoff_survives_huge_retry_numbers() -> None:
    assert backoff_delay(NO_JITTER, 100_000) == 10.0


def test_jitter_stays_within_three_quarters_and_the_full_delay() -> None:
    config = RetryConfig(initial_delay=4.0, max_delay=30.0, jitter=True)
    assert backoff_delay(config, 1, random_fn=lambda: 0.0) == 4.0
    assert backoff_delay(config, 1, random_fn=lambda: 1.0) == 3.0
    samples = [backoff_delay(config, 5) for _ in range(300)]  # 4 * 2**4 = 64, capped at 30
    assert all(22.5 <= s <= 30.0 for s in samples)
    assert len(set(samples)) > 1


# -- reading the server's wait --------------------------------------------------------------------


def test_retry_after_ms_wins_over_retry_after() -> None:
    exc = status_error(429, {"retry-after-ms": "250", "retry-after": "7"})
    assert retry_after_seconds(exc) == pytest.approx(0.25)


def test_retry_after_seconds_then_http_date() -> None:
    assert retry_after_seconds(status_error(429, {"retry-after": "1.5"})) == pytest.approx(1.5)
    now = datetime(2026, 11, 1, 12, 0, 0, tzinfo=UTC)
    later = format_datetime(datetime(2026, 11, 1, 12, 0, 20, tzinfo=UTC), usegmt=True)
    assert retry_after_seconds(
        status_error(429, {"retry-after": later}), now=now.timestamp()
    ) == pytest.approx(20)


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"retry-after": "0"},
        {"retry-after": "-3"},
        {"retry-after": "soon"},
        {"retry-after-ms": "x"},
        {"retry-after-ms": "0"},
    ],
)
def test_unusable_retry_after_counts_as_absent(headers: dict[str, str]) -> None:
    assert retry_after_seconds(status_error(429, headers)) is None


def test_retry_after_of_an_error_without_response_is_none() -> None:
    assert retry_after_seconds(ValueError("x")) is None


# -- what is retried ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "exc",
    [
        *[status_error(s) for s in (408, 409, 429, 500, 502, 503, 504, 529)],
        status_error(599, cls=anthropic.APIStatusError),
        anthropic.APIConnectionError(request=REQUEST),
        anthropic.APITimeoutError(request=REQUEST),
        httpx2.ReadTimeout("stalled"),
        httpx2.RemoteProtocolError("incomplete chunked read"),
        httpx2.ConnectError("refused"),
        json.JSONDecodeError("Expecting value", "{", 1),
        status_error(
            200, error_type="overloaded_error", cls=anthropic.APIStatusError
        ),  # event: error mid-stream
        IncompleteResponse("stream ended without stop_reason"),
    ],
    ids=lambda e: type(e).__name__ + str(getattr(e, "status_code", "")),
)
def test_retryable(exc: BaseException) -> None:
    assert is_retryable(exc)


@pytest.mark.parametrize(
    "exc",
    [
        *[status_error(s) for s in (400, 401, 403, 404, 413, 422)],
        status_error(200, error_type="invalid_request_error", cls=anthropic.APIStatusError),
        ConfigError("bad"),
        ParseError("bad"),
        BackendError("final"),
        RateLimited("slow down"),
        ValueError("x"),
        KeyError("x"),
        AssertionError("x"),
    ],
    ids=lambda e: type(e).__name__ + str(getattr(e, "status_code", "")),
)
def test_not_retryable(exc: BaseException) -> None:
    assert not is_retryable(exc)


# -- retry_async ----------------------------------------------------------------------------------


def test_retries_then_succeeds_with_backoff_and_reports_each_failure() -> None:
    errors = (status_error(529), anthropic.APIConnectionError(request=REQUEST))
    fn, sleeps, reported = Flaky(*errors), Sleeps(), []
    result = asyncio.run(
        retry_async(
            fn, config=NO_JITTER, sleep=sleeps, on_attempt_failed=lambda n, e, w: reported.append((n, e, w))
        )
    )
    assert result == "ok"
    assert fn.calls == 3
    assert sleeps.calls == [1.0, 2.0]
    assert reported == [(1, errors[0], 1.0), (2, errors[1], 2.0)]


def test_server_wait_is_obeyed_instead_of_backoff() -> None:
    fn, sleeps = Flaky(status_error(429, {"retry-after-ms": "40", "retry-after": "3"})), Sleeps()
    assert asyncio.run(retry_async(fn, config=NO_JITTER, sleep=sleeps)) == "ok"
    assert sleeps.calls == [pytest.approx(0.04)]


def test_arguments_are_passed_through() -> None:
    async def add(a: int, b: int = 0) -> int:
        return a + b

    assert asyncio.run(retry_async(add, 2, b=3, config=NO_JITTER)) == 5


def test_exhausted_attempts_reraise_the_last_error() -> None:
    last = status_error(529)
    fn, sleeps, reported = Flaky(status_error(529), status_error(529), last), Sleeps(), []
    with pytest.raises(anthropic.OverloadedError) as info:
        asyncio.run(
            retry_async(
                fn,
                config=RetryConfig(max_attempts=3, jitter=False, initial_delay=0.5),
                sleep=sleeps,
                on_attempt_failed=lambda n, e, w: reported.append((n, w)),
            )
        )
    assert info.value is last
    assert fn.calls == 3
    assert sleeps.calls == [0.5, 1.0]
    assert reported == [(1, 0.5), (2, 1.0), (3, None)]


@pytest.mark.parametrize("status", [400, 401, 403, 404, 413, 422])
def test_client_errors_are_never_retried(status: int) -> None:
    fn, sleeps, reported = Flaky(status_error(status)), Sleeps(), []
    with pytest.raises(anthropic.APIStatusError):
        asyncio.run(
            retry_async(
                fn, config=NO_JITTER, sleep=sleeps, on_attempt_failed=lambda n, e, w: reported.append((n, w))
            )
        )
    assert fn.calls == 1
    assert sleeps.calls == []
    assert reported == [(1, None)]


def test_our_own_errors_are_not_retried() -> None:
    fn, sleeps = Flaky(ParseError("no JSON here")), Sleeps()
    with pytest.raises(ParseError):
        asyncio.run(retry_async(fn, config=NO_JITTER, sleep=sleeps))
    assert fn.calls == 1


def test_demanded_wait_longer_than_the_cap_fails_fast() -> None:
    cause = status_error(429, {"retry-after": "120"})
    fn, sleeps = Flaky(cause), Sleeps()
    with pytest.raises(RateLimited) as info:
        asyncio.run(retry_async(fn, config=RetryConfig(max_delay=30.0), sleep=sleeps))
    assert fn.calls == 1
    assert sleeps.calls == []
    assert "120 s" in str(info.value) and "30 s" in str(info.value)
    assert info.value.__cause__ is cause
    assert info.value.status_code == 429


def test_demanded_wait_within_the_cap_is_obeyed() -> None:
    fn, sleeps = Flaky(status_error(503, {"retry-after": "30"})), Sleeps()
    assert asyncio.run(retry_async(fn, config=RetryConfig(max_delay=30.0), sleep=sleeps)) == "ok"
    assert sleeps.calls == [30.0]


def test_cancellation_is_not_retried() -> None:
    fn, sleeps = Flaky(asyncio.CancelledError()), Sleeps()
    with pytest.raises(asyncio.CancelledError):
        asyncio.run(retry_async(fn, config=NO_JITTER, sleep=sleeps))
    assert fn.calls == 1


def test_retry_sync_uses_the_same_policy() -> None:
    errors = [status_error(500)]
    slept: list[float] = []

    def fn() -> str:
        if errors:
            raise errors.pop()
        return "ok"

    assert retry_sync(fn, config=NO_JITTER, sleep=slept.append) == "ok"
    assert slept == [1.0]
