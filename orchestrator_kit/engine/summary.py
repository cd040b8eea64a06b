"""Totals of a run from its ledger lines: per agent and overall. Plain dicts, Decimal-exact sums."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from ..records import Artifact

TOKEN_KINDS = (
    "input_tokens",
    "output_tokens",
    "cache_write_5m_tokens",
    "cache_write_1h_tokens",
    "cache_read_tokens",
)


def _dec(v: Any) -> Decimal:
    return Decimal(v) if v not in (None, "") else Decimal(0)


def totals(lines: Iterable[dict[str, Any]]) -> dict[str, Any]:
    lines = list(lines)
    unknown = any(ln.get("cost_usd") is None and ln.get("status") != "error" for ln in lines)
    cost = sum((_dec(ln.get("cost_usd")) for ln in lines), Decimal(0))
    wasted = sum((_dec(ln.get("cost_usd")) for ln in lines if ln.get("wasted")), Decimal(0))
    savings = sum((_dec(ln.get("cache_savings_usd")) for ln in lines), Decimal(0))
    bases = sorted({ln.get("cost_basis", "unknown") for ln in lines if ln.get("status") != "error"})
    out: dict[str, Any] = {k: sum(int(ln.get(k) or 0) for ln in lines) for k in TOKEN_KINDS}
    out.update(
        {
            "calls": sum(1 for ln in lines if ln.get("status") != "error"),
            "attempts": len(lines),
            "failed_attempts": sum(1 for ln in lines if ln.get("status") == "error"),
            "reasks": sum(1 for ln in lines if ln.get("step") == "reask"),
            "continuations": sum(1 for ln in lines if ln.get("step") == "continue"),
            "cost_usd": None if unknown else str(cost),
            "cost_basis": "+".join(bases) or "none",
            "wasted_usd": str(wasted),
            "cache_savings_usd": str(savings),
            "latency_s": round(sum(float(ln.get("latency_s") or 0) for ln in lines), 6),
        }
    )
    out["total_tokens"] = sum(out[k] for k in TOKEN_KINDS)
    return out


def per_agent(lines: Iterable[dict[str, Any]], agents: Iterable[str]) -> dict[str, dict[str, Any]]:
    by: dict[str, list[dict[str, Any]]] = {a: [] for a in agents}
    for ln in lines:
        by.setdefault(ln.get("agent") or "?", []).append(ln)
    return {a: totals(ls) for a, ls in by.items()}


def truncation(artifacts: Mapping[str, Sequence[Artifact]]) -> dict[str, Any]:
    """The artifacts cut off at max_tokens (even after a continuation): their count and
    ``agent/filename`` paths, for summary.json."""
    cut = [f"{agent}/{a.filename}" for agent, arts in artifacts.items() for a in arts if a.truncated]
    return {"artifacts_truncated": len(cut), "truncated_artifacts": cut}
