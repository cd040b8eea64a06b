"""One rate limiter for a whole sweep: paces calls under the organisation's limits instead of 429s.

    limiter = RateLimiter(rpm=50)                    # explicit caps are optional
    backend = AnthropicBackend(..., rate_limiter=limiter)   # every engine of the process shares it

Three token buckets (requests, input tokens, output tokens per minute), refilled continuously at
``limit / 60`` a second, as the API's own limiter is. Each bucket's capacity is the explicit cap
(``rpm`` / ``itpm`` / ``otpm``) or the limit the API reports in ``anthropic-ratelimit-*-limit``, whichever
is lower; after every response its level drops to the API's ``anthropic-ratelimit-*-remaining`` when that
is lower than ours (the API also counts other processes of the organisation). A call waits (FIFO) until
every bucket covers it: one request, its estimated input tokens and ``max_tokens`` of output (the API
estimates output from ``max_tokens`` too, and so do we until the answer's real count refunds the rest).
A 429 pauses every caller for its ``retry-after``. Until the first response tells the limits (and when
no cap is given), one call at a time goes out as a probe, so a sweep's first burst does not hit a 429 wall.
A server that sends no ratelimit headers is not paced (beyond the explicit caps).

Headers: see /work/shared/reference/batches-ratelimits-caching.md ("Rate limits"); the SDK 2.x gives them
through ``client.messages.with_raw_response.create(...)`` (``.headers``) and a stream's ``.response``.
"""

from __future__ import annotations

import asyncio
import time
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from ..errors import ConfigError, RateLimited
from .retry import retry_after_seconds

KINDS = {"requests": "rpm", "input-tokens": "itpm", "output-tokens": "otpm"}


@dataclass
class _Bucket:
    cap: float | None  # explicit cap per minute
    limit: float | None = None  # reported by the API
    level: float = 0.0
    stamp: float = 0.0

    @property
    def capacity(self) -> float | None:
        known = [v for v in (self.cap, self.limit) if v is not None]
        return min(known) if known else None

    def refill(self, now: float) -> None:
        cap = self.capacity
        if cap is not None:
            self.level = min(cap, self.level + cap / 60.0 * (now - self.stamp))
        self.stamp = now

    def wait_for(self, amount: float) -> float:
        cap = self.capacity
        if cap is None or amount <= 0:
            return 0.0
        need = min(amount, cap) - self.level
        return 0.0 if need <= 0 else need / (cap / 60.0)

    def take(self, amount: float) -> None:
        cap = self.capacity
        if cap is not None:
            self.level -= min(amount, cap)


@dataclass(frozen=True)
class Reservation:
    """What one call took from the buckets (to settle once its real usage is known)."""

    input_tokens: int
    output_tokens: int


class RateLimiter:
    """Paces calls under per-minute limits (explicit caps and/or the API's ratelimit headers).

    ``stats``: calls admitted, calls that had to wait, seconds waited, 429s seen.
    ``clock``/``sleep`` are injectable for tests of the arithmetic.
    """

    def __init__(
        self,
        *,
        rpm: int | None = None,
        itpm: int | None = None,
        otpm: int | None = None,
        probe: bool = True,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        for name, value in (("rpm", rpm), ("itpm", itpm), ("otpm", otpm)):
            if value is not None and value < 1:
                raise ConfigError(f"{name} must be at least 1 (per minute), not {value}")
        self._clock = clock
        now = clock()
        self._buckets = {
            key: _Bucket(cap=None if cap is None else float(cap), level=float(cap or 0), stamp=now)
            for key, cap in (("rpm", rpm), ("itpm", itpm), ("otpm", otpm))
        }
        self._paused_until = 0.0
        self._learned = not probe or any(v is not None for v in (rpm, itpm, otpm))
        self._probing = False
        self._locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
            weakref.WeakKeyDictionary()
        )
        self.stats = {"admitted": 0, "waited": 0, "wait_s": 0.0, "rate_limited": 0}

    def __repr__(self) -> str:
        caps = {k: b.capacity for k, b in self._buckets.items()}
        return f"RateLimiter(capacity_per_minute={caps}, stats={self.stats})"

    def _lock(self) -> asyncio.Lock:
        loop = asyncio.get_running_loop()
        lock = self._locks.get(loop)
        if lock is None:
            lock = self._locks[loop] = asyncio.Lock()
        return lock

    def delay_for(self, input_tokens: int = 0, output_tokens: int = 0) -> float:
        """Seconds until a call of this size may go (0: now)."""
        now = self._clock()
        for bucket in self._buckets.values():
            bucket.refill(now)
        needs = {"rpm": 1.0, "itpm": float(input_tokens), "otpm": float(output_tokens)}
        wait = max(b.wait_for(needs[k]) for k, b in self._buckets.items())
        return max(wait, self._paused_until - now)

    async def acquire(
        self, input_tokens: int = 0, output_tokens: int = 0, *, max_pause: float | None = None
    ) -> Reservation:
        """Wait (first come, first served) until the call fits under every limit, then take its share.

        ``max_pause``: the longest server-demanded pause (a 429's ``retry-after``) to sit out; a longer
        one raises ``RateLimited`` at once, as the retry policy does for the call that got the 429."""
        waited = 0.0
        async with self._lock():
            while True:
                pause = self._paused_until - self._clock()
                if max_pause is not None and pause > max_pause:
                    raise RateLimited(
                        f"the API asked every caller to wait {pause:.0f} s more (a 429 with retry-after), "
                        f"longer than the {max_pause:g} s allowed (RetryConfig.max_delay); wait and resume, "
                        "or raise max_delay",
                        status_code=429,
                    )
                if not self._learned and self._probing:
                    delay = 0.02  # the probe's answer will tell the limits
                else:
                    delay = self.delay_for(input_tokens, output_tokens)
                if delay <= 0:
                    break
                waited += delay
                await asyncio.sleep(delay)
            needs = {"rpm": 1.0, "itpm": float(input_tokens), "otpm": float(output_tokens)}
            for key, bucket in self._buckets.items():
                bucket.take(needs[key])
            if not self._learned:
                self._probing = True
        self.stats["admitted"] += 1
        if waited > 0:
            self.stats["waited"] += 1
            self.stats["wait_s"] = round(float(self.stats["wait_s"]) + waited, 6)
        return Reservation(input_tokens, output_tokens)

    def observe(
        self,
        headers: Mapping[str, str] | None,
        reservation: Reservation | None = None,
        *,
        input_tokens: int | None = None,
        output_tokens: int | None = None,
    ) -> None:
        """After a response: refund what the call reserved but did not use, then adopt the API's
        reported limits and (when lower than ours) remaining levels."""
        now = self._clock()
        for bucket in self._buckets.values():
            bucket.refill(now)
        if reservation is not None:
            for key, reserved, used in (
                ("itpm", reservation.input_tokens, input_tokens),
                ("otpm", reservation.output_tokens, output_tokens),
            ):
                bucket = self._buckets[key]
                cap = bucket.capacity
                if used is not None and cap is not None:
                    bucket.level = min(cap, bucket.level + max(0, reserved - used))
        for name, key in KINDS.items():
            limit = _number(headers, f"anthropic-ratelimit-{name}-limit")
            remaining = _number(headers, f"anthropic-ratelimit-{name}-remaining")
            bucket = self._buckets[key]
            if limit is not None and limit > 0:
                first = bucket.capacity is None
                bucket.limit = limit
                if first:
                    bucket.level = bucket.capacity or 0.0
            if remaining is not None and bucket.capacity is not None:
                bucket.level = min(bucket.level, remaining)
        self._learned = True
        self._probing = False

    def abandon(self) -> None:
        """A call was given up before any answer (cancelled): let the next caller probe."""
        self._probing = False

    def observe_error(self, exc: BaseException) -> None:
        """After a failed call: adopt its ratelimit headers; a 429 pauses every caller for retry-after."""
        response = getattr(exc, "response", None)
        headers = getattr(response, "headers", None)
        if headers is not None:
            self.observe(headers)
        else:
            self._probing = False
        if getattr(exc, "status_code", None) == 429:
            self.stats["rate_limited"] += 1
            wait = retry_after_seconds(exc)
            self._paused_until = max(self._paused_until, self._clock() + (wait if wait is not None else 1.0))


def _number(headers: Mapping[str, str] | None, name: str) -> float | None:
    if headers is None:
        return None
    raw = headers.get(name)
    if raw is None:
        return None
    try:
        return float(raw)
    except ValueError:
        return None
