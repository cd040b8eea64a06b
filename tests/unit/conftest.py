"""Fixtures shared by the unit tests."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from orchestrator_kit.agents import prompt_builder
from orchestrator_kit.store.run_folder import RunFolder


@pytest.fixture
def prompts_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A copy of the shipped templates read in place of them (as a fresh process would read them)."""
    root = tmp_path / "prompts"
    shutil.copytree(Path(str(prompt_builder._root())), root, ignore=shutil.ignore_patterns("simulated"))
    monkeypatch.setattr(prompt_builder, "_root", lambda: root)
    prompt_builder._forget_templates()
    yield root
    monkeypatch.undo()
    prompt_builder._forget_templates()


@pytest.fixture
def folder(tmp_path: Path) -> RunFolder:
    """A new, empty run folder (its artifacts/ made, its manifest written)."""
    return RunFolder.create(tmp_path / "runs", {"request": "r", "mode": "simulated"})
