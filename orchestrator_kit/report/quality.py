"""Where the money went and what it bought: dollars by token kind, quality per dollar, the frontier.

Pure tables (DataFrame in, DataFrame out) and the figures drawn from them.

Quality of a run is the mean of the measures it has, each on 0-1: share of its own tests passed, whether its
code imports, completeness, and the reviewer's score / 10. A run without code is judged on completeness and
review alone (its code measures are "not applicable", not 0). A group (a model, or a model and a setting) is
on the **frontier** when no other group is at least as good for less money (median cost, mean quality).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING

from ..records import TOKEN_KINDS
from .style import KIND_COLORS, KIND_LABELS, finish, model_colors, new_figure

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

__all__ = [
    "KIND_USD",
    "frontier_mask",
    "money_by_kind",
    "money_stacked",
    "quality_by",
    "quality_per_run",
    "quality_vs_cost",
]

KIND_USD = {k: k.replace("_tokens", "_usd") for k in TOKEN_KINDS}  # input_tokens -> input_usd


def _kind_dollars(calls: pd.DataFrame) -> pd.DataFrame:
    """Per ledger line, the dollars of each token kind at the model's list prices (NaN when unknown).

    Batch calls (a ``batch_id`` on the line) are priced at batch rates. Computed from the token counts,
    so run folders of every format give the same answer."""
    import pandas as pd

    from ..llm.pricing import cost_of
    from ..llm.types import Usage

    cols = list(KIND_USD.values())
    if calls.empty:
        return pd.DataFrame(columns=cols, dtype="float64")
    batch = calls["batch_id"].notna() if "batch_id" in calls else pd.Series(False, index=calls.index)
    rows = []
    for rec, is_batch in zip(calls[[*TOKEN_KINDS, "model"]].itertuples(index=False), batch, strict=True):
        usage = Usage.model_validate({k: int(getattr(rec, k)) for k in TOKEN_KINDS})
        cost = cost_of(usage, str(rec.model), batch=bool(is_batch))
        if cost is None:
            rows.append([float("nan")] * len(cols))
        else:
            parts = (cost.input, cost.output, cost.cache_write_5m, cost.cache_write_1h, cost.cache_read)
            rows.append([float(p) for p in parts])
    return pd.DataFrame(rows, columns=cols, index=calls.index)


def money_by_kind(calls: pd.DataFrame, by: str | Sequence[str] = "agent") -> pd.DataFrame:
    """Dollars by token kind (input, output, cache writes, cache reads) per ``by``, with their sum."""
    keys = [by] if isinstance(by, str) else list(by)
    dollars = _kind_dollars(calls)
    frame = calls[keys].join(dollars)
    out = frame.groupby(keys, sort=False, dropna=False).sum(min_count=1).reset_index()
    out["cost_usd"] = out[list(KIND_USD.values())].sum(axis=1, min_count=1)
    return out


def quality_per_run(runs: pd.DataFrame, evaluations: pd.DataFrame | None) -> pd.DataFrame:
    """One row per run: cost, the quality measures side by side, and the combined quality (0-1)."""
    import pandas as pd

    base = runs[["run_id", "model", "mode", "status", "project_name", "cost_usd", "review_score"]].copy()
    if "setting" in runs:
        base["setting"] = runs["setting"]
    ev_cols = ["run_id", "applicable", "imports_ok", "pass_rate", "completeness", "tests_collected"]
    if evaluations is not None and not evaluations.empty:
        ev = evaluations[ev_cols].drop_duplicates("run_id", keep="last")
        base = base.merge(ev, on="run_id", how="left")
    else:
        for c in ev_cols[1:]:
            base[c] = pd.NA
    measures = pd.DataFrame(
        {
            "pass_rate": pd.to_numeric(base["pass_rate"], errors="coerce"),
            "imports": base["imports_ok"].astype("Float64"),
            "completeness": pd.to_numeric(base["completeness"], errors="coerce"),
            "review": pd.to_numeric(base["review_score"], errors="coerce") / 10,
        }
    ).astype("float64")
    base["quality"] = measures.mean(axis=1, skipna=True)
    base["executable"] = base["imports_ok"].astype("Float64").astype("float64")
    return base


def frontier_mask(cost: Iterable[float], quality: Iterable[float]) -> list[bool]:
    """True where no other point is at least as good (quality) for no more money, and better in one."""
    pts = list(zip(cost, quality, strict=True))
    known = [not (math.isnan(c) or math.isnan(q)) for c, q in pts]  # NaN: not comparable
    out = []
    for i, (c, q) in enumerate(pts):
        if not known[i]:
            out.append(False)
            continue
        dominated = any(
            (c2 <= c and q2 >= q and (c2 < c or q2 > q))
            for j, (c2, q2) in enumerate(pts)
            if j != i and known[j]
        )
        out.append(not dominated)
    return out


def quality_by(per_run: pd.DataFrame, by: str | Sequence[str] = "model") -> pd.DataFrame:
    """Per group: runs, median / lowest / highest cost, mean measures and quality (with its spread), and
    whether the group is on the cost/quality frontier."""
    keys = [by] if isinstance(by, str) else [k for k in by if k in per_run]
    g = per_run.groupby(keys, sort=True, dropna=False)
    out = g.agg(
        runs=("run_id", "size"),
        cost_median_usd=("cost_usd", "median"),
        cost_low_usd=("cost_usd", "min"),
        cost_high_usd=("cost_usd", "max"),
        quality=("quality", "mean"),
        quality_sd=("quality", "std"),
        pass_rate=("pass_rate", "mean"),
        executable_share=("executable", "mean"),
        completeness=("completeness", "mean"),
        review_score=("review_score", "mean"),
    ).reset_index()
    out["frontier"] = frontier_mask(out["cost_median_usd"], out["quality"])
    return out


def money_stacked(table: pd.DataFrame, by: str = "agent", *, title: str | None = None) -> Figure:
    """Stacked bars of dollars by token kind per ``by`` (a ``money_by_kind`` table)."""
    title = title or f"Where the money went, by {by} and token kind"
    fig, ax = new_figure(7.5, 3.8)
    if table.empty or table["cost_usd"].isna().all():
        ax.set_axis_off()
        finish(ax, title)
        ax.text(0.5, 0.5, "no priced calls", ha="center", va="center", transform=ax.transAxes, color="0.4")
        return fig
    labels = table[by].astype(str).tolist()
    bottom = [0.0] * len(table)
    for kind, col in KIND_USD.items():
        values = table[col].fillna(0).astype(float).tolist()
        if any(values):
            ax.bar(labels, values, bottom=bottom, label=KIND_LABELS[kind], color=KIND_COLORS[kind])
            bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    _usd_ticks(ax, max(bottom))
    ax.tick_params(axis="x", labelrotation=30)
    finish(ax, title, ylabel="US dollars")
    return fig


def quality_vs_cost(
    per_run: pd.DataFrame, groups: pd.DataFrame, *, by: str = "model", title: str = "Quality per dollar"
) -> Figure:
    """Each run as a faint point; each group's median cost and mean quality with its spread (cost range,
    quality ± 1 sd); frontier groups ringed and joined."""
    fig, ax = new_figure(7.5, 4.2)
    rows = per_run[per_run["cost_usd"].notna() & per_run["quality"].notna()]
    if rows.empty:
        ax.set_axis_off()
        finish(ax, title)
        ax.text(0.5, 0.5, "no runs with cost and quality", ha="center", va="center", transform=ax.transAxes)
        return fig
    colors = model_colors(per_run["model"])
    for model, group in rows.groupby("model", sort=True):
        ax.scatter(group["cost_usd"], group["quality"], color=colors[str(model)], alpha=0.3, s=18)
    for _, g in groups[groups["quality"].notna()].iterrows():
        color = colors.get(str(g["model"]), "0.3")
        name = " / ".join(str(g[k]) for k in groups.columns if k in (by, "model", "setting") and k in g)
        err_x = [[g["cost_median_usd"] - g["cost_low_usd"]], [g["cost_high_usd"] - g["cost_median_usd"]]]
        sd = 0.0 if math.isnan(g["quality_sd"]) else g["quality_sd"]
        ax.errorbar(
            g["cost_median_usd"],
            g["quality"],
            xerr=err_x,
            yerr=sd,
            fmt="o",
            color=color,
            ms=7,
            capsize=3,
            label=f"{name} ({int(g['runs'])} runs)",
        )
        if g["frontier"]:
            ax.scatter(g["cost_median_usd"], g["quality"], s=220, facecolors="none", edgecolors="black")
    front = groups[groups["frontier"]].sort_values("cost_median_usd")
    if len(front) > 1:
        ax.plot(front["cost_median_usd"], front["quality"], color="black", linewidth=0.8, linestyle="--")
    ax.set_ylim(0, 1.05)
    ax.set_xlim(left=0)
    _usd_ticks(ax, float(rows["cost_usd"].max()), axis="x")
    finish(
        ax, title + " (ringed: on the frontier)", xlabel="cost per run (US dollars)", ylabel="quality (0-1)"
    )
    return fig


def _usd_ticks(ax: object, top: float, axis: str = "y") -> None:
    from matplotlib.ticker import FuncFormatter

    decimals = 2 if top >= 0.5 else 3 if top >= 0.05 else 4
    fmt = FuncFormatter(lambda v, _pos: f"${Decimal(str(round(v, decimals))):,.{decimals}f}")
    target = ax.yaxis if axis == "y" else ax.xaxis  # type: ignore[attr-defined]
    target.set_major_formatter(fmt)
