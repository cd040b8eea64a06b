"""Rendering: papermill executes a cell's workflow notebook against its finished run folder
(parameter ``run_dir``: the notebook loads the run instead of running it, so no call, $0), leaving
one executed notebook per cell with its tables and figures. ``render_notebook`` runs inside an
executor's worker (a local process or a Dask worker): it takes and returns plain dicts.

A worker is long-lived: it imports papermill once and renders many notebooks with its Python API. Each
notebook gets a kernel of its own, started ahead: while one notebook runs, the worker's next kernel boots
and imports pandas, matplotlib and ours (``orchestrator_kit.warm_kernels.KernelPool``), unless the job says
no more renders are expected (``spare_kernel``: false), so that no kernel is started in vain at the end.
"""

from __future__ import annotations

import atexit
import multiprocessing.util
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..notebook_params import notebook_path

if TYPE_CHECKING:
    from ..warm_kernels import KernelPool

_POOL: list[KernelPool] = []  # this worker process's pool, made on its first render
_POOL_LOCK = threading.Lock()


def render_job(
    cell_parameters: dict[str, Any], run_dir: Path, notebook: Path, *, spare_kernel: bool = True
) -> dict[str, Any]:
    """What a worker needs to render one cell (picklable; no secrets: keys are never parameters).
    ``spare_kernel``: more renders are expected, so the worker starts its next kernel now."""
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
        "spare_kernel": spare_kernel,
    }


def _kernel_pool() -> KernelPool:
    """The worker's pool; its spare kernel is shut down when the worker process exits."""
    from ..warm_kernels import KernelPool

    with _POOL_LOCK:
        if not _POOL:
            pool = KernelPool()
            _POOL.append(pool)
            atexit.register(pool.close)
            # multiprocessing workers leave through os._exit, which skips atexit: a finalizer runs there
            multiprocessing.util.Finalize(pool, pool.close, exitpriority=10)
        return _POOL[0]


def render_notebook(job: dict[str, Any]) -> dict[str, Any]:
    """Execute one workflow notebook with papermill's Python API (``orchestrator_kit.kernels``); returns
    {status, error, duration_s}."""
    from papermill.exceptions import PapermillExecutionError

    from ..kernels import execute_notebook
    from ..store.run_folder import redact
    from ..warm_kernels import notebook_kernel_name

    started = time.perf_counter()
    out: dict[str, Any] = {"status": "rendered", "error": ""}
    try:
        kernel_name = job.get("kernel_name") or notebook_kernel_name(job["template"])
        pool = _kernel_pool()
        km = pool.take(kernel_name, job["cwd"], spare=job.get("spare_kernel", True))
        execute_notebook(  # papermill; the kernel over IPC, shut down without an interrupt
            job["template"],
            job["notebook"],
            parameters=job["parameters"],
            cwd=job["cwd"],
            km=km,
            execution_timeout=job.get("timeout"),
        )
    except PapermillExecutionError as exc:
        out.update(status="failed", error=redact(f"{exc.ename}: {exc.evalue}"))
    except Exception as exc:  # noqa: BLE001 - a kernel that died or is missing: reported for this cell only
        out.update(status="failed", error=redact(f"{type(exc).__name__}: {exc}"))
    out["duration_s"] = round(time.perf_counter() - started, 3)
    return out


__all__ = ["render_job", "render_notebook"]
