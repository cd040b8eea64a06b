"""Rate limits the fake server enforces, as the real API does: token buckets refilled continuously.

Each limit (requests, input tokens, output tokens per minute) is a bucket of capacity ``limit`` that
refills at ``limit / 60`` a second and starts full. A request needs one request, its input tokens and its
``max_tokens`` of output (the output estimate is settled to the real count once answered). When a bucket
cannot cover it, the answer is a 429 ``rate_limit_error`` with ``retry-after`` (whole seconds, at least 1).
Every answer carries ``anthropic-ratelimit-{requests,input-tokens,output-tokens}-{limit,remaining,reset}``,
``reset`` being the RFC 3339 time the bucket is full again.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from . import _wire


@dataclass(frozen=True)
class RateLimits:
    """Per-minute limits for the fake server (None: unlimited)."""

    rpm: int | None = None
    itpm: int | None = None
    otpm: int | None = None

    def __post_init__(self) -> None:
        for name in ("rpm", "itpm", "otpm"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ValueError(f"RateLimits.{name} must be at least 1, not {value}")


class _Bucket:
    def __init__(self, limit: int, now: float) -> None:
        self.limit = limit
        self.level = float(limit)
        self.stamp = now

    def refill(self, now: float) -> None:
        self.level = min(float(self.limit), self.level + self.limit / 60.0 * (now - self.stamp))
        self.stamp = now

    def wait_for(self, amount: float) -> float:
        """Seconds until ``amount`` is available (0 now); an amount above the limit waits for a full bucket."""
        need = min(amount, float(self.limit)) - self.level
        return 0.0 if need <= 0 else need / (self.limit / 60.0)


_NAMES = {"rpm": "requests", "itpm": "input-tokens", "otpm": "output-tokens"}


class ServerRateLimiter:
    """Admits or refuses Messages requests; counts the 429s it sent in ``rejected``."""

    def __init__(self, limits: RateLimits) -> None:
        now = time.monotonic()
        self.limits = limits
        self._buckets = {
            key: _Bucket(value, now) for key in _NAMES if (value := getattr(limits, key)) is not None
        }
        self._lock = threading.Lock()
        self.rejected = 0
        self.admitted = 0

    def admit(self, body: dict[str, Any]) -> tuple[float, dict[str, str]]:
        """(0, headers) when admitted (and charged), else (retry-after seconds, headers)."""
        max_tokens = body.get("max_tokens")
        needs = {
            "rpm": 1.0,
            "itpm": float(max(1, _wire.estimate_tokens(_wire.prompt_text(body)))),
            "otpm": float(max_tokens) if isinstance(max_tokens, int) else 0.0,
        }
        now = time.monotonic()
        with self._lock:
            for bucket in self._buckets.values():
                bucket.refill(now)
            wait = max((b.wait_for(needs[k]) for k, b in self._buckets.items()), default=0.0)
            if wait > 0:
                self.rejected += 1
                return float(max(1, math.ceil(wait))), self._headers(now)
            for key, bucket in self._buckets.items():
                bucket.level -= min(needs[key], float(bucket.limit))
            self.admitted += 1
            return 0.0, self._headers(now)

    def consume(self, *, requests: int = 0, input_tokens: int = 0, output_tokens: int = 0) -> None:
        """Charge usage made elsewhere (another process of the same organisation)."""
        now = time.monotonic()
        with self._lock:
            for key, amount in (("rpm", requests), ("itpm", input_tokens), ("otpm", output_tokens)):
                if (bucket := self._buckets.get(key)) is not None:
                    bucket.refill(now)
                    bucket.level = max(0.0, bucket.level - amount)

    def settle_output(self, reserved: int, actual: int) -> None:
        """Give back the output tokens reserved at admission but not produced."""
        bucket = self._buckets.get("otpm")
        if bucket is None:
            return
        with self._lock:
            bucket.refill(time.monotonic())
            bucket.level = min(float(bucket.limit), bucket.level + max(0, reserved - actual))

    def _headers(self, now: float) -> dict[str, str]:
        headers: dict[str, str] = {}
        wall = datetime.now(UTC)
        for key, bucket in self._buckets.items():
            name = _NAMES[key]
            remaining = max(0, math.floor(bucket.level))
            full_in = (bucket.limit - bucket.level) / (bucket.limit / 60.0)
            headers[f"anthropic-ratelimit-{name}-limit"] = str(bucket.limit)
            headers[f"anthropic-ratelimit-{name}-remaining"] = str(remaining)
            headers[f"anthropic-ratelimit-{name}-reset"] = _wire.iso(wall + timedelta(seconds=full_in))
        return headers
