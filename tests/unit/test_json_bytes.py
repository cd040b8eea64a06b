"""orjson in the run folder (issue #12): what readers parse is what the json module wrote, and the
request hash is byte-for-byte the json module's canonical JSON (old recordings still replay)."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from collections import OrderedDict
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from orchestrator_kit.llm.replay import recording_record
from orchestrator_kit.llm.types import (
    Attempt,
    Completion,
    LLMRequest,
    Message,
    RequestLabels,
    SystemBlock,
    Usage,
)
from orchestrator_kit.records import CallRecord, RunSummary, RunTotals
from orchestrator_kit.store import json_bytes
from orchestrator_kit.store.run_folder import CALLS, MANIFEST, RESPONSES, SUMMARY, RunFolder


def _old_line(data: Any) -> bytes:
    return json.dumps(data, ensure_ascii=False, default=str, separators=(",", ":")).encode("utf-8")


def _old_document(data: Any) -> bytes:
    return (json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n").encode("utf-8")


def _old_canonical(request: LLMRequest) -> str:
    data = request.model_dump(mode="json", exclude={"labels"})
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


# -- the request hash --------------------------------------------------------------------------------

_text = st.text(
    st.one_of(st.characters(), st.characters(categories=["Cs"])), max_size=40
)  # lone surrogates too
_ttl = st.sampled_from([None, "5m", "1h"])
_requests = st.builds(
    LLMRequest,
    model=_text,
    system=st.lists(st.builds(SystemBlock, text=_text, cache_ttl=_ttl), max_size=3).map(tuple),
    messages=st.lists(
        st.builds(Message, role=st.sampled_from(["user", "assistant"]), content=_text, cache_ttl=_ttl),
        min_size=1,
        max_size=3,
    ).map(tuple),
    max_tokens=st.one_of(st.integers(1, 200_000), st.integers(2**63 - 2, 2**70)),
    stop_sequences=st.lists(_text, max_size=3).map(tuple),
    labels=st.builds(RequestLabels, agent=_text, step=_text),
)


@settings(max_examples=400, deadline=None)
@given(_requests)
def test_canonical_json_and_hash_are_the_json_modules_bytes(request: LLMRequest) -> None:
    old = _old_canonical(request)
    assert request.canonical_json() == old
    try:
        old_hash: str | None = hashlib.sha256(old.encode("utf-8")).hexdigest()
    except UnicodeEncodeError:  # a lone surrogate: no hash, then and now
        old_hash = None
    if old_hash is None:
        with pytest.raises(UnicodeEncodeError):
            request.request_hash()
    else:
        assert request.request_hash() == old_hash


@pytest.mark.parametrize(
    "text",
    ["plain", "é à ü 漢字 😀", "\x00\x01\x1f\x7f\u2028\u2029\ufeff", '"quote" \\ back/slash\t\n\r\b\f'],
)
@pytest.mark.parametrize("max_tokens", [1, 2**63, 2**64 - 1, 2**64, 2**80])
def test_canonical_json_of_edge_values(text: str, max_tokens: int) -> None:
    request = LLMRequest(
        model=text,
        system=(SystemBlock(text=text, cache_ttl="5m"),),
        messages=(Message(role="user", content=text),),
        max_tokens=max_tokens,
        stop_sequences=(text,),
    )
    old = _old_canonical(request)
    assert request.canonical_json() == old
    assert request.request_hash() == hashlib.sha256(old.encode("utf-8")).hexdigest()


def test_a_lone_surrogate_has_the_same_canonical_json_and_still_no_hash() -> None:
    request = LLMRequest(
        model="m", messages=(Message(role="user", content="half \ud83d pair"),), max_tokens=5
    )
    assert request.canonical_json() == _old_canonical(request)
    with pytest.raises(UnicodeEncodeError):
        request.request_hash()


def test_a_request_holds_no_float() -> None:
    """orjson spells some floats differently from json (1e-05): canonical_json may use it only while
    a request holds none. Adding a float field needs a fallback for it first."""
    schema = json.dumps(LLMRequest.model_json_schema())
    assert '"number"' not in schema


# -- lines and documents -----------------------------------------------------------------------------

_keys = st.text(max_size=8)
_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    _text,
    st.decimals(allow_nan=False, allow_infinity=False),
    st.datetimes(timezones=st.just(UTC)),
)
_data = st.recursive(
    _scalars,
    lambda kids: st.lists(kids, max_size=4) | st.dictionaries(_keys, kids, max_size=4),
    max_leaves=20,
)


def _same_parse(new: Callable[[], bytes], old_fn: Any, data: Any, *, escaped: bool = False) -> None:
    try:
        old = old_fn(data)
    except UnicodeEncodeError:  # a lone surrogate: a line holds its escape, a document still cannot
        if escaped:
            assert json.loads(new()) == json.loads(json.dumps(data, default=str))
            return
        with pytest.raises(UnicodeEncodeError):
            new()
        return
    assert json.loads(new()) == json.loads(old)


@settings(max_examples=400, deadline=None)
@given(_data)
def test_lines_and_documents_parse_to_what_json_wrote(data: Any) -> None:
    _same_parse(lambda: json_bytes.line(data), _old_line, data, escaped=True)
    _same_parse(lambda: json_bytes.compact_document(data), _old_line, data, escaped=json_bytes._finite(data))
    _same_parse(lambda: json_bytes.document(data), _old_document, data)


@settings(max_examples=200, deadline=None)
@given(_data)
def test_a_line_with_its_newline_is_the_line_and_a_newline(data: Any) -> None:
    assert json_bytes.line(data, newline=True) == json_bytes.line(data) + b"\n"


@settings(max_examples=200, deadline=None)
@given(
    st.recursive(
        st.one_of(st.none(), st.booleans(), st.integers(-(2**63), 2**63), _text.filter(str.isprintable)),
        lambda kids: st.lists(kids, max_size=4) | st.dictionaries(_keys, kids, max_size=4),
        max_leaves=20,
    )
)
def test_documents_without_floats_are_the_same_bytes(data: Any) -> None:
    try:
        old = _old_document(data)
    except UnicodeEncodeError:
        return
    assert json_bytes.document(data) == old


@dataclasses.dataclass
class _Point:
    x: int


@pytest.mark.parametrize(
    "value",
    [
        datetime(2026, 12, 1, 6, 0, tzinfo=UTC),
        date(2026, 12, 1),
        Decimal("0.000125"),
        Path("/tmp/x"),
        _Point(1),
        {1: "int key", None: "none key"},
        1e-05,
        1e16,
        2**64,
    ],
)
def test_values_json_wrote_through_default_str_are_written_the_same(value: Any) -> None:
    data = {"v": value, "text": "é"}
    assert json.loads(json_bytes.line(data)) == json.loads(_old_line(data))
    assert json.loads(json_bytes.document(data)) == json.loads(_old_document(data))


class _Float(float):
    pass


@pytest.mark.parametrize(
    "value",
    [
        math.nan,
        math.inf,
        -math.inf,
        (1, math.nan),
        OrderedDict(x=math.inf),
        _Float("nan"),
        [{"deep": [(-math.inf,)]}],
    ],
)
def test_documents_keep_json_spelling_of_nan_and_infinities(value: Any) -> None:
    data = {"a": [1, {"b": value}], "s": "x", "n": None, "t": True}
    assert json_bytes.document(data) == _old_document(data)
    assert json_bytes.compact_document(data) == _old_line(data)


# -- the run folder's files ---------------------------------------------------------------------------


def _completion() -> Completion:
    return Completion(
        text='Résumé — 漢字 😀 and a "quote"\n```json\n{}\n```',
        stop_reason="end_turn",
        usage=Usage(input_tokens=1234, output_tokens=56, cache_read_tokens=7, estimated=True),
        model="claude-sonnet-5-5",
        mode="simulated",
        latency_s=0.1234567,
        attempts=2,
        failed_attempts=(Attempt(number=1, error="RateLimitError", status_code=429, latency_s=1e-05),),
    )


def test_run_folder_files_parse_to_what_json_wrote(tmp_path: Path) -> None:
    folder = RunFolder.create(tmp_path, {"request": "é 漢字", "budget": {"max_usd": "1.5"}, "t": 0.1})
    request = LLMRequest(
        model="claude-sonnet-5-5",
        system=(SystemBlock(text="système", cache_ttl="5m"),),
        messages=(Message(role="user", content="naïve\ttext"),),
        max_tokens=4096,
    )
    response = recording_record(request, _completion())
    folder.append_response(response)
    record = CallRecord(
        ts="2026-12-01T06:00:00.000+00:00",
        t=1796104800.123456,
        agent="qa",
        cost_usd=Decimal("0.000123"),
        latency_s=1e-05,
        error="naïve error",
    )
    folder.append_call(record)
    summary = RunSummary(run_id=folder.run_id, status="completed", totals=RunTotals.of([record]))
    folder.write_summary(summary)
    lines = [json.loads(b) for b in (folder.path / RESPONSES).read_bytes().splitlines()]
    assert lines == [json.loads(_old_line(response))]
    calls = [json.loads(b) for b in (folder.path / CALLS).read_bytes().splitlines()]
    assert calls == [json.loads(_old_line(record.to_json()))]
    assert folder.calls() == [record] == RunFolder(folder.path).calls()
    text = (folder.path / SUMMARY).read_text(encoding="utf-8")
    assert json.loads(text) == json.loads(_old_document(summary.to_json()))
    assert text.startswith('{\n  "run_id": ') and text.endswith("\n}\n")  # indented, human-readable
    manifest = (folder.path / MANIFEST).read_bytes()
    assert manifest.startswith(b'{\n  "') and json.loads(manifest)["request"] == "é 漢字"


def test_a_ledger_line_with_a_lone_surrogate_is_written_with_its_escape(tmp_path: Path) -> None:
    # it ended the run once the call was paid (review of #12): the line is kept, and reads back the same
    folder = RunFolder.create(tmp_path, {})
    record = CallRecord(error="half \ud83d pair")
    folder.append_call(record)
    assert b"\\ud83d" in (folder.path / CALLS).read_bytes()
    assert RunFolder.open(folder.path).calls() == [record]
