"""Run folders: run ids, atomic writes, safe artifact paths, torn JSONL lines, redaction."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from orchestrator_kit.errors import ConfigError, NotARunError
from orchestrator_kit.records import CallRecord, RunSummary, RunTotals
from orchestrator_kit.store.listing import list_runs
from orchestrator_kit.store.run_folder import (
    CALLS,
    MANIFEST,
    RESPONSES,
    RunFolder,
    new_run_id,
    read_jsonl,
    redact,
    write_json_atomic,
)

KEY = "sk-ant-api03-FAKE-KEY-FOR-TESTS-ONLY-0000"


def _tree(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*")}


# -- run ids ---------------------------------------------------------------------------------------


def test_run_ids_sort_by_time() -> None:
    start = datetime(2026, 1, 31, 23, 59, 59, 999_990, tzinfo=UTC)
    stamps = [start + timedelta(microseconds=n * 7) for n in range(10)] + [start + timedelta(days=400)]
    ids = [new_run_id(t) for t in stamps]
    assert sorted(ids) == ids


def test_run_ids_are_folder_names() -> None:
    rid = new_run_id()
    assert rid == Path(rid).name and "/" not in rid and " " not in rid and ":" not in rid


_ID_SCRIPT = """
import sys
from orchestrator_kit.store.run_folder import RunFolder, new_run_id
ids = [new_run_id() for _ in range(200)]
folders = [RunFolder.create(sys.argv[1], {"n": i}).run_id for i in range(25)]
print("\\n".join(ids + folders))
"""


def test_run_ids_are_unique_across_parallel_processes(tmp_path: Path) -> None:
    root = tmp_path / "shared-root"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _ID_SCRIPT, str(root)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    outputs = []
    for p in procs:
        out, err = p.communicate(timeout=60)
        assert p.returncode == 0, err
        outputs.append(out.split())
    ids = [i for out in outputs for i in out]
    assert len(ids) == 4 * 225
    assert len(set(ids)) == len(ids)
    created = sorted(p.name for p in root.iterdir())
    assert len(created) == 100
    assert set(created) == {i for out in outputs for i in out[200:]}
    for out in outputs:  # within one process, the time part never goes backwards
        stamps = [i.split("-")[0] for i in out]
        assert stamps == sorted(stamps)


def test_a_run_id_used_again_after_its_folder_was_deleted_writes_the_new_folder(tmp_path: Path) -> None:
    first = RunFolder.create(tmp_path, {}, run_id="fixed")
    first.append_response({"hash": "h1"})  # its append handle stays open in the process-wide pool
    shutil.rmtree(first.path)
    again = RunFolder.create(tmp_path, {}, run_id="fixed")
    again.append_response({"hash": "h2"})
    assert [r["hash"] for r in again.responses()] == ["h2"]


# -- atomic writes ---------------------------------------------------------------------------------


def test_atomic_json_writes_leave_no_temp_files(tmp_path: Path) -> None:
    target = tmp_path / "doc" / "state.json"
    target.parent.mkdir()
    for n in range(30):
        write_json_atomic(target, {"n": n, "text": "x" * n})
    assert json.loads(target.read_text()) == {"n": 29, "text": "x" * 29}
    assert sorted(p.name for p in target.parent.iterdir()) == ["state.json"]


def test_failed_atomic_write_keeps_the_old_file_and_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "state.json"
    write_json_atomic(target, {"ok": True})
    with pytest.raises(UnicodeEncodeError):
        write_json_atomic(target, {"bad": "\ud800"})  # a lone surrogate cannot be written as UTF-8
    assert json.loads(target.read_text()) == {"ok": True}
    assert [p.name for p in tmp_path.iterdir() if p.name != ".anthropic-config"] == ["state.json"]


def test_failed_artifact_write_keeps_the_old_file_and_no_temp(folder: RunFolder) -> None:
    folder.write_artifact("qa", "report.md", "first")
    with pytest.raises(UnicodeEncodeError):
        folder.write_artifact("qa", "report.md", "bad \ud800")
    assert (folder.path / "artifacts" / "qa" / "report.md").read_text() == "first"
    assert sorted(p.name for p in (folder.path / "artifacts" / "qa").iterdir()) == ["report.md"]


def test_a_new_artifact_is_written_in_place_and_a_rewrite_replaces_it_whole(folder: RunFolder) -> None:
    rel = folder.write_artifact("qa", "report.md", "first")
    target = folder.path / rel
    old = os.stat(target)
    folder.write_artifact("qa", "report.md", "second, revised")
    assert target.read_text() == "second, revised"
    assert os.stat(target).st_ino != old.st_ino  # renamed over, never truncated and rewritten in place
    assert sorted(p.name for p in target.parent.iterdir()) == ["report.md"]


def test_create_writes_manifest_and_artifacts_dir(folder: RunFolder) -> None:
    assert folder.manifest()["run_id"] == folder.run_id
    assert (folder.path / "artifacts").is_dir()
    assert _tree(folder.path) == {"manifest.json", "artifacts"}


def test_create_with_an_existing_run_id_is_refused(tmp_path: Path) -> None:
    RunFolder.create(tmp_path / "runs", {}, run_id="fixed-id")
    with pytest.raises(ConfigError, match="already exists"):
        RunFolder.create(tmp_path / "runs", {}, run_id="fixed-id")


def test_state_and_summary_round_trip(folder: RunFolder) -> None:
    assert folder.load_state() is None and folder.summary() is None
    folder.save_state({"status": "running", "steps": {"qa": "done"}})
    summary = RunSummary(run_id=folder.run_id, status="completed", totals=RunTotals(cost_usd=Decimal("0.10")))
    folder.write_summary(summary)
    assert folder.load_state() == {"status": "running", "steps": {"qa": "done"}}
    assert folder.summary() == summary and str(summary.totals.cost_usd) == "0.10"
    folder.update_manifest(note="x")
    assert folder.manifest()["note"] == "x" and folder.manifest()["run_id"] == folder.run_id
    assert not [p for p in folder.path.iterdir() if p.name.endswith(".tmp")]


def test_create_makes_a_missing_output_folder_and_refuses_a_file(tmp_path: Path) -> None:
    made = RunFolder.create(tmp_path / "new" / "runs", {"n": 1})
    assert made.path.parent == tmp_path / "new" / "runs" and (made.path / "artifacts").is_dir()
    (tmp_path / "file").write_text("x")
    with pytest.raises(ConfigError, match="is a file"):
        RunFolder.create(tmp_path / "file", {"n": 2})


def test_the_manifest_is_read_from_the_file(folder: RunFolder) -> None:
    opened = RunFolder.open(folder.path)
    folder.update_manifest(note="y")
    assert opened.manifest()["note"] == "y" and opened.manifest()["run_id"] == folder.run_id
    opened.manifest()["note"] = "changed"  # a new dict each time: changing it changes nothing held
    assert folder.manifest()["note"] == opened.manifest()["note"] == "y"


# -- JSONL -----------------------------------------------------------------------------------------


def test_read_jsonl_skips_a_torn_last_line(tmp_path: Path) -> None:
    path = tmp_path / "calls.jsonl"
    path.write_text('{"n": 1}\n{"n": 2}\n{"n": 3, "agent": "qa", "cost', encoding="utf-8")
    assert read_jsonl(path) == [{"n": 1}, {"n": 2}]


def test_read_jsonl_of_a_missing_file_is_empty(tmp_path: Path) -> None:
    assert read_jsonl(tmp_path / "nope.jsonl") == []


def test_append_after_a_torn_line_keeps_new_records(folder: RunFolder) -> None:
    folder.append_call(CallRecord(attempt=1))
    folder.close()  # a killed writer's handles (and their locks) die with it
    with open(folder.path / CALLS, "a", encoding="utf-8") as f:
        f.write('{"attempt": 2, "torn')  # killed mid-write
    folder.append_call(CallRecord(attempt=3))  # e.g. the first ledger line of `resume`
    folder.append_call(CallRecord(attempt=4))
    assert [r.attempt for r in folder.calls()] == [1, 3, 4]


def test_append_call_returns_the_record_as_written(folder: RunFolder) -> None:
    plain = CallRecord(attempt=1, error="timeout")
    assert folder.append_call(plain) is plain  # unchanged: no second copy
    leaked = CallRecord(attempt=2, error=f"bad key {KEY}")
    written = folder.append_call(leaked)
    assert written.error == "bad key [redacted-key]"
    assert folder.calls()[-1] == written == RunFolder(folder.path).calls()[-1]


def test_the_ledger_is_read_again_only_when_another_writer_changed_it(
    folder: RunFolder, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder.append_call(CallRecord(attempt=1))
    with monkeypatch.context() as m:  # calls() must come from what this folder wrote, not the file
        m.setattr(Path, "read_bytes", lambda self: pytest.fail(f"read {self.name} again"))
        assert [r.attempt for r in folder.calls()] == [1]
    other = RunFolder(folder.path)  # e.g. another process
    other.append_call(CallRecord(attempt=2))
    folder.append_call(CallRecord(attempt=3))
    assert [r.attempt for r in folder.calls()] == [1, 2, 3]
    folder.close()  # the run stopped: its handles closed, so the next reader looks at the file again
    with open(folder.path / CALLS, "ab") as f:
        f.write(CallRecord(attempt=4).model_dump_json().encode() + b"\n")
    assert [r.attempt for r in folder.calls()] == [1, 2, 3, 4]


def test_appends_are_one_line_per_record(folder: RunFolder) -> None:
    for n in range(5):
        folder.append_response({"n": n, "text": "multi\nline"})
    lines = (folder.path / RESPONSES).read_text().splitlines()
    assert len(lines) == 5
    assert [json.loads(ln)["text"] for ln in lines] == ["multi\nline"] * 5


# -- opening ---------------------------------------------------------------------------------------


def test_open_a_run_folder(folder: RunFolder) -> None:
    assert RunFolder.open(folder.path).run_id == folder.run_id


@pytest.mark.parametrize("kind", ["empty-dir", "missing", "file", "manifest-is-a-dir"])
def test_open_a_non_run_folder_raises(tmp_path: Path, kind: str) -> None:
    target = tmp_path / "target"
    if kind == "empty-dir":
        target.mkdir()
    elif kind == "file":
        target.write_text("hello")
    elif kind == "manifest-is-a-dir":
        (target / MANIFEST).mkdir(parents=True)
    with pytest.raises(NotARunError) as info:
        RunFolder.open(target)
    assert "run folder" in str(info.value)


def test_list_runs_reads_folders_oldest_first(tmp_path: Path) -> None:
    root = tmp_path / "runs"
    a = RunFolder.create(
        root,
        {"mode": "simulated", "project_name": "A"},
        run_id=new_run_id(datetime(2026, 1, 1, tzinfo=UTC)),
    )
    b = RunFolder.create(root, {"mode": "replay", "project_name": "B"})
    b.save_state({"status": "completed", "steps": {"qa": "done", "reviewer": "pending"}})
    b.write_summary(
        RunSummary(run_id=b.run_id, status="completed", totals=RunTotals(cost_usd=Decimal("0.25")))
    )
    (root / "not-a-run").mkdir()
    rows = list_runs(root)
    assert [r["run_id"] for r in rows] == [a.run_id, b.run_id]
    assert rows[0]["status"] == "created" and rows[0]["cost"] == "unknown"
    assert (
        rows[1]["status"] == "completed" and rows[1]["agents_done"] == "1/2" and rows[1]["cost"] == "$0.2500"
    )


# -- secrets ---------------------------------------------------------------------------------------


def test_redact_replaces_key_shaped_strings() -> None:
    assert KEY not in redact(f"key={KEY}; again {KEY}")
    assert redact("sk-ant-short") == "sk-ant-short"  # too short to be a key
    assert redact("no secrets here") == "no secrets here"


def test_secret_shaped_strings_are_redacted_everywhere(tmp_path: Path) -> None:
    folder = RunFolder.create(tmp_path / "runs", {"request": f"use {KEY}", "nested": {"k": [KEY]}})
    folder.save_state({"error": f"auth failed for {KEY}"})
    folder.write_summary(RunSummary(run_id=folder.run_id, status="failed", error={"message": KEY}))
    folder.append_call(CallRecord(status="error", error=f"401 with {KEY}"))
    folder.append_response({"completion": {"text": KEY}})
    folder.write_artifact("developer", "config.py", f'API_KEY = "{KEY}"\n')
    files = [p for p in folder.path.rglob("*") if p.is_file()]
    assert len(files) == 6
    for p in files:
        text = p.read_text(encoding="utf-8")
        assert KEY not in text and "FAKE-KEY-FOR-TESTS" not in text, p
        assert "[redacted-key]" in text, p


def test_a_run_folder_made_again_under_its_id_gets_fresh_handles(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Handles left open on a deleted folder of the same name are closed (under the pool's own spelling
    of the path: "./runs" is "runs" there), so nothing is appended to the deleted files."""
    monkeypatch.chdir(tmp_path)
    first = RunFolder.create("./runs", {"n": 1}, run_id="same")
    first.append_call(CallRecord(attempt=1))
    shutil.rmtree(tmp_path / "runs" / "same")
    again = RunFolder.create("./runs", {"n": 2}, run_id="same")
    again.append_call(CallRecord(attempt=2))
    assert [r.attempt for r in RunFolder(tmp_path / "runs" / "same").calls()] == [2]
    again.close()
