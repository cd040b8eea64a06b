"""Placeholder keys (``.env.example``'s, ``sk-ant-api03-...``, ``your-key-here``, ...) count as no key:
the lookup warns naming where each sat and moves on; mode ``real`` fails naming them; ``auto`` runs
simulated instead of making real calls that can only fail."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
from dotenv import dotenv_values
from subprocesses import clean_env

from orchestrator_kit.errors import ConfigError
from orchestrator_kit.llm.anthropic_backend import AnthropicBackend
from orchestrator_kit.llm.keys import (
    PlaceholderKeyWarning,
    is_placeholder_key,
    lookup_api_key,
    resolve_api_key,
)
from orchestrator_kit.llm.selection import select_backend

pytestmark = pytest.mark.usefixtures("anthropic_env")

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = dotenv_values(REPO / ".env.example")["ANTHROPIC_API_KEY"]
REAL_LOOKING = "sk-ant-test-fake"

PLACEHOLDERS = [
    EXAMPLE,
    "sk-ant-api03-...",
    "sk-ant-...",
    "sk-ant-…",
    "sk-ant-api03-…",
    "sk-ant-api03-xxxx...xxxx",
    "...",
    "your-key-here",
    "YOUR_API_KEY",
    "your_anthropic_api_key",
    "<your key>",
    "<YOUR_ANTHROPIC_API_KEY>",
    "${ANTHROPIC_API_KEY}",
    "{api_key}",
    "[key]",
    "sk-ant-your-key",
    "sk-ant-api03-YOUR-KEY-HERE",
    "xxx",
    "xxxxxxxxxxxxxxxxxxxxxxxx",
    "XXXXXXXX-XXXX-XXXX",
    "sk-ant-api03-xxxxxxxxxxxxxxxxxxxx",
    "sk-ant-XXXX-XXXX-XXXX",
    "sk-ant-00000000",
    "****************",
    "changeme",
    "CHANGE_ME",
    "replace-me",
    "replace_with_your_key",
    "placeholder",
    "insert key here",
    "put-your-key-here",
    "enter your api key",
    "sk-ant-",
    "sk-ant-api03-",
    "none",
    "TODO",
]
NOT_PLACEHOLDERS = [
    REAL_LOOKING,
    "sk-ant-api03-FAKE-KEY-FOR-TESTS-ONLY-0000",
    "sk-ant-test-argument-key-0001",
    "sk-ant-api03-Ab3_dE-9fGhIjKlMnOp",
    "sk-ant-admin01-q8W2e4R6t8Y0",
    "sk-ant-test-not-a-real-key",
    "not-an-anthropic-key-123",  # odd, but not a template: it gets the format warning, not this one
]


@pytest.mark.parametrize("value", PLACEHOLDERS)
def test_the_placeholder_family_is_recognised(value: str) -> None:
    assert is_placeholder_key(value)


@pytest.mark.parametrize("value", NOT_PLACEHOLDERS)
def test_keys_are_not_placeholders(value: str) -> None:
    assert not is_placeholder_key(value)


def test_env_example_ships_a_placeholder() -> None:
    assert EXAMPLE and is_placeholder_key(EXAMPLE)


def test_placeholder_argument_is_no_key_and_the_lookup_goes_on() -> None:
    with pytest.warns(PlaceholderKeyWarning, match="the argument passed in is a placeholder|in the argument"):
        info = resolve_api_key("sk-ant-api03-...", env={"ANTHROPIC_API_KEY": REAL_LOOKING})
    assert info is not None and info.source == "environment"


def test_placeholder_in_the_environment_is_no_key(tmp_path: Path) -> None:
    with pytest.warns(PlaceholderKeyWarning, match="environment variable ANTHROPIC_API_KEY") as caught:
        lookup = lookup_api_key(env={"ANTHROPIC_API_KEY": "your-key-here"}, dotenv_path=tmp_path / "none.env")
    assert lookup.key is None and lookup.placeholders == ("the environment variable ANTHROPIC_API_KEY",)
    assert all("your-key-here" not in str(w.message) for w in caught)  # the value is never echoed


def test_placeholder_in_dotenv_names_the_file(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text((REPO / ".env.example").read_text())  # cp .env.example .env, not edited
    with pytest.warns(PlaceholderKeyWarning, match=str(env_file.resolve())):
        lookup = lookup_api_key(env={}, dotenv_path=env_file)
    assert lookup.key is None
    assert lookup.placeholders == (f"the .env file {env_file.resolve()}",)


def test_a_placeholder_does_not_hide_a_real_key_further_down(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text(f"ANTHROPIC_API_KEY={REAL_LOOKING}\n")
    with pytest.warns(PlaceholderKeyWarning):
        info = resolve_api_key("<your key>", env={"ANTHROPIC_API_KEY": "changeme"}, dotenv_path=env_file)
    assert info is not None and info.source == "dotenv"


@pytest.mark.parametrize("source", ["argument", "environment", "dotenv"])
def test_mode_real_fails_naming_where_the_placeholder_sits(tmp_path: Path, source: str) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("ANTHROPIC_API_KEY=sk-ant-api03-your-key-here\n" if source == "dotenv" else "")
    where = {
        "argument": "the argument passed in",
        "environment": "the environment variable ANTHROPIC_API_KEY",
        "dotenv": f"the .env file {env_file.resolve()}",
    }[source]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PlaceholderKeyWarning)
        with pytest.raises(ConfigError, match="placeholder") as info:
            select_backend(
                "real",
                api_key="sk-ant-..." if source == "argument" else None,
                env={"ANTHROPIC_API_KEY": "xxxxxxxx"} if source == "environment" else {},
                dotenv_path=env_file,
            )
    assert where in str(info.value) and "simulated" in str(info.value)


def test_mode_auto_with_a_placeholder_runs_simulated_and_warns(tmp_path: Path) -> None:
    with pytest.warns(PlaceholderKeyWarning, match="environment variable"):
        choice = select_backend("auto", env={"ANTHROPIC_API_KEY": "<your key>"}, dotenv_path=tmp_path / "x")
    assert choice.mode == "simulated"


def test_the_backend_refuses_a_placeholder_given_to_it() -> None:
    with pytest.raises(ConfigError, match="placeholder") as info:
        AnthropicBackend("sk-ant-api03-...", key_source="the password widget")
    assert "the password widget" in str(info.value)


def test_the_run_command_with_the_example_env_file_runs_simulated(tmp_path: Path) -> None:
    import subprocess
    import sys

    (tmp_path / ".env").write_text((REPO / ".env.example").read_text())
    env = clean_env()
    proc = subprocess.run(
        [sys.executable, "-m", "orchestrator_kit", "run", "x", "--agents", "architect", "-q", "-o", "runs"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert "mode: simulated" in proc.stdout and "placeholder" in proc.stderr
    assert str((tmp_path / ".env").resolve()) in proc.stderr
    real = subprocess.run(
        [sys.executable, "-m", "orchestrator_kit", "run", "x", "--mode", "real", "-o", "runs"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert real.returncode == 2 and "placeholder" in real.stderr and "your-key-here" not in real.stderr
