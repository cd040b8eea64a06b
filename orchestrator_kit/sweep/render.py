"""Rendering: papermill executes a cell's workflow notebook against its finished run folder
(parameter ``run_dir``: the notebook loads the run instead of running it, so no call, $0), leaving
one executed notebook per cell with its tables and figures. ``render_notebook`` runs inside an
executor's worker (a local process or a Dask worker): it takes and returns plain dicts.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from ..notebook_params import notebook_path


def render_job(cell_parameters: dict[str, Any], run_dir: Path, notebook: Path) -> dict[str, Any]:
    """What a worker needs to render one cell (picklable; no secrets: keys are never parameters)."""
    return {
        "template": str(notebook_path("workflow.ipynb")),
        "notebook": str(notebook),
        "parameters": {
            **cell_parameters,
            "output_dir": str(run_dir.parent),
            "run_id": run_dir.name,
            "run_dir": str(run_dir),
        },
        "cwd": str(run_dir.parent),
    }


def render_notebook(job: dict[str, Any]) -> dict[str, Any]:
    """Execute one workflow notebook with papermill's Python API (``orchestrator_kit.kernels``); returns
    {status, error, duration_s}."""
    from papermill.exceptions import PapermillExecutionError

    from ..kernels import execute_notebook
    from ..store.run_folder import redact

    started = time.perf_counter()
    out: dict[str, Any] = {"status": "rendered", "error": ""}
    try:
        execute_notebook(  # papermill; the kernel over IPC, shut down without an interrupt
            job["template"],
            job["notebook"],
            parameters=job["parameters"],
            cwd=job["cwd"],
            kernel_name=job.get("kernel_name"),
            execution_timeout=job.get("timeout"),
        )
    except PapermillExecutionError as exc:
        out.update(status="failed", error=redact(f"{exc.ename}: {exc.evalue}"))
    except Exception as exc:  # noqa: BLE001 - a kernel that died or is missing: reported for this cell only
        out.update(status="failed", error=redact(f"{type(exc).__name__}: {exc}"))
    out["duration_s"] = round(time.perf_counter() - started, 3)
    return out


__all__ = ["render_job", "render_notebook"]
