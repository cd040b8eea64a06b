"""Where the Anthropic API key comes from, without ever showing it.

Lookup order (first wins): an explicit argument (e.g. a password widget), the ``ANTHROPIC_API_KEY``
environment variable, then ``ANTHROPIC_API_KEY`` in a ``.env`` file (found from the current folder
upwards; read, never loaded into ``os.environ``). Blank values count as absent.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import SecretStr

ENV_VAR = "ANTHROPIC_API_KEY"
KEY_PREFIX = "sk-ant-"
KeySource = Literal["argument", "environment", "dotenv"]


def mask_key(key: str | SecretStr | None) -> str:
    """``…ab12``: at most the last 4 characters, and none at all of a key shorter than 16."""
    value = key.get_secret_value() if isinstance(key, SecretStr) else (key or "")
    value = value.strip()
    if not value:
        return "(empty)"
    return "…" + value[-4:] if len(value) >= 16 else "…"


def check_key_format(key: str | SecretStr) -> str | None:
    """A warning message when the key does not look like an Anthropic key, else None. Never refuses."""
    value = key.get_secret_value() if isinstance(key, SecretStr) else key
    if not value.strip():
        return "the API key is empty"
    if value != value.strip():
        return "the API key has leading or trailing whitespace; it will be sent as given"
    if not value.startswith(KEY_PREFIX):
        return (
            f"the API key does not start with {KEY_PREFIX!r} (ends {mask_key(value)}), so it may not be "
            "an Anthropic API key; it will be tried anyway"
        )
    return None


@dataclass(frozen=True)
class KeyInfo:
    """A resolved key and where it came from. Its repr and str show only the source and a masked tail."""

    source: KeySource
    source_detail: str  # "argument", "ANTHROPIC_API_KEY", or the .env path
    value: SecretStr

    @property
    def description(self) -> str:
        """Where the key came from, in words (for error messages)."""
        if self.source == "environment":
            return f"the environment variable {self.source_detail}"
        if self.source == "dotenv":
            return f"the .env file {self.source_detail}"
        return "the argument passed in" if self.source_detail == "argument" else self.source_detail

    def __repr__(self) -> str:
        return f"KeyInfo(source={self.source!r}, source_detail={self.source_detail!r}, value={mask_key(self.value)!r})"

    __str__ = __repr__


def _present(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    return value or None


def resolve_api_key(
    explicit: str | SecretStr | None = None,
    *,
    env: Mapping[str, str] | None = None,
    dotenv_path: str | os.PathLike[str] | None = None,
) -> KeyInfo | None:
    """The key to use and its source, or None when there is none anywhere.

    ``env`` defaults to ``os.environ``. ``dotenv_path`` defaults to the nearest ``.env`` from the
    current working directory upwards (``find_dotenv(usecwd=True)``).
    """
    raw = explicit.get_secret_value() if isinstance(explicit, SecretStr) else explicit
    if (value := _present(raw)) is not None:
        return KeyInfo("argument", "argument", SecretStr(value))

    environ = os.environ if env is None else env
    if (value := _present(environ.get(ENV_VAR))) is not None:
        return KeyInfo("environment", ENV_VAR, SecretStr(value))

    from dotenv import dotenv_values, find_dotenv

    path = str(dotenv_path) if dotenv_path is not None else find_dotenv(usecwd=True)
    if path and Path(path).is_file():
        if (value := _present(dotenv_values(path).get(ENV_VAR))) is not None:
            return KeyInfo("dotenv", str(Path(path).resolve()), SecretStr(value))
    return None
