"""Reports over run folders: DataFrames (``load_runs``), tables, figures and the HTML cost report.

Reads run folders only. pandas and matplotlib load on first use, never at ``import orchestrator_kit``.

    from orchestrator_kit.report import load_runs, tables, figures
    runs = load_runs("runs")
    tables.cost_by(runs.calls, "agent")

Modules: ``loader`` (load_runs, Runs), ``tables`` (DataFrame -> DataFrame), ``figures`` (matplotlib
Figures), ``export`` (the standard set, written as Parquet/CSV/PNG), ``html`` (build_report).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_exports

_LAZY = {
    "Runs": "loader",
    "load_runs": "loader",
    "run_folders": "loader",
    "build_report": "html",
    "standard_tables": "export",
    "standard_figures": "export",
    "write_run_outputs": "export",
}
__all__ = list(_LAZY)

if TYPE_CHECKING:  # pragma: no cover
    # `X as X`: the explicit re-export form, for type checkers (the names load lazily at run time)
    from .export import standard_figures as standard_figures
    from .export import standard_tables as standard_tables
    from .export import write_run_outputs as write_run_outputs
    from .html import build_report as build_report
    from .loader import Runs as Runs
    from .loader import load_runs as load_runs
    from .loader import run_folders as run_folders

__getattr__ = lazy_exports(__name__, _LAZY)
