"""Open append handles for the JSONL logs of run folders (ledger, responses, checkpoint log).

Each record is one ``os.write`` of a whole line on a file opened with ``O_APPEND``: no Python buffer,
so when ``append`` returns the line is in the operating system's page cache and survives ``kill -9``
of this process (it is not ``fsync``-ed: a power cut or kernel crash may lose the last lines).
Opening and closing the file per line cost more than the write itself, so handles stay open in a
process-wide pool bounded by ``MAX_OPEN`` and by a quarter of the file-descriptor limit (least
recently used closed first): a thousand runs in flight never exhaust file descriptors.

A line torn by a killed writer (no trailing newline) is never glued to the next record: when the file
is not the size this process left it (first use, or another process wrote), its last byte is read and
a newline is written first if it is missing.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict

MAX_OPEN = 512  # and at most a quarter of the process's file-descriptor limit (see ``_default_max_open``)
_FLAGS = os.O_RDWR | os.O_APPEND | os.O_CREAT | getattr(os, "O_CLOEXEC", 0)
_MODE = 0o600  # a run folder's files are its owner's only


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
        # path -> fd, and path -> the size we left the file at. Ints in dicts, not an [fd, size] list per
        # file: a thousand runs in flight hold three files each, which the garbage collector would scan.
        self._open: OrderedDict[str, int] = OrderedDict()
        self._size: dict[str, int] = {}

    def append(self, path: str, data: bytes) -> tuple[int, int]:
        """Append ``data`` (whole lines) to ``path``, after a newline if a torn line ends the file.
        Returns the file's size before and after (as this write saw it)."""
        with self._lock:
            fd = self._open.get(path)
            if fd is None:
                fd = self._open[path] = os.open(path, _FLAGS, _MODE)
                self._size[path] = -1
                if self._max_open is None:
                    self._max_open = _default_max_open()
                while len(self._open) > self._max_open:
                    old, old_fd = self._open.popitem(last=False)
                    del self._size[old]
                    os.close(old_fd)
            else:
                self._open.move_to_end(path)
            try:
                size = os.fstat(fd).st_size
                if size != self._size[path] and size and os.pread(fd, 1, size - 1) != b"\n":
                    data = b"\n" + data
                written = os.write(fd, data)
                if written < len(data):  # rare (a signal, a full disk): write the rest
                    view = memoryview(data)[written:]
                    while view:
                        view = view[os.write(fd, view) :]
                self._size[path] = after = size + len(data)
                return size, after
            except BaseException:
                self._open.pop(path, None)  # the next append reopens and looks at the tail again
                self._size.pop(path, None)
                os.close(fd)
                raise

    def close(self, *paths: str) -> None:
        """Close the handles of ``paths`` (a run that ended); appending later simply reopens."""
        with self._lock:
            for p in paths:
                fd = self._open.pop(p, None)
                if fd is not None:
                    del self._size[p]
                    os.close(fd)

    def close_under(self, folder: str) -> None:
        """Close every handle of a file inside ``folder`` (e.g. a folder being created afresh)."""
        prefix = folder.rstrip(os.sep) + os.sep
        with self._lock:
            for p in [p for p in self._open if p.startswith(prefix)]:
                del self._size[p]
                os.close(self._open.pop(p))

    def _after_fork(self) -> None:
        """In a forked child: a fresh lock (the parent's may have been held) and none of its handles."""
        self._lock = threading.Lock()
        for fd in self._open.values():
            os.close(fd)
        self._open.clear()
        self._size.clear()


APPENDS = AppendFiles()
"""The process-wide pool every run folder appends through."""
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=APPENDS._after_fork)
