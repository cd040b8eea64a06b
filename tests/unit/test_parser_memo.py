"""The parser's shortcuts for common answers (issue #12) give what the general readers give: a whole-JSON
answer read without the scan's records is the scan's one value; a file name's memoised landing is the one
worked out afresh."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from orchestrator_kit.agents import canonical_reply
from orchestrator_kit.agents.json_extract import scan_json, whole_scan, whole_value

values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=5)),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=3), inner, max_size=3)
    ),
    max_leaves=6,
)
edges = st.sampled_from(["", " ", "\n", "\ufeff", "```json\n", "\n```", "x", "{", "]", "\ud800", '"', "// c"])


@settings(max_examples=500, deadline=None)
@given(value=values, before=edges, after=edges, as_bytes=st.booleans(), twice=st.booleans())
def test_a_whole_value_is_what_the_scan_finds(
    value: Any, before: str, after: str, as_bytes: bool, twice: bool
) -> None:
    body = json.dumps(value, ensure_ascii=False)
    text = before + (json.dumps(body) if twice else body) + after
    raw: str | bytes = text.encode("utf-8", errors="surrogatepass") if as_bytes else text
    whole = whole_value(raw)
    if whole is not None:
        scan = scan_json(raw)
        assert scan.whole and not scan.notes and not scan.found[0].notes
        assert whole_scan(*whole) == scan


def test_the_common_answer_is_a_whole_value() -> None:
    text = ' \n{"summary": "s", "steps": ["a"]}\n'
    assert whole_value(text) == (text.strip(), {"summary": "s", "steps": ["a"]})
    for other in ('"{\\"a\\": 1}"', '```json\n{"a": 1}\n```', '{"a": 1} and more', "\ufeff{}", b"{}"):
        assert whole_value(other) is None


names = st.one_of(
    st.sampled_from(
        ["a.md", "src/app.py", "A.md", "a.md ", "../x.py", "con.py", ".env", "..", "", "x\ud800.py"]
    ),
    st.text(alphabet=st.sampled_from(["a", ".", "/", " ", "_", "é", "\\"]), max_size=8),
    st.text(max_size=300),
)


@settings(max_examples=500, deadline=None)
@given(name=names)
def test_a_memoised_landing_is_the_one_worked_out_afresh(name: str) -> None:
    fresh = canonical_reply._text(name) and canonical_reply._lands(name)
    assert canonical_reply._landed(name) == fresh
    assert canonical_reply._landed(name) == fresh  # a hit (or not kept: over the length)
    assert len(canonical_reply._LANDED) <= canonical_reply._MAX_LANDED


def test_the_landing_memo_is_bounded(monkeypatch: Any) -> None:
    monkeypatch.setattr(canonical_reply, "_LANDED", {})
    monkeypatch.setattr(canonical_reply, "_MAX_LANDED", 10)
    for n in range(25):
        assert canonical_reply._landed(f"f{n}.md")
        assert len(canonical_reply._LANDED) <= 10
    assert not canonical_reply._landed("x" * 300) and "x" * 300 not in canonical_reply._LANDED
    assert not canonical_reply._landed(3) and not canonical_reply._landed(None)
