"""The folders under one run's ``artifacts/``, made or checked once per writer.

Writing an artifact used to resolve its whole path (an ``lstat`` per component) and ``mkdir`` its
folder every time. A writer (one ``RunFolder`` object) now remembers each folder it made (``mkdir``
succeeded: a real folder of its own) or found already there and checked: a real folder, or a symbolic
link that stays inside ``artifacts/`` (one leading out is refused, as before). Names are checked
lexically before they get here (``artifact_paths.check_relpath``: no ``..``, no absolute paths), so a
symbolic link is the only way out, and it is looked for on the first use of each folder.

A link planted later, while the writer is running, is not looked for again: a run folder is its
owner's only (0700), and a new writer (``resume``, another process) checks afresh. A run folder given
by a relative path is looked up again when the working directory changes (paths stay relative, as the
ledger's are).
"""

from __future__ import annotations

import contextlib
import os
import stat

from ..errors import ConfigError

__all__ = ["ArtifactDirs"]


class ArtifactDirs:
    """Paths (``str``) of the folders under ``artifacts/`` (``root``), made 0700 when missing."""

    def __init__(self, root: str, mode: int) -> None:
        self.root = root
        self._mode = mode
        self._known: dict[str, str] = {}  # folder relative to root ("" for root) -> its path
        self._cwd = None if os.path.isabs(root) else os.getcwd()

    def folder(self, rel: str) -> str:
        """The path of ``root/rel`` (``rel`` a checked relative POSIX path, "" for root itself), made
        if missing. ConfigError if it is, or is below, a symbolic link leading out of ``root``."""
        if self._cwd is not None and os.getcwd() != self._cwd:
            self._known.clear()
            self._cwd = os.getcwd()
        path = self._known.get(rel)
        if path is None:
            path = self._make(rel)
            self._known[rel] = path
        return path

    def forget(self) -> None:
        """Forget every folder made or checked (one was removed: each is made or checked again)."""
        self._known.clear()

    def _make(self, rel: str) -> str:
        if not rel:
            with contextlib.suppress(FileExistsError):  # else as the run folder has it (a folder or a link)
                os.mkdir(self.root, self._mode)
            return self.root
        parent, _, name = rel.rpartition("/")
        path = f"{self.folder(parent)}/{name}"
        try:
            os.mkdir(path, self._mode)
        except FileExistsError:
            mode = os.lstat(path).st_mode
            if stat.S_ISLNK(mode):
                self._check_link(path, rel)
            elif not stat.S_ISDIR(mode):
                raise
        return path

    def _check_link(self, path: str, rel: str) -> None:
        real, base = os.path.realpath(path), os.path.realpath(self.root)
        if not real.startswith(base + os.sep):
            raise ConfigError(
                f"artifact folder {rel!r} is a symbolic link to {real!r}: the artifact path escapes the "
                "run folder; remove the link"
            )
