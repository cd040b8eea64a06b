"""The folders under one run's ``artifacts/``: checked at every write with one ``lstat`` each.

Writing an artifact used to resolve its whole path (an ``lstat`` per component of the absolute path)
and ``mkdir`` its folder every time. Names are checked lexically before they get here
(``artifact_paths.check_relpath``: no ``..``, no absolute paths), so a symbolic link is the only way out
of ``artifacts/``; each folder from ``artifacts/`` down to the file's is now looked at with one ``lstat``
(made 0700 when missing; a folder new to the writer is made first, and looked at only if it exists):
a real folder is used, a symbolic link is followed only if it stays inside
``artifacts/`` (one leading out is refused, as before), even when it was planted after earlier writes.
``artifacts/`` itself may be a link (as before), but not one that changes target during the writer's life.
"""

from __future__ import annotations

import errno
import os
import stat

from ..errors import ConfigError

__all__ = ["ArtifactDirs"]


class ArtifactDirs:
    """Paths (``str``) of the folders under ``artifacts/`` (``root``), made with ``mode`` when missing."""

    __slots__ = ("_mode", "_root_link", "_seen", "_tried", "root")

    def __init__(self, root: str, mode: int) -> None:
        self.root = root
        self._mode = mode
        self._seen = False  # artifacts/ looked at once
        self._root_link: str | None = None  # where artifacts/ pointed when first seen, if it was a link
        # folders this writer has tried to make first (see _lstat_or_make); a dict of str (the garbage
        # collector does not track it), a set would be scanned at every collection
        self._tried: dict[str, None] = {}

    def folder(self, rel: str) -> str:
        """The path of ``root/rel`` (``rel`` a checked relative POSIX path, "" for root itself), its
        folders made if missing. ConfigError if one is a symbolic link leading out of ``root``."""
        self._check_root()
        path = self.root
        if rel:
            for name in rel.split("/"):
                path = f"{path}/{name}"
                self._check(path, rel)
        return path

    def _check_root(self) -> None:
        mode = self._lstat_or_make(self.root)
        if not stat.S_ISLNK(mode):
            self._seen = True
            return
        real = os.path.realpath(self.root)
        if not self._seen:
            self._seen, self._root_link = True, real
        elif real != self._root_link:
            raise ConfigError(
                f"the artifacts folder {self.root!r} became a symbolic link to {real!r}: the artifact path "
                "escapes the run folder; remove the link"
            )

    def _check(self, path: str, rel: str) -> None:
        mode = self._lstat_or_make(path)
        if stat.S_ISDIR(mode):
            return
        if stat.S_ISLNK(mode):
            real, base = os.path.realpath(path), os.path.realpath(self.root)
            if real.startswith(base + os.sep):
                return  # a link that stays inside artifacts/ is followed (as before)
            raise ConfigError(
                f"artifact folder {rel!r} holds a symbolic link to {real!r}: the artifact path escapes the "
                "run folder; remove the link"
            )
        raise FileExistsError(errno.EEXIST, "a file is where a folder is needed", path)

    def _lstat_or_make(self, path: str) -> int:
        if path not in self._tried:  # a folder new to this writer is most often missing (a new run):
            self._tried[path] = None  # made at once, one call; one that exists is looked at as below
            try:
                os.mkdir(path, self._mode)
                return stat.S_IFDIR
            except FileExistsError:
                pass
        try:
            return os.lstat(path).st_mode
        except FileNotFoundError:
            pass
        try:
            os.mkdir(path, self._mode)
            return stat.S_IFDIR
        except FileExistsError:  # made by another writer in between
            return os.lstat(path).st_mode
