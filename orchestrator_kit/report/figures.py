"""matplotlib figures from the report tables. Each function returns a ``matplotlib.figure.Figure``.

Figures are built without pyplot: nothing is registered in pyplot's global list, so nothing needs
closing, no GUI backend is touched (Agg-safe anywhere), and a notebook shows them only when asked
(``show(fig)`` displays a PNG, which papermill and nbconvert embed whatever ``MPLBACKEND`` says).
An empty table gives a figure that says "no data".
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import TYPE_CHECKING

from ..records import TOKEN_KINDS
from .style import KIND_COLORS, KIND_LABELS, finish, model_colors, new_figure

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure


def _new(width: float = 7.0, height: float = 3.6) -> tuple[Figure, Axes]:
    return new_figure(width, height)


def _usd_axis(ax: Axes, axis: str = "y") -> None:
    from matplotlib.ticker import FuncFormatter

    low, high = ax.get_ylim() if axis == "y" else ax.get_xlim()
    span = max(abs(low), abs(high))
    decimals = 2 if span >= 0.5 else 3 if span >= 0.05 else 4
    fmt = FuncFormatter(lambda v, _pos: f"${v:,.{decimals}f}")
    (ax.yaxis if axis == "y" else ax.xaxis).set_major_formatter(fmt)


def _run_label(run_id: object, project: object, model: object) -> str:
    return f"{str(project)[:18]} | {model} | {str(run_id)[-6:]}"


def _no_data(fig: Figure, ax: Axes, title: str) -> Figure:
    ax.set_axis_off()
    ax.set_title(title)
    ax.text(0.5, 0.5, "no data", ha="center", va="center", transform=ax.transAxes, color="0.4")
    return fig


def cost_bar(table: pd.DataFrame, by: str = "agent", *, title: str | None = None, note: str = "") -> Figure:
    """Bars of ``cost_usd`` per ``by`` (a ``tables.cost_by`` table). Unknown costs are left out and named."""
    title = title or f"Cost by {by}"
    fig, ax = _new()
    if table.empty:
        return _no_data(fig, ax, title)
    known = table[table["cost_usd"].notna()]
    labels = known[by].astype(str).tolist()
    ax.bar(labels, known["cost_usd"].tolist(), color="#4C72B0")
    if "wasted_usd" in known and known["wasted_usd"].gt(0).any():
        ax.bar(labels, known["wasted_usd"].tolist(), color="#C44E52", label="wasted")
        ax.legend(frameon=False)
    _usd_axis(ax)
    unknown = table.loc[table["cost_usd"].isna(), by].astype(str).tolist()
    notes = [n for n in (note, f"unknown cost: {', '.join(unknown)}" if unknown else "") if n]
    ax.tick_params(axis="x", labelrotation=30)
    finish(ax, title + (f"\n{'; '.join(notes)}" if notes else ""), ylabel="US dollars", legend=False)
    return fig


def tokens_stacked(table: pd.DataFrame, by: str = "agent", *, title: str | None = None) -> Figure:
    """Stacked bars of tokens by kind per ``by`` (a ``tables.tokens_by_kind`` table)."""
    title = title or f"Tokens by kind and {by}"
    fig, ax = _new()
    if table.empty:
        return _no_data(fig, ax, title)
    labels = table[by].astype(str).tolist()
    bottom = [0] * len(table)
    for kind in TOKEN_KINDS:
        values = table[kind].astype(int).tolist()
        if any(values):
            ax.bar(labels, values, bottom=bottom, label=KIND_LABELS[kind], color=KIND_COLORS[kind])
            bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    ax.tick_params(axis="x", labelrotation=30)
    finish(ax, title, ylabel="tokens")
    return fig


def estimate_vs_actual(table: pd.DataFrame, *, title: str = "Estimate vs actual cost per run") -> Figure:
    """Per run: the estimate's range (low-high) and expected value, and the actual cost
    (a ``tables.estimate_vs_actual`` table)."""
    fig, ax = _new(7.0, max(2.4, 0.45 * len(table) + 1.4))
    rows = table[table["estimate_usd"].notna() | table["actual_usd"].notna()]
    if rows.empty:
        return _no_data(fig, ax, title)
    ys = list(range(len(rows)))
    ranged = rows["estimate_low_usd"].notna() & rows["estimate_high_usd"].notna()
    for y, has_range, low, high in zip(
        ys, ranged, rows["estimate_low_usd"], rows["estimate_high_usd"], strict=True
    ):
        if has_range:
            ax.hlines(y, low, high, color="0.7", linewidth=6)
    ax.scatter(rows["estimate_usd"], ys, marker="|", s=200, color="0.2", label="estimate (range: low-high)")
    ax.scatter(rows["actual_usd"], ys, marker="o", color="#DD8452", label="actual", zorder=3)
    ax.set_yticks(
        ys,
        [_run_label(*r) for r in zip(rows["run_id"], rows["project_name"], rows["model"], strict=True)],
        fontsize=7,
    )
    ax.set_ylim(-0.6, len(rows) - 0.4)
    _usd_axis(ax, "x")
    ax.set_xlabel("cost per run (US dollars)", fontsize=9)
    ax.set_title(title, fontsize=11, loc="left")  # the reason for any gap is stated in full beside it
    ax.legend(frameon=False, fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=2)
    return fig


def score_vs_cost(table: pd.DataFrame, *, title: str = "Reviewer score vs cost") -> Figure:
    """One point per run, coloured by model (a ``tables.score_vs_cost`` table)."""
    fig, ax = _new(6.0, 4.0)
    rows = table[table["review_score"].notna() & table["cost_usd"].notna()]
    if rows.empty:
        return _no_data(fig, ax, title)
    colors = model_colors(rows["model"])
    for model, group in rows.groupby("model", sort=True):
        ax.scatter(
            group["cost_usd"], group["review_score"], label=str(model), alpha=0.8, color=colors[str(model)]
        )
    _usd_axis(ax, "x")
    ax.set_ylim(0, 10.5)
    finish(ax, title, xlabel="cost per run (US dollars)", ylabel="review score (0-10)")
    return fig


def cumulative_spend(calls: pd.DataFrame, *, title: str = "Cumulative spend over calls") -> Figure:
    """Running total of cost over the ledger's lines, one line per run, coloured by model."""
    fig, ax = _new()
    rows = calls[calls["cost_usd"].notna()]
    if rows.empty:
        return _no_data(fig, ax, title)
    few = rows["run_id"].nunique() <= 8
    colors = model_colors(rows["model"])
    for run_id, group in rows.groupby("run_id", sort=True):
        g = group.sort_values("t")
        model = str(g["model"].iloc[0])
        ax.plot(
            range(1, len(g) + 1),
            g["cost_usd"].cumsum().tolist(),
            linewidth=1,
            color=colors[model],
            label=f"{model} · {str(run_id).rsplit('-', 1)[-1]}"
            if few
            else None,  # the model, then the id's tail
        )
    _usd_axis(ax)
    finish(ax, title, xlabel="call number within the run", ylabel="US dollars", legend=few)
    return fig


def to_png(fig: Figure, path: str | Path | None = None) -> bytes:
    """The figure as PNG bytes; also written to ``path`` when given."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    data = buf.getvalue()
    if path is not None:
        Path(path).write_bytes(data)
    return data


def show(fig: Figure | bytes) -> None:
    """Display the figure as an embedded PNG in a notebook (works under any matplotlib backend). Pass the
    bytes of ``to_png(fig)`` to show a figure that is also written, so that it is rendered only once."""
    from IPython.display import Image, display

    display(Image(data=fig if isinstance(fig, bytes) else to_png(fig), format="png"))


__all__ = [
    "cost_bar",
    "cumulative_spend",
    "estimate_vs_actual",
    "score_vs_cost",
    "show",
    "to_png",
    "tokens_stacked",
]
