"""RateLimiter arithmetic: explicit caps, the API's headers, 429 pauses, the first-call probe."""

from __future__ import annotations

import asyncio
from typing import ClassVar

import pytest

from orchestrator_kit.errors import ConfigError
from orchestrator_kit.llm.ratelimit import RateLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_explicit_caps_pace_requests_and_tokens() -> None:
    clock = Clock()
    limiter = RateLimiter(rpm=2, otpm=100, clock=clock)

    async def take_two() -> None:
        await limiter.acquire(output_tokens=40)
        await limiter.acquire(output_tokens=40)

    asyncio.run(take_two())
    assert limiter.delay_for() == pytest.approx(30.0)  # 2 a minute: the next request slot in 30 s
    assert limiter.delay_for(output_tokens=50) == pytest.approx(30.0)  # 20 left, 30 missing: 18 s < 30 s
    clock.now += 30
    assert limiter.delay_for(output_tokens=50) == 0.0
    assert limiter.stats["admitted"] == 2


def test_unused_output_reservation_is_refunded() -> None:
    limiter = RateLimiter(otpm=100, clock=Clock())

    async def call() -> None:
        reservation = await limiter.acquire(output_tokens=80)  # max_tokens reserved
        limiter.observe(None, reservation, output_tokens=10)  # only 10 produced

    asyncio.run(call())
    assert limiter.delay_for(output_tokens=90) == 0.0
    assert limiter.delay_for(output_tokens=91) > 0


def test_headers_set_the_limit_and_lower_the_level() -> None:
    clock = Clock()
    limiter = RateLimiter(clock=clock)
    limiter.observe(
        {"anthropic-ratelimit-requests-limit": "60", "anthropic-ratelimit-requests-remaining": "0"}
    )
    assert limiter.delay_for() == pytest.approx(1.0)  # 60 a minute, none left: one more in a second
    clock.now += 1
    assert limiter.delay_for() == 0.0
    limiter.observe(
        {"anthropic-ratelimit-requests-limit": "60", "anthropic-ratelimit-requests-remaining": "59"}
    )
    assert limiter.delay_for() == 0.0


def test_a_429_pauses_everyone_for_retry_after() -> None:
    class Response:
        headers: ClassVar[dict[str, str]] = {"retry-after": "7"}

    class Limited(Exception):
        status_code = 429
        response = Response()

    clock = Clock()
    limiter = RateLimiter(rpm=1000, clock=clock)
    limiter.observe_error(Limited())
    assert limiter.delay_for() == pytest.approx(7.0)
    assert limiter.stats["rate_limited"] == 1


def test_first_call_probes_alone_until_an_answer_tells_the_limits() -> None:
    limiter = RateLimiter()

    async def scenario() -> None:
        await limiter.acquire()
        second = asyncio.create_task(limiter.acquire())
        await asyncio.sleep(0.1)
        assert not second.done()  # waits for the probe's answer
        limiter.observe({})  # an answer without ratelimit headers: nothing to pace by
        await asyncio.wait_for(second, timeout=2)
        await asyncio.wait_for(limiter.acquire(), timeout=2)

    asyncio.run(scenario())


def test_bad_caps_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="rpm must be at least 1"):
        RateLimiter(rpm=0)
