"""The server's own failures (each maps to one HTTP status in ``error_map``), and the rule that makes an
error's text safe to show: no key-shaped text, no absolute server paths (shown relative to the data folder)."""

from __future__ import annotations

from pathlib import Path

from ..errors import Conflict, DamagedRun, TooManyQueued  # defined in the tree, re-exported
from ..store.run_folder import redact


def public_text(text: str, data_dir: Path) -> str:
    """``text`` with key-shaped text redacted and paths under ``data_dir`` shown relative to it."""
    base = str(data_dir)
    return redact(text.replace(base + "/", "").replace(base, "."))


def clipped(value: str, limit: int = 80) -> str:
    """``value`` as given by a client, at most ``limit`` characters of it (an id, a path or a field name may
    be any length): ``abc… (30,000 characters)`` when cut."""
    return value if len(value) <= limit else f"{value[:limit]}… ({len(value):,} characters)"


def quoted(value: str, limit: int = 80) -> str:
    """``clipped``, quoted: ``'abc'``, or ``'abc…' (30,000 characters)`` when cut."""
    return repr(value) if len(value) <= limit else f"{value[:limit]!r}… ({len(value):,} characters)"


__all__ = ["Conflict", "DamagedRun", "TooManyQueued", "clipped", "public_text", "quoted"]
