"""Helpers of the notebook tests: papermill with a real kernel, the fake key, clean environments.

Module-scoped fixtures start before the autouse per-test isolation in tests/conftest.py, so they clear
``ANTHROPIC_*`` themselves (``clean_env``) before a kernel inherits the environment.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

FAKE_KEY = "sk-ant-api03-FAKE-KEY-FOR-TESTS-ONLY-0000"
REPO = Path(__file__).resolve().parents[2]
NOTEBOOKS = REPO / "notebooks"


def readme_nbval_command() -> tuple[dict[str, str], list[str]]:
    """The README's nbval command: its environment assignments, and its pytest arguments without the
    notebooks it names (``notebooks/*.ipynb``)."""
    import re

    readme = (REPO / "README.md").read_text(encoding="utf-8")
    command = re.search(
        r"((?:[A-Z_]+=\S+ )*)\.venv/bin/python -m pytest (-q -p no:cacheprovider --nbval [^\n`]*)", readme
    )
    assert command, "the README's nbval command changed: update nbhelpers.readme_nbval_command"
    env = dict(item.split("=", 1) for item in command.group(1).split())
    return env, command.group(2).replace("notebooks/*.ipynb", "").split()


@contextmanager
def clean_env(**env: str) -> Iterator[pytest.MonkeyPatch]:
    """No ANTHROPIC_* (nor an output root) from the developer's shell; then ``env`` set. Undone on exit."""
    with pytest.MonkeyPatch.context() as mp:
        for name in list(os.environ):
            if name.startswith("ANTHROPIC_") or name == "ORCHESTRATOR_KIT_OUTPUT_ROOT":
                mp.delenv(name, raising=False)
        for name, value in env.items():
            mp.setenv(name, value)
        yield mp


def execute(
    name: str,
    out: Path,
    parameters: Mapping[str, Any] | None = None,
    *,
    cwd: Path | None = None,
    **kwargs: Any,
) -> Path:
    """Run notebooks/<name> through papermill (a real kernel) into ``out``."""
    import papermill as pm

    pm.execute_notebook(
        str(NOTEBOOKS / name),
        str(out),
        parameters=dict(parameters or {}),
        cwd=str(cwd or out.parent),
        kernel_name="python3",
        progress_bar=False,
        log_output=False,
        **kwargs,
    )
    return out


def simulated_responder(body: dict[str, Any]) -> str:
    """A FakeAnthropicServer responder that answers like the simulated backend (JSON the parser reads)."""
    from orchestrator_kit.llm.simulated import SimulatedBackend
    from orchestrator_kit.llm.types import LLMRequest, Message, SystemBlock

    system = body.get("system") or []
    if isinstance(system, str):
        system = [{"text": system}]
    messages = []
    for m in body["messages"]:
        content = m["content"]
        if isinstance(content, list):
            content = "".join(block.get("text", "") for block in content)
        messages.append(Message(role=m["role"], content=content))
    request = LLMRequest(
        model=body["model"],
        system=tuple(SystemBlock(text=b["text"]) for b in system),
        messages=tuple(messages),
        max_tokens=body["max_tokens"],
    )
    return SimulatedBackend().answer(request)


def code_outputs(nb: Any) -> list[dict[str, Any]]:
    return [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
