"""The run folder's compaction of responses.jsonl lines (``TextWriter.compact``) writes, line for line,
the bytes the general version before issue #12's fast loop wrote (kept here as the reference)."""

from __future__ import annotations

import itertools
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from orchestrator_kit.store import json_bytes
from orchestrator_kit.store.response_texts import FIELD, MIN_CHARS, TextWriter

_PLACES = (("s", "system", "text"), ("m", "messages", "content"))


def _reference(w: TextWriter, record: dict[str, Any]) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
    """``TextWriter.compact`` as it was (comprehension copies, ``where`` made up front)."""
    request = record.get("request")
    if type(request) is not dict:
        return record, None
    fresh: list[tuple[str, str]] = []
    where: dict[str, str] = {}
    out_request = None
    for tag, key, field in _PLACES:
        items = request.get(key)
        if type(items) is not list:
            continue
        changed = None
        for i, item in enumerate(items):
            text = item.get(field) if type(item) is dict else None
            if type(text) is not str or len(text) < MIN_CHARS:
                continue
            ref = w._ref_id(text)
            if ref is not None:
                if changed is None:
                    changed = list(items)
                changed[i] = {**item, field: {"ref": ref}}
            else:
                where[f"{tag}{i}"] = w._define(text, fresh)
        if changed is not None:
            if out_request is None:
                out_request = dict(request)
            out_request[key] = changed
    out = None
    completion = record.get("completion")
    if type(completion) is dict:
        text = completion.get("text")
        if type(text) is str and len(text) >= MIN_CHARS:
            ref = w._ref_id(text)
            if ref is not None:
                out = dict(record)
                out["completion"] = {**completion, "text": {"ref": ref}}
            else:
                where["c"] = w._define(text, fresh)
    if out_request is not None or where:
        if out is None:
            out = dict(record)
        if out_request is not None:
            out["request"] = out_request
        if where:
            out[FIELD] = where
    return out or record, fresh or None


def _writer() -> TextWriter:
    w = TextWriter()
    w._prefix = "w."
    w._next = itertools.count(1).__next__
    return w


# long texts, two of one length, and short ones; some items odd (not dicts, non-string fields, extra keys)
_LONG = ["a" * MIN_CHARS, "b" * MIN_CHARS, "é" * 300, "c" * 1000, "d" * 5000]
_TEXT = st.sampled_from(_LONG) | st.sampled_from(["", "short", "x" * (MIN_CHARS - 1)]) | st.text(max_size=200)
_FIELD = _TEXT | st.none() | st.integers() | st.fixed_dictionaries({"ref": st.just("z.1")})
_SYSTEM = st.fixed_dictionaries({"text": _FIELD}, optional={"cache_ttl": st.sampled_from(["1h", None])})
_MESSAGE = st.fixed_dictionaries(
    {"role": st.sampled_from(["user", "assistant"]), "content": _FIELD}, optional={"cache_ttl": st.none()}
)
_ITEMS = st.lists(_SYSTEM | _MESSAGE | st.integers() | st.text(max_size=3), max_size=6)
_REQUEST = st.fixed_dictionaries(
    {"model": st.just("m")}, optional={"system": _ITEMS | st.none(), "messages": _ITEMS | st.text(max_size=3)}
)
_COMPLETION = st.fixed_dictionaries({"text": _FIELD}, optional={"usage": st.just({"input_tokens": 1})})
_RECORD = st.fixed_dictionaries(
    {"layout": st.just(2), "hash": st.just("h")},
    optional={"request": _REQUEST | st.none(), "completion": _COMPLETION | st.integers()},
)


@settings(max_examples=300)
@given(st.lists(st.tuples(_RECORD, st.booleans()), max_size=12))
def test_compact_writes_the_bytes_the_general_version_wrote(lines: list[tuple[dict[str, Any], bool]]) -> None:
    new, old = _writer(), _writer()
    for record, appended in lines:  # appended False: the line's append failed (nothing registered)
        got, fresh = new.compact(record)
        want, want_fresh = _reference(old, record)
        assert json_bytes.line(got) == json_bytes.line(want)
        assert fresh == want_fresh
        assert (got is record) == (want is record)  # unchanged records are not copied
        if appended and fresh:
            new.written(fresh)
            old.written(want_fresh)  # type: ignore[arg-type]
