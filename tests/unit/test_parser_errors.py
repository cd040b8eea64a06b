"""The response parser's errors: type, place and expectation named in the message."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import pytest
from parser_builders import (
    APP,
    act,
    art,
)

from orchestrator_kit.agents.response_parser import (
    MAX_ARTIFACT_CHARS,
    Parsed,
    parse_act,
    parse_plan,
)
from orchestrator_kit.errors import ParseError

# --- errors: type, place and expectation named in the message ------------------------------------

decided = partial(parse_act, require_decision=True)
scored = partial(parse_act, require_score=True)

ERRORS: list[Any] = [
    pytest.param(
        parse_act,
        '{"summary": "s"}',
        'missing "artifacts": expected a list of {"filename"',
        id="no-artifacts",
    ),
    pytest.param(
        parse_act, '{"summary": "s", "artifacts": null}', 'missing "artifacts"', id="null-artifacts"
    ),
    pytest.param(
        parse_act, '{"summary": "s", "artif', 'missing "artifacts"', id="truncated-before-artifacts"
    ),
    pytest.param(
        parse_act,
        '{"summary": "s", "artifacts": "a.py"}',
        "artifacts: expected a list of",
        id="artifacts-string",
    ),
    pytest.param(parse_act, act("a.py"), "artifacts[0]: expected an object, got str", id="artifact-string"),
    pytest.param(
        parse_act,
        act(APP, art("b.py", 3)),
        "artifacts[1].content: expected a string, got int",
        id="content-int",
    ),
    pytest.param(
        parse_act,
        act(art("b.py", {"x": 1})),
        "artifacts[0].content: expected a string, got dict",
        id="content-dict",
    ),
    pytest.param(
        parse_act, act({"filename": "a.py"}), 'artifacts[0]: missing "content"', id="content-missing"
    ),
    pytest.param(
        parse_act,
        act({"filename": "a.py", "content": None}),
        'artifacts[0]: missing "content"',
        id="content-null",
    ),
    pytest.param(parse_act, act({"content": "x"}), 'artifacts[0]: missing "filename"', id="filename-missing"),
    pytest.param(
        parse_act, act(art(7)), "artifacts[0].filename: expected a string, got int", id="filename-int"
    ),
    pytest.param(
        parse_act,
        act(art("..")),
        "artifacts[0].filename: artifact filename '..' has no safe characters",
        id="filename-dotdot",
    ),
    pytest.param(parse_act, act(art("")), "artifact filename '' has no safe characters", id="filename-empty"),
    pytest.param(
        parse_act, act(art("a.py", kind=3)), "artifacts[0].kind: expected a string, got int", id="kind-int"
    ),
    pytest.param(parse_act, act(summary=["s"]), "summary: expected a string, got list", id="summary-list"),
    pytest.param(
        parse_act,
        act(decision={"approved": "maybe"}),
        "decision.approved: expected true or false, got str 'maybe'",
        id="approved-maybe",
    ),
    pytest.param(
        parse_act,
        act(decision={"approved": 1}),
        "decision.approved: expected true or false, got int",
        id="approved-int",
    ),
    pytest.param(
        parse_act,
        act(decision={"reasons": []}),
        'decision: missing "approved"; expected {"approved": true|false',
        id="approved-missing",
    ),
    pytest.param(parse_act, act(decision="perhaps"), "decision: got str; expected {", id="decision-string"),
    pytest.param(
        parse_act,
        act(decision={"approved": True, "reasons": [1]}),
        "decision.reasons[0]: expected a string, got int",
        id="reason-int",
    ),
    pytest.param(parse_act, act(score=11), "score: 11 is out of range 0..10", id="score-11"),
    pytest.param(parse_act, act(score=-1), "score: -1 is out of range 0..10", id="score-negative"),
    pytest.param(parse_act, act(score="11/10"), "score: '11/10' is out of range 0..10", id="score-11-of-10"),
    pytest.param(parse_act, act(score=float("nan")), "out of range 0..10", id="score-nan"),
    pytest.param(parse_act, act(score="high"), "score: could not read 'high' as a number", id="score-word"),
    pytest.param(parse_act, act(score="3/5"), "score: could not read '3/5'", id="score-other-scale"),
    pytest.param(parse_act, act(score=True), "score: expected a number, got bool", id="score-bool"),
    pytest.param(
        parse_act, act(score={"reasons": []}), 'score.value: missing "value"', id="score-value-missing"
    ),
    pytest.param(
        decided,
        act(APP),
        'missing "decision": expected {"approved": true|false, "reasons": [...]}',
        id="require-decision-missing",
    ),
    pytest.param(decided, act(APP, decision=None), 'missing "decision"', id="require-decision-null"),
    pytest.param(
        scored,
        act(APP, decision={"approved": True}),
        'missing "score": expected {"value": 0..10',
        id="require-score-missing",
    ),
    pytest.param(
        parse_act,
        act(art("big.txt", "x" * (MAX_ARTIFACT_CHARS + 1), "text")),
        "artifacts[0].content: 1,000,001 chars is over the limit of 1,000,000 chars",
        id="artifact-too-large",
    ),
    pytest.param(
        parse_act,
        "Sorry, I cannot help with that.",
        "no JSON object found in the response (31 chars",
        id="act-prose-only",
    ),
    pytest.param(
        parse_plan, '{"summary": "s"}', 'missing "steps": expected a list of strings', id="plan-no-steps"
    ),
    pytest.param(
        parse_plan,
        '{"summary": "s", "steps": ["a", 2]}',
        "steps[1]: expected a string, got int",
        id="plan-step-int",
    ),
    pytest.param(
        parse_plan,
        '{"summary": "s", "steps": {"a": 1}}',
        'steps: expected a list of strings or of {"description": ...} objects, got dict',
        id="plan-steps-dict",
    ),
    pytest.param(
        parse_plan,
        '{"summary": "s", "steps": [], "artifacts": "a.py"}',
        "artifacts: expected a list of objects, got str",
        id="plan-artifacts-string",
    ),
    pytest.param(
        parse_plan,
        '{"summary": "s", "steps": [], "artifacts": [{"filename": "a", "purpose": 1}]}',
        "artifacts[0].purpose: expected a string, got int",
        id="plan-purpose-int",
    ),
    pytest.param(parse_plan, "[]", 'missing "steps"', id="plan-array"),
]


@pytest.mark.parametrize(("parse", "text", "fragment"), ERRORS)
def test_parse_errors(parse: Callable[[str], Parsed[Any]], text: str, fragment: str) -> None:
    with pytest.raises(ParseError) as info:
        parse(text)
    assert fragment in str(info.value)
