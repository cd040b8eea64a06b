"""The server's own failures (each maps to one HTTP status in ``error_map``), and the rule that makes an
error's text safe to show: no key-shaped text, no absolute server paths (shown relative to the data folder)."""

from __future__ import annotations

from pathlib import Path

from ..errors import ConfigError
from ..store.run_folder import redact


class Conflict(ConfigError):
    """The request is valid but the resource's state forbids it (HTTP 409)."""


class DamagedRun(Conflict):
    """A run folder whose files cannot be read as a run (hand-edited or damaged): HTTP 409."""


class TooManyQueued(ConfigError):
    """The user has as many runs waiting as the server allows (HTTP 429, with Retry-After)."""

    def __init__(self, message: str, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


def public_text(text: str, data_dir: Path) -> str:
    """``text`` with key-shaped text redacted and paths under ``data_dir`` shown relative to it."""
    base = str(data_dir)
    return redact(text.replace(base + "/", "").replace(base, "."))


__all__ = ["Conflict", "DamagedRun", "TooManyQueued", "public_text"]
