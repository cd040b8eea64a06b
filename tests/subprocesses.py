"""What the tests give a child process: this environment without any ``ANTHROPIC_*`` variable (no developer key
or base URL leaks into a subprocess), and ``orchestrator-kit`` run as a real subprocess. Imported by name from
any test folder (tests/ has no packages; its conftest puts this folder on the path)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def clean_env(**extra: str) -> dict[str, str]:
    """``os.environ`` without ``ANTHROPIC_*`` variables, then ``extra`` (e.g. a fake key and base URL)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANTHROPIC_")}
    env.update(extra)
    return env


def run_cli(
    *args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """``python -m orchestrator_kit ARGS`` in ``cwd`` (``env``: default :func:`clean_env`), output captured."""
    return subprocess.run(
        [sys.executable, "-m", "orchestrator_kit", *args],
        cwd=cwd,
        env=env or clean_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
