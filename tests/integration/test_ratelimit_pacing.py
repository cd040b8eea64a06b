"""Rate limits: the fake server enforces them (headers, 429 + retry-after); the RateLimiter paces under them."""

from __future__ import annotations

import asyncio

import anthropic
import pytest

from orchestrator_kit.errors import RateLimited
from orchestrator_kit.llm.anthropic_backend import AnthropicBackend
from orchestrator_kit.llm.ratelimit import RateLimiter
from orchestrator_kit.llm.retry import RetryConfig
from orchestrator_kit.llm.types import LLMRequest, Message
from orchestrator_kit.testing import FakeAnthropicServer, RateLimits

KEY = "sk-ant-test-fake"


def _request(i: int) -> LLMRequest:
    return LLMRequest(
        model="claude-sonnet-5-5", messages=(Message(role="user", content=f"hello {i}"),), max_tokens=16
    )


def test_fake_server_sends_ratelimit_headers_and_429_beyond_the_limit() -> None:
    with FakeAnthropicServer(rate_limits=RateLimits(rpm=2, otpm=1000)) as srv:
        client = anthropic.Anthropic(api_key=KEY, base_url=srv.base_url, max_retries=0)
        params = {
            "model": "claude-sonnet-5-5",
            "max_tokens": 16,
            "messages": [{"role": "user", "content": "x"}],
        }
        first = client.messages.with_raw_response.create(**params)  # type: ignore[call-overload]
        assert first.headers["anthropic-ratelimit-requests-limit"] == "2"
        assert first.headers["anthropic-ratelimit-requests-remaining"] == "1"
        assert first.headers["anthropic-ratelimit-output-tokens-limit"] == "1000"
        assert first.headers["anthropic-ratelimit-requests-reset"].endswith("Z")
        client.messages.create(**params)  # type: ignore[call-overload]
        with pytest.raises(anthropic.RateLimitError) as caught:
            client.messages.create(**params)  # type: ignore[call-overload]
        assert int(caught.value.response.headers["retry-after"]) >= 1
        assert caught.value.response.headers["anthropic-ratelimit-requests-remaining"] == "0"
        client.close()
        assert srv.rate_limited == 1


def _burst(srv: FakeAnthropicServer, n: int, limiter: RateLimiter | None) -> list[object]:
    backend = AnthropicBackend(
        KEY,
        base_url=srv.base_url,
        rate_limiter=limiter,
        retry=RetryConfig(max_attempts=6, initial_delay=0.1, max_delay=5.0, jitter=False),
    )

    async def run() -> list[object]:
        try:
            return await asyncio.gather(
                *(backend.complete(_request(i)) for i in range(n)), return_exceptions=True
            )
        finally:
            await backend.aclose()

    return asyncio.run(run())


def test_pacing_avoids_the_429s_that_an_unpaced_burst_gets() -> None:
    """60 requests a minute enforced, the minute's quota already used elsewhere in the organisation;
    6 calls at once. Counts of 429s, not times, are compared."""
    counts = []
    for limiter in (None, RateLimiter()):
        with FakeAnthropicServer(rate_limits=RateLimits(rpm=60)) as srv:
            assert srv.rate_limiter is not None
            srv.rate_limiter.consume(requests=60)
            results = _burst(srv, 6, limiter)
            failures = [r for r in results if isinstance(r, BaseException)]
            if limiter is not None:
                assert not failures
            assert all(isinstance(f, RateLimited) for f in failures)  # unpaced calls may give up
            counts.append(srv.rate_limited)
    unpaced, paced = counts
    assert unpaced >= 5  # nearly every call bounced, most of them more than once
    assert paced <= 2 < unpaced  # the probe may bounce once; then the limiter paces one a second
    assert limiter is not None and limiter.stats["waited"] >= 4


def test_a_demanded_pause_beyond_max_delay_fails_every_waiting_caller_at_once() -> None:
    """One call's 429 asks for an hour: that call fails fast (retry policy), and so do the calls waiting
    on the shared limiter, instead of sitting out the hour in silence."""
    from orchestrator_kit.testing import Fault

    async def three(srv: FakeAnthropicServer) -> list[BaseException | object]:
        limiter = RateLimiter()  # probing: the first call goes alone, the others wait on its answer
        retry = RetryConfig(max_attempts=3, initial_delay=0.01, max_delay=5.0)
        backend = AnthropicBackend(KEY, base_url=srv.base_url, retry=retry, rate_limiter=limiter)
        try:
            calls = (backend.complete(_request(i)) for i in range(3))
            return await asyncio.wait_for(asyncio.gather(*calls, return_exceptions=True), 120)
        finally:
            await backend.aclose()

    with FakeAnthropicServer() as srv:
        srv.script(Fault.status(429, retry_after=3600))
        results = asyncio.run(three(srv))
        assert srv.count() == 1
    assert all(isinstance(r, RateLimited) for r in results), results
    assert all("3600" in str(r) and "max_delay" in str(r) for r in results)
