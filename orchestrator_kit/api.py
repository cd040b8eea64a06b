"""The one-call Python API: run a workflow and, on request, evaluate what it built.

``orchestrator_kit.run_workflow`` is this module's function: the engine's ``run_workflow`` plus
``evaluate=``. It lives above the engine because evaluation runs code in a sandbox, which the engine never does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Literal

from ._sync import run_sync
from .engine.engine import arun_workflow as _engine_arun_workflow
from .engine.events import Event
from .engine.result import RunResult
from .errors import ConfigError

Evaluate = bool | Literal["auto"]

__all__ = ["arun_workflow", "run_workflow"]


async def arun_workflow(
    request: str,
    *,
    project_name: str = "Untitled project",
    subscribers: Iterable[Callable[[Event], None]] = (),
    evaluate: Evaluate = False,
    allow_model_code: bool = False,
    **engine_options: Any,
) -> RunResult:
    """Async twin of :func:`run_workflow`."""
    if evaluate not in (True, False, "auto"):
        raise ConfigError(f"evaluate must be True, False or 'auto', got {evaluate!r}")
    result = await _engine_arun_workflow(
        request, project_name=project_name, subscribers=subscribers, **engine_options
    )
    wanted = evaluate is True or (evaluate == "auto" and (result.mode == "simulated" or allow_model_code))
    if wanted:
        import asyncio

        from .evaluate import evaluate_run

        await asyncio.to_thread(evaluate_run, result.run_dir, allow_model_code=allow_model_code)
    return result


def run_workflow(
    request: str,
    *,
    project_name: str = "Untitled project",
    subscribers: Iterable[Callable[[Event], None]] = (),
    evaluate: Evaluate = False,
    allow_model_code: bool = False,
    **engine_options: Any,
) -> RunResult:
    """Run a whole workflow and return its RunResult (works in scripts and in Jupyter).

    ``evaluate=True`` then measures the generated code in a sandbox (``result.evaluation``); running code a
    model wrote also needs ``allow_model_code=True``. ``evaluate="auto"`` evaluates simulated runs, and real
    ones only with ``allow_model_code=True``. Other keywords go to :class:`WorkflowEngine`.
    """
    return run_sync(
        arun_workflow(
            request,
            project_name=project_name,
            subscribers=subscribers,
            evaluate=evaluate,
            allow_model_code=allow_model_code,
            **engine_options,
        )
    )
