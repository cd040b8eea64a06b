"""Pre-run estimate, per agent and total, with a range.

Each agent makes two calls (plan, act). Input is the rendered prompt, with upstream artifacts
assumed to be their role's typical output size; the act call continues the plan conversation.
Prompt caching is billed as the API bills it (``llm.prompt_cache``): breakpoints below the model's
minimum cacheable length cache nothing; prefixes shared across agents are read after the first write.
Low: half the typical output; expected: typical output; high: every call uses its max_tokens.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property
from typing import Any

import orjson

from ..agents.prompt_builder import PromptBuilder
from ..agents.roles import get_role
from ..errors import ConfigError
from ..llm.anthropic_backend import build_params
from ..llm.pricing import DEFAULT_MODEL, cost_of, min_cache_tokens
from ..llm.prompt_cache import PromptCache
from ..llm.tokens import text_counts, tokens_from_counts
from ..llm.types import LLMRequest, RequestLabels, Usage
from ..money import format_usd
from ..records import AgentPlan, AgentSettings, Artifact, request_problem
from .workflow import DEFAULT_WORKFLOW, Workflow

# Typical output tokens per act call (the original guide's table, extended to all eight roles).
TYPICAL_OUTPUT = {
    "architect": 1500,
    "data": 1200,
    "consensus": 500,
    "developer": 2000,
    "qa": 1500,
    "documentarian": 2000,
    "reviewer": 1000,
    "steward": 800,
}
PLAN_OUTPUT = 300


@dataclass(frozen=True)
class AgentEstimate:
    agent: str
    model: str
    calls: int
    input_tokens: int
    output_tokens: int
    cost_low: Decimal | None
    cost_expected: Decimal | None
    cost_high: Decimal | None

    def as_row(self) -> dict[str, Any]:
        return {k: (str(v) if isinstance(v, Decimal) else v) for k, v in self.__dict__.items()}


@dataclass(frozen=True)
class Estimate:
    rows: list[AgentEstimate] = field(default_factory=list)

    def _sum(self, attr: str) -> Decimal | None:
        values = [getattr(r, attr) for r in self.rows]
        return None if any(v is None for v in values) else sum(values, Decimal(0))

    @property
    def total_low(self) -> Decimal | None:
        return self._sum("cost_low")

    @property
    def total_expected(self) -> Decimal | None:
        return self._sum("cost_expected")

    @property
    def total_high(self) -> Decimal | None:
        return self._sum("cost_high")

    def to_dict(self) -> dict[str, Any]:
        """The estimate as JSON-ready data (a new dict each time; every run's manifest holds one)."""
        rows, totals = self._as_dict
        return {"agents": [dict(r) for r in rows], **totals}

    @cached_property
    def _as_dict(self) -> tuple[tuple[dict[str, Any], ...], dict[str, str | None]]:
        """to_dict's rows and totals, worked out once (the estimate is frozen; a memoised one is
        written into the manifest of every run of the same request)."""

        def s(v: Decimal | None) -> str | None:
            return None if v is None else str(v)

        totals = {
            "total_low": s(self.total_low),
            "total_expected": s(self.total_expected),
            "total_high": s(self.total_high),
        }
        return tuple(r.as_row() for r in self.rows), totals

    def table(self) -> str:
        head = f"{'agent':<14}{'model':<28}{'in tok':>9}{'out tok':>9}{'low':>10}{'expected':>10}{'high':>10}"
        lines = [head, "-" * len(head)]
        for r in self.rows:
            lines.append(
                f"{r.agent:<14}{r.model:<28}{r.input_tokens:>9,}{r.output_tokens:>9,}"
                f"{format_usd(r.cost_low):>10}{format_usd(r.cost_expected):>10}{format_usd(r.cost_high):>10}"
            )
        lines.append("-" * len(head))
        lines.append(
            f"{'total':<42}{sum(r.input_tokens for r in self.rows):>9,}"
            f"{sum(r.output_tokens for r in self.rows):>9,}{format_usd(self.total_low):>10}"
            f"{format_usd(self.total_expected):>10}{format_usd(self.total_high):>10}"
        )
        return "\n".join(lines)


class _Counts:
    """Token estimates of one estimate's prompts, each distinct text counted once: the charter, the
    project block, the upstream artifacts and the plan turn recur in many of a run's requests. Exact:
    the same figures as ``estimate_tokens`` on each block and on the whole ``prompt_text()``."""

    def __init__(self) -> None:
        self._seen: dict[str, tuple[int, int]] = {}

    def _counts(self, text: str) -> tuple[int, int]:
        c = self._seen.get(text)
        if c is None:
            c = self._seen[text] = text_counts(text)
        return c

    def tokens(self, text: str) -> int:
        return tokens_from_counts(*self._counts(text)) if text else 0

    def prompt_tokens(self, request: LLMRequest) -> int:
        """``estimate_tokens(request.prompt_text())``, from the counts of its parts (joined by "\\n")."""
        texts = [b.text for b in request.system] + [m.content for m in request.messages]
        n, m = max(len(texts) - 1, 0), 0
        for text in texts:
            tn, tm = self._counts(text)
            n, m = n + tn, m + tm
        return tokens_from_counts(n, m)


def _usage(cache: PromptCache, request: LLMRequest, output: int, counts: _Counts) -> Usage:
    """The request billed as the API would (cache minimum, reads and writes) with ``output`` tokens."""
    total = counts.prompt_tokens(request)
    c = cache.account(build_params(request), count=counts.tokens, min_tokens=min_cache_tokens(request.model))
    cached = c["write_5m"] + c["write_1h"] + c["read"]
    return Usage(
        input_tokens=max(total - cached, 0),
        output_tokens=output,
        cache_write_5m_tokens=c["write_5m"],
        cache_write_1h_tokens=c["write_1h"],
        cache_read_tokens=c["read"],
    )


def _cost(model: str, plan: Usage, act: Usage, plan_out: int, act_out: int) -> Decimal | None:
    a = cost_of(plan.model_copy(update={"output_tokens": plan_out}), model)
    b = cost_of(act.model_copy(update={"output_tokens": act_out}), model)
    return None if a is None or b is None else a.total + b.total


def estimate_run(
    request: str,
    *,
    agents: Iterable[str] | None = None,
    model: str = DEFAULT_MODEL,
    workflow: Workflow | None = None,
    project_name: str = "Untitled project",
    agent_settings: Mapping[str, AgentSettings | Mapping[str, Any]] | None = None,
    cache_ttl: str | None = "5m",
) -> Estimate:
    if problem := request_problem(request, project_name):
        raise ConfigError(problem)
    settings = {
        a: s if isinstance(s, AgentSettings) else AgentSettings(**s)
        for a, s in (agent_settings or {}).items()
    }
    wf = workflow or DEFAULT_WORKFLOW
    chosen = [
        a
        for a in (list(agents) if agents is not None else list(wf.steps))
        if (s := settings.get(a)) is None or s.enabled
    ]
    if agents is not None or len(chosen) != len(wf.steps):  # an engine's workflow is already its subset
        wf = wf.subset(chosen)
    key = _memo_key(
        [
            request,
            project_name,
            model,
            cache_ttl,
            wf.to_dict(),
            {a: v.__dict__ for a, v in settings.items()},  # field -> value (JSON scalars): cheap
        ]
    )
    if (cached := _MEMO.get(key)) is not None:  # a sweep or a loop estimates the same run again and again
        return cached
    estimate = _estimate(
        request, wf, model=model, project_name=project_name, settings=settings, cache_ttl=cache_ttl
    )
    if len(_MEMO) >= _MEMO_SIZE:
        _MEMO.pop(next(iter(_MEMO)))
    _MEMO[key] = estimate
    return estimate


_MEMO: dict[bytes, Estimate] = {}


def _memo_key(parts: list[Any]) -> bytes:
    """The memo's key: the estimate's inputs as canonical JSON (orjson; the json module where orjson
    refuses, e.g. a lone surrogate or an int beyond 64 bits)."""
    try:
        return orjson.dumps(parts, option=orjson.OPT_SORT_KEYS, default=str)
    except TypeError:
        return json.dumps(parts, sort_keys=True, default=str).encode("utf-8", "surrogatepass")


_MEMO_SIZE = 64


def _estimate(
    request: str,
    wf: Workflow,
    *,
    model: str,
    project_name: str,
    settings: dict[str, AgentSettings],
    cache_ttl: str | None,
) -> Estimate:
    rows = []
    cache = PromptCache()  # one run's calls share prefixes (team charter, project, artifacts)
    counts = _Counts()
    for agent in wf.order():
        role = get_role(agent)
        s = settings.get(agent, AgentSettings())
        m = s.model or model
        max_tokens = s.max_tokens or role.default_max_tokens
        inputs = [
            Artifact(filename=f"{up}.md", agent=up, content="x " * (TYPICAL_OUTPUT[up] * 3 // 4))
            for up in role.consumes
            if up in wf.steps
        ]
        builder = PromptBuilder(role, cache_ttl=cache_ttl)  # type: ignore[arg-type]
        common: dict[str, Any] = {
            "model": m,
            "max_tokens": max_tokens,
            "labels": RequestLabels(agent=agent),
            "project_name": project_name,
            "request": request,
            "inputs": inputs,
            "extra_instructions": s.extra_instructions,
        }
        plan = AgentPlan(agent=agent, phase=role.phase, summary="x " * (PLAN_OUTPUT * 10 // 9), steps=[])
        plan_usage = _usage(cache, builder.build("plan", **common), PLAN_OUTPUT, counts)
        act_usage = _usage(cache, builder.build("act", plan=plan, **common), 0, counts)
        typical = min(TYPICAL_OUTPUT[agent], max_tokens)
        rows.append(
            AgentEstimate(
                agent=agent,
                model=m,
                calls=2,
                input_tokens=plan_usage.total_input_tokens + act_usage.total_input_tokens,
                output_tokens=PLAN_OUTPUT + typical,
                cost_low=_cost(m, plan_usage, act_usage, PLAN_OUTPUT // 2, typical // 2),
                cost_expected=_cost(m, plan_usage, act_usage, PLAN_OUTPUT, typical),
                cost_high=_cost(m, plan_usage, act_usage, max_tokens, max_tokens),
            )
        )
    return Estimate(rows)
