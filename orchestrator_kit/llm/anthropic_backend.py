"""The real backend: the official ``anthropic`` SDK (async client), with our retries and error mapping.

SDK retries are off (``max_retries=0``) so every attempt is ours, counted and recorded. Streams are read
through a guard that turns the SDK's bare stream failures (httpx2 errors, ``JSONDecodeError``,
``AssertionError``, an ``event: error``, a stream ending without ``stop_reason``) into a retryable
``IncompleteResponse``: a truncated stream never looks like success.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import weakref
from typing import TYPE_CHECKING, Any

from pydantic import SecretStr

from ..errors import AuthError, BackendError, ConfigError, ConnectionFailed, RateLimited
from .backend import DeltaCallback
from .keys import KeyInfo, check_key_format, is_placeholder_key, lookup_api_key, mask_key
from .messages_wire import _STOP_REASONS as _STOP_REASONS
from .messages_wire import build_params as build_params
from .messages_wire import message_text, usage_from_api
from .retry import IncompleteResponse, RetryConfig, retry_after_seconds, retry_async
from .tokens import estimate_tokens
from .types import Attempt, Completion, LLMRequest

if TYPE_CHECKING:
    import anthropic

    from .ratelimit import RateLimiter

log = logging.getLogger(__name__)
DEFAULT_TIMEOUT_S = 120.0
"""Seconds one attempt may take (connect, send, each read) before it fails and is retried. The SDK's
own default is 600 s; a hung connection should cost minutes, not ten of them per attempt."""


class AnthropicBackend:
    """``Backend`` over the Messages API. ``mode = "real"``.

    ``client``: an ``anthropic.AsyncAnthropic`` used as-is (tests point one at the fake server).
    Otherwise one is built per running event loop, with ``max_retries=0``. Without ``api_key`` the key
    is looked up as in ``keys.resolve_api_key`` (environment, then .env). ``key_source`` names where an
    explicit key came from, for error messages (e.g. "the password widget").
    Requests stream when ``max_tokens > stream_threshold`` or ``on_delta`` is given.
    ``rate_limiter``: a ``RateLimiter`` every attempt waits on and reports back to (ratelimit headers,
    429s); share one instance between all backends of a sweep.
    ``timeout``: seconds per attempt (default ``DEFAULT_TIMEOUT_S``; with an injected ``client`` and no
    ``timeout``, the client's own setting applies). A timed-out attempt is retried per ``retry``.
    """

    mode = "real"

    def __init__(
        self,
        api_key: str | SecretStr | KeyInfo | None = None,
        *,
        client: anthropic.AsyncAnthropic | None = None,
        base_url: str | None = None,
        timeout: float | None = None,
        retry: RetryConfig | None = None,
        stream_threshold: int = 4096,
        key_source: str = "argument",
        rate_limiter: RateLimiter | None = None,
    ) -> None:
        self._client = client
        self.rate_limiter = rate_limiter
        self._in_flight = 0
        self._base_url = base_url
        if timeout is not None and not timeout > 0:
            raise ConfigError(f"timeout must be a positive number of seconds per attempt, got {timeout!r}")
        self.timeout: float | None = (
            timeout if timeout is not None or client is not None else DEFAULT_TIMEOUT_S
        )
        self.retry = retry or RetryConfig()
        self.stream_threshold = stream_threshold
        self._clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, anthropic.AsyncAnthropic] = (
            weakref.WeakKeyDictionary()
        )
        self._key: SecretStr | None = None
        if key_source == "argument":
            key_source = (
                "the api_key argument" if client is None or api_key is not None else "the client passed in"
            )
        self.key_source = key_source
        if isinstance(api_key, KeyInfo):
            self._key, self.key_source = api_key.value, api_key.description
        elif api_key is not None:
            value = (api_key.get_secret_value() if isinstance(api_key, SecretStr) else api_key).strip()
            if not value:
                raise ConfigError(
                    f"the API key from {key_source} is empty; enter the key, or set ANTHROPIC_API_KEY"
                )
            if is_placeholder_key(value):
                raise ConfigError(
                    f"the API key from {self.key_source} is a placeholder, not a key; enter your real "
                    "key (console.anthropic.com), or use the simulated backend"
                )
            self._key = SecretStr(value)
        elif client is None:
            lookup = lookup_api_key()
            if lookup.key is None:
                raise ConfigError(
                    f"{lookup.no_key_reason()}: pass api_key=..., set ANTHROPIC_API_KEY, or put "
                    "ANTHROPIC_API_KEY=... in a .env file (or use the simulated backend)"
                )
            self._key, self.key_source = lookup.key.value, lookup.key.description
        if self._key is not None and (warning := check_key_format(self._key)) is not None:
            log.warning("%s (key from %s)", warning, self.key_source)

    def __repr__(self) -> str:
        key = "client" if self._client is not None else mask_key(self._key)
        return (
            f"AnthropicBackend(key={key!r}, key_source={self.key_source!r}, base_url={self._base_url!r}, "
            f"stream_threshold={self.stream_threshold}, timeout={self.timeout!r}, retry={self.retry!r})"
        )

    # -- client ------------------------------------------------------------------------------------

    def client(self) -> anthropic.AsyncAnthropic:
        """The client for the running event loop (the injected one, if any)."""
        if self._client is not None:
            return self._client
        import anthropic

        loop = asyncio.get_running_loop()
        client = self._clients.get(loop)
        if client is None:
            options: dict[str, Any] = {"max_retries": 0}
            if self._key is not None:
                options["api_key"] = self._key.get_secret_value()
            if self._base_url:
                options["base_url"] = self._base_url
            if self.timeout is not None:
                options["timeout"] = self.timeout
            client = anthropic.AsyncAnthropic(**options)
            self._clients[loop] = client
        return client

    async def aclose(self) -> None:
        """Close the client this backend built for the running loop (an injected one is left open).
        A no-op while calls are in flight: engines that share this backend close it as each finishes."""
        if self._client is None and self._in_flight == 0:
            client = self._clients.pop(asyncio.get_running_loop(), None)
            if client is not None:
                await client.close()

    def _per_request(self) -> dict[str, Any]:
        return {} if self.timeout is None else {"timeout": self.timeout}

    async def count_tokens(self, request: LLMRequest) -> int:
        """The input tokens the API will bill for ``request`` (``POST /v1/messages/count_tokens``, free
        of charge), retried per ``self.retry``; errors as for ``complete``."""
        client = self.client()
        params = build_params(request)
        params = {k: v for k, v in params.items() if k in ("model", "messages", "system")}

        failed: list[Attempt] = []

        async def attempt() -> int:
            counted = await client.messages.count_tokens(**params, **self._per_request())
            return int(counted.input_tokens)

        def record(number: int, exc: BaseException, wait: float | None) -> None:
            failed.append(Attempt(number=number, error=type(exc).__name__, status_code=_status_of(exc)))

        try:
            return await retry_async(attempt, config=self.retry, on_attempt_failed=record)
        except Exception as exc:
            final = self._final_error(exc, failed, client)
            if final is exc:
                raise
            raise final from _api_cause(exc)

    # -- the call ----------------------------------------------------------------------------------

    async def complete(self, request: LLMRequest, *, on_delta: DeltaCallback | None = None) -> Completion:
        """One model call, retried per ``self.retry``. A retried stream sends the new attempt's text
        to ``on_delta`` from its start. ``max_tokens`` and ``refusal`` stops are returned, not raised."""
        client = self.client()
        params = build_params(request)
        streaming = on_delta is not None or request.max_tokens > self.stream_threshold
        failed: list[Attempt] = []
        started = time.monotonic()
        attempt_started = started
        reported: list[Any] = [None]  # the usage a failed stream had reported, when its error has none

        def record(number: int, exc: BaseException, wait: float | None) -> None:
            failed.append(
                Attempt(
                    number=number,
                    error=type(exc).__name__,
                    status_code=_status_of(exc),
                    latency_s=round(time.monotonic() - attempt_started, 6),
                    usage=usage_from_api(getattr(exc, "usage", None) or reported[0]),
                    retry_after_s=retry_after_seconds(exc),
                    ended_at=time.time(),
                )
            )

        async def attempt() -> tuple[Any, str | None]:
            nonlocal attempt_started
            limiter = self.rate_limiter
            reservation = None
            if limiter is not None:
                reservation = await limiter.acquire(
                    estimate_tokens(request.prompt_text()),
                    request.max_tokens,
                    max_pause=self.retry.max_delay,
                )
            attempt_started = time.monotonic()
            reported[0] = None
            try:
                if streaming:
                    message, request_id, headers = await self._stream_once(client, params, on_delta, reported)
                else:
                    message, request_id, headers = await self._create_once(
                        client, params, raw=limiter is not None
                    )
            except Exception as exc:
                if limiter is not None:
                    limiter.observe_error(exc)
                raise
            except BaseException:
                if limiter is not None:
                    limiter.abandon()
                raise
            if limiter is not None:
                used = usage_from_api(message.usage)
                limiter.observe(
                    headers,
                    reservation,
                    input_tokens=used.input_tokens + used.cache_write_5m_tokens + used.cache_write_1h_tokens,
                    output_tokens=used.output_tokens,
                )
            return message, request_id

        self._in_flight += 1
        try:
            message, request_id = await retry_async(attempt, config=self.retry, on_attempt_failed=record)
        except Exception as exc:
            final = self._final_error(exc, failed, client)
            if final is exc:
                raise
            raise final from _api_cause(exc)
        finally:
            self._in_flight -= 1

        stop_reason = message.stop_reason
        if stop_reason not in _STOP_REASONS:
            paid = Attempt(  # answered and billed: its tokens go to the ledger as a wasted attempt
                number=len(failed) + 1,
                error="UnknownStopReason",
                status_code=200,
                latency_s=round(time.monotonic() - attempt_started, 6),
                usage=usage_from_api(message.usage),
                ended_at=time.time(),
            )
            raise BackendError(
                f"the API returned an unknown stop_reason {stop_reason!r}; this version of orchestrator_kit "
                "cannot tell whether the answer is complete",
                attempts=[a.model_dump() for a in (*failed, paid)],
            )
        text = message_text(message) or ""
        return Completion(
            text=text,
            stop_reason=stop_reason,
            usage=usage_from_api(message.usage),
            model=message.model or request.model,
            mode="real",
            request_id=request_id,
            latency_s=round(time.monotonic() - started, 6),
            attempts=len(failed) + 1,
            failed_attempts=tuple(failed),
        )

    async def _create_once(
        self, client: anthropic.AsyncAnthropic, params: dict[str, Any], *, raw: bool = False
    ) -> tuple[Any, str | None, Any]:
        """(message, request id, response headers or None); ``raw`` reads the headers (SDK 2.x:
        ``with_raw_response``)."""
        import anthropic

        headers = None
        try:
            if raw:
                response = await client.messages.with_raw_response.create(**params, **self._per_request())
                headers = response.headers
                message = await response.parse()
            else:
                message = await client.messages.create(**params, **self._per_request())
        except json.JSONDecodeError as exc:
            raise IncompleteResponse(
                f"the API answered with a body that is not valid JSON ({exc.msg})", status_code=200
            ) from exc
        if (
            not isinstance(message, anthropic.types.Message)
            or message.stop_reason is None
            or message.usage is None
            or message_text(message) is None
        ):
            raise IncompleteResponse(
                "the API answered 200 with something that is not a complete message",
                status_code=200,
                usage=getattr(message, "usage", None),
            )
        return message, getattr(message, "_request_id", None), headers

    async def _stream_once(
        self,
        client: anthropic.AsyncAnthropic,
        params: dict[str, Any],
        on_delta: DeltaCallback | None,
        reported: list[Any],
    ) -> tuple[Any, str | None, Any]:
        """(message, request id, headers). On failure, ``reported[0]`` holds the usage the stream had
        reported (message_start onwards), for errors that do not carry it."""
        import anthropic
        import httpx2

        stream: Any = None
        chars = 0
        try:
            async with client.messages.stream(**params, **self._per_request()) as stream:
                async for event in stream:
                    if event.type == "text":
                        chars += len(event.text)
                        if on_delta is not None:
                            on_delta(event.text)
                message = await stream.get_final_message()
        except (httpx2.HTTPError, json.JSONDecodeError, AssertionError) as exc:
            raise IncompleteResponse(
                f"the stream broke off after {chars} characters ({type(exc).__name__}: {exc})",
                status_code=200,
                usage=_partial_usage(stream),
            ) from exc
        except anthropic.APIStatusError as exc:
            if stream is None or exc.status_code >= 300:
                raise  # an error status before the stream began: the SDK typed it already
            from .retry import is_retryable

            if is_retryable(exc):
                raise IncompleteResponse(
                    f"the stream reported {exc.type or 'an error'} after {chars} characters",
                    status_code=200,
                    usage=_partial_usage(stream),
                ) from exc
            reported[0] = _partial_usage(stream)
            raise
        if message.stop_reason is None:
            raise IncompleteResponse(
                f"the stream ended after {chars} characters without a stop_reason",
                status_code=200,
                usage=message.usage,
            )
        return message, stream.request_id, stream.response.headers

    def _final_error(
        self,
        exc: Exception,
        failed: list[Attempt],
        client: anthropic.AsyncAnthropic,
        *,
        count: int | None = None,
    ) -> Exception:
        """Our error for the last failure, by type; anything not from the API passes through unchanged.
        ``count``: how many attempts were made, when ``failed`` does not record them (batch endpoints)."""
        import anthropic
        import httpx2

        attempts = [a.model_dump() for a in failed]
        n = len(failed) if count is None else count
        tries = f"{n} attempt{'s' if n != 1 else ''}"
        status = _status_of(exc)
        base_url = str(client.base_url)
        if isinstance(exc, RateLimited):
            return RateLimited(str(exc), attempts=attempts, status_code=status)
        if isinstance(exc, (anthropic.AuthenticationError, anthropic.PermissionDeniedError)):
            return AuthError(
                f"the API key was rejected ({exc.status_code} {exc.type or 'authentication_error'}); the key came "
                f"from {self.key_source}; check it at console.anthropic.com",
                attempts=attempts,
                status_code=status,
            )
        if isinstance(exc, anthropic.RateLimitError):
            return RateLimited(
                f"rate limited after {tries}; lower max_concurrency or wait and resume",
                attempts=attempts,
                status_code=status,
            )
        if isinstance(exc, anthropic.APITimeoutError):
            limit = f"{self.timeout:g} s" if self.timeout is not None else "the client's timeout"
            return BackendError(
                f"no response from {base_url} within {limit} per attempt, after {tries}; the run is "
                "checkpointed: resume it later, or allow longer attempts (--timeout SECONDS, timeout=...)",
                attempts=attempts,
            )
        if isinstance(exc, anthropic.APIConnectionError):
            cause = exc.__cause__
            what = (
                "the connection was refused or the host is unreachable"
                if isinstance(cause, httpx2.ConnectError)
                else "the connection closed before a response arrived"
                if isinstance(cause, httpx2.RemoteProtocolError)
                else type(cause or exc).__name__
            )
            return ConnectionFailed(
                f"could not reach the API at {base_url} ({what}) after {tries}", attempts=attempts
            )
        if isinstance(exc, anthropic.APIStatusError):
            detail = exc.api_message or "no error message"
            what = "the stream reported" if exc.status_code < 300 else f"the API returned {exc.status_code}"
            return BackendError(
                f"{what} {exc.type or 'error'}: {detail} (after {tries})",
                attempts=attempts,
                status_code=status,
            )
        if isinstance(exc, IncompleteResponse):
            return BackendError(f"{exc} (after {tries})", attempts=attempts, status_code=status)
        if isinstance(exc, (anthropic.APIError, httpx2.HTTPError, json.JSONDecodeError)):
            return BackendError(
                f"the call to {base_url} failed: {type(exc).__name__} (after {tries})",
                attempts=attempts,
                status_code=status,
            )
        if isinstance(exc, anthropic.AnthropicError):  # the SDK's own checks (a batch without results_url)
            return BackendError(f"the SDK refused the answer from {base_url}: {exc}", attempts=attempts)
        return exc


def _status_of(exc: BaseException) -> int | None:
    status = getattr(exc, "status_code", None)
    return status if isinstance(status, int) else None


def _api_cause(exc: BaseException) -> BaseException:
    """What to chain as ``__cause__``: the SDK's exception, not our intermediate wrapper."""
    if isinstance(exc, (IncompleteResponse, RateLimited)) and exc.__cause__ is not None:
        return exc.__cause__
    return exc


def _partial_usage(stream: Any) -> Any:
    """The usage a broken stream reported before it broke (None before message_start)."""
    if stream is None:
        return None
    try:
        return stream.current_message_snapshot.usage
    except AssertionError:
        return None
