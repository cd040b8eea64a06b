"""ipywidgets 8 front end: API key, per-agent inputs, run panel, results. Listens to engine events only.

    from orchestrator_kit.ui import App
    App(output_dir="runs")

ipywidgets loads when a name is first used, never at ``import orchestrator_kit``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_exports

_LAZY = {
    "App": "app",
    "ApiKeyWidget": "key_widget",
    "AgentPanel": "agent_panel",
    "RunPanel": "run_panel",
    "GatePanel": "gate_panel",
    "ResultsPanel": "results",
    "SweepProgressWidget": "sweep_progress",
}
__all__ = list(_LAZY)

if TYPE_CHECKING:  # pragma: no cover
    # `X as X`: the explicit re-export form, for type checkers (the names load lazily at run time)
    from .agent_panel import AgentPanel as AgentPanel
    from .app import App as App
    from .gate_panel import GatePanel as GatePanel
    from .key_widget import ApiKeyWidget as ApiKeyWidget
    from .results import ResultsPanel as ResultsPanel
    from .run_panel import RunPanel as RunPanel
    from .sweep_progress import SweepProgressWidget as SweepProgressWidget

__getattr__ = lazy_exports(__name__, _LAZY)
