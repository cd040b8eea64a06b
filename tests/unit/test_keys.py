"""API key lookup order, .env discovery, masking and the format warning."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from pydantic import SecretStr

from orchestrator_kit.llm.keys import KeyInfo, check_key_format, mask_key, resolve_api_key

ARG_KEY = "sk-ant-test-argument-key-0001"
ENV_KEY = "sk-ant-test-environment-key-0002"
DOTENV_KEY = "sk-ant-test-dotenv-key-0003"

pytestmark = pytest.mark.usefixtures("anthropic_env")


@pytest.fixture
def dotenv_file(tmp_path: Path) -> Path:
    path = tmp_path / ".env"
    path.write_text(f"OTHER=1\nANTHROPIC_API_KEY={DOTENV_KEY}\n")
    return path


def test_explicit_argument_wins(dotenv_file: Path) -> None:
    info = resolve_api_key(ARG_KEY, env={"ANTHROPIC_API_KEY": ENV_KEY}, dotenv_path=dotenv_file)
    assert info is not None
    assert (info.source, info.source_detail, info.value.get_secret_value()) == (
        "argument",
        "argument",
        ARG_KEY,
    )


def test_secretstr_argument_is_accepted() -> None:
    info = resolve_api_key(SecretStr(ARG_KEY), env={})
    assert info is not None and info.value.get_secret_value() == ARG_KEY


def test_environment_beats_dotenv(dotenv_file: Path) -> None:
    info = resolve_api_key(None, env={"ANTHROPIC_API_KEY": ENV_KEY}, dotenv_path=dotenv_file)
    assert info is not None
    assert (info.source, info.source_detail, info.value.get_secret_value()) == (
        "environment",
        "ANTHROPIC_API_KEY",
        ENV_KEY,
    )


def test_blank_values_count_as_absent(dotenv_file: Path) -> None:
    info = resolve_api_key("   ", env={"ANTHROPIC_API_KEY": ""}, dotenv_path=dotenv_file)
    assert info is not None and info.source == "dotenv"


def test_os_environ_is_the_default(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", ENV_KEY)
    info = resolve_api_key(dotenv_path=tmp_path / "missing.env")
    assert info is not None and info.source == "environment"


def test_dotenv_is_found_upwards_from_cwd_and_not_loaded(
    dotenv_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    nested = tmp_path / "project" / "notebooks"
    nested.mkdir(parents=True)
    monkeypatch.chdir(nested)
    info = resolve_api_key(env={})
    assert info is not None
    assert info.source == "dotenv"
    assert info.source_detail == str(dotenv_file.resolve())
    assert info.value.get_secret_value() == DOTENV_KEY
    assert "ANTHROPIC_API_KEY" not in os.environ
    assert "OTHER" not in os.environ


def test_dotenv_without_the_key_gives_none(tmp_path: Path) -> None:
    path = tmp_path / "other.env"
    path.write_text("SOMETHING_ELSE=1\n")
    assert resolve_api_key(env={}, dotenv_path=path) is None


def test_no_key_anywhere_gives_none(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert resolve_api_key(env={}, dotenv_path=tmp_path / "missing.env") is None


def test_keyinfo_repr_and_str_hide_the_key() -> None:
    info = KeyInfo("environment", "ANTHROPIC_API_KEY", SecretStr(ENV_KEY))
    for text in (repr(info), str(info), f"{info}"):
        assert ENV_KEY not in text
        assert ENV_KEY[:-4] not in text
        assert "environment" in text
        assert "…0002" in text
    assert "environment variable ANTHROPIC_API_KEY" in info.description


@pytest.mark.parametrize(
    ("key", "masked"),
    [
        (ENV_KEY, "…0002"),
        (SecretStr(ENV_KEY), "…0002"),
        ("short-key", "…"),
        ("", "(empty)"),
        (None, "(empty)"),
    ],
)
def test_mask_key_shows_at_most_four_characters(key: str | SecretStr | None, masked: str) -> None:
    assert mask_key(key) == masked


@pytest.mark.parametrize("key", ["sk-ant-api03-abcdef", SecretStr("sk-ant-test-not-a-real-key")])
def test_anthropic_looking_keys_pass_the_format_check(key: str | SecretStr) -> None:
    assert check_key_format(key) is None


@pytest.mark.parametrize(
    ("key", "needle"),
    [
        ("sk-proj-openai-looking-key-1234", "sk-ant-"),
        ("", "empty"),
        (" sk-ant-api03-abcdef\n", "whitespace"),
    ],
)
def test_odd_keys_get_a_warning_that_hides_the_key(key: str, needle: str) -> None:
    warning = check_key_format(key)
    assert warning is not None and needle in warning
    if key.strip():
        assert key.strip() not in warning
