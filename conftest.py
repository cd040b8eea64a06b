"""Loaded by every pytest run in this checkout, including the README's nbval run over ``notebooks/*.ipynb``.

nbval (and nbmake) start each notebook's kernel in the notebook's own folder, so the notebooks' default
output folders (``runs``, ``out/batch``) would land in the source tree. Under those plugins the notebooks
write under a temporary ``ORCHESTRATOR_KIT_OUTPUT_ROOT`` instead (see ``notebook_params.output_path``),
removed when the run ends.
"""

from __future__ import annotations

import os
import shutil
import tempfile

import pytest

OUTPUT_ROOT_VAR = "ORCHESTRATOR_KIT_OUTPUT_ROOT"  # notebook_params.OUTPUT_ROOT_VAR (not imported: stay light)
_NOTEBOOK_PLUGINS = ("nbval", "nbval_lax", "nbmake")
_created: list[str] = []


def pytest_configure(config: pytest.Config) -> None:
    if any(config.getoption(name, default=False) for name in _NOTEBOOK_PLUGINS):
        root = tempfile.mkdtemp(prefix="orchestrator-kit-notebooks-")
        _created.append(root)
        os.environ[OUTPUT_ROOT_VAR] = root


def pytest_unconfigure(config: pytest.Config) -> None:
    while _created:
        root = _created.pop()
        if os.environ.get(OUTPUT_ROOT_VAR) == root:
            del os.environ[OUTPUT_ROOT_VAR]
        shutil.rmtree(root, ignore_errors=True)
