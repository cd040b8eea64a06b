"""Where the Anthropic API key comes from, without ever showing it.

Lookup order (first wins): an explicit argument (e.g. a password widget), the ``ANTHROPIC_API_KEY``
environment variable, then ``ANTHROPIC_API_KEY`` in a ``.env`` file (found from the current folder
upwards; read, never loaded into ``os.environ``). Blank values count as absent, and so do placeholders
(``sk-ant-api03-...``, ``your-key-here``, ``<your key>``, ``xxxx``, ``changeme``, the value of
``.env.example``: see ``is_placeholder_key``): the lookup warns naming where the placeholder sits and
goes on to the next source. A .env file that is not UTF-8 text is a ConfigError naming it; a line naming
``ANTHROPIC_API_KEY`` that python-dotenv cannot read warns (``UnreadableKeyLineWarning``).
"""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import SecretStr

from ..errors import ConfigError, OrchestratorWarning

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


# Words that only a template puts where a key belongs (compared with separators removed, lower case).
_PLACEHOLDER_WORDS = (
    "yourkey",
    "yourapikey",
    "youranthropic",
    "keyhere",
    "apikeyhere",
    "yourkeyhere",
    "changeme",
    "replaceme",
    "placeholder",
    "insertkey",
    "insertyour",
    "putyour",
    "enteryour",
    "redacted",
)
_PLACEHOLDER_EXACT = frozenset(
    {
        "sk-ant",
        "sk-ant-",
        "sk-ant-api03",
        "sk-ant-api03-",
        "none",
        "null",
        "todo",
        "tbd",
        "key",
        "apikey",
        "secret",
    }
)
_SEPARATORS = re.compile(r"[\s\-_.]+")
_FILLER = re.compile(r"^(?:sk-ant-)?(?:api\d\d-)?(.*)$", re.IGNORECASE)


def is_placeholder_key(value: str | SecretStr) -> bool:
    """True for text a template puts where a key belongs, never for a real key.

    The family: an ellipsis (``sk-ant-api03-...``, ``sk-ant-…``), angle or curly brackets or blanks
    inside (``<your key>``, ``${ANTHROPIC_API_KEY}``), template words (``your-key-here``, ``changeme``,
    ``replace_me``, ``placeholder``, ``insert key``), a body of one repeated character after the
    prefix (``xxxxxxxx``, ``sk-ant-api03-XXXX-XXXX``, ``0000``, ``****``), and a bare prefix.
    Real Anthropic keys are ``sk-ant-`` followed by letters, digits, ``-`` and ``_`` only.
    """
    text = (value.get_secret_value() if isinstance(value, SecretStr) else value).strip()
    low = text.lower()
    if not text or low in _PLACEHOLDER_EXACT:
        return bool(text)
    if "..." in text or "…" in text or re.search(r"[<>{}\[\]()\s]", text):
        return True
    squashed = _SEPARATORS.sub("", low)
    if any(word in squashed for word in _PLACEHOLDER_WORDS):
        return True
    body = _SEPARATORS.sub("", _FILLER.match(text).group(1))  # type: ignore[union-attr]
    return len(set(body.lower())) <= 1  # "", "xxxx", "0000", "****"


def placeholder_warning(source: str) -> str:
    """The message for a placeholder found in ``source`` (e.g. "the .env file /p/.env")."""
    return (
        f"the ANTHROPIC_API_KEY in {source} is a placeholder, not a key; it is ignored (no key from there). "
        "Put your real key there (console.anthropic.com), or remove the line to run in simulated mode"
    )


class PlaceholderKeyWarning(OrchestratorWarning):
    """A placeholder stood where a key belongs; it was treated as no key."""


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


@dataclass(frozen=True)
class KeyLookup:
    """What the lookup found: the key (or None) and every placeholder it passed over, as
    descriptions of where each sat (e.g. "the environment variable ANTHROPIC_API_KEY")."""

    key: KeyInfo | None
    placeholders: tuple[str, ...] = ()

    def no_key_reason(self) -> str:
        """Why there is no key, for an error message (names the placeholders, if any)."""
        if not self.placeholders:
            return "no Anthropic API key was found"
        return "only placeholders were found where the key belongs: " + "; ".join(
            f"{where} holds a placeholder, not a key" for where in self.placeholders
        )


def lookup_api_key(
    explicit: str | SecretStr | None = None,
    *,
    env: Mapping[str, str] | None = None,
    dotenv_path: str | os.PathLike[str] | None = None,
) -> KeyLookup:
    """Like ``resolve_api_key``, and also says which placeholders were passed over (warning once each)."""
    found: list[KeyInfo] = []
    skipped: list[str] = []

    def consider(info: KeyInfo) -> bool:
        if is_placeholder_key(info.value):
            skipped.append(info.description)
            warnings.warn(placeholder_warning(info.description), PlaceholderKeyWarning, stacklevel=4)
            return False
        found.append(info)
        return True

    raw = explicit.get_secret_value() if isinstance(explicit, SecretStr) else explicit
    if (value := _present(raw)) is not None and consider(KeyInfo("argument", "argument", SecretStr(value))):
        return KeyLookup(found[0], tuple(skipped))

    environ = os.environ if env is None else env
    if (value := _present(environ.get(ENV_VAR))) is not None and consider(
        KeyInfo("environment", ENV_VAR, SecretStr(value))
    ):
        return KeyLookup(found[0], tuple(skipped))

    from dotenv import find_dotenv

    path = str(dotenv_path) if dotenv_path is not None else find_dotenv(usecwd=True)
    if path and Path(path).is_file():
        value = _present(_dotenv_key(Path(path)))
        if value is not None and consider(KeyInfo("dotenv", str(Path(path).resolve()), SecretStr(value))):
            return KeyLookup(found[0], tuple(skipped))
    return KeyLookup(None, tuple(skipped))


class UnreadableKeyLineWarning(OrchestratorWarning):
    """A .env file names ANTHROPIC_API_KEY on a line python-dotenv could not read: no key from there."""


_KEY_LINE = re.compile(rf"^\s*(?:export\s+)?{ENV_VAR}\b", re.MULTILINE)


def _dotenv_key(path: Path) -> str | None:
    """``ANTHROPIC_API_KEY`` of the .env file at ``path`` (None if it has none); a file that cannot be read
    as UTF-8 text is a ConfigError naming it, and a key line python-dotenv cannot read warns."""
    import io

    from dotenv import dotenv_values

    where = str(path.resolve())
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(
            f"the .env file {where} cannot be read ({exc.strerror}); fix its permissions or remove it"
        ) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        utf16 = " (it is UTF-16, as PowerShell's '>' writes)" if raw[:2] in (b"\xff\xfe", b"\xfe\xff") else ""
        raise ConfigError(
            f"the .env file {where} is not UTF-8 text{utf16}; save it as UTF-8 (e.g. "
            "Set-Content -Encoding utf8, or your editor's 'UTF-8' option), or remove it"
        ) from None
    value = dotenv_values(stream=io.StringIO(text)).get(ENV_VAR)
    if value is None and _KEY_LINE.search(text):
        warnings.warn(
            f"the .env file {where} names {ENV_VAR} on a line that could not be read (no '=', or an "
            f"unclosed quote), so no key comes from there; write it as {ENV_VAR}=sk-ant-...",
            UnreadableKeyLineWarning,
            stacklevel=4,
        )
    return value


def resolve_api_key(
    explicit: str | SecretStr | None = None,
    *,
    env: Mapping[str, str] | None = None,
    dotenv_path: str | os.PathLike[str] | None = None,
) -> KeyInfo | None:
    """The key to use and its source, or None when there is none anywhere.

    ``env`` defaults to ``os.environ``. ``dotenv_path`` defaults to the nearest ``.env`` from the
    current working directory upwards (``find_dotenv(usecwd=True)``). A placeholder counts as no key
    (with a PlaceholderKeyWarning naming where it sits); the lookup goes on to the next source.
    """
    return lookup_api_key(explicit, env=env, dotenv_path=dotenv_path).key
