"""The gateway every agent call passes: reuse of already-paid calls, the concurrency limit,
the backend, output validation, and an observer (the engine's budget, ledger and events).

The gateway knows nothing of runs or folders: the observer does that work. On resume it serves
completions already paid for, but only those that still validate: a recorded answer that fails
validation (say, prose where JSON was asked) is never served as paid; the request is sent again, live.
"""

from __future__ import annotations

import asyncio
import logging
import time
import weakref
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable
from typing import Any, Protocol, TypeVar

from ..errors import ParseError
from .backend import Backend
from .types import Completion, LLMRequest

T = TypeVar("T")
log = logging.getLogger("orchestrator_kit.gateway")


class CallObserver(Protocol):
    def before_call(self, request: LLMRequest, *, input_tokens: int | None = None) -> None:
        """Raise (e.g. BudgetExceeded) to stop the call before it is sent. ``input_tokens``: the
        API's own count of the prompt, when the gateway was given a ``counter``."""

    def wants_deltas(self) -> bool:
        """Whether partial text is wanted (if not, backends need not stream short answers)."""

    def on_delta(self, request: LLMRequest, text: str) -> None: ...

    def on_response(self, request: LLMRequest, completion: Completion) -> None:
        """Called as soon as a completion arrives, before validation (persist it)."""

    def after_call(
        self,
        request: LLMRequest,
        completion: Completion,
        *,
        status: str,
        wasted: bool,
        reused: bool,
        error: str | None,
    ) -> None: ...

    def on_error(self, request: LLMRequest, error: BaseException, latency_s: float) -> None: ...


class ConcurrencyLimiter:
    """One limit on concurrent requests, shared by every run that holds it (per event loop)."""

    def __init__(self, max_concurrent: int = 4) -> None:
        if max_concurrent < 1:
            raise ValueError("max_concurrent must be at least 1")
        self.max_concurrent = max_concurrent
        self._sems: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = (
            weakref.WeakKeyDictionary()
        )  # one per event loop, dropped with its loop
        self._last: tuple[weakref.ref[asyncio.AbstractEventLoop], asyncio.Semaphore] | None = None
        self.in_flight = 0
        self.peak = 0

    def _sem(self) -> asyncio.Semaphore:
        key = asyncio.get_running_loop()
        last = self._last  # the loop asked last (almost always the one asking): no weak-dict lookup
        if last is not None and last[0]() is key:
            return last[1]
        sem = self._sems.get(key)
        if sem is None:
            sem = self._sems[key] = asyncio.Semaphore(self.max_concurrent)
        self._last = (weakref.ref(key), sem)
        return sem

    async def __aenter__(self) -> ConcurrencyLimiter:
        await self._sem().acquire()
        self._entered()
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.in_flight -= 1
        self._sem().release()

    def _entered(self) -> None:
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)


class Gateway:
    """``await gateway.complete(request, validate=fn)`` -> (completion, validated value)."""

    def __init__(
        self,
        backend: Backend,
        *,
        observer: CallObserver | None = None,
        limiter: ConcurrencyLimiter | None = None,
        paid: list[dict[str, Any]] | None = None,
        on_reuse_rejected: Callable[[LLMRequest, Completion, str], None] | None = None,
        counter: Callable[[LLMRequest], Awaitable[int]] | None = None,
    ) -> None:
        """``counter``: counts a request's input tokens exactly before it is sent (e.g. the backend's
        ``count_tokens``), for the observer's budget check."""
        self.backend = backend
        self.counter = counter
        self.observer = observer
        self.limiter = limiter or ConcurrencyLimiter()
        # Completions already paid for (resume): request hash -> queue of completions.
        self._paid: dict[str, deque[Completion]] = defaultdict(deque)
        for rec in paid or []:
            self._paid[rec["hash"]].append(Completion.model_validate(rec["completion"]))
        self.on_reuse_rejected = on_reuse_rejected
        self.reuse_rejected = 0  # paid completions that failed validation and were asked again live

    @property
    def mode(self) -> str:
        return self.backend.mode

    async def complete(
        self,
        request: LLMRequest,
        *,
        validate: Callable[[Completion], T] | None = None,
        status_of: Callable[[Completion], str] | None = None,
    ) -> tuple[Completion, T | None]:
        obs = self.observer
        h = request.request_hash()
        while self._paid.get(h):  # paid in an earlier process (resume): reuse it if it still validates
            completion = self._paid[h].popleft()
            try:
                return completion, self._checked(request, completion, validate, status_of, reused=True)
            except ParseError as exc:  # never serve a bad answer as paid: ask again, live
                self.reuse_rejected += 1
                reason = f"{type(exc).__name__}: {exc}"
                log.warning(
                    "%s/%s: the recorded answer failed validation (%s); asking again live",
                    request.labels.agent or "?",
                    request.labels.step or "?",
                    reason,
                )
                if self.on_reuse_rejected is not None:
                    self.on_reuse_rejected(request, completion, reason)
        if obs:
            counted = await self.counter(request) if self.counter is not None else None
            obs.before_call(request, input_tokens=counted)
        on_delta = (lambda text: obs.on_delta(request, text)) if obs and obs.wants_deltas() else None
        limiter = self.limiter
        started = time.perf_counter()
        try:
            # ``async with limiter``, spelt out: two coroutines fewer per call
            sem = limiter._sem()
            await sem.acquire()
            limiter._entered()
            try:
                completion = await self.backend.complete(request, on_delta=on_delta)
            finally:
                limiter.in_flight -= 1
                sem.release()
        except BaseException as exc:
            if obs and isinstance(exc, Exception):
                obs.on_error(request, exc, time.perf_counter() - started)
            raise
        if obs:
            obs.on_response(request, completion)
        return completion, self._checked(request, completion, validate, status_of, reused=False)

    def _checked(
        self,
        request: LLMRequest,
        completion: Completion,
        validate: Callable[[Completion], T] | None,
        status_of: Callable[[Completion], str] | None,
        *,
        reused: bool,
    ) -> T | None:
        """The validated value; the observer hears of the call either way (malformed: wasted)."""
        obs = self.observer
        status = status_of(completion) if status_of else "ok"
        try:
            value = validate(completion) if validate else None
        except Exception as exc:
            if obs:
                obs.after_call(
                    request,
                    completion,
                    status="malformed",
                    wasted=True,
                    reused=reused,
                    error=f"{type(exc).__name__}: {exc}",
                )
            raise
        if obs:
            obs.after_call(request, completion, status=status, wasted=False, reused=reused, error=None)
        return value
