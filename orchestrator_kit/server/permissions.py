"""The data folder is private to the server's user: folders 0700, files 0600, whether they were just made
or were there before (an older server, a copy, a restored backup)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

PRIVATE_DIR, PRIVATE_FILE = 0o700, 0o600


def private_dir(path: Path) -> Path:
    """Create ``path`` (and parents) if needed and make it 0700."""
    path.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR)
    os.chmod(path, PRIVATE_DIR)
    return path


def make_private(root: Path) -> None:
    """Folders under ``root`` (itself included) 0700, files 0600; symbolic links are left alone."""
    private_dir(root)
    for top, dirs, files in os.walk(root):
        for name, mode in [(d, PRIVATE_DIR) for d in dirs] + [(f, PRIVATE_FILE) for f in files]:
            path = os.path.join(top, name)
            st = os.lstat(path)
            if not stat.S_ISLNK(st.st_mode) and stat.S_IMODE(st.st_mode) != mode:
                os.chmod(path, mode)


__all__ = ["PRIVATE_DIR", "PRIVATE_FILE", "make_private", "private_dir"]
