"""responses.jsonl writes each long text once per writer and refers to it afterwards; every reader gets
the full records back, as the lines held them before (store/response_texts.py)."""

from __future__ import annotations

import asyncio
import gc
import json
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from orchestrator_kit.errors import DamagedRun, ReplayMiss
from orchestrator_kit.llm.replay import RecordingBackend, ReplayBackend, recording_record
from orchestrator_kit.llm.simulated import SimulatedBackend
from orchestrator_kit.llm.types import Completion, LLMRequest, Message, SystemBlock, Usage
from orchestrator_kit.records import CallRecord
from orchestrator_kit.store import append_files, json_bytes, response_texts
from orchestrator_kit.store.run_folder import RESPONSES, RunFolder, read_responses, redact_bytes

LONG = response_texts.MIN_CHARS
CHARTER = "You are one of eight agents of a software team. " * 8
ROLE = "<role>qa</role> Check the developer's work and write a report. " * 3
KEY = "sk-ant-api03-FAKE-KEY-FOR-TESTS-ONLY-0000"


def _request(system: list[str], turns: list[str], model: str = "claude-sonnet-5-5") -> LLMRequest:
    roles = ("user", "assistant")
    return LLMRequest(
        model=model,
        system=tuple(SystemBlock(text=t, cache_ttl="1h" if i == 0 else None) for i, t in enumerate(system)),
        messages=tuple(Message(role=roles[i % 2], content=t) for i, t in enumerate(turns)),  # type: ignore[arg-type]
        max_tokens=4096,
    )


def _completion(text: str) -> Completion:
    usage = Usage(input_tokens=10, output_tokens=5, estimated=True)
    return Completion(
        text=text, stop_reason="end_turn", usage=usage, model="claude-sonnet-5-5", mode="simulated"
    )


def _as_before(record: dict[str, Any]) -> dict[str, Any]:
    """What a reader got back when every line held the whole record (redacted as the line is)."""
    parsed: dict[str, Any] = json.loads(redact_bytes(json_bytes.line(record)))
    return parsed


def _plan_and_act(folder: RunFolder, task: str) -> list[dict[str, Any]]:
    """An agent's two calls: the act call continues the plan call's conversation."""
    plan = recording_record(_request([CHARTER, ROLE], [task]), _completion("plan: " + task))
    act = recording_record(
        _request([CHARTER, ROLE], [task, "plan: " + task, "Now act. " * 20]), _completion("done " * 40)
    )
    for rec in (plan, act):
        folder.append_response(rec)
    return [plan, act]


def test_a_long_text_is_written_once_per_writer(folder: RunFolder) -> None:
    records = _plan_and_act(folder, "Write the CSV converter's tests. " * 5)
    raw = (folder.path / RESPONSES).read_text()
    assert raw.count(CHARTER) == 1 and raw.count(ROLE) == 1
    assert raw.count("plan: Write") == 1  # the plan's answer, repeated as the act call's assistant turn
    assert folder.responses() == [_as_before(r) for r in records]
    again = RunFolder(folder.path)  # a new writer (a resume in a new process) knows nothing
    records += _plan_and_act(again, "Write the user guide. " * 8)
    assert (folder.path / RESPONSES).read_text().count(CHARTER) == 2
    assert folder.responses() == again.responses() == [_as_before(r) for r in records]


def test_short_texts_and_other_records_are_written_as_they_are(folder: RunFolder) -> None:
    short = recording_record(_request(["short charter"], ["short task"]), _completion("short answer"))
    folder.append_response(short)
    folder.append_response(short)
    folder.append_response({"n": 1, "text": CHARTER})
    lines = [json.loads(x) for x in (folder.path / RESPONSES).read_bytes().splitlines()]
    assert lines == [_as_before(short), _as_before(short), {"n": 1, "text": CHARTER}]


def test_an_old_folder_with_whole_requests_reads_unchanged(folder: RunFolder) -> None:
    records = [recording_record(_request([CHARTER], ["task " * 40]), _completion("answer " * 30))] * 2
    (folder.path / RESPONSES).write_bytes(b"".join(json_bytes.line(r) + b"\n" for r in records))
    assert folder.responses() == [_as_before(r) for r in records]


def test_a_torn_line_then_a_new_writer(folder: RunFolder) -> None:
    records = _plan_and_act(folder, "Design the data model, in detail. " * 6)
    assert folder._texts is not None  # killed while writing its next line: half of it reached the file
    line, _ = folder._texts.compact(
        recording_record(_request([CHARTER, "x" * 300], ["t" * 200]), _completion("a" * 200))
    )
    assert "ref" in line["request"]["system"][0]["text"] and line[response_texts.FIELD]
    folder.close()  # the killed process's handles (and their locks) die with it
    with open(folder.path / RESPONSES, "ab") as f:
        f.write(json_bytes.line(line)[:-40])
    resumed = RunFolder(folder.path)
    records += _plan_and_act(resumed, "Design the data model, in detail. " * 6)
    records += _plan_and_act(resumed, "Review the data model. " * 9)
    assert folder.responses() == [_as_before(r) for r in records]


def test_two_writers_interleaved(folder: RunFolder) -> None:
    other = RunFolder(folder.path)
    records = []
    for n in range(3):
        for writer in (folder, other):
            records += _plan_and_act(writer, f"Task {n} of {writer is other}. " * 10)
    assert RunFolder(folder.path).responses() == [_as_before(r) for r in records]
    assert (folder.path / RESPONSES).read_text().count(CHARTER) == 2  # once per writer


def test_a_failed_append_leaves_nothing_to_refer_to(
    folder: RunFolder, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = recording_record(_request([CHARTER], ["task one " * 20]), _completion("answer one " * 20))
    real = append_files.APPENDS.append
    with monkeypatch.context() as m:

        def full_disk(path: str, data: bytes) -> tuple[int, int]:
            raise OSError(28, "No space left on device")

        m.setattr(append_files.APPENDS, "append", full_disk)
        with pytest.raises(OSError):
            folder.append_response(first)
    assert append_files.APPENDS.append == real
    second = recording_record(_request([CHARTER], ["task two " * 20]), _completion("answer two " * 20))
    folder.append_response(second)
    assert (folder.path / RESPONSES).read_text().count(CHARTER) == 1  # written in full: the first never was
    assert folder.responses() == [_as_before(second)]


def test_a_redacted_text_reads_back_as_stored(folder: RunFolder) -> None:
    leaky = f"The key is {KEY}; never print it. " * 4
    records = [
        recording_record(_request([CHARTER, leaky], [f"task {n} " * 30]), _completion("ok")) for n in (1, 2)
    ]
    for rec in records:
        folder.append_response(rec)
    raw = (folder.path / RESPONSES).read_text()
    assert KEY not in raw and raw.count("[redacted-key]") == 4  # the text once, four keys in it
    back = folder.responses()
    assert back == [_as_before(r) for r in records]
    assert back[1]["request"]["system"][1]["text"] == leaky.replace(KEY, "[redacted-key]")


def test_lone_surrogates_read_back(folder: RunFolder) -> None:
    odd = "half \ud800 a surrogate " * 10  # in an answer (a request holding one is refused up front)
    records = [recording_record(_request([CHARTER], [f"go {n}" * 50]), _completion(odd)) for n in (1, 2)]
    for rec in records:
        folder.append_response(rec)
    assert folder.responses() == [_as_before(r) for r in records]


def test_a_reference_to_a_missing_line_is_a_damaged_run(folder: RunFolder) -> None:
    _plan_and_act(folder, "Some task that is long enough to be shared. " * 4)
    path = folder.path / RESPONSES
    path.write_bytes(b"".join(path.read_bytes().splitlines(keepends=True)[1:]))  # the first line deleted
    with pytest.raises(DamagedRun, match="no earlier line holds"):
        folder.responses()


def test_replay_of_a_folder_hits_and_explains_a_miss(folder: RunFolder) -> None:
    task = "Write the CSV converter, with validation. " * 5
    requests = [
        _request([CHARTER, ROLE], [task]),
        _request([CHARTER, ROLE], [task, "plan " * 40, "act " * 40]),
    ]
    backend = SimulatedBackend()
    answers = [asyncio.run(backend.complete(r)) for r in requests]
    for req, ans in zip(requests, answers, strict=True):
        folder.append_response(recording_record(req, ans))
    assert "ref" in (folder.path / RESPONSES).read_text()
    replay = ReplayBackend(folder.path)
    for req, ans in zip(requests, answers, strict=True):
        assert asyncio.run(replay.complete(req)).text == ans.text
    changed = _request([CHARTER, ROLE.replace("report", "essay")], [task])
    with pytest.raises(ReplayMiss) as info:
        asyncio.run(replay.complete(changed))
    message = str(info.value)
    assert "-" in message and "report" in message and "+" in message and "essay" in message


def test_a_recording_file_stays_whole_lines(tmp_path: Path) -> None:
    path = tmp_path / "rec.jsonl"
    request = _request([CHARTER], ["task " * 40])
    backend = RecordingBackend(SimulatedBackend(), path)
    for _ in range(2):
        asyncio.run(backend.complete(request))
    assert path.read_text().count(CHARTER) == 2
    assert [r["request"] for r in read_responses(path)] == [request.canonical_data()] * 2


_WORDS = st.sampled_from(
    [CHARTER, ROLE, "x" * (LONG - 1), "y" * LONG, f"uses {KEY} " * 12, "é 漢字 😀 " * 30]
)
_TEXT = st.one_of(_WORDS, st.text(max_size=LONG + 40), st.text(min_size=LONG, max_size=LONG + 5))
_ANSWER = st.one_of(_TEXT, st.just("\udc80 lone " * 20))  # only answers may hold a lone surrogate


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(0, 2),  # which writer: 0 and 1 live at once, 2 a new one replacing 1
            st.lists(_TEXT, max_size=3),
            st.lists(_TEXT, min_size=1, max_size=4),
            _ANSWER,
        ),
        max_size=12,
    )
)
def test_any_sequence_reads_back_in_full(calls: list[tuple[int, list[str], list[str], str]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = RunFolder.create(Path(tmp), {})
        writers = [folder, RunFolder(folder.path)]
        records = []
        for who, system, turns, answer in calls:
            if who == 2:
                writers[1] = RunFolder(folder.path)
            record = recording_record(_request(system, turns), _completion(answer))
            writers[min(who, 1)].append_response(record)
            records.append(record)
        assert RunFolder(folder.path).responses() == [_as_before(r) for r in records]
        folder.close()


def test_a_line_ends_at_a_newline_only(folder: RunFolder) -> None:
    """U+0085 and U+2028 are written raw (JSON needs no escape): they must not split a line."""
    odd = "one\x85two\u2028three " * 20
    records = [recording_record(_request([CHARTER], [f"task {n} " * 20]), _completion(odd)) for n in (1, 2)]
    for rec in records:
        folder.append_response(rec)
    folder.append_call(CallRecord(attempt=1, error=odd))
    assert folder.responses() == [_as_before(r) for r in records]
    assert [c.error for c in RunFolder(folder.path).calls()] == [odd]


def test_a_writer_past_its_memory_bound_writes_texts_again(
    folder: RunFolder, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(response_texts, "MAX_HELD_CHARS", 2 * len(CHARTER))
    records = []
    for n in range(4):
        records += _plan_and_act(folder, f"Task number {n}, long enough to be shared. " * 4)
    assert (folder.path / RESPONSES).read_text().count(CHARTER) > 1  # forgotten, so written again
    assert folder.responses() == [_as_before(r) for r in records]


def test_texts_of_the_same_length_are_each_referred_to(folder: RunFolder) -> None:
    a, b, c, d = ("A" * 200, "B" * 200, "C" * 200, "D" * 200)  # one length: found by length, then hash
    records = [
        recording_record(_request([a, b], [c]), _completion(d)),
        recording_record(_request([c, a], [d]), _completion(b)),
    ]
    for rec in records:
        folder.append_response(rec)
    raw = (folder.path / RESPONSES).read_text()
    assert [raw.count(t) for t in (a, b, c, d)] == [1, 1, 1, 1]
    assert folder.responses() == [_as_before(r) for r in records]


def test_the_texts_a_writer_holds_are_not_scanned_by_the_garbage_collector(folder: RunFolder) -> None:
    """Thousands of runs in flight each hold a writer: its texts add nothing to what a collection scans."""
    _plan_and_act(folder, "Write the CSV converter's tests. " * 5)
    held = [r for r in gc.get_referents(folder._texts) if isinstance(r, dict)]
    assert held and not any(gc.is_tracked(d) for d in held)
