"""The prompt-cache billing rules shared by the simulated backend, the estimator and the fake server."""

from __future__ import annotations

import json
from importlib import resources

import pytest

from orchestrator_kit.llm.pricing import MAX_MIN_CACHE_TOKENS, get_price, min_cache_tokens, price_table
from orchestrator_kit.llm.prompt_cache import PromptCache, breakpoint_count


def _count(text: str) -> int:
    return len(text)  # one token per character: easy to compute by hand


def _params(*system: tuple[str, str | None], messages: tuple[tuple[str, str, str | None], ...] = ()) -> dict:
    def block(text: str, ttl: str | None) -> dict:
        b: dict = {"type": "text", "text": text}
        if ttl:
            b["cache_control"] = {"type": "ephemeral", **({"ttl": "1h"} if ttl == "1h" else {})}
        return b

    return {
        "model": "m",
        "system": [block(t, ttl) for t, ttl in system],
        "messages": [{"role": r, "content": [block(t, ttl)]} for r, t, ttl in messages]
        or [{"role": "user", "content": "q"}],
    }


def test_a_prefix_below_the_minimum_caches_nothing() -> None:
    cache = PromptCache()
    p = _params(("a" * 99, "5m"))
    for _ in range(2):
        assert cache.account(p, count=_count, min_tokens=100) == {"write_5m": 0, "write_1h": 0, "read": 0}
    assert cache.account(p, count=_count, min_tokens=99)["write_5m"] == 99


def test_a_short_first_breakpoint_folds_into_the_next() -> None:
    cache = PromptCache()
    p = _params(("a" * 50, "1h"), ("b" * 80, "5m"))
    assert cache.account(p, count=_count, min_tokens=100) == {"write_5m": 130, "write_1h": 0, "read": 0}
    assert cache.account(p, count=_count, min_tokens=100) == {"write_5m": 0, "write_1h": 0, "read": 130}


def test_the_longest_hit_is_read_and_the_rest_written_at_each_breakpoints_ttl() -> None:
    cache = PromptCache()
    first = _params(("a" * 100, "1h"), ("b" * 30, None), messages=(("user", "c" * 20, "5m"),))
    assert cache.account(first, count=_count, min_tokens=100) == {"write_5m": 50, "write_1h": 100, "read": 0}
    # same shared prefix, another turn: the 1h prefix is read, the new turn written
    second = _params(("a" * 100, "1h"), ("b" * 30, None), messages=(("user", "d" * 40, "5m"),))
    assert cache.account(second, count=_count, min_tokens=100) == {"write_5m": 70, "write_1h": 0, "read": 100}


def test_entries_expire_after_their_ttl_and_hits_refresh_them() -> None:
    now = [0.0]
    cache = PromptCache(clock=lambda: now[0])
    p = _params(("a" * 100, "5m"))
    assert cache.account(p, count=_count, min_tokens=1)["write_5m"] == 100
    now[0] = 299.0
    assert cache.account(p, count=_count, min_tokens=1)["read"] == 100  # refreshed until 599
    now[0] = 598.0
    assert cache.account(p, count=_count, min_tokens=1)["read"] == 100
    now[0] = 898.5
    assert cache.account(p, count=_count, min_tokens=1)["write_5m"] == 100  # expired: written again
    one_hour = _params(("z" * 100, "1h"))
    cache.account(one_hour, count=_count, min_tokens=1)
    now[0] += 3000
    assert cache.account(one_hour, count=_count, min_tokens=1)["read"] == 100


def test_cache_is_per_model() -> None:
    cache = PromptCache()
    p = _params(("a" * 100, "5m"))
    cache.account(p, count=_count, min_tokens=1)
    assert cache.account({**p, "model": "other"}, count=_count, min_tokens=1)["write_5m"] == 100


def test_breakpoints_are_counted_in_system_and_messages() -> None:
    p = _params(("a", "5m"), ("b", None), messages=(("user", "c", "5m"), ("assistant", "d", None)))
    assert breakpoint_count(p) == 2


# -- the model table ---------------------------------------------------------------------------------


def test_every_model_has_a_minimum_with_its_basis_and_source() -> None:
    raw = json.loads(resources.files("orchestrator_kit.llm").joinpath("data/models.json").read_text())
    for m in raw["models"]:
        assert m["min_cache_tokens"] in (512, 1024, 2048, 4096), m["id"]
        assert m["min_cache_basis"] in ("published", "observed", "family"), m["id"]
        assert "2026" in m["min_cache_source"], m["id"]  # dated
    for price in price_table():
        assert price.min_cache_tokens == min_cache_tokens(price.id)


@pytest.mark.parametrize(
    ("model", "expected", "basis"),
    [
        ("claude-sonnet-4-5", 1024, "published"),  # an alias resolves
        ("claude-haiku-4-5-20251001", 4096, "published"),
        ("claude-opus-4-6", 4096, "published"),
        ("claude-sonnet-4-6", 2048, "observed"),
        ("claude-sonnet-5-5", 2048, "family"),
        ("claude-haiku-5-5", 4096, "family"),
    ],
)
def test_known_minimums(model: str, expected: int, basis: str) -> None:
    price = get_price(model)
    assert price is not None
    assert min_cache_tokens(model) == expected and price.min_cache_basis == basis


def test_an_unknown_model_gets_the_largest_minimum() -> None:
    assert min_cache_tokens("claude-unknown-9") == MAX_MIN_CACHE_TOKENS == 4096


# -- the estimator bills caching the same way -------------------------------------------------------


def test_the_estimate_claims_no_cache_saving_below_the_minimum() -> None:
    from orchestrator_kit.engine.estimate import estimate_run

    def expected(model: str, ttl: str | None) -> object:
        est = estimate_run("Build a CSV to JSON converter", agents=["architect"], model=model, cache_ttl=ttl)
        return est.total_expected

    # Haiku 5.5 caches from 4,096 tokens: the architect's prompts are shorter, so caching changes nothing
    assert expected("claude-haiku-5-5", "5m") == expected("claude-haiku-5-5", None)
    # Sonnet 5 caches from 1,024: the shared prefix and the plan turn are read back
    assert expected("claude-sonnet-5", "5m") < expected("claude-sonnet-5", None)  # type: ignore[operator]


def test_a_memoised_estimate_is_never_served_for_other_settings() -> None:
    from orchestrator_kit.engine.estimate import estimate_run

    def tokens(**kw: object) -> int:
        est = estimate_run("Build a CSV to JSON converter", agents=["architect"], **kw)  # type: ignore[arg-type]
        return est.rows[0].input_tokens

    plain = tokens()
    assert tokens() == plain
    assert (
        tokens(agent_settings={"architect": {"extra_instructions": "Use only the standard library"}}) > plain
    )
    assert tokens(project_name="A much longer project name than the default one") > plain
    assert estimate_run("x", agents=["architect"], model="claude-sonnet-5").rows[0].model == "claude-sonnet-5"
