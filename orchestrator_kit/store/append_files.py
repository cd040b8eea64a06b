"""Open append handles for the JSONL logs of run folders (ledger, responses, checkpoint log).

Each record is one ``os.write`` of a whole line on a file opened with ``O_APPEND``: no Python buffer,
so when ``append`` returns the line is in the operating system's page cache and survives ``kill -9``
of this process (it is not ``fsync``-ed: a power cut or kernel crash may lose the last lines).
Opening and closing the file per line cost more than the write itself, so handles stay open in a
process-wide pool bounded by ``MAX_OPEN`` and by a quarter of the file-descriptor limit (least
recently used closed first): a thousand runs in flight never exhaust file descriptors.

One writer per file: a handle takes an exclusive ``flock`` on its file when it opens it and holds it
until it is closed, so another process (or another pool) that appends through this module while it is
held gets :class:`~orchestrator_kit.errors.Conflict` and writes nothing (e.g. two resumes of one run at
once). A line torn by a killed writer (no trailing newline) is never glued to the next record: when a
handle opens, the file's last byte is read and a newline is written first if it is missing. While the
handle holds its lock the file is the size this pool left it, so the later appends of that handle are
one ``write`` each. Where the file system refuses locks (``ENOLCK``, ``EOPNOTSUPP``), every append looks
at the file's end first, as before locks. Writers that do not go through this module (an editor, a
shell's ``>>``) are not locked out.
"""

from __future__ import annotations

import os
import sys
import threading
from collections import OrderedDict

from ..errors import Conflict

if sys.platform != "win32":
    import fcntl

    def _lock(fd: int) -> bool:
        """Lock the file of ``fd`` for this open file: True, or False where the file system has no
        locks. BlockingIOError when another open file holds it."""
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise
        except OSError:  # ENOLCK, EOPNOTSUPP...
            return False
        return True
else:  # pragma: no cover - Windows: no flock, every append looks at the file's end

    def _lock(fd: int) -> bool:
        return False


MAX_OPEN = 4096  # and at most a quarter of the process's file-descriptor limit (see ``_default_max_open``)
_FLAGS = os.O_RDWR | os.O_APPEND | os.O_CREAT | getattr(os, "O_CLOEXEC", 0)
_MODE = 0o600  # a run folder's files are its owner's only
_UNCHECKED = -1  # _size of a handle whose next append looks at the file's end


def _default_max_open() -> int:
    try:
        import resource
    except ImportError:  # pragma: no cover - Windows
        return 64
    soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    return MAX_OPEN if soft == resource.RLIM_INFINITY else max(4, min(MAX_OPEN, soft // 4))


class AppendFiles:
    """A bounded pool of append handles, keyed by path. Thread-safe."""

    def __init__(self, max_open: int | None = None) -> None:
        self._max_open = max_open
        self._lock = threading.Lock()
        # path -> fd, and path -> the size we left the file at (_UNCHECKED: look at its end first). Ints
        # in dicts, not an [fd, size] list per file: a thousand runs in flight hold three files each,
        # which the garbage collector would scan.
        self._open: OrderedDict[str, int] = OrderedDict()
        self._size: dict[str, int] = {}
        self._unlocked: dict[str, None] = {}  # handles on a file system without locks

    def append(self, path: str, data: bytes) -> tuple[int, int]:
        """Append ``data`` (whole lines) to ``path``, after a newline if a torn line ends the file.
        Returns the file's size before and after. Conflict if another writer holds the file."""
        with self._lock:
            fd = self._open.get(path)
            if fd is None:
                fd = self._open_locked(path)
            else:
                self._open.move_to_end(path)
            try:
                size = self._size[path]
                if size == _UNCHECKED or path in self._unlocked:
                    end = os.lseek(fd, 0, os.SEEK_END)  # the file's size (writes go to the end anyway)
                    if end != size and end and os.pread(fd, 1, end - 1) != b"\n":
                        data = b"\n" + data
                    size = end
                written = os.write(fd, data)
                if written < len(data):  # rare (a signal, a full disk): write the rest
                    view = memoryview(data)[written:]
                    while view:
                        view = view[os.write(fd, view) :]
                self._size[path] = after = size + len(data)
                return size, after
            except BaseException:
                self._forget(path)  # the next append reopens and looks at the tail again
                raise

    def held_size(self, path: str) -> int | None:
        """The size of ``path`` while a handle of this pool holds its lock (no other writer can have
        changed it); None when no handle is open or it holds no lock."""
        with self._lock:
            size = self._size.get(path, _UNCHECKED)
            return None if size == _UNCHECKED or path in self._unlocked else size

    def _open_locked(self, path: str) -> int:
        """Open ``path`` for appending and take its lock (Conflict if another writer holds it)."""
        fd = os.open(path, _FLAGS, _MODE)
        try:
            locked = _lock(fd)
        except BlockingIOError:
            os.close(fd)
            raise Conflict(
                f"{path!r} is being written by another process (a run or resume of this run folder is in "
                "flight); wait until it stops, then resume the run"
            ) from None
        if not locked:
            self._unlocked[path] = None  # no locks on this file system: every append checks the end
        self._open[path] = fd
        self._size[path] = _UNCHECKED
        if self._max_open is None:
            self._max_open = _default_max_open()
        while len(self._open) > self._max_open:
            self._forget(next(iter(self._open)))
        return fd

    def _forget(self, path: str) -> None:
        """Close the handle of ``path`` (which releases its lock), if one is open."""
        fd = self._open.pop(path, None)
        self._size.pop(path, None)
        self._unlocked.pop(path, None)
        if fd is not None:
            os.close(fd)

    def close(self, *paths: str) -> None:
        """Close the handles of ``paths`` (a run that ended); appending later simply reopens."""
        with self._lock:
            for p in paths:
                self._forget(p)

    def close_under(self, folder: str) -> None:
        """Close every handle of a file inside ``folder`` (e.g. a folder being created afresh)."""
        prefix = folder.rstrip(os.sep) + os.sep
        with self._lock:
            for p in [p for p in self._open if p.startswith(prefix)]:
                self._forget(p)

    def _after_fork(self) -> None:
        """In a forked child: a fresh lock (the parent's may have been held) and none of its handles
        (closing the child's copies leaves the parent's file locks held: they belong to its open files)."""
        self._lock = threading.Lock()
        for fd in self._open.values():
            os.close(fd)
        self._open.clear()
        self._size.clear()
        self._unlocked.clear()


APPENDS = AppendFiles()
"""The process-wide pool every run folder appends through."""
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=APPENDS._after_fork)
