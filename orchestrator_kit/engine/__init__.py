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
    # `X as X`: the explicit re-export form, for type checkers (the names load lazily at run time)
    from .engine import WorkflowEngine as WorkflowEngine
    from .engine import arun_workflow as arun_workflow
    from .engine import resume as resume
    from .engine import run_workflow as run_workflow
    from .events import Event as Event
    from .events import EventBus as EventBus
    from .result import RunResult as RunResult
    from .workflow import DEFAULT_WORKFLOW as DEFAULT_WORKFLOW
    from .workflow import Gate as Gate
    from .workflow import Step as Step
    from .workflow import Workflow as Workflow


__getattr__ = lazy_exports(__name__, _LAZY)
