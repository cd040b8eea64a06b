"""``cost_of`` with its rates worked out once per model (issue #12) gives the very Decimals, to the last
digit and exponent, that the per-call computation gave, for every model of the table."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from orchestrator_kit.llm.pricing import (
    CostBreakdown,
    ModelPrice,
    cost_of,
    cost_total,
    get_price,
    price_table,
)
from orchestrator_kit.llm.types import Usage

_MILLION = Decimal(1_000_000)
_ZERO = Decimal(0)


def _tier(price: ModelPrice, total_input_tokens: int) -> tuple[Any, bool]:
    lc = price.long_context
    if lc is not None and total_input_tokens > lc.threshold_tokens:
        return lc, True
    return price, False


def reference_cost_of(usage: Usage, model: str, *, batch: bool = False) -> CostBreakdown | None:
    """``cost_of`` as it was: every rate looked up and combined on each call."""
    price = get_price(model)
    if price is None:
        return None
    tier, long_ctx = _tier(price, usage.total_input_tokens)
    factor = (Decimal(1) - price.batch_discount) if batch else Decimal(1)
    counts = {
        "input": usage.input_tokens,
        "output": usage.output_tokens,
        "cache_write_5m": usage.cache_write_5m_tokens,
        "cache_write_1h": usage.cache_write_1h_tokens,
        "cache_read": usage.cache_read_tokens,
    }
    rates: dict[str, Decimal] = {}
    for part, tokens in counts.items():
        rate = getattr(tier, part)
        needed = part in ("input", "output") or tokens > 0
        if rate is None:
            if needed:
                return None
            rate = _ZERO
        rates[part] = rate
    parts = {part: Decimal(tokens) * rates[part] * factor / _MILLION for part, tokens in counts.items()}
    base = rates["input"]
    savings = (
        (
            Decimal(counts["cache_read"]) * (base - rates["cache_read"])
            - Decimal(counts["cache_write_5m"]) * (rates["cache_write_5m"] - base)
            - Decimal(counts["cache_write_1h"]) * (rates["cache_write_1h"] - base)
        )
        * factor
        / _MILLION
    )
    return CostBreakdown(
        **parts, total=sum(parts.values(), _ZERO), cache_savings=savings, long_context=long_ctx, batch=batch
    )


MODELS = [*price_table().ids(), "no-such-model"]
tokens = st.one_of(st.integers(0, 3000), st.integers(0, 2_000_000), st.sampled_from([0, 1, 199_999, 200_001]))


@settings(max_examples=2000, deadline=None)
@given(
    model=st.sampled_from(MODELS),
    counts=st.tuples(tokens, tokens, tokens, tokens, tokens),
    batch=st.booleans(),
)
def test_costs_are_the_same_decimals_as_computed_per_call(
    model: str, counts: tuple[int, ...], batch: bool
) -> None:
    usage = Usage(
        input_tokens=counts[0],
        output_tokens=counts[1],
        cache_write_5m_tokens=counts[2],
        cache_write_1h_tokens=counts[3],
        cache_read_tokens=counts[4],
    )
    # repr shows every Decimal's digits and exponent ("0.00340" is not "0.0034")
    reference = reference_cost_of(usage, model, batch=batch)
    assert repr(cost_of(usage, model, batch=batch)) == repr(reference)
    expected = None if reference is None else (reference.total, reference.cache_savings)
    assert repr(cost_total(usage, model, batch=batch)) == repr(expected)  # the ledger's two figures


def test_the_long_context_tier_is_among_the_cases() -> None:
    lc = next(m for m in price_table() if m.long_context is not None)
    usage = Usage(input_tokens=lc.long_context.threshold_tokens + 1, output_tokens=10)  # type: ignore[union-attr]
    breakdown = cost_of(usage, lc.id)
    assert breakdown is not None and breakdown.long_context
    assert repr(breakdown) == repr(reference_cost_of(usage, lc.id))
