"""The whole interactive app: key, agents, run, results, in one widget.

from orchestrator_kit.ui import App
app = App(output_dir="runs")
app          # display it; after a run: app.run_panel.result, app.results.runs
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import ipywidgets as w

from .agent_panel import AgentPanel
from .key_widget import ApiKeyWidget
from .results import ResultsPanel
from .run_panel import RunPanel


class App(w.VBox):
    def __init__(self, *, output_dir: str | Path = "runs", request: str = "", **engine_options: Any) -> None:
        self.key = ApiKeyWidget()
        self.agents = AgentPanel()
        self.run_panel = RunPanel(self.agents, output_dir=output_dir, request=request, **engine_options)
        self.results = ResultsPanel()
        self.run_panel.on_finished(self._show_results)
        sections = w.Accordion(children=[self.agents], titles=("Agents",))
        super().__init__(
            [w.HTML("<h3>orchestrator_kit</h3>"), self.key, sections, self.run_panel, self.results]
        )

    def _show_results(self, panel: RunPanel) -> None:
        if panel.run_dir is not None and panel.run_dir.is_dir():
            self.results.show(panel.run_dir)


__all__ = ["App"]
