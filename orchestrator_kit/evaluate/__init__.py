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
    # `X as X`: the explicit re-export form, for type checkers (the names load lazily at run time)
    from .checks import Evaluation as Evaluation
    from .checks import evaluate_many as evaluate_many
    from .checks import evaluate_run as evaluate_run
    from .checks import find_run_dirs as find_run_dirs
    from .sandbox import Limits as Limits
    from .sandbox import isolation_available as isolation_available
    from .sandbox import run_sandboxed as run_sandboxed

__getattr__ = lazy_exports(__name__, _LAZY)
