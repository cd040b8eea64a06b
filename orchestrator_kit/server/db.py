"""The server's small SQLite index: users, provider settings (encrypted key blob), projects, runs.

Run folders stay the source of truth for what a run did; this index says who owns what, and the
status of each run as the server last knew it. One connection behind a lock (queries take
microseconds), WAL journal, file mode 0600. Every read that serves a request filters by user id.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

DB_FILE = "index.sqlite3"
IN_FLIGHT = ("queued", "running")
FINAL = ("completed", "failed", "budget_exceeded", "interrupted")
WAITING = ("awaiting_approval", "awaiting_budget")  # stopped durably until a person decides (not final)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    id TEXT PRIMARY KEY,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS provider_settings (
    user_id TEXT PRIMARY KEY REFERENCES users(id),
    llm_provider TEXT NOT NULL,
    model TEXT,
    key_blob BLOB NOT NULL,
    key_masked TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS projects (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id),
    name TEXT NOT NULL,
    request TEXT,
    created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS projects_by_user ON projects(user_id, created_at);
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL REFERENCES projects(id),
    user_id TEXT NOT NULL REFERENCES users(id),
    status TEXT NOT NULL,
    mode TEXT NOT NULL,
    model TEXT NOT NULL,
    params TEXT NOT NULL,
    run_dir TEXT NOT NULL,
    error TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS runs_by_project ON runs(project_id, created_at);
CREATE INDEX IF NOT EXISTS runs_by_status ON runs(status);
"""


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def _run_row(row: sqlite3.Row | None) -> dict[str, Any] | None:
    if row is None:
        return None
    d = dict(row)
    d["params"] = json.loads(d["params"])
    d["error"] = json.loads(d["error"]) if d["error"] else None
    return d


class Database:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if not self.path.exists():
            os.close(os.open(self.path, os.O_WRONLY | os.O_CREAT, 0o600))
        self._lock = threading.RLock()
        self._conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=10)
        self._conn.row_factory = sqlite3.Row
        with self._lock:
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA foreign_keys=ON")
            self._conn.execute("PRAGMA synchronous=NORMAL")
            self._conn.executescript(_SCHEMA)
            self._conn.execute("PRAGMA user_version=1")

    def __repr__(self) -> str:
        return f"Database({str(self.path)!r})"

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def _exec(self, sql: str, args: tuple[Any, ...] = ()) -> sqlite3.Cursor:
        with self._lock:
            return self._conn.execute(sql, args)

    def _one(self, sql: str, args: tuple[Any, ...] = ()) -> sqlite3.Row | None:
        with self._lock:
            row: sqlite3.Row | None = self._conn.execute(sql, args).fetchone()
            return row

    def _all(self, sql: str, args: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self._conn.execute(sql, args).fetchall()

    # -- users and provider settings ---------------------------------------------------------------
    def ensure_user(self, user_id: str) -> None:
        self._exec("INSERT OR IGNORE INTO users(id, created_at) VALUES (?, ?)", (user_id, now()))

    def set_provider(
        self, user_id: str, provider: str, model: str | None, key_blob: bytes, key_masked: str
    ) -> None:
        self.ensure_user(user_id)
        self._exec(
            "INSERT INTO provider_settings(user_id, llm_provider, model, key_blob, key_masked, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(user_id) DO UPDATE SET llm_provider=excluded.llm_provider, "
            "model=excluded.model, key_blob=excluded.key_blob, key_masked=excluded.key_masked, "
            "updated_at=excluded.updated_at",
            (user_id, provider, model, key_blob, key_masked, now()),
        )

    def get_provider(self, user_id: str) -> dict[str, Any] | None:
        row = self._one("SELECT * FROM provider_settings WHERE user_id = ?", (user_id,))
        return None if row is None else dict(row)

    def delete_provider(self, user_id: str) -> bool:
        return self._exec("DELETE FROM provider_settings WHERE user_id = ?", (user_id,)).rowcount > 0

    # -- projects ------------------------------------------------------------------------------
    def create_project(self, project_id: str, user_id: str, name: str, request: str | None) -> dict[str, Any]:
        self.ensure_user(user_id)
        self._exec(
            "INSERT INTO projects(id, user_id, name, request, created_at) VALUES (?, ?, ?, ?, ?)",
            (project_id, user_id, name, request, now()),
        )
        project = self.get_project(user_id, project_id)
        assert project is not None
        return project

    _PROJECT = (
        "SELECT p.*, (SELECT COUNT(*) FROM runs r WHERE r.project_id = p.id) AS run_count "
        "FROM projects p WHERE p.user_id = ?"
    )

    def get_project(self, user_id: str, project_id: str) -> dict[str, Any] | None:
        row = self._one(self._PROJECT + " AND p.id = ?", (user_id, project_id))
        return None if row is None else dict(row)

    def list_projects(self, user_id: str) -> list[dict[str, Any]]:
        return [dict(r) for r in self._all(self._PROJECT + " ORDER BY p.created_at, p.id", (user_id,))]

    # -- runs ------------------------------------------------------------------------------------
    def create_run(
        self,
        run_id: str,
        *,
        project_id: str,
        user_id: str,
        status: str,
        mode: str,
        model: str,
        params: dict[str, Any],
        run_dir: str,
    ) -> dict[str, Any]:
        stamp = now()
        self._exec(
            "INSERT INTO runs(id, project_id, user_id, status, mode, model, params, run_dir, error, "
            "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, ?)",
            (run_id, project_id, user_id, status, mode, model, json.dumps(params), run_dir, stamp, stamp),
        )
        row = self.get_run(user_id, project_id, run_id)
        assert row is not None
        return row

    def get_run(self, user_id: str, project_id: str, run_id: str) -> dict[str, Any] | None:
        return _run_row(
            self._one(
                "SELECT * FROM runs WHERE id = ? AND project_id = ? AND user_id = ?",
                (run_id, project_id, user_id),
            )
        )

    def list_runs(self, user_id: str, project_id: str) -> list[dict[str, Any]]:
        rows = self._all(
            "SELECT * FROM runs WHERE project_id = ? AND user_id = ? ORDER BY created_at, id",
            (project_id, user_id),
        )
        return [r for r in map(_run_row, rows) if r is not None]

    def update_run(
        self,
        run_id: str,
        status: str,
        *,
        error: dict[str, Any] | None = None,
        mode: str | None = None,
        clear_error: bool = False,
    ) -> None:
        sets: list[str] = ["status = ?", "updated_at = ?"]
        args: list[Any] = [status, now()]
        if error is not None or clear_error:
            sets.append("error = ?")
            args.append(json.dumps(error) if error is not None else None)
        if mode is not None:
            sets.append("mode = ?")
            args.append(mode)
        self._exec(f"UPDATE runs SET {', '.join(sets)} WHERE id = ?", (*args, run_id))

    def claim_for_resume(self, run_id: str, allowed: tuple[str, ...]) -> bool:
        """Atomically move a run from one of ``allowed`` to queued: two resume calls cannot both win."""
        marks = ", ".join("?" for _ in allowed)
        cur = self._exec(
            f"UPDATE runs SET status = 'queued', error = NULL, updated_at = ? "
            f"WHERE id = ? AND status IN ({marks})",
            (now(), run_id, *allowed),
        )
        return cur.rowcount == 1

    def runs_with_status(self, statuses: tuple[str, ...]) -> list[dict[str, Any]]:
        marks = ", ".join("?" for _ in statuses)
        rows = self._all(f"SELECT * FROM runs WHERE status IN ({marks}) ORDER BY created_at", statuses)
        return [r for r in map(_run_row, rows) if r is not None]

    def count_runs(self) -> int:
        row = self._one("SELECT COUNT(*) FROM runs")
        return int(row[0]) if row else 0


__all__ = ["DB_FILE", "FINAL", "IN_FLIGHT", "WAITING", "Database", "now"]
