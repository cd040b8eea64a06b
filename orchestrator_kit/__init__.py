"""orchestrator_kit: run a team of eight LLM agents over a project request and tabulate
what came out (artifacts), what it used (tokens) and what it cost (dollars).

Heavy modules load on first use, so ``import orchestrator_kit`` stays fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._lazy import lazy_exports

__version__ = "0.1.0"  # the one definition: pyproject.toml reads it (dynamic version)

_LAZY = {
    "run_workflow": "orchestrator_kit.api",
    "arun_workflow": "orchestrator_kit.api",
    "evaluate_run": "orchestrator_kit.evaluate.checks",
    "resume": "orchestrator_kit.engine.engine",
    "decide": "orchestrator_kit.engine.engine",
    "WorkflowEngine": "orchestrator_kit.engine.engine",
    "RunResult": "orchestrator_kit.engine.result",
    "create_agent": "orchestrator_kit.agents.factory",
    "AgentContext": "orchestrator_kit.records",
    "ProjectState": "orchestrator_kit.records",
    "TaskDefinition": "orchestrator_kit.records",
    "AgentSettings": "orchestrator_kit.records",
    "estimate_run": "orchestrator_kit.engine.estimate",
    "load_runs": "orchestrator_kit.report.loader",
    "run_sweep": "orchestrator_kit.sweep.driver",
    "resume_sweep": "orchestrator_kit.sweep.driver",
}
__all__ = list(_LAZY)
__all__ += ["__version__"]

if TYPE_CHECKING:  # pragma: no cover
    # `X as X`: the explicit re-export form, for type checkers (the names load lazily at run time)
    from .agents.factory import create_agent as create_agent
    from .api import arun_workflow as arun_workflow
    from .api import run_workflow as run_workflow
    from .engine.engine import WorkflowEngine as WorkflowEngine
    from .engine.engine import decide as decide
    from .engine.engine import resume as resume
    from .engine.estimate import estimate_run as estimate_run
    from .engine.result import RunResult as RunResult
    from .evaluate.checks import evaluate_run as evaluate_run
    from .records import AgentContext as AgentContext
    from .records import AgentSettings as AgentSettings
    from .records import ProjectState as ProjectState
    from .records import TaskDefinition as TaskDefinition
    from .report.loader import load_runs as load_runs
    from .sweep.driver import resume_sweep as resume_sweep
    from .sweep.driver import run_sweep as run_sweep


__getattr__ = lazy_exports(__name__, _LAZY)
