"""The concurrency limiter keeps one semaphore per event loop, remembers the loop that asked last
without keeping it alive, and drops a loop's semaphore with the loop (issue #12: no weak-dict lookup
per call)."""

from __future__ import annotations

import asyncio
import gc

from orchestrator_kit.llm.gateway import ConcurrencyLimiter


async def _sem_of(limiter: ConcurrencyLimiter) -> asyncio.Semaphore:
    async with limiter:
        assert limiter.in_flight == 1
    return limiter._sem()


def test_one_semaphore_per_loop_and_none_kept_for_a_closed_loop() -> None:
    limiter = ConcurrencyLimiter(2)
    a, b = asyncio.new_event_loop(), asyncio.new_event_loop()
    try:
        sem_a = a.run_until_complete(_sem_of(limiter))
        assert a.run_until_complete(_sem_of(limiter)) is sem_a  # the loop asked last
        sem_b = b.run_until_complete(_sem_of(limiter))
        assert sem_b is not sem_a
        assert a.run_until_complete(_sem_of(limiter)) is sem_a  # back to the first loop
        assert b.run_until_complete(_sem_of(limiter)) is sem_b
    finally:
        a.close()
    del a, sem_a
    gc.collect()
    assert len(limiter._sems) == 1  # the closed loop and its semaphore are gone
    b.close()
    del b, sem_b
    gc.collect()
    assert len(limiter._sems) == 0 and limiter._last is not None and limiter._last[0]() is None
    assert limiter.peak == 1 and limiter.in_flight == 0
