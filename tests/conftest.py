"""Shared test setup: no developer environment leaks in, nothing is written into the checkout.

The fixtures ``fake_anthropic`` and ``anthropic_env`` come from ``orchestrator_kit.testing.pytest_plugin``,
which the installed package registers through its ``pytest11`` entry point (so it is not listed here).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

# tests/fixtures/ holds run folders written by older versions (data to read, not tests to collect)
collect_ignore_glob = ["fixtures/*"]


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--run-live",
        action="store_true",
        default=False,
        help="run tests marked 'live' (they call the real Anthropic API and need ANTHROPIC_API_KEY)",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--run-live"):
        return
    skip_live = pytest.mark.skip(reason="live test: calls the real Anthropic API; opt in with --run-live")
    for item in items:
        if "live" in item.keywords:
            item.add_marker(skip_live)


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    """Clear every ``ANTHROPIC_*`` variable, point ``ANTHROPIC_CONFIG_DIR`` at an empty folder and run
    the test from ``tmp_path`` (so no ``.env`` of the checkout is found and relative paths land there)."""
    for name in list(os.environ):
        if name.startswith("ANTHROPIC_"):
            monkeypatch.delenv(name, raising=False)
    config_dir = tmp_path / ".anthropic-config"
    config_dir.mkdir(exist_ok=True)
    monkeypatch.setenv("ANTHROPIC_CONFIG_DIR", str(config_dir))
    monkeypatch.delenv("ORCHESTRATOR_KIT_OUTPUT_ROOT", raising=False)  # notebooks write under tmp_path
    monkeypatch.chdir(tmp_path)
    yield tmp_path


@pytest.fixture
def no_key_anywhere(tmp_path: Path) -> None:
    """Skip when a ``.env`` above the temporary folder would hand the code a key (we cannot hide it)."""
    from dotenv import dotenv_values, find_dotenv

    found = find_dotenv(usecwd=True)
    if found and dotenv_values(found).get("ANTHROPIC_API_KEY"):
        pytest.skip(f"{found} sets ANTHROPIC_API_KEY above the test folder; these tests need no key anywhere")
