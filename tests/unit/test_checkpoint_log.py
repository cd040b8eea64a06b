"""The checkpoint log: deltas fold back to the state, torn and out-of-sequence lines are ignored,
the end of a run compacts to state.json, older folders (state.json only) still load, a process killed
while appending leaves a consistent state, and the append handles stay bounded."""

from __future__ import annotations

import errno
import fcntl
import itertools
import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from orchestrator_kit.engine.checkpoint import state_document
from orchestrator_kit.errors import Conflict
from orchestrator_kit.records import Artifact, Decision, ProjectState, Score
from orchestrator_kit.store import state_log
from orchestrator_kit.store.append_files import APPENDS, AppendFiles
from orchestrator_kit.store.listing import list_runs
from orchestrator_kit.store.run_folder import CALLS, STATE, STATE_LOG, RunFolder

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "runs_v0" / "20260101T000000000000Z-v0fmt"


def _doc(n: int, status: str = "running") -> dict[str, Any]:
    return {
        "status": status,
        "steps": {"architect": "done" if n > 0 else "pending", "qa": "done" if n > 1 else "pending"},
        "project_state": {
            "request": "r",
            "artifacts": {f"agent{i}": [{"filename": f"f{i}.md"}] for i in range(n)},
            "scores": {"qa": n} if n % 2 else {},
        },
        "error": None,
        "updated_at": f"t{n}",
    }


# -- diff / fold -----------------------------------------------------------------------------------

_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=4),
    max_leaves=12,
)
_docs = st.dictionaries(st.sampled_from("abcde"), _json, max_size=5)


@settings(max_examples=200, deadline=None)
@given(st.lists(_docs, min_size=1, max_size=6))
def test_the_fold_of_deltas_is_the_last_document(docs: list[dict[str, Any]]) -> None:
    lines = [json.dumps({"n": 0, "full": docs[0]})]
    for k, (old, new) in enumerate(itertools.pairwise(docs), start=1):
        changed, dropped = state_log.diff(old, new)
        lines.append(json.dumps({"n": k, "set": changed, "drop": dropped}))
    assert state_log.fold(("\n".join(lines) + "\n").encode()) == docs[-1]


def test_a_delta_holds_only_what_changed() -> None:
    changed, dropped = state_log.diff(_doc(1), _doc(2))
    assert changed == {
        "steps": {"qa": "done"},
        "project_state": {"artifacts": {"agent1": [{"filename": "f1.md"}]}, "scores": {}},
        "updated_at": "t2",
    }
    assert dropped == [["project_state", "scores", "qa"]]


def test_a_torn_last_line_is_ignored_and_a_whole_line_is_read(folder: RunFolder) -> None:
    for n in range(3):
        folder.save_state(_doc(n))
    log = folder.path / STATE_LOG
    whole = log.read_bytes()
    assert whole.endswith(b"\n") and len(whole.splitlines()) == 3
    assert folder.load_state() == _doc(2)
    with open(log, "ab") as f:  # killed mid-append: a line without its newline
        f.write(b'{"n":3,"set":{"status":"compl')
    assert RunFolder(folder.path).load_state() == _doc(2)
    # even a torn line that happens to be valid JSON counts only once its newline is written
    log.write_bytes(whole + json.dumps({"n": 3, "set": {"updated_at": "t3"}}).encode())
    assert RunFolder(folder.path).load_state() == _doc(2)
    log.write_bytes(whole + json.dumps({"n": 3, "set": {"updated_at": "t3"}}).encode() + b"\n")
    assert RunFolder(folder.path).load_state() == {**_doc(2), "updated_at": "t3"}


def test_an_out_of_sequence_delta_is_not_applied(folder: RunFolder) -> None:
    folder.save_state(_doc(0))
    folder.save_state(_doc(1))
    with open(folder.path / STATE_LOG, "ab") as f:  # a line from a writer that did not see n=1
        f.write(json.dumps({"n": 1, "set": {"status": "bogus"}}).encode() + b"\n")
    assert folder.load_state() == _doc(1)


def test_a_new_writer_starts_with_the_whole_state_after_a_torn_line(folder: RunFolder) -> None:
    folder.save_state(_doc(0))
    folder.save_state(_doc(1))
    folder.close()  # the killed process's handles (and their locks) die with it
    with open(folder.path / STATE_LOG, "ab") as f:
        f.write(b'{"n":2,"set":{"steps":{"qa":"do')  # the killed process's last, torn line
    resumed = RunFolder(folder.path)  # e.g. `resume` in a new process
    assert resumed.load_state() == _doc(1)
    resumed.save_state(_doc(2))
    resumed.save_state(_doc(3))
    assert RunFolder(folder.path).load_state() == _doc(3)
    lines = (folder.path / STATE_LOG).read_bytes().splitlines()
    assert json.loads(lines[3]) == {"n": 0, "full": _doc(2)}  # on a line of its own, after the torn one


def test_running_checkpoints_are_appended_not_renamed(folder: RunFolder) -> None:
    for n in range(4):
        folder.save_state(_doc(n))
    assert not (folder.path / STATE).exists()
    assert len((folder.path / STATE_LOG).read_bytes().splitlines()) == 4
    assert list_runs(folder.path.parent)[0]["status"] == "running"  # readers see the fold


@pytest.mark.parametrize("status", ["completed", "failed", "interrupted", "awaiting_approval"])
def test_the_end_of_a_run_compacts_the_log_to_state_json(folder: RunFolder, status: str) -> None:
    for n in range(3):
        folder.save_state(_doc(n))
    folder.save_state(_doc(3, status))
    assert not (folder.path / STATE_LOG).exists()
    assert json.loads((folder.path / STATE).read_text()) == _doc(3, status)
    assert RunFolder(folder.path).load_state() == _doc(3, status)
    assert not [p for p in folder.path.iterdir() if p.name.endswith(".tmp")]
    folder.save_state(_doc(4))  # resumed: a new log, whose fold wins over the old state.json
    assert RunFolder(folder.path).load_state() == _doc(4)
    assert json.loads((folder.path / STATE_LOG).read_bytes().splitlines()[0]) == {"n": 0, "full": _doc(4)}


def test_killed_before_the_log_is_removed_the_state_is_the_final_one(
    folder: RunFolder, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder.save_state(_doc(0))
    folder.save_state(_doc(1))

    def killed(self: Path, missing_ok: bool = False) -> None:
        raise SystemExit("killed")  # the process dies after state.json is written, before the unlink

    monkeypatch.setattr(Path, "unlink", killed)
    with pytest.raises(SystemExit):
        folder.save_state(_doc(2, "completed"))
    monkeypatch.undo()
    assert (folder.path / STATE_LOG).exists() and (folder.path / STATE).exists()
    assert RunFolder(folder.path).load_state() == _doc(2, "completed")


def test_a_state_json_torn_by_a_kill_while_the_log_is_there_is_never_read(
    folder: RunFolder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run's first compaction writes state.json in place (no temp file, no rename): readers take the
    log while it is there, and a later compaction replaces a torn state.json atomically."""
    folder.save_state(_doc(0))
    renamed: list[str] = []
    real_replace = os.replace
    monkeypatch.setattr(os, "replace", lambda a, b: renamed.append(str(b)) or real_replace(a, b))
    folder.save_state(_doc(1, "failed"))
    assert renamed == [] and json.loads((folder.path / STATE).read_text()) == _doc(1, "failed")
    folder.save_state(_doc(2))  # resumed, then killed while compacting: half of state.json written
    (folder.path / STATE).write_bytes(json.dumps(_doc(3, "completed")).encode()[:40])
    assert RunFolder(folder.path).load_state() == _doc(2)
    folder.save_state(_doc(3, "completed"))  # resumed again, to the end
    assert renamed == [str(folder.path / STATE)]
    assert not (folder.path / STATE_LOG).exists()
    assert RunFolder(folder.path).load_state() == _doc(3, "completed")


def test_a_folder_in_the_previous_format_loads(tmp_path: Path) -> None:
    run = tmp_path / FIXTURE.name
    shutil.copytree(FIXTURE, run)
    assert not (run / STATE_LOG).exists()
    state = RunFolder.open(run).load_state()
    assert state == json.loads((FIXTURE / STATE).read_text())
    assert state is not None and state["status"] == "completed"


def test_a_damaged_state_json_without_a_log_is_an_error(folder: RunFolder) -> None:
    (folder.path / STATE).write_text("{not json")
    with pytest.raises(ValueError):
        folder.load_state()


# -- append handles --------------------------------------------------------------------------------


def test_the_pool_keeps_at_most_max_open_handles_and_loses_no_line(tmp_path: Path) -> None:
    pool = AppendFiles(max_open=2)
    paths = [str(tmp_path / f"f{i}.jsonl") for i in range(5)]
    for n in range(4):
        for p in paths:
            pool.append(p, f'{{"n": {n}}}\n'.encode())
            assert len(pool._open) <= 2
    pool.close(*paths)
    for p in paths:
        assert [json.loads(x)["n"] for x in Path(p).read_text().splitlines()] == [0, 1, 2, 3]


_OTHER_WRITER = textwrap.dedent("""
    import sys
    from orchestrator_kit.errors import Conflict
    from orchestrator_kit.store.append_files import APPENDS
    try:
        APPENDS.append(sys.argv[1], b'{"n": 2}\\n')
    except Conflict as exc:
        print("conflict:", exc)
    else:
        print("appended")
""")


def test_a_second_writer_is_refused_while_a_handle_holds_the_file(folder: RunFolder) -> None:
    """Appends skip looking at the file's end because no other writer can append meanwhile: another
    process (or pool) that tries gets Conflict and writes nothing, until the handle is closed."""
    path = str(folder.path / CALLS)
    APPENDS.append(path, b'{"n": 1}\n')  # the handle stays open, and holds the file's lock

    def other() -> str:
        cmd = [sys.executable, "-c", _OTHER_WRITER, path]
        return subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=60).stdout

    assert other().startswith("conflict:") and "another process" in other()
    with pytest.raises(Conflict, match="another process"):
        AppendFiles().append(path, b'{"n": 2}\n')  # another pool in this process: another open file
    APPENDS.append(path, b'{"n": 3}\n')
    APPENDS.close(path)
    assert other() == "appended\n"
    APPENDS.append(path, b'{"n": 4}\n')  # reopened: its lock taken again
    assert other().startswith("conflict:")
    APPENDS.close(path)
    assert Path(path).read_text().splitlines() == ['{"n": 1}', '{"n": 3}', '{"n": 2}', '{"n": 4}']


def test_without_locks_every_append_looks_for_a_torn_line(
    folder: RunFolder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file system that refuses locks: another writer may append at any time, so every append looks
    at the file's end (as before locks) and a line torn meanwhile is not glued to the next."""

    def no_locks(fd: int, op: int) -> None:
        raise OSError(errno.ENOLCK, "no locks available")

    monkeypatch.setattr(fcntl, "flock", no_locks)
    pool, path = AppendFiles(), str(folder.path / CALLS)
    pool.append(path, b'{"n": 1}\n')
    with open(path, "ab") as f:
        f.write(b'{"n": 2, "to')  # another process, killed mid-line
    pool.append(path, b'{"n": 3}\n')
    pool.close(path)
    assert Path(path).read_text().splitlines() == ['{"n": 1}', '{"n": 2, "to', '{"n": 3}']


def test_a_stopped_run_leaves_no_handle_open(folder: RunFolder) -> None:
    folder.append_response({"n": 1})
    folder.save_state(_doc(0))
    assert any(p.startswith(str(folder.path)) for p in APPENDS._open)
    folder.save_state(_doc(1, "completed"))
    assert not any(p.startswith(str(folder.path)) for p in APPENDS._open)


# -- a real process killed while it appends checkpoints -------------------------------------------

_WRITER = textwrap.dedent("""
    import sys
    from orchestrator_kit.store.run_folder import RunFolder
    folder = RunFolder(sys.argv[1])
    start = int(sys.argv[2])
    for n in range(start, start + 1_000_000):
        items = list(range(n % 50))
        folder.save_state({"status": "running", "n": n, "steps": {"a": str(n)},
                           "project_state": {"items": items, "text": "x" * (n % 997), "scores": {"n": n}}})
        if n == start + 20:
            print("writing", flush=True)
""")


def _consistent(doc: dict[str, Any]) -> int:
    n = doc["n"]
    assert doc["status"] == "running" and doc["steps"] == {"a": str(n)}
    assert doc["project_state"] == {"items": list(range(n % 50)), "text": "x" * (n % 997), "scores": {"n": n}}
    return int(n)


@pytest.mark.parametrize("delay", [0.0, 0.013, 0.037, 0.071])
def test_sigkill_while_appending_checkpoints_leaves_a_consistent_state(
    tmp_path: Path, folder: RunFolder, delay: float
) -> None:
    """Kill a writer at a (different) moment several times: each time the state read back is one the
    writer wrote in whole, never older than the last, and a new writer continues from it."""
    last = -1
    for round_ in range(3):
        start = last + 1
        with subprocess.Popen(
            [sys.executable, "-c", _WRITER, str(folder.path), str(start)],
            stdout=subprocess.PIPE,
            text=True,
            cwd=tmp_path,
        ) as proc:
            try:
                assert proc.stdout is not None and proc.stdout.readline() == "writing\n"
                time.sleep(delay * (round_ + 1))
            finally:
                proc.send_signal(signal.SIGKILL)
                proc.wait(timeout=30)
        assert proc.returncode == -signal.SIGKILL
        doc = RunFolder(folder.path).load_state()
        assert doc is not None
        n = _consistent(doc)
        assert n >= start + 20  # nothing written whole before the kill is lost
        last = n
    resumed = RunFolder(folder.path)
    resumed.save_state({**_doc(1), "n": last + 1})
    resumed.save_state({**_doc(2, "completed"), "n": last + 2})
    assert RunFolder(folder.path).load_state() == {**_doc(2, "completed"), "n": last + 2}
    assert not (folder.path / STATE_LOG).exists()


_names = st.sampled_from(["architect", "developer", "qa"])
_projects = st.builds(
    ProjectState,
    request=st.just("a request"),
    artifacts=st.dictionaries(
        _names,
        st.lists(
            st.builds(Artifact, filename=st.text(min_size=1), content=st.text(), truncated=st.booleans()),
            max_size=3,
        ),
    ),
    decisions=st.dictionaries(
        _names, st.builds(Decision, approved=st.booleans(), reasons=st.lists(st.text()))
    ),
    scores=st.dictionaries(_names, st.builds(Score, value=st.floats(0, 10))),
    feedback=st.dictionaries(_names, st.lists(st.text(), max_size=2)),
)


@settings(max_examples=100, deadline=None)
@given(_projects)
def test_a_checkpoint_holds_the_project_without_artifact_contents(project: ProjectState) -> None:
    doc = state_document("running", {"qa": "done"}, project)
    exclude = {"artifacts": {"__all__": {"__all__": {"content"}}}}
    expected = project.model_dump(mode="json", exclude=exclude)
    assert json.dumps(doc["project_state"]) == json.dumps(expected)  # as it was written, in the same order
    assert all("content" not in a for arts in doc["project_state"]["artifacts"].values() for a in arts)


class _TaggedArtifact(Artifact):
    tag: str = "extra"


def test_an_artifact_subclass_is_checkpointed_as_an_artifact() -> None:
    project = ProjectState(request="r", artifacts={"qa": [_TaggedArtifact(filename="a.md", content="x")]})
    doc = state_document("running", {"qa": "done"}, project)
    assert doc["project_state"]["artifacts"] == {
        "qa": [{"filename": "a.md", "kind": "text", "agent": "", "truncated": False}]
    }
