"""When the SQLite index cannot be written (a full disk), every run still reaches a final state, every
event stream ends, the index is repaired from the run folders, and resume works without a restart.

Failures are injected at the SQLite level (the server's ``sqlite3`` connection answers writes with
SQLITE_FULL, as SQLite does on a full disk), and for real on a small tmpfs where the test may mount one.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from server_helpers import TERMINAL, Live, new_project, wait_run
from test_sse import read_events

WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE")


class FullDisk:
    """Wraps a ``sqlite3.Connection``: while ``full``, write statements fail as on a full disk."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn, self.full, self.refused = conn, False, 0
        self.kinds = WRITES  # the statements that fail while full

    def execute(self, sql: str, args: Any = ()) -> sqlite3.Cursor:
        if self.full and sql.lstrip().split(None, 1)[0].upper() in self.kinds:
            self.refused += 1
            exc = sqlite3.OperationalError("database or disk is full")
            exc.sqlite_errorcode = sqlite3.SQLITE_FULL  # type: ignore[attr-defined]
            raise exc
        return self._conn.execute(sql, args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)


def fill_disk(live: Live) -> FullDisk:
    db = live.app.state.db
    wrapper = FullDisk(db._conn)
    db._conn = wrapper
    return wrapper


def index_status(data_dir: Path, run_id: str) -> str:
    with sqlite3.connect(data_dir / "index.sqlite3") as conn:
        return str(conn.execute("SELECT status FROM runs WHERE id = ?", (run_id,)).fetchone()[0])


def test_a_run_ends_its_streams_and_resumes_while_the_index_cannot_be_written(
    start_server: Callable[..., Live], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="orchestrator_kit")
    live = start_server(simulated_latency_s=0.05)
    c = live.client()
    pid = new_project(c)
    disk = fill_disk(live)
    # The run is recorded (INSERT) but none of its status changes (UPDATE) can be, however fast it
    # ends: it fails its budget before its first call, possibly before the POST has answered.
    disk.kinds, disk.full = ("UPDATE",), True
    r = c.post(f"/projects/{pid}/runs", json={"budget_usd": "0.0001"})
    assert r.status_code == 202, r.text
    rid = r.json()["id"]
    disk.kinds = WRITES
    began = time.monotonic()

    events = read_events(c, f"/projects/{pid}/runs/{rid}/events", limit_s=30)  # the stream ends
    assert events[-1]["type"] == "run_failed" and events[-1]["data"]["status"] == "budget_exceeded"
    run = wait_run(c, pid, rid)
    print(f"\nindex full: final state {run['status']!r} shown {time.monotonic() - began:.2f} s after")
    assert run["status"] == "budget_exceeded" and run["error"]["type"] == "BudgetExceeded"
    assert [b["status"] for b in c.get(f"/projects/{pid}/runs").json()] == ["budget_exceeded"]
    assert [b["status"] for b in c.get(f"/projects/{pid}").json()["runs"]] == ["budget_exceeded"]
    assert index_status(live.data_dir, rid) in ("queued", "running")  # the index really was not written
    assert disk.refused >= 4  # the final write was retried
    deadline = time.monotonic() + 10  # the final write is retried for about a second, then logged
    while not any("could not record" in m and "free disk space" in m for m in caplog.messages):
        assert time.monotonic() < deadline, caplog.messages
        time.sleep(0.05)

    r = c.post("/projects", json={"project_name": "while full"})
    assert r.status_code == 507 and "disk is full" in r.json()["detail"], r.text
    r = c.post(f"/projects/{pid}/runs/{rid}/resume", json={"budget_usd": "5"})
    assert r.status_code == 507, r.text  # the resume cannot be recorded: said, not a 409 "is running"

    disk.full = False  # space freed: no restart needed
    r = c.post(f"/projects/{pid}/runs/{rid}/resume", json={"budget_usd": "5"})
    assert r.status_code == 202, r.text
    assert wait_run(c, pid, rid)["status"] == "completed"
    assert index_status(live.data_dir, rid) == "completed"


def test_the_index_is_repaired_from_the_run_folders_on_the_next_read_or_start(
    start_server: Callable[..., Live],
) -> None:
    live = start_server()
    c = live.client()
    pid = new_project(c)
    disk = fill_disk(live)
    # The run is recorded (INSERT), but none of its status changes (UPDATE) can be, however fast it ends.
    disk.kinds, disk.full = ("UPDATE",), True
    rid = c.post(f"/projects/{pid}/runs", json={"agents": ["architect"]}).json()["id"]
    disk.kinds = WRITES
    read_events(c, f"/projects/{pid}/runs/{rid}/events", limit_s=30)
    live.stop()
    assert index_status(live.data_dir, rid) in ("queued", "running")

    again = start_server(data_dir=live.data_dir)
    assert index_status(again.data_dir, rid) == "completed"  # repaired at start, from the run folder
    assert wait_run(again.client(), pid, rid)["status"] == "completed"


# -- a real full file system ------------------------------------------------------------------------------
@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 6 MiB tmpfs mounted on tmp_path/disk (root only; skipped where mounting is not permitted)."""
    mnt = tmp_path / "disk"
    mnt.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    proc = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=6m,mode=0700", "tmpfs", str(mnt)], capture_output=True, text=True
    )
    if proc.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {proc.stderr.strip() or proc.returncode}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def fill(path: Path) -> None:
    """Write ``path`` until the file system is full."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        for size in (1 << 16, 512, 1):
            try:
                while True:
                    os.write(fd, b"\0" * size)
            except OSError:
                pass
    finally:
        os.close(fd)


def test_a_really_full_disk(start_server: Callable[..., Live], small_disk: Path) -> None:
    live = start_server(data_dir=small_disk / "data", simulated_latency_s=0.1)
    c = live.client()
    pid = new_project(c)
    rid = c.post(f"/projects/{pid}/runs", json={}).json()["id"]
    wait_for_calls = time.monotonic() + 20
    calls = live.data_dir / "runs" / "default" / rid / "calls.jsonl"
    while not calls.exists() and time.monotonic() < wait_for_calls:
        time.sleep(0.02)
    filler = small_disk / "filler"
    fill(filler)
    began = time.monotonic()

    events = read_events(c, f"/projects/{pid}/runs/{rid}/events", limit_s=60)
    run = wait_run(c, pid, rid, timeout=60)
    print(f"\ndisk full: final state {run['status']!r} shown {time.monotonic() - began:.2f} s after")
    assert events[-1]["type"] in ("run_failed", "run_finished")
    assert run["status"] in TERMINAL
    if run["status"] == "failed":
        message = run["error"]["message"]
        assert "No space left" in message and str(live.data_dir) not in message  # relative paths
    r = c.post("/projects", json={"project_name": "on a full disk"})
    assert r.status_code == 507 and "disk is full" in r.json()["detail"], r.text
    assert str(live.data_dir) not in r.text

    filler.unlink()  # space freed: reads repair the index, resume works without a restart
    if run["status"] != "completed":
        r = c.post(f"/projects/{pid}/runs/{rid}/resume")
        assert r.status_code == 202, r.text
        again = wait_run(c, pid, rid, timeout=60)
        assert again["status"] == "completed", again["error"]
    assert index_status(live.data_dir, rid) == "completed"
    assert c.post("/projects", json={"project_name": "space again"}).status_code == 201
