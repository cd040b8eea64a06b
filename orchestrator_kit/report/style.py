"""One small style for every table and figure: human labels, a colour per token kind and per model.

Terms used everywhere (tables, figures, widgets):
- **Input tokens**: prompt tokens billed at the model's base input price (not read from or written to the
  prompt cache).
- **Prompt tokens**: every token of the prompt: input tokens + cache writes + cache reads.
- **Cost**: what was billed (real runs) or would have been billed at list prices (simulated runs).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from ..records import TOKEN_KINDS

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = [
    "GLOSSARY",
    "KIND_COLORS",
    "KIND_LABELS",
    "LABELS",
    "finish",
    "label",
    "model_colors",
    "new_figure",
]

GLOSSARY = (
    "Input tokens are prompt tokens billed at the base input price; prompt tokens also count cache writes "
    "and cache reads. Cost is what was billed (real runs) or would have been billed at list prices "
    "(simulated runs)."
)

# token kind -> (label, colour); the same in every figure
KIND_LABELS: dict[str, str] = {
    "input_tokens": "Input",
    "output_tokens": "Output",
    "cache_write_5m_tokens": "Cache write (5 min)",
    "cache_write_1h_tokens": "Cache write (1 h)",
    "cache_read_tokens": "Cache read",
}
KIND_COLORS: dict[str, str] = {
    "input_tokens": "#4C72B0",
    "output_tokens": "#DD8452",
    "cache_write_5m_tokens": "#55A868",
    "cache_write_1h_tokens": "#8172B3",
    "cache_read_tokens": "#64B5CD",
}
assert set(KIND_LABELS) == set(TOKEN_KINDS) == set(KIND_COLORS)

_MODEL_PALETTE = ("#4C72B0", "#C44E52", "#55A868", "#8172B3", "#CCB974", "#64B5CD", "#DD8452", "#937860")

LABELS: dict[str, str] = {
    "run_id": "Run",
    "run": "Run",
    "status": "Status",
    "mode": "Mode",
    "model": "Model",
    "setting": "Setting",
    "project_name": "Project",
    "agent": "Agent",
    "phase": "Phase",
    "kind": "Kind",
    "filename": "Artifact",
    "calls": "Calls",
    "attempts": "Attempts",
    "failed_attempts": "Failed attempts",
    "reasks": "Re-asks",
    "input_tokens": "Input tokens",
    "output_tokens": "Output tokens",
    "cache_write_5m_tokens": "Cache write 5 min",
    "cache_write_1h_tokens": "Cache write 1 h",
    "cache_read_tokens": "Cache read",
    "prompt_tokens": "Prompt tokens",
    "total_tokens": "All tokens",
    "cost_usd": "Cost",
    "input_usd": "Input $",
    "output_usd": "Output $",
    "cache_write_5m_usd": "Cache write 5 min $",
    "cache_write_1h_usd": "Cache write 1 h $",
    "cache_read_usd": "Cache read $",
    "wasted_usd": "Wasted",
    "cache_savings_usd": "Cache saved",
    "share_pct": "Share",
    "review_score": "Review (0-10)",
    "design_rounds": "Design rounds",
    "artifacts": "Artifacts",
    "truncated": "Truncated",
    "truncated_artifacts": "Truncated",
    "repairs": "Repairs",
    "human_decisions": "Human decisions",
    "waiting_s": "Waiting (s)",
    "duration_s": "Time (s)",
    "runs": "Runs",
    "cost_median_usd": "Median cost",
    "cost_low_usd": "Cost, lowest",
    "cost_high_usd": "Cost, highest",
    "pass_rate": "Tests passed",
    "imports_ok": "Code imports",
    "executable_share": "Code imports",
    "completeness": "Complete",
    "quality": "Quality",
    "frontier": "On frontier",
    "estimate_usd": "Estimate",
    "estimate_low_usd": "Estimate, low",
    "estimate_high_usd": "Estimate, high",
    "actual_usd": "Actual",
    "error_pct": "Off by",
    "within_range": "In range",
    "tests_collected": "Tests",
    "tests_passed": "Passed",
    "lines_of_code": "Lines of code",
}


def label(column: str) -> str:
    """The human header of ``column`` ("cost_usd" -> "Cost"); unknown names are made readable."""
    return (
        LABELS.get(column)
        or column.replace("_usd", " $").replace("_pct", " %").replace("_", " ").capitalize()
    )


def model_colors(models: Iterable[object]) -> dict[str, str]:
    """A colour per model, stable for a given set of models (sorted by name)."""
    names = sorted({str(m) for m in models})
    return {m: _MODEL_PALETTE[i % len(_MODEL_PALETTE)] for i, m in enumerate(names)}


def new_figure(width: float = 7.0, height: float = 3.6) -> tuple[Figure, Axes]:
    """A pyplot-free figure with the report's fonts and a clean frame."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=100, layout="constrained")
    ax = fig.add_subplot()
    ax.spines[["top", "right"]].set_visible(False)
    ax.tick_params(labelsize=9)
    ax.grid(axis="y", color="0.92", linewidth=0.8)
    ax.set_axisbelow(True)
    return fig, ax


def finish(ax: Axes, title: str, *, xlabel: str = "", ylabel: str = "", legend: bool = True) -> None:
    """Title, axis labels (with units) and a frameless legend, in the report's sizes."""
    ax.set_title(title, fontsize=11, loc="left")
    if xlabel:
        ax.set_xlabel(xlabel, fontsize=9)
    if ylabel:
        ax.set_ylabel(ylabel, fontsize=9)
    if legend and ax.get_legend_handles_labels()[0]:
        ax.legend(frameon=False, fontsize=8)
