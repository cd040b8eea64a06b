"""A sweep's progress: a snapshot (cells done, calls, spend vs budget) sent with every sweep event,
and a tqdm bar for the shell. The notebook's widget (``orchestrator_kit.ui.sweep_progress``) reads
the same events."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from ..money import format_usd

# sweep_started | cell_started | cell_finished | call_finished | render_finished | sweep_finished
SweepSubscriber = Callable[["SweepEvent"], None]


@dataclass(frozen=True)
class SweepProgress:
    cells_total: int = 0
    cells_done: int = 0  # completed (this session or before)
    cells_failed: int = 0  # failed, over budget or interrupted
    cells_waiting: int = 0  # stopped at a human gate or for more budget (decide, then resume)
    cells_running: int = 0
    calls: int = 0  # model calls answered in this session (reused ones not counted)
    spent_usd: Decimal = Decimal(0)  # whole sweep, including earlier sessions
    budget_usd: Decimal | None = None
    renders_total: int = 0
    renders_done: int = 0

    def spend_text(self) -> str:
        spent = format_usd(self.spent_usd)
        return spent if self.budget_usd is None else f"{spent} of {format_usd(self.budget_usd)}"


@dataclass(frozen=True)
class SweepEvent:
    type: str
    cell_id: str | None
    progress: SweepProgress
    data: dict[str, Any] = field(default_factory=dict)


class TqdmProgress:
    """A tqdm bar over the sweep's cells, with calls and spend in its postfix."""

    def __init__(self, *, disable: bool = False) -> None:
        self.disable = disable
        self._bar: Any = None
        self._last = 0.0

    def __call__(self, event: SweepEvent) -> None:
        from tqdm import tqdm

        now = time.monotonic()
        if event.type == "call_finished" and now - self._last < 0.2:
            return  # thousands of calls a second in simulated mode: redraw at most 5 times a second
        self._last = now
        p = event.progress
        if self._bar is None:
            self._bar = tqdm(total=p.cells_total, desc="sweep cells", unit="cell", disable=self.disable)
        self._bar.n = p.cells_done + p.cells_failed + p.cells_waiting
        self._bar.set_postfix(
            running=p.cells_running,
            failed=p.cells_failed,
            waiting=p.cells_waiting,
            calls=p.calls,
            spend=p.spend_text(),
            rendered=f"{p.renders_done}/{p.renders_total}",
            refresh=False,
        )
        self._bar.refresh()
        if event.type == "sweep_finished":
            self._bar.close()


__all__ = ["SweepEvent", "SweepProgress", "SweepSubscriber", "TqdmProgress"]
