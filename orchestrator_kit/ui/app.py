"""The whole interactive app: key, agents, run, results, in one widget.

from orchestrator_kit.ui import App
app = App(output_dir="runs")
app              # display it; after a run: app.run_panel.result, app.results.runs
app.key.ask()    # in its own cell: a password prompt for the API key (see key_widget)

Taking a key switches the mode from simulated to auto (a key is taken to be used), and a hint says when a
key is set but the mode leaves it unused. A new run clears the previous run's results at once.
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
        self.mode_hint = w.HTML()
        self.hint_text = ""
        self.run_panel.on_started(
            lambda _p: self.results.clear("<i>Running: results appear when it ends.</i>")
        )
        self.run_panel.on_finished(self._show_results)
        self.key.on_change(self._key_changed)
        self.run_panel.mode.observe(lambda _c: self._update_hint(), names="value")
        sections = w.Accordion(children=[self.agents], titles=("Agents",))
        super().__init__(
            [
                w.HTML("<h3>orchestrator_kit</h3>"),
                self.key,
                self.mode_hint,
                sections,
                self.run_panel,
                self.results,
            ]
        )
        self._update_hint()

    def _key_changed(self, key: ApiKeyWidget) -> None:
        if key.source is not None and self.run_panel.mode.value == "simulated":
            self.run_panel.mode.value = "auto"  # the user typed a key to use it
        self._update_hint()

    def _update_hint(self) -> None:
        mode, has_key = self.run_panel.mode.value, self.key.source is not None
        if has_key and mode == "simulated":
            text = "A key is set, but mode simulated never uses it: choose auto or real to call the API."
        elif has_key and mode == "auto":
            text = "Mode auto with a key: runs call the API and are billed."
        elif not has_key and mode == "auto":
            text = "Mode auto without a key: runs are simulated ($0)."
        else:
            text = ""
        self.hint_text = text
        self.mode_hint.value = f"<i>{text}</i>" if text else ""

    def _show_results(self, panel: RunPanel) -> None:
        if panel.run_dir is not None and panel.run_dir.is_dir():
            self.results.show(panel.run_dir)
        else:
            self.results.clear()


__all__ = ["App"]
