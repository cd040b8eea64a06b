"""Objective quality of finished runs: sandboxed checks of the generated code, completeness, judgement.

Reads and writes run folders only (``evaluation.json``). Names load lazily.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_exports

_LAZY = {
    "Evaluation": "checks",
    "evaluate_run": "checks",
    "evaluate_many": "checks",
    "find_run_dirs": "checks",
    "Limits": "sandbox",
    "run_sandboxed": "sandbox",
    "isolation_available": "sandbox",
}
__all__ = list(_LAZY)

if TYPE_CHECKING:  # pragma: no cover
    from .checks import Evaluation, evaluate_many, evaluate_run, find_run_dirs
    from .sandbox import Limits, isolation_available, run_sandboxed

__getattr__ = lazy_exports(__name__, _LAZY)
