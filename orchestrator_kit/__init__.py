"""orchestrator_kit: run a team of eight LLM agents over a project request and tabulate
what came out (artifacts), what it used (tokens) and what it cost (dollars).

Heavy modules load on first use, so ``import orchestrator_kit`` stays fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._lazy import lazy_exports

__version__ = "0.1.0"

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
__all__ = ["__version__", *_LAZY]

if TYPE_CHECKING:  # pragma: no cover
    from .agents.factory import create_agent
    from .api import arun_workflow, run_workflow
    from .engine.engine import WorkflowEngine, decide, resume
    from .evaluate.checks import evaluate_run
    from .engine.estimate import estimate_run
    from .engine.result import RunResult
    from .records import AgentContext, AgentSettings, ProjectState, TaskDefinition
    from .report.loader import load_runs
    from .sweep.driver import resume_sweep, run_sweep


__getattr__ = lazy_exports(__name__, _LAZY)
