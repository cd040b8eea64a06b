"""Sweeps: a grid of runs (requests x models x settings x repeats), every cell at once in one driver,
each cell's workflow notebook rendered from its run folder on an executor (local processes or Dask).

    from orchestrator_kit import run_sweep
    result = run_sweep("GRID.yaml", "out/sweep")      # or: orchestrator-kit batch GRID.yaml -o out/sweep
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_exports

_LAZY = {
    "run_sweep": "orchestrator_kit.sweep.driver",
    "resume_sweep": "orchestrator_kit.sweep.driver",
    "SweepResult": "orchestrator_kit.sweep.result",
    "Grid": "orchestrator_kit.sweep.grid",
    "Cell": "orchestrator_kit.sweep.grid",
    "load_grid": "orchestrator_kit.sweep.grid",
    "expand": "orchestrator_kit.sweep.grid",
    "SweepFolder": "orchestrator_kit.sweep.folder",
    "is_sweep": "orchestrator_kit.sweep.folder",
    "make_executor": "orchestrator_kit.sweep.executors",
    "build_sweep_backend": "orchestrator_kit.sweep.backend",
    "SweepEvent": "orchestrator_kit.sweep.progress",
    "SweepProgress": "orchestrator_kit.sweep.progress",
}
__all__ = list(_LAZY)

if TYPE_CHECKING:  # pragma: no cover
    # `X as X`: the explicit re-export form, for type checkers (the names load lazily at run time)
    from .backend import build_sweep_backend as build_sweep_backend
    from .driver import resume_sweep as resume_sweep
    from .driver import run_sweep as run_sweep
    from .executors import make_executor as make_executor
    from .folder import SweepFolder as SweepFolder
    from .folder import is_sweep as is_sweep
    from .grid import Cell as Cell
    from .grid import Grid as Grid
    from .grid import expand as expand
    from .grid import load_grid as load_grid
    from .progress import SweepEvent as SweepEvent
    from .progress import SweepProgress as SweepProgress
    from .result import SweepResult as SweepResult

__getattr__ = lazy_exports(__name__, _LAZY)
