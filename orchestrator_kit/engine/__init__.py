"""The workflow engine: DAG, budget, checkpoints, events. Knows nothing of backends or UI.

Names load lazily, so ``import orchestrator_kit.engine`` stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_exports

_LAZY = {
    "WorkflowEngine": "engine",
    "run_workflow": "engine",
    "arun_workflow": "engine",
    "resume": "engine",
    "Event": "events",
    "EventBus": "events",
    "RunResult": "result",
    "Workflow": "workflow",
    "Step": "workflow",
    "Gate": "workflow",
    "DEFAULT_WORKFLOW": "workflow",
}
__all__ = list(_LAZY)

if TYPE_CHECKING:  # pragma: no cover
    from .engine import WorkflowEngine, arun_workflow, resume, run_workflow
    from .events import Event, EventBus
    from .result import RunResult
    from .workflow import DEFAULT_WORKFLOW, Gate, Step, Workflow


__getattr__ = lazy_exports(__name__, _LAZY)
