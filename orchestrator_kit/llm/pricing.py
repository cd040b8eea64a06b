"""The money table: model prices (package data ``data/models.json``) and Decimal costs.

Prices are USD per million tokens. A model or price the table does not know is *unknown*:
every function here answers ``None`` for it, never ``Decimal(0)``.
"""

from __future__ import annotations

import difflib
import functools
import json
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, fields
from datetime import date
from decimal import Decimal
from importlib import resources
from typing import Any

from orchestrator_kit.errors import ModelRetiredError, OrchestratorWarning, UnknownModelError
from orchestrator_kit.llm.types import Usage
from orchestrator_kit.money import format_usd as format_usd  # re-exported for older callers

DEFAULT_MODEL = "claude-sonnet-5-5"
GUIDE_MODEL = "claude-sonnet-4-5-20250929"

# The largest minimum cacheable prompt length of any model: used for a model the table does not know.
MAX_MIN_CACHE_TOKENS = 4096

_MILLION = Decimal(1_000_000)
_ZERO = Decimal(0)


class ModelRetirementWarning(OrchestratorWarning):
    """The model retires on a known date (it still works until the end of that day)."""


class UnknownPriceWarning(OrchestratorWarning):
    """The model's price is not known: its cost is shown as unknown, never $0."""


def _dec(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


@dataclass(frozen=True)
class LongContextTier:
    """Prices that apply when a request's total input tokens exceed ``threshold_tokens``."""

    threshold_tokens: int
    input: Decimal | None
    output: Decimal | None
    cache_write_5m: Decimal | None
    cache_write_1h: Decimal | None
    cache_read: Decimal | None


@dataclass(frozen=True)
class ModelPrice:
    id: str
    aliases: tuple[str, ...]
    input: Decimal | None
    output: Decimal | None
    cache_write_5m: Decimal | None
    cache_write_1h: Decimal | None
    cache_read: Decimal | None
    batch_discount: Decimal
    long_context: LongContextTier | None
    retires: date | None
    retired: bool
    source: str
    as_of: date | None
    notes: str = ""
    min_cache_tokens: int = MAX_MIN_CACHE_TOKENS
    min_cache_basis: str = "family"  # published | observed | family (no value published)
    min_cache_source: str = ""
    replacement: str | None = None  # the model to use once this one retires

    def retired_on(self, today: date) -> bool:
        """True when calls to the model fail on ``today``: marked retired, or past its last day."""
        return self.retired or (self.retires is not None and today > self.retires)

    @functools.cached_property
    def _rates(self) -> dict[tuple[bool, bool], Any]:
        return _rate_sets(self)

    @property
    def priced(self) -> bool:
        """True when at least the input and output prices are known."""
        return self.input is not None and self.output is not None

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ModelPrice:
        lc = d.get("long_context")
        tier = None
        if lc is not None:
            tier = LongContextTier(
                threshold_tokens=int(lc["threshold_tokens"]),
                **{
                    k: _dec(lc.get(k))
                    for k in ("input", "output", "cache_write_5m", "cache_write_1h", "cache_read")
                },
            )
        return cls(
            id=str(d["id"]),
            aliases=tuple(d.get("aliases") or ()),
            input=_dec(d.get("input")),
            output=_dec(d.get("output")),
            cache_write_5m=_dec(d.get("cache_write_5m")),
            cache_write_1h=_dec(d.get("cache_write_1h")),
            cache_read=_dec(d.get("cache_read")),
            batch_discount=_dec(d.get("batch_discount")) or _ZERO,
            long_context=tier,
            retires=date.fromisoformat(d["retires"]) if d.get("retires") else None,
            retired=bool(d.get("retired", False)),
            source=str(d.get("source", "")),
            as_of=date.fromisoformat(d["as_of"]) if d.get("as_of") else None,
            notes=str(d.get("notes", "")),
            min_cache_tokens=int(d.get("min_cache_tokens") or MAX_MIN_CACHE_TOKENS),
            min_cache_basis=str(d.get("min_cache_basis", "family")),
            min_cache_source=str(d.get("min_cache_source", "")),
            replacement=d.get("replacement"),
        )


class PriceTable:
    """All models by id; aliases (e.g. the undated id of a dated snapshot) resolve to their entry."""

    def __init__(
        self, models: list[ModelPrice], *, version: str, as_of: date | None, source: str = ""
    ) -> None:
        self.version = version
        self.as_of = as_of
        self.source = source
        self._models = list(models)
        self._by_id: dict[str, ModelPrice] = {}
        for m in self._models:
            for name in (m.id, *m.aliases):
                if name in self._by_id:
                    raise ValueError(f"model id {name!r} appears twice in the price table")
                self._by_id[name] = m

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PriceTable:
        return cls(
            [ModelPrice.from_dict(m) for m in data["models"]],
            version=str(data["version"]),
            as_of=date.fromisoformat(data["as_of"]) if data.get("as_of") else None,
            source=str(data.get("source", "")),
        )

    def get(self, model_id: str) -> ModelPrice | None:
        return self._by_id.get(model_id)

    def ids(self) -> list[str]:
        """Every id that resolves (canonical ids and aliases), in table order."""
        return list(self._by_id)

    def __iter__(self) -> Iterator[ModelPrice]:
        return iter(self._models)

    def __contains__(self, model_id: object) -> bool:
        return model_id in self._by_id

    def __len__(self) -> int:
        return len(self._models)


@functools.lru_cache(maxsize=1)
def price_table() -> PriceTable:
    """The packaged table, read once."""
    text = resources.files("orchestrator_kit.llm").joinpath("data/models.json").read_text(encoding="utf-8")
    return PriceTable.from_dict(json.loads(text, parse_float=Decimal))


def get_price(model: str) -> ModelPrice | None:
    return price_table().get(model)


def min_cache_tokens(model: str) -> int:
    """The model's minimum cacheable prompt length: a cache breakpoint whose prefix is shorter caches
    nothing (the API bills it as plain input). Unknown models get the largest value any model has."""
    price = price_table().get(model)
    return MAX_MIN_CACHE_TOKENS if price is None else price.min_cache_tokens


def is_known_model(model: str) -> bool:
    """True when the id is in the table (its price may still be unknown: see ``ModelPrice.priced``)."""
    return price_table().get(model) is not None


# ---------------------------------------------------------------- warnings and checks


def _retired_message(model: str, price: ModelPrice) -> str:
    name = model if model == price.id else f"{model} ({price.id})"
    use = price.replacement or DEFAULT_MODEL
    when = f"retired after {price.retires.isoformat()}" if price.retires else "is retired"
    return (
        f"{name} {when}: the API no longer serves it, so no call was made. Use {use} instead "
        f"(model={use!r}; CLI: --model {use})"
    )


def _issues(model: str, today: date | None) -> list[tuple[type[UserWarning], str]]:
    """Warnings about a model that can still be called (retirement ahead, unknown price)."""
    price = get_price(model)
    if price is None:
        return [
            (
                UnknownPriceWarning,
                f"{model} is not in the price table (version {price_table().version}); its cost is unknown",
            )
        ]
    today = today or date.today()
    name = model if model == price.id else f"{model} ({price.id})"
    out: list[tuple[type[UserWarning], str]] = []
    if price.retired_on(today):
        out.append((ModelRetirementWarning, _retired_message(model, price)))
    elif price.retires is not None:
        days = (price.retires - today).days
        when = "today is its last day" if days == 0 else f"in {days} day{'s' if days != 1 else ''}"
        use = price.replacement or DEFAULT_MODEL
        out.append(
            (
                ModelRetirementWarning,
                f"{name} retires on {price.retires.isoformat()}, {when}; use {use}",
            )
        )
    if not price.priced:
        out.append(
            (
                UnknownPriceWarning,
                f"{name} has no price in the table (version {price_table().version}); its cost is unknown",
            )
        )
    return out


def model_warnings(model: str, *, today: date | None = None) -> list[str]:
    """Warnings about a model as messages (nothing is emitted)."""
    return [msg for _, msg in _issues(model, today)]


def check_model(model: str, *, today: date | None = None, allow_unknown: bool = False) -> ModelPrice | None:
    """The model's price entry, after warning about an approaching retirement or an unknown price.

    Raises ModelRetiredError, naming the replacement, for a model past its retirement date (``today``
    defaults to ``date.today()``; a model works through its ``retires`` date). Raises UnknownModelError
    for an id not in the table unless ``allow_unknown`` is true (then returns None and warns that the
    cost is unknown).
    """
    price = get_price(model)
    if price is not None and price.retired_on(today or date.today()):
        raise ModelRetiredError(_retired_message(model, price))
    if price is None and not allow_unknown:
        table = price_table()
        close = difflib.get_close_matches(model, table.ids(), n=3)
        hint = f" Did you mean {', '.join(close)}?" if close else ""
        known = ", ".join([m.id for m in table if m.priced][:5])
        raise UnknownModelError(
            f"Unknown model {model!r}: not in the price table (version {table.version}).{hint} "
            f"Known ids include {known}. To use it anyway with its cost shown as unknown, pass "
            f"allow_unknown_model=True (CLI: --allow-unknown-model)."
        )
    for category, message in _issues(model, today):
        warnings.warn(message, category, stacklevel=2)
    return price


# ---------------------------------------------------------------- costs


@dataclass(frozen=True)
class CostBreakdown:
    """USD cost of one or more calls, by part. ``cache_savings`` may be negative (writes not yet repaid)."""

    input: Decimal
    output: Decimal
    cache_write_5m: Decimal
    cache_write_1h: Decimal
    cache_read: Decimal
    total: Decimal
    cache_savings: Decimal
    long_context: bool = False
    batch: bool = False

    def __add__(self, other: CostBreakdown) -> CostBreakdown:
        sums = {
            f.name: getattr(self, f.name) + getattr(other, f.name)
            for f in fields(self)
            if f.name not in ("long_context", "batch")
        }
        return CostBreakdown(
            **sums, long_context=self.long_context or other.long_context, batch=self.batch and other.batch
        )


_PARTS = ("input", "output", "cache_write_5m", "cache_write_1h", "cache_read")
_ONE = Decimal(1)
# per (long context, batch): the rates of the five parts (None: unknown), the batch factor, the
# differences to the input rate that the savings use, each part's cost of no tokens and each savings
# term of no tokens (the very Decimals the arithmetic gives, exponents included); None when input or
# output is unknown
_RateSet = tuple[
    tuple[Decimal | None, ...], Decimal, Decimal, Decimal, Decimal, tuple[Decimal, ...], tuple[Decimal, ...]
]


def _rate_sets(price: ModelPrice) -> dict[tuple[bool, bool], _RateSet | None]:
    """What ``cost_of`` needs of a model, worked out once per process (``ModelPrice._rates``)."""
    out: dict[tuple[bool, bool], _RateSet | None] = {}
    for long_ctx in (False, True):
        tier: Any = price.long_context if long_ctx else price
        if tier is None:
            continue
        rates = tuple(getattr(tier, part) for part in _PARTS)
        for batch in (False, True):
            factor = (_ONE - price.batch_discount) if batch else _ONE
            if rates[0] is None or rates[1] is None:
                out[long_ctx, batch] = None
                continue
            base = rates[0]
            r5, r1, rr = (_ZERO if r is None else r for r in rates[2:])
            nothing = tuple(_ZERO * (_ZERO if r is None else r) * factor / _MILLION for r in rates)
            diffs = (base - rr, r5 - base, r1 - base)
            out[long_ctx, batch] = (rates, factor, *diffs, nothing, tuple(Decimal(0) * d for d in diffs))
    return out


def _costs(usage: Usage, model: str, batch: bool) -> tuple[list[Decimal], Decimal, bool] | None:
    """The five parts' costs, the cache savings and whether the long-context tier applied, or None."""
    price = get_price(model)
    if price is None:
        return None
    lc = price.long_context
    long_ctx = lc is not None and usage.total_input_tokens > lc.threshold_tokens
    rate_set = price._rates[long_ctx, bool(batch)]
    if rate_set is None:  # the input or output price is unknown
        return None
    rates, factor, read_saving, write_5m_extra, write_1h_extra, nothing, no_saving = rate_set
    counts = (
        usage.input_tokens,
        usage.output_tokens,
        usage.cache_write_5m_tokens,
        usage.cache_write_1h_tokens,
        usage.cache_read_tokens,
    )
    scaled = factor is not _ONE  # x * 1 is x itself (coefficient and exponent): skipped
    parts = list(nothing)
    for i, tokens in enumerate(counts):
        if not tokens:  # worked out once: the same Decimal as Decimal(0) * rate * factor / 1e6
            continue
        known = rates[i]
        if known is None:
            if tokens > 0:  # tokens of a kind whose price is unknown
                return None
            known = _ZERO
        part = Decimal(tokens) * known
        parts[i] = (part * factor if scaled else part) / _MILLION
    read, write_5m, write_1h = counts[4], counts[2], counts[3]
    saved = (
        (Decimal(read) * read_saving if read else no_saving[0])  # a term of no tokens: worked out once
        - (Decimal(write_5m) * write_5m_extra if write_5m else no_saving[1])
        - (Decimal(write_1h) * write_1h_extra if write_1h else no_saving[2])
    )
    return parts, (saved * factor if scaled else saved) / _MILLION, long_ctx


def cost_of(usage: Usage, model: str, *, batch: bool = False) -> CostBreakdown | None:
    """The cost of ``usage`` on ``model``; None when the model or a price it needs is unknown."""
    costs = _costs(usage, model, batch)
    if costs is None:
        return None
    parts, savings, long_ctx = costs
    input_, output, write_5m, write_1h, read = parts
    return CostBreakdown(
        input_,
        output,
        write_5m,
        write_1h,
        read,
        total=sum(parts, _ZERO),
        cache_savings=savings,
        long_context=long_ctx,
        batch=batch,
    )


def cost_total(usage: Usage, model: str, *, batch: bool = False) -> tuple[Decimal, Decimal] | None:
    """``cost_of``'s total and cache savings, without the breakdown (one per ledger line)."""
    costs = _costs(usage, model, batch)
    if costs is None:
        return None
    return sum(costs[0], _ZERO), costs[1]


def worst_case_cost(model: str, input_tokens: int, max_tokens: int, *, batch: bool = False) -> Decimal | None:
    """Upper bound for one call: all input at the uncached input price, output at ``max_tokens``."""
    breakdown = cost_of(Usage(input_tokens=input_tokens, output_tokens=max_tokens), model, batch=batch)
    return None if breakdown is None else breakdown.total
