"""How a run ends: its last checkpoint, ``summary.json``, the closing event and the ``RunResult``.

A run ends in one of three ways: it completes, it pauses at a gate for a person (the process may exit),
or it stops on an exception (failed, over budget or interrupted). :class:`RunEnding` does each.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ..errors import BudgetExceeded, RunFailed
from ..records import CallRecord, ProjectState, RunSummary, RunTotals
from ..store.run_folder import RunFolder
from .budget import Budget
from .checkpoint import save_checkpoint
from .events import Event, EventBus
from .gates import PendingGate, decision_stats, write_pending
from .result import RunResult

__all__ = ["RunEnding"]

_NO_DECISIONS = {"human_decisions": 0, "human_revisions": 0, "human_edits": 0, "waiting_s": 0.0}


@dataclass(frozen=True)
class RunEnding:
    """What a run's ending needs of its engine and manifest: what the summary names, and the bus that
    tells of it."""

    mode: str
    model: str
    order: list[str]  # the workflow's steps, in order (per-agent totals follow it)
    budget: Budget
    events: EventBus
    estimate_usd: str | None = None  # the expected total of the run's estimate (its manifest holds it)
    decided: bool = True  # False: a run started afresh, so no human decision is recorded (none is read)

    def complete(
        self, folder: RunFolder, state: ProjectState, steps: dict[str, str], started: float
    ) -> RunResult:
        """Checkpoint a finished run, write its summary and return its result."""
        result = self._close(folder, "completed", state, steps, started)
        data = {"run_dir": str(folder.path), "totals": result.totals.to_json()}
        self.events.emit(Event("run_finished", folder.run_id, None, data))
        return result

    def pause(
        self, folder: RunFolder, state: ProjectState, steps: dict[str, str], started: float, gate: PendingGate
    ) -> RunResult:
        """Checkpoint a run that waits for a person, write what is asked, and return (the process may exit)."""
        status = "awaiting_budget" if gate.kind == "budget" else "awaiting_approval"
        write_pending(folder, gate)
        result = self._close(folder, status, state, steps, started)
        data = {**gate.to_dict(), "status": status, "run_dir": str(folder.path)}
        self.events.emit(Event("run_waiting", folder.run_id, gate.step, data))
        return result

    def fail(
        self,
        folder: RunFolder,
        state: ProjectState,
        steps: dict[str, str],
        started: float,
        exc: BaseException,
    ) -> None:
        """Checkpoint a run that stops on ``exc`` (failed, over budget or interrupted) and say how to go on."""
        status = (
            "budget_exceeded"
            if isinstance(exc, BudgetExceeded)
            else "interrupted"
            if isinstance(exc, (KeyboardInterrupt, asyncio.CancelledError))
            else "failed"
        )
        err = {"type": type(exc).__name__, "message": str(exc)}
        save_checkpoint(folder, status, _unstarted(steps), state, error=err)
        self.write_summary(folder, status, state, started, error=err)
        self.events.emit(
            Event("run_failed", folder.run_id, None, {**err, "status": status, "run_dir": str(folder.path)})
        )
        if isinstance(exc, RunFailed) and exc.run_dir is None:
            exc.run_dir = str(folder.path)
        if isinstance(exc, Exception):
            exc.add_note(
                f"run folder: {folder.path} (status {status}); "
                f"continue with: orchestrator-kit resume {folder.path}"
            )

    def _close(
        self, folder: RunFolder, status: str, state: ProjectState, steps: dict[str, str], started: float
    ) -> RunResult:
        """What a completed and a paused run have in common: the checkpoint, the summary, the result."""
        lines = folder.calls()  # before the checkpoint closes the ledger's handle: no stat while held
        save_checkpoint(folder, status, _unstarted(steps), state)
        summary = self.write_summary(folder, status, state, started, lines=lines)
        return RunResult(
            run_dir=folder.path,
            status=status,
            mode=self.mode,
            model=self.model,
            project_state=state,
            summary=summary,
            calls=lines,
        )

    def write_summary(
        self,
        folder: RunFolder,
        status: str,
        state: ProjectState,
        started: float,
        *,
        error: dict[str, Any] | None = None,
        lines: list[CallRecord] | None = None,
    ) -> RunSummary:
        """Write ``summary.json`` from the run's ledger and state, and return it."""
        lines = folder.calls() if lines is None else lines
        score = state.scores.get("reviewer")
        # artifacts cut off at max_tokens (even after a continuation), as agent/filename
        truncated = [
            f"{agent}/{a.filename}" for agent, arts in state.artifacts.items() for a in arts if a.truncated
        ]
        summary = RunSummary(
            run_id=folder.run_id,
            status=status,
            mode=self.mode,
            model=self.model,
            project_name=state.project_name,
            request=state.request,
            started_at=datetime.fromtimestamp(started, UTC).isoformat(timespec="seconds"),
            finished_at=datetime.now(UTC).isoformat(timespec="seconds"),
            duration_s=round(time.time() - started, 3),
            design_rounds=state.design_round,
            consensus_approved=(
                state.decisions["consensus"].approved if "consensus" in state.decisions else None
            ),
            review_score=score.value if score else None,
            artifacts=sum(len(v) for v in state.artifacts.values()),
            artifacts_truncated=len(truncated),
            truncated_artifacts=truncated,
            repairs=sum(map(len, state.repairs.values())),
            repair_notes={a: list(notes) for a, notes in state.repairs.items()},
            totals=RunTotals.of(lines),
            agents=RunTotals.per_agent(lines, self.order),
            budget=self.budget.to_dict(),
            **(decision_stats(folder.path) if self.decided else _NO_DECISIONS),
            error=error,
            estimate_usd=self.estimate_usd,
        )
        folder.write_summary(summary)
        return summary


def _unstarted(steps: dict[str, str]) -> dict[str, str]:
    """Steps as a resume sees them: one that was running when the run stopped starts again."""
    return {a: ("pending" if s == "running" else s) for a, s in steps.items()}
