"""Run budgets: a cap in dollars and/or tokens, checked before every call against
spent + the worst case of the next call (its input + max_tokens).

The input of the next call is either counted exactly by the API (``input_tokens`` given: the engine's
``exact_budget``) or estimated locally and then *calibrated*: after each answer, the ratio of billed to
estimated input is kept per model (the largest seen, never below 1) and scales later estimates. A
bad estimate can so overshoot the cap by at most the calls sent before the first answer for that model
came back (one, when calls run one at a time).
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from ..errors import BudgetExceeded, ConfigError
from ..llm.pricing import cost_of, worst_case_cost
from ..llm.tokens import estimate_tokens
from ..llm.types import LLMRequest, Usage
from ..money import format_usd

# How a BudgetExceeded says to raise the cap: the CLI's ``resume <run_dir> --budget ...`` unless the caller
# driving the run says otherwise (the API server: its resume route), by setting a function of the cap's
# kind ("usd" or "tokens") for the runs it drives; a context variable, so each run's task has its own.
RAISE_HINT: ContextVar[Callable[[str], str] | None] = ContextVar("budget_raise_hint", default=None)


def _integer(value: Any) -> Any:
    """``value`` as an int when it is one (``operator.index``: numpy integers too), else as it is."""
    try:
        return operator.index(value)
    except TypeError:
        return value


@dataclass(frozen=True)
class Budget:
    """A run's cap: dollars (a finite positive Decimal) and/or tokens (a positive int); None: no cap."""

    max_usd: Decimal | None = None
    max_tokens: int | None = None

    def __post_init__(self) -> None:
        usd = self.max_usd
        if usd is not None and not (Decimal(usd).is_finite() and Decimal(usd) > 0):  # NaN, Infinity: refused
            raise ConfigError(
                f"budget must be a positive number of dollars, got {self.max_usd}; "
                "e.g. --budget 0.50, or leave it out for no cap"
            )
        if self.max_tokens is not None and (
            isinstance(self.max_tokens, bool) or not isinstance(self.max_tokens, int) or self.max_tokens <= 0
        ):
            raise ConfigError(
                f"token budget must be a positive integer, got {self.max_tokens!r}; "
                "e.g. --budget-tokens 200000, or leave it out for no cap"
            )

    @classmethod
    def of(cls, usd: float | str | Decimal | None = None, tokens: int | None = None) -> Budget:
        """A budget from user input: dollars as a number or its text, tokens as an integer (numpy's too)."""
        try:
            value = None if usd is None else Decimal(str(usd))
        except ArithmeticError:
            raise ConfigError(f"budget {usd!r} is not a number of dollars, e.g. 0.50") from None
        return cls(value, tokens if tokens is None or isinstance(tokens, bool) else _integer(tokens))

    @property
    def unlimited(self) -> bool:
        return self.max_usd is None and self.max_tokens is None

    def to_dict(self) -> dict[str, str | int | None]:
        return {"max_usd": None if self.max_usd is None else str(self.max_usd), "max_tokens": self.max_tokens}


def _worst_cost(request: LLMRequest, input_tokens: int, *, batch: bool = False) -> Decimal | None:
    """Input at the dearest rate it could be billed at (a cache write costs more than plain input),
    output at max_tokens; ``batch``: at Message Batches prices (the batch discount applies to every kind)."""
    cost = worst_case_cost(request.model, input_tokens, request.max_tokens, batch=batch)
    ttls = {b.cache_ttl for b in request.system if b.cache_ttl}
    if cost is None or not ttls:
        return cost
    out = request.max_tokens
    usage = (
        Usage(cache_write_1h_tokens=input_tokens, output_tokens=out)
        if "1h" in ttls
        else Usage(cache_write_5m_tokens=input_tokens, output_tokens=out)
    )
    written = cost_of(usage, request.model, batch=batch)
    return cost if written is None else max(cost, written.total)


class BudgetTracker:
    """Spent so far, plus the worst case of every call in flight (checked but not yet answered):
    concurrent calls each see the others' worst case, so together they cannot pass the cap.

    ``parent``: a tracker shared by several runs (a sweep's whole budget): every check, spend and
    release also goes there, so the runs together stay under its cap as well as each under its own.
    ``batch``: calls go through Message Batches, so worst cases are priced at the batch discount.
    """

    def __init__(
        self,
        budget: Budget,
        *,
        run_dir: str | None = None,
        parent: BudgetTracker | None = None,
        batch: bool = False,
    ) -> None:
        self.budget = budget
        self.run_dir = run_dir
        self.parent = parent
        self.batch = batch
        self.spent_usd = Decimal(0)
        self.spent_tokens = 0
        self.reserved_usd = Decimal(0)
        self.reserved_tokens = 0
        self._holds: dict[str, list[tuple[Decimal, int]]] = {}
        self.ratios: dict[str, float] = {}  # model -> billed / estimated input tokens (>= 1)

    def calibrate(self, request: LLMRequest, usage: Usage) -> None:
        """Learn from a billed answer how far the local estimate falls short for its model."""
        billed = usage.total_input_tokens
        if usage.estimated or billed <= 0:
            return
        estimated = estimate_tokens(request.prompt_text())  # real mode: next to a network call, cheap
        if estimated > 0:
            self.ratios[request.model] = max(self.ratios.get(request.model, 1.0), billed / estimated)

    def input_estimate(self, request: LLMRequest, *, estimated: int | None = None) -> int:
        """The local estimate of the request's input tokens, scaled by its model's calibration
        (``estimated``: the unscaled estimate, when already counted)."""
        if estimated is None:
            estimated = estimate_tokens(request.prompt_text())
        return math.ceil(estimated * self.ratios.get(request.model, 1.0))

    def add(self, cost: Decimal | None, tokens: int) -> None:
        self.spent_usd += cost or Decimal(0)
        self.spent_tokens += tokens
        if self.parent is not None:
            self.parent.add(cost, tokens)

    def release(self, request: LLMRequest) -> None:
        """The call was answered or failed: its worst case no longer counts (no-op if none was held)."""
        held = self._holds.get(request.request_hash())
        if held:
            usd, tokens = held.pop()
            self.reserved_usd -= usd
            self.reserved_tokens -= tokens
        if self.parent is not None:
            self.parent.release(request)

    def check(self, request: LLMRequest, *, input_tokens: int | None = None) -> None:
        """Raise BudgetExceeded if the call could pass the cap; otherwise hold its worst case until released.

        ``input_tokens``: the exact count of the prompt (count_tokens); else the calibrated estimate."""
        self._check(request, input_tokens, None)

    def _check(self, request: LLMRequest, input_tokens: int | None, estimated: int | None) -> None:
        """``check``; ``estimated``: the prompt's unscaled estimate when a child tracker counted it (the
        prompt is counted once for the run's check and its parents', e.g. a sweep's whole budget)."""
        b = self.budget
        if b.unlimited:
            if self.parent is not None:
                self.parent._check(request, None, estimated)
            return
        if input_tokens is None:
            if estimated is None:
                estimated = estimate_tokens(request.prompt_text())
            input_tokens = self.input_estimate(request, estimated=estimated)
        worst_tokens = input_tokens + request.max_tokens
        where = f"{request.labels.agent}/{request.labels.step}"

        def hint(kind: str, option: str) -> str:
            custom = RAISE_HINT.get()
            if custom is not None:
                return custom(kind)
            return (
                f"resume with a larger budget: orchestrator-kit resume {self.run_dir} {option}"
                if self.run_dir
                else "raise the budget"
            )

        if (
            b.max_tokens is not None
            and self.spent_tokens + self.reserved_tokens + worst_tokens > b.max_tokens
        ):
            flight = f" (+{self.reserved_tokens:,} in flight)" if self.reserved_tokens else ""
            raise BudgetExceeded(
                f"token budget {b.max_tokens:,} could be exceeded by the next call ({where}): spent "
                f"{self.spent_tokens:,} tokens{flight}, this call may use up to {worst_tokens:,}; "
                f"{hint('tokens', '--budget-tokens <tokens>')}",
                spent=self.spent_tokens,
                cap=b.max_tokens,
                run_dir=self.run_dir,
            )
        worst = Decimal(0)
        if b.max_usd is not None:
            cost = _worst_cost(request, input_tokens, batch=self.batch)
            if cost is None:
                raise ConfigError(
                    f"a dollar budget needs known prices, and {request.model!r} has none; "
                    "use a token budget (--budget-tokens) instead"
                )
            worst = cost
            if self.spent_usd + self.reserved_usd + worst > b.max_usd:
                flight = f" (+{format_usd(self.reserved_usd)} in flight)" if self.reserved_usd else ""
                raise BudgetExceeded(
                    f"budget {format_usd(b.max_usd)} could be exceeded by the next call ({where}): spent "
                    f"{format_usd(self.spent_usd)}{flight}, this call may cost up to {format_usd(worst)}; "
                    f"{hint('usd', '--budget <dollars>')}",
                    spent=self.spent_usd,
                    cap=b.max_usd,
                    run_dir=self.run_dir,
                )
        if self.parent is not None:
            self.parent._check(request, None, estimated)  # raises, or holds the worst case there too
        self._holds.setdefault(request.request_hash(), []).append((worst, worst_tokens))
        self.reserved_usd += worst
        self.reserved_tokens += worst_tokens
