"""Atomic file writes: the one way the package replaces a file a reader may be reading.

The bytes go to a hidden temp file beside the target (same folder, so the rename stays on one file
system), then ``os.replace`` renames it over the target: a reader sees the old file or the new one, never
half of one. On any error the temp file is removed and the target is left as it was.

``private=True`` creates the file 0600 (run folders and sweep indexes hold prompts and answers);
otherwise it is created 0666 less the umask, like ``open()`` would (reports and tables meant to be shared).
"""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path

__all__ = ["write_bytes_atomic", "write_text_atomic"]

_PRIVATE, _SHARED = 0o600, 0o666  # the umask applies to both
_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)


def write_bytes_atomic(path: str | os.PathLike[str], data: bytes, *, private: bool = False) -> None:
    """Replace ``path`` with ``data`` in one rename."""
    folder, name = os.path.split(os.fspath(path))
    tmp = os.path.join(folder, f".{name}.{secrets.token_hex(6)}.tmp")
    fd = os.open(tmp, _FLAGS, _PRIVATE if private else _SHARED)
    try:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def write_text_atomic(path: Path, text: str, *, private: bool = False) -> None:
    """Replace ``path`` with ``text`` as UTF-8, written verbatim (no newline translation)."""
    write_bytes_atomic(path, text.encode("utf-8"), private=private)
