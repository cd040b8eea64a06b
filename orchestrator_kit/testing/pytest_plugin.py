"""pytest fixtures: a running fake Messages API, and an environment free of real Anthropic settings.

Enable with ``pytest_plugins = ["orchestrator_kit.testing.pytest_plugin"]`` in a conftest.py (or
``-p orchestrator_kit.testing.pytest_plugin``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from .fake_server import FakeAnthropicServer


@pytest.fixture
def fake_anthropic() -> Iterator[FakeAnthropicServer]:
    """A started ``FakeAnthropicServer`` (fresh per test), stopped afterwards."""
    with FakeAnthropicServer() as server:
        yield server


@pytest.fixture
def anthropic_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Remove every ``ANTHROPIC_*`` variable and point ``ANTHROPIC_CONFIG_DIR`` at an empty folder,
    so a developer's key, base URL or profile can't leak into a test. Returns that folder."""
    for name in list(os.environ):
        if name.startswith("ANTHROPIC_"):
            monkeypatch.delenv(name, raising=False)
    config_dir = tmp_path / "anthropic-config"
    config_dir.mkdir()
    monkeypatch.setenv("ANTHROPIC_CONFIG_DIR", str(config_dir))
    return config_dir
