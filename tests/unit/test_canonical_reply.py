"""The parser's fast path for canonical answers (agents/canonical_reply.py) gives exactly what the general
path gives: the same records and notes, or the same error, for answers in and near the canonical shape."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from orchestrator_kit.agents import canonical_reply, response_parser
from orchestrator_kit.agents.response_parser import parse_act, parse_plan
from orchestrator_kit.errors import ParseError

texts = st.one_of(
    st.sampled_from(["", " ", "plain", "déjà vu", "\ud800", "a\udfffb", "x" * 3]),
    st.text(alphabet=st.sampled_from(["a", " ", "é", "\ud800", "\n"]), max_size=5),
)
names = st.sampled_from(
    ["a.md", "src/app.py", "A.md", "a.md ", "../x.py", "con.py", ".env", "..", "", "x\ud800.py", "dir/"]
)
kinds = st.sampled_from(["markdown", " python ", "py", "code", "", "Text", "yml", "csv", "notebook"])
scalars = st.one_of(st.none(), st.integers(-1, 11), st.booleans(), texts)


def _item(fields: dict[str, st.SearchStrategy[Any]], extra: list[str]) -> st.SearchStrategy[Any]:
    keys = st.sampled_from([*fields, *extra])
    return st.one_of(
        st.fixed_dictionaries(fields),
        st.dictionaries(keys, st.one_of(*fields.values(), scalars), max_size=4),
        st.fixed_dictionaries(fields, optional={"path": names}),
        names,
        scalars,
    )


planned = _item({"filename": names, "kind": kinds, "purpose": texts}, ["name", "description", "type"])
files = _item({"filename": names, "kind": kinds, "content": texts}, ["path", "code", "language"])
decisions = st.one_of(
    scalars,
    st.fixed_dictionaries(
        {"approved": st.one_of(st.booleans(), texts)}, optional={"reasons": st.lists(texts)}
    ),
)
scores = st.one_of(scalars, st.floats(allow_nan=True), st.fixed_dictionaries({"value": scalars}))
plans = st.one_of(
    st.fixed_dictionaries(
        {"summary": texts, "steps": st.lists(texts, max_size=3)},
        optional={"artifacts": st.one_of(st.none(), st.lists(planned, max_size=3))},
    ),
    st.fixed_dictionaries(
        {"steps": st.one_of(scalars, st.lists(st.one_of(texts, scalars), max_size=2))},
        optional={"summary": scalars, "tasks": st.lists(texts, max_size=2), "artifacts": scalars},
    ),
)
acts = st.one_of(
    st.fixed_dictionaries(
        {"summary": texts, "artifacts": st.lists(files, max_size=3)},
        optional={"decision": decisions, "score": scores},
    ),
    st.fixed_dictionaries(
        {"artifacts": st.one_of(scalars, st.lists(files, max_size=2))},
        optional={"summary": scalars, "files": st.lists(files, max_size=1), "approved": scalars},
    ),
)


def _outcome(parse: Callable[[], Any]) -> Any:
    try:
        parsed = parse()
    except ParseError as exc:
        return ("error", str(exc))
    return (parsed.data.model_dump(), parsed.repairs)


def _both(parse: Callable[[], Any], monkeypatch: pytest.MonkeyPatch) -> tuple[Any, Any]:
    fast = _outcome(parse)
    with monkeypatch.context() as m:
        m.setattr(canonical_reply, "plan", lambda *a: None)
        m.setattr(canonical_reply, "act", lambda *a: None)
        general = _outcome(parse)
    return fast, general


@settings(max_examples=600, deadline=None)
@given(value=plans)
def test_a_plan_reads_the_same_through_either_path(value: dict[str, Any]) -> None:
    text = json.dumps(value)
    with pytest.MonkeyPatch.context() as mp:
        fast, general = _both(lambda: parse_plan(text), mp)
    assert fast == general


@settings(max_examples=600, deadline=None)
@given(value=acts, decision=st.booleans(), score=st.booleans())
def test_an_act_reads_the_same_through_either_path(
    value: dict[str, Any], decision: bool, score: bool
) -> None:
    text = json.dumps(value)
    with pytest.MonkeyPatch.context() as mp:
        fast, general = _both(lambda: parse_act(text, require_decision=decision, require_score=score), mp)
    assert fast == general


def test_canonical_answers_take_the_fast_path(monkeypatch: pytest.MonkeyPatch) -> None:
    plan = {
        "summary": "s",
        "steps": ["a"],
        "artifacts": [{"filename": "a.md", "kind": "markdown", "purpose": "p"}],
    }
    act = {"summary": "s", "artifacts": [{"filename": "a.md", "kind": "markdown", "content": "c"}]}
    assert canonical_reply.plan(plan, response_parser._UNUSUAL_KINDS) is not None
    assert canonical_reply.act(act, response_parser._UNUSUAL_KINDS, 10) is not None
    assert canonical_reply.act(act, response_parser._UNUSUAL_KINDS, 0) is None  # over the limit
    monkeypatch.setattr(response_parser, "_best", None)  # the general path would fail
    assert parse_plan(json.dumps(plan)).data.artifacts[0].purpose == "p"
    assert parse_act(json.dumps(act)).data.artifacts[0].content == "c"
