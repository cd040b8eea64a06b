"""Keeping the SQLite index in step with the run folders when the index cannot be written.

A run's folder is the truth of what it did; the index is a fast copy of who owns it and its status. When a
run ends and its final status cannot be written (``database or disk is full``, a locked file), the write is
retried a few times, then kept here as pending: every later read of that run shows the final status anyway
and tries the write again, and a restart repairs the index from the run folders.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import sqlite3
from typing import Any

from .db import FINAL, IN_FLIGHT, WAITING, Database

log = logging.getLogger("orchestrator_kit.server")
RETRY_DELAYS_S = (0.05, 0.25, 1.0)
INDEX_ERRORS = (sqlite3.Error, OSError)
INTERRUPTED = {
    "type": "Interrupted",
    "message": "the server stopped while this run was in flight; continue it with POST .../resume",
}


def is_disk_full(exc: BaseException) -> bool:
    """True for SQLite's SQLITE_FULL and for the OS's 'no space left' / 'quota exceeded'."""
    if isinstance(exc, sqlite3.Error):
        return getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL
    return isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT)


def folder_truth(state: dict[str, Any]) -> tuple[str, dict[str, Any] | None]:
    """A run's final (or waiting) status per its checkpoint (``interrupted`` if it never recorded an end)."""
    status = state.get("status")
    if status in FINAL or status in WAITING:
        return str(status), state.get("error")
    return "interrupted", INTERRUPTED


class IndexSync:
    """Final statuses the index has not taken yet, and the retrying write of them."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.pending: dict[str, tuple[str, dict[str, Any] | None]] = {}

    def _write(self, run_id: str, status: str, error: dict[str, Any] | None) -> None:
        self.db.update_run(run_id, status, error=error, clear_error=error is None)
        self.pending.pop(run_id, None)

    async def write_final(self, run_id: str, status: str, error: dict[str, Any] | None) -> bool:
        """Write a run's final status, retrying; on failure keep it pending (logged with the cause)."""
        entry = self.pending[run_id] = (status, error)
        for attempt, delay in enumerate((*RETRY_DELAYS_S, None)):
            if self.pending.get(run_id) is not entry:  # a read wrote it meanwhile (or a resume began)
                return True
            try:
                self._write(run_id, status, error)
                return True
            except INDEX_ERRORS as exc:
                if delay is None:
                    log.error(
                        "run %s ended %s but the index could not record it after %d attempts (%s: %s); "
                        "its run folder is the truth and the index is repaired on the next read or start"
                        "%s",
                        run_id,
                        status,
                        attempt + 1,
                        type(exc).__name__,
                        exc,
                        ": free disk space in the data folder" if is_disk_full(exc) else "",
                    )
                    return False
                await asyncio.sleep(delay)
        return False  # pragma: no cover - the loop always returns

    def try_write(self, run_id: str, status: str, error: dict[str, Any] | None, *, strict: bool) -> None:
        """One attempt at writing a repaired status; ``strict`` raises the index error, else it is logged."""
        known = run_id in self.pending
        try:
            self._write(run_id, status, error)
        except INDEX_ERRORS as exc:
            self.pending.setdefault(run_id, (status, error))
            if strict:
                raise
            if not known:  # said once per run, not at every read
                log.warning(
                    "the index still cannot record run %s as %s (%s: %s)",
                    run_id,
                    status,
                    type(exc).__name__,
                    exc,
                )

    def settle(
        self, row: dict[str, Any], truth: tuple[str, dict[str, Any] | None] | None, *, strict: bool = False
    ) -> dict[str, Any]:
        """``row`` with the status its run really has: a stale in-flight row takes ``truth`` (from the
        run's handle or folder), which is written to the index (``strict``: raising if that fails)."""
        if row["status"] not in IN_FLIGHT or truth is None:
            return row
        status, error = truth
        self.try_write(row["id"], status, error, strict=strict)
        return {**row, "status": status, "error": error}


__all__ = ["INDEX_ERRORS", "INTERRUPTED", "IndexSync", "folder_truth", "is_disk_full"]
