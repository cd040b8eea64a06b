"""How the Messages API's prompt cache bills a request, for the simulated backend and the fake server.

Works on Messages-API parameters (``system`` blocks, then every message's content blocks, in order).
A block carrying ``cache_control`` is a breakpoint; the cached prefix is everything up to it, model
included. The rules kept here, from Anthropic's prompt-caching documentation:

* a breakpoint whose prefix is shorter than the model's minimum cacheable prompt length caches nothing;
* the longest prefix found in the cache (and not expired) is read; the tokens from there to the last
  cacheable breakpoint are written, each segment at its breakpoint's TTL (``"1h"``, else 5 minutes);
* a hit refreshes the entry's lifetime; at most 4 breakpoints are allowed in one request.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

MAX_BREAKPOINTS = 4
TTL_SECONDS = {"5m": 300.0, "1h": 3600.0}


def _blocks(params: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any] | None]]:
    """(role, text, cache_control) of every block, in prefix order."""
    system = params.get("system")
    if isinstance(system, str):
        yield "system", system, None
    elif isinstance(system, list):
        for b in system:
            if isinstance(b, dict):
                yield "system", str(b.get("text", "")), _control(b)
    for m in params.get("messages") or []:
        if not isinstance(m, dict):
            continue
        role, content = str(m.get("role", "")), m.get("content")
        if isinstance(content, str):
            yield role, content, None
        elif isinstance(content, list):
            for b in content:
                if isinstance(b, dict):
                    yield role, str(b.get("text", "")), _control(b)


def _control(block: dict[str, Any]) -> dict[str, Any] | None:
    c = block.get("cache_control")
    return c if isinstance(c, dict) else None


def breakpoint_count(params: dict[str, Any]) -> int:
    return sum(1 for _, _, c in _blocks(params) if c is not None)


class PromptCache:
    """Cached prefixes by hash, with their expiry. Thread-safe; ``clock`` is injectable for tests."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._expires: dict[str, float] = {}
        self._clock = clock
        self._lock = threading.Lock()

    def clear(self) -> None:
        with self._lock:
            self._expires.clear()

    def account(
        self, params: dict[str, Any], *, count: Callable[[str], int], min_tokens: int
    ) -> dict[str, int]:
        """Cache token counts of this request, ``{"write_5m", "write_1h", "read"}`` (updates the cache)."""
        hasher = hashlib.sha256(str(params.get("model", "")).encode("utf-8"))
        total = 0
        points: list[tuple[str, int, str]] = []  # (key, prefix tokens, ttl) of cacheable breakpoints
        for role, text, control in _blocks(params):
            hasher.update(b"\x00" + role.encode() + b"\x00" + text.encode("utf-8"))
            total += count(text)
            if control is not None and total >= min_tokens:
                ttl = "1h" if control.get("ttl") == "1h" else "5m"
                points.append((hasher.hexdigest(), total, ttl))
        counts = {"write_5m": 0, "write_1h": 0, "read": 0}
        if not points:
            return counts
        with self._lock:
            now = self._clock()
            hit = max(
                (i for i, (key, _, _) in enumerate(points) if self._expires.get(key, -1.0) > now), default=-1
            )
            done = points[hit][1] if hit >= 0 else 0
            counts["read"] = done
            for _key, tokens, ttl in points[hit + 1 :]:
                counts["write_1h" if ttl == "1h" else "write_5m"] += tokens - done
                done = tokens
            for key, _, ttl in points:
                self._expires[key] = now + TTL_SECONDS[ttl]
        return counts
