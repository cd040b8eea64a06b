"""A sweep's progress in a notebook: cells done (a bar), calls, spend vs budget, rendered notebooks.
It only reads the sweep's events (``run_sweep(..., subscribers=[widget])``); events may arrive from
the driver's thread, and ipywidgets sends the changes to the frontend from any thread."""

from __future__ import annotations

import html

import ipywidgets as w

from ..sweep.progress import SweepEvent


class SweepProgressWidget(w.VBox):
    """``run_sweep(grid, out, progress=False, subscribers=[SweepProgressWidget()])``: call it with events."""

    def __init__(self) -> None:
        self.bar = w.IntProgress(value=0, min=0, max=1, description="cells", layout=w.Layout(width="420px"))
        self.label = w.HTML("waiting for the sweep to start")
        super().__init__([self.bar, self.label])

    def __call__(self, event: SweepEvent) -> None:
        p = event.progress
        self.bar.max = max(p.cells_total, 1)
        self.bar.value = p.cells_done + p.cells_failed + p.cells_waiting
        self.bar.bar_style = (
            "danger" if p.cells_failed else ("success" if event.type == "sweep_finished" else "info")
        )
        waiting = f"{p.cells_waiting} waiting for a decision · " if p.cells_waiting else ""
        self.label.value = html.escape(
            f"{p.cells_done}/{p.cells_total} cells done · {p.cells_failed} failed · "
            f"{waiting}{p.cells_running} running · "
            f"{p.calls} calls · spend {p.spend_text()} · notebooks {p.renders_done}/{p.renders_total}"
        )


__all__ = ["SweepProgressWidget"]
