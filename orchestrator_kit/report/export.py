"""The standard set of tables and figures for some runs, and writing them next to the data.

``write_run_outputs(runs, folder)`` writes ``tables/<name>.parquet`` and ``tables/<name>.csv`` and
``figures/<name>.png`` under ``folder`` (the workflow notebook passes the run folder).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from ..store.atomic import write_bytes_atomic, write_text_atomic
from . import figures, quality, tables

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

    from .loader import Runs


def standard_tables(runs: Runs) -> dict[str, pd.DataFrame]:
    """Artifacts, tokens by kind, cost by agent / phase / model, dollars by token kind, waste, cache savings,
    estimate vs actual, quality per run and per model."""
    calls = runs.calls
    per_run = quality.quality_per_run(runs.runs, runs.evaluations)
    return {
        "money_by_agent": quality.money_by_kind(calls, "agent"),
        "money_by_phase": quality.money_by_kind(calls, "phase"),
        "quality_per_run": per_run,
        "quality_by_model": quality.quality_by(per_run, ["model", "setting"]),
        "runs": tables.run_overview(runs.runs),
        "artifacts": tables.artifact_table(runs.artifacts),
        "tokens_by_kind": tables.tokens_by_kind(calls, "agent"),
        "cost_by_agent": tables.cost_by(calls, ["agent", "phase"]),
        "cost_by_phase": tables.cost_by(calls, "phase"),
        "cost_by_model": tables.cost_by(calls, "model"),
        "wasted_spend": tables.wasted_spend(calls, "agent"),
        "cache_savings": tables.cache_savings(calls, "agent"),
        "estimate_vs_actual": tables.estimate_vs_actual(runs.runs),
    }


def basis_note(runs: Runs) -> str:
    """What the dollar figures are: "simulated: would-be cost at list prices" etc."""
    modes = set(runs.runs["mode"].dropna())
    if modes == {"simulated"}:
        return "simulated: would-be cost at list prices, nothing was billed"
    if "simulated" in modes:
        return "mixed modes: simulated runs show would-be cost"
    return ""


def estimate_note(runs: Runs) -> str:
    """Why actual costs sit where they do against the pre-run estimate, in full (empty when nothing to say)."""
    modes = set(runs.runs["mode"].dropna())
    if "simulated" not in modes:
        return (
            "The estimate prices each agent's prompt and an output of typical length for its role; the "
            "range runs from short answers to answers at max_tokens."
        )
    return (
        "The estimate sizes outputs like Claude's (typical answer lengths per role, from the guide); "
        "simulated artifacts come from short templates, so simulated runs land below the estimate's low "
        "end. Compare real runs to judge the estimate."
    )


def standard_figures(runs: Runs, tabs: dict[str, pd.DataFrame] | None = None) -> dict[str, Figure]:
    """The figures of ``standard_tables`` (computed again unless passed in)."""
    t = tabs if tabs is not None else standard_tables(runs)
    note = basis_note(runs)
    return {
        "money_by_agent": quality.money_stacked(t["money_by_agent"], "agent"),
        "money_by_phase": quality.money_stacked(t["money_by_phase"], "phase"),
        "quality_vs_cost": quality.quality_vs_cost(t["quality_per_run"], t["quality_by_model"]),
        "cost_by_agent": figures.cost_bar(t["cost_by_agent"], "agent", note=note),
        "cost_by_phase": figures.cost_bar(t["cost_by_phase"], "phase", note=note),
        "tokens_by_kind": figures.tokens_stacked(t["tokens_by_kind"], "agent"),
        "cumulative_spend": figures.cumulative_spend(runs.calls),
        "estimate_vs_actual": figures.estimate_vs_actual(t["estimate_vs_actual"]),
    }


def write_tables(tabs: dict[str, pd.DataFrame], folder: str | Path) -> list[Path]:
    """Each table as ``<name>.parquet`` (exact types) and ``<name>.csv``; returns the paths written."""
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, df in tabs.items():
        parquet, csv = out / f"{name}.parquet", out / f"{name}.csv"
        write_bytes_atomic(parquet, df.to_parquet(index=False))
        write_text_atomic(csv, df.to_csv(index=False))
        written += [parquet, csv]
    return written


def render_figures(figs: Mapping[str, Figure]) -> dict[str, bytes]:
    """Each figure as PNG bytes: render once, then both show (``figures.show``) and write them."""
    return {name: figures.to_png(fig) for name, fig in figs.items()}


def write_figures(figs: Mapping[str, Figure | bytes], folder: str | Path) -> list[Path]:
    """Each figure as ``<name>.png`` (a Figure is rendered; PNG bytes from ``render_figures`` are written
    as they are); returns the paths written."""
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, fig in figs.items():
        path = out / f"{name}.png"
        write_bytes_atomic(path, fig if isinstance(fig, bytes) else figures.to_png(fig))
        written.append(path)
    return written


def write_run_outputs(
    runs: Runs,
    folder: str | Path,
    *,
    tabs: dict[str, pd.DataFrame] | None = None,
    figs: Mapping[str, Figure | bytes] | None = None,
) -> list[Path]:
    """The standard tables and figures of ``runs`` (computed unless passed in; figures may be passed as
    PNG bytes from ``render_figures``) under ``folder``/tables and ``folder``/figures. Returns the paths
    written."""
    tabs = tabs if tabs is not None else standard_tables(runs)
    figs = figs if figs is not None else standard_figures(runs, tabs)
    return [*write_tables(tabs, Path(folder) / "tables"), *write_figures(figs, Path(folder) / "figures")]


__all__ = [
    "basis_note",
    "estimate_note",
    "render_figures",
    "standard_figures",
    "standard_tables",
    "write_figures",
    "write_run_outputs",
    "write_tables",
]
