"""Tables for orchestrator_kit.agents.response_parser: well-formed answers, repairs, and errors."""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import partial
from typing import Any

import pytest

from orchestrator_kit.agents import response_parser as rp
from orchestrator_kit.agents.response_parser import (
    MAX_ARTIFACT_CHARS,
    MAX_RESPONSE_CHARS,
    ActData,
    ArtifactSpec,
    Decision,
    Parsed,
    PlanData,
    PlannedArtifact,
    ResponseParser,
    Score,
    extract_json,
    infer_kind,
    parse_act,
    parse_plan,
    sanitize_filename,
)
from orchestrator_kit.errors import ParseError


def act(*artifacts: dict[str, Any], summary: Any = "done", **extra: Any) -> str:
    return json.dumps({"summary": summary, "artifacts": list(artifacts), **extra})


def art(filename: Any, content: Any = "x", kind: Any = None) -> dict[str, Any]:
    kind_field = {} if kind is None else {"kind": kind}
    return {"filename": filename, **kind_field, "content": content}  # content last, as models write it


def spec(filename: str, kind: str, content: str = "x") -> ArtifactSpec:
    return ArtifactSpec(filename=filename, kind=kind, content=content)


APP = art("app.py", "print('hi')\n", "python")
APP_SPEC = spec("app.py", "python", "print('hi')\n")
MARKDOWN = "# Guide\n\n```python\nprint(1)\n```\n\nThen ```inline``` and\n```\nplain fence\n```\n"
NESTED = act(art("guide.md", MARKDOWN, "markdown"))
NESTED_DATA = ActData(summary="done", artifacts=[spec("guide.md", "markdown", MARKDOWN)])
PLAIN_DATA = ActData(summary="done", artifacts=[APP_SPEC])
TWO = act(APP, art("b.md", "# Title\n\nsome text", "markdown"))

# --- well-formed answers: parsed as is, no repair notes ------------------------------------------

WELL_FORMED_ACT = [
    pytest.param(act(APP), PLAIN_DATA, id="bare"),
    pytest.param(f"```json\n{act(APP)}\n```", PLAIN_DATA, id="json-fence"),
    pytest.param(f"```\n{act(APP)}\n```", PLAIN_DATA, id="unlabelled-fence"),
    pytest.param(f"Here is my work:\n\n{act(APP)}", PLAIN_DATA, id="after-prose"),
    pytest.param(f"{act(APP)}\n\nLet me know if {{}} needs changes.", PLAIN_DATA, id="before-prose"),
    pytest.param(f"Sure.\n```json\n{act(APP)}\n```\nDone.", PLAIN_DATA, id="fence-between-prose"),
    pytest.param(f'Use {{}} or {{"x": 1}} for dicts.\n{act(APP)}', PLAIN_DATA, id="braces-in-prose-first"),
    pytest.param(json.dumps(json.loads(act(APP)), indent=2), PLAIN_DATA, id="pretty-printed"),
    pytest.param("Use {x} or [1]. " * 50_000 + act(APP), PLAIN_DATA, id="many-prose-braces-first"),
    pytest.param(act(APP).encode("utf-8"), PLAIN_DATA, id="utf8-bytes"),
    pytest.param(NESTED, NESTED_DATA, id="nested-fences-bare"),
    pytest.param(f"```json\n{NESTED}\n```", NESTED_DATA, id="nested-fences-in-json-fence"),
    pytest.param(
        f"Result:\n```json\n{json.dumps(json.loads(NESTED), indent=2)}\n```\nBye",
        NESTED_DATA,
        id="nested-fences-pretty-with-prose",
    ),
    pytest.param(act(), ActData(summary="done", artifacts=[]), id="no-artifacts"),
    pytest.param(
        act(APP, decision={"approved": True, "reasons": ["tests pass"]}),
        ActData(
            summary="done", artifacts=[APP_SPEC], decision=Decision(approved=True, reasons=["tests pass"])
        ),
        id="decision",
    ),
    pytest.param(
        act(decision={"approved": False}),
        ActData(summary="done", artifacts=[], decision=Decision(approved=False)),
        id="decision-no-reasons",
    ),
    pytest.param(
        act(score=7.5), ActData(summary="done", artifacts=[], score=Score(value=7.5)), id="score-number"
    ),
    pytest.param(
        act(score={"value": 0, "reasons": ["empty"]}),
        ActData(summary="done", artifacts=[], score=Score(value=0, reasons=["empty"])),
        id="score-object",
    ),
    pytest.param(
        act(art("data/x.csv", "a,b\n", "csv"), art("q.sql", "select 1;", "sql")),
        ActData(
            summary="done", artifacts=[spec("data/x.csv", "csv", "a,b\n"), spec("q.sql", "sql", "select 1;")]
        ),
        id="two-artifacts",
    ),
    pytest.param(
        act(art("empty.txt", "", "text")),
        ActData(summary="done", artifacts=[spec("empty.txt", "text", "")]),
        id="empty-content-allowed",
    ),
]


@pytest.mark.parametrize(("text", "expected"), WELL_FORMED_ACT)
def test_parse_act_well_formed(text: str | bytes, expected: ActData) -> None:
    result = parse_act(text)
    assert result.data == expected
    assert result.repairs == ()


PLAN = {
    "summary": "build it",
    "steps": ["write", "test"],
    "artifacts": [{"filename": "app.py", "kind": "python", "purpose": "the app"}],
}
PLAN_DATA = PlanData(
    summary="build it",
    steps=["write", "test"],
    artifacts=[PlannedArtifact(filename="app.py", kind="python", purpose="the app")],
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(json.dumps(PLAN), PLAN_DATA, id="bare"),
        pytest.param(
            f"My plan:\n```json\n{json.dumps(PLAN, indent=2)}\n```", PLAN_DATA, id="fenced-after-prose"
        ),
        pytest.param(
            json.dumps({"summary": "s", "steps": []}), PlanData(summary="s", steps=[]), id="no-artifacts"
        ),
    ],
)
def test_parse_plan_well_formed(text: str, expected: PlanData) -> None:
    result = parse_plan(text)
    assert result.data == expected
    assert result.repairs == ()


# --- extract_json: exact repaired object and exact notes -----------------------------------------

TRUNC_1 = "truncated: closed 1 open brackets"
UNTERMINATED = "truncated: closed an unterminated string"
DROPPED = "truncated: dropped the incomplete last member"


@pytest.mark.parametrize(
    ("text", "expected", "notes"),
    [
        pytest.param(
            '{"a": [1, 2,], "b": 3,}',
            {"a": [1, 2], "b": 3},
            ("removed trailing commas",),
            id="trailing-commas",
        ),
        pytest.param(
            '{"a": True, "b": None, "c": False}',
            {"a": True, "b": None, "c": False},
            ("converted Python literals True/False/None to JSON",),
            id="python-literals",
        ),
        pytest.param(
            '{"a": True, "s": "True, None,]"}',
            {"a": True, "s": "True, None,]"},
            ("converted Python literals True/False/None to JSON",),
            id="literals-in-strings-kept",
        ),
        pytest.param(
            "{\u201ca\u201d: 1}",
            {"a": 1},
            ("replaced smart quotes with straight quotes",),
            id="smart-quoted-key",
        ),
        pytest.param(
            '{\u201ca\u201d: \u201csay "hi"\u201d}',
            {"a": 'say "hi"'},
            ("replaced smart quotes with straight quotes",),
            id="smart-quoted-value-with-quote",
        ),
        pytest.param('\ufeff{"a": 1}', {"a": 1}, ("removed a byte-order mark (BOM)",), id="bom-str"),
        pytest.param(b'\xef\xbb\xbf{"a": 1}', {"a": 1}, ("removed a byte-order mark (BOM)",), id="bom-bytes"),
        pytest.param(
            b'{"a": "caf\xe9"}',
            {"a": "caf\ufffd"},
            ("invalid UTF-8 bytes replaced with U+FFFD",),
            id="invalid-utf8-bytes",
        ),
        pytest.param(
            '{"a": "x\ud800y"}',
            {"a": "x\ufffdy"},
            ("lone surrogate characters replaced with U+FFFD",),
            id="lone-surrogate-str",
        ),
        pytest.param(
            '{"a": "line1\nline2\tend"}',
            {"a": "line1\nline2\tend"},
            ("escaped raw control characters inside strings",),
            id="raw-newline-in-string",
        ),
        pytest.param('{"a": "abc', {"a": "abc"}, (TRUNC_1, UNTERMINATED), id="truncated-in-string"),
        pytest.param('{"a": "x\\', {"a": "x"}, (TRUNC_1, UNTERMINATED), id="truncated-after-backslash"),
        pytest.param(
            '{"a": [1, {"b": 2',
            {"a": [1, {"b": 2}]},
            ("truncated: closed 3 open brackets",),
            id="truncated-nested",
        ),
        pytest.param('{"a": 1, ', {"a": 1}, (TRUNC_1,), id="truncated-after-comma"),
        pytest.param('{"a": 1, "b": ', {"a": 1}, (TRUNC_1, DROPPED), id="truncated-after-colon"),
        pytest.param('{"a": 1, "bc', {"a": 1}, (TRUNC_1, DROPPED), id="truncated-in-key"),
        pytest.param('{"a": 1, "b": tr', {"a": 1}, (TRUNC_1, DROPPED), id="truncated-in-literal"),
        pytest.param(
            '```json\n{"a": [1, 2\n```\nHope this helps',
            {"a": [1, 2]},
            ("truncated: closed 2 open brackets",),
            id="unclosed-before-closing-fence",
        ),
        pytest.param(
            'Sure: {"a": [1, 2,], "b": {"c": None,},} -- bye',
            {"a": [1, 2], "b": {"c": None}},
            ("removed trailing commas", "converted Python literals True/False/None to JSON"),
            id="several-repairs-after-prose",
        ),
    ],
)
def test_extract_json_repairs(text: str | bytes, expected: dict[str, Any], notes: tuple[str, ...]) -> None:
    assert extract_json(text) == (expected, notes)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        pytest.param(
            "I could not do it.",
            "no JSON object found in the response (18 chars, starts with: 'I could not",
            id="prose-only",
        ),
        pytest.param("", "no JSON object found in the response (0 chars", id="empty"),
        pytest.param(" \n\t ", "no JSON object found in the response (0 chars", id="whitespace"),
        pytest.param(b"", "no JSON object found", id="empty-bytes"),
        pytest.param("{'a': 1}", "no JSON object found", id="python-dict-repr"),
        pytest.param('[{"a": 1}]', "the top level must be a JSON object, got list", id="top-level-array"),
        pytest.param(
            'Here:\n```json\n[{"a": 1}]\n```',
            "the top level must be a JSON object, got list",
            id="fenced-top-level-array",
        ),
        pytest.param("42", "the top level must be a JSON object, got int", id="top-level-number"),
        pytest.param('"done"', "the top level must be a JSON object, got str", id="top-level-string"),
        pytest.param(
            '{"a" 1}',
            "invalid JSON starting at char 0 that local repair could not fix: Expecting ':'",
            id="missing-colon",
        ),
        pytest.param('{"a": [1, 2}', "invalid JSON starting at char 0", id="mismatched-brackets"),
        pytest.param(
            '{"summary": "x" "artifacts": [{"filename": "a.py", "content": "x"}]}',
            "invalid JSON starting at char 0",
            id="broken-outer-not-inner-object",
        ),
        pytest.param('{"summary"', "invalid JSON starting at char 0", id="truncated-beyond-repair"),
        pytest.param('{"a": ' * 100_000, "invalid JSON starting at char 0", id="absurdly-deep-nesting"),
        pytest.param("[" * 100_000, "no JSON object found", id="many-open-brackets"),
        pytest.param(
            "x" * (MAX_RESPONSE_CHARS + 1),
            "5,000,001 chars, over the limit of 5,000,000",
            id="response-too-large",
        ),
    ],
)
def test_extract_json_errors(text: str | bytes, fragment: str) -> None:
    with pytest.raises(ParseError) as info:
        extract_json(text)
    assert fragment in str(info.value)


# --- parse_act / parse_plan: repaired results, each with its note -----------------------------------


def _inferred(n: int, kind: str) -> str:
    return f'artifacts[{n}].kind: missing, inferred "{kind}" from the file name'


REPAIRED_ACT = [
    pytest.param(
        act(score="7/10"),
        ActData(summary="done", artifacts=[], score=Score(value=7.0)),
        ["score: read '7/10' as 7.0"],
        id="score-7-of-10",
    ),
    pytest.param(
        act(score="7"),
        ActData(summary="done", artifacts=[], score=Score(value=7.0)),
        ["score: read '7' as 7.0"],
        id="score-string",
    ),
    pytest.param(
        act(score={"value": " 8.5 / 10", "reasons": "solid"}),
        ActData(summary="done", artifacts=[], score=Score(value=8.5, reasons=["solid"])),
        [
            "score.value: read ' 8.5 / 10' as 8.5",
            "score.reasons: a single string was read as a one-item list",
        ],
        id="score-object-strings",
    ),
    pytest.param(
        act(decision={"approved": "Yes", "reasons": "looks good"}),
        ActData(summary="done", artifacts=[], decision=Decision(approved=True, reasons=["looks good"])),
        [
            "decision.approved: read 'Yes' as true",
            "decision.reasons: a single string was read as a one-item list",
        ],
        id="decision-strings",
    ),
    pytest.param(
        act(decision={"approved": "rejected"}),
        ActData(summary="done", artifacts=[], decision=Decision(approved=False)),
        ["decision.approved: read 'rejected' as false"],
        id="decision-rejected-string",
    ),
    pytest.param(
        act(art("a.py"), art("b.md"), art("c.yml"), art("d.ipynb"), art("e.weird")),
        ActData(
            summary="done",
            artifacts=[
                spec("a.py", "python"),
                spec("b.md", "markdown"),
                spec("c.yml", "yaml"),
                spec("d.ipynb", "notebook"),
                spec("e.weird", "text"),
            ],
        ),
        [
            _inferred(0, "python"),
            _inferred(1, "markdown"),
            _inferred(2, "yaml"),
            _inferred(3, "notebook"),
            _inferred(4, "text"),
        ],
        id="missing-kinds-inferred",
    ),
    pytest.param(
        act(art("t.toml", kind=" ")),
        ActData(summary="done", artifacts=[spec("t.toml", "toml")]),
        [_inferred(0, "toml")],
        id="blank-kind-inferred",
    ),
    pytest.param(
        json.dumps({"artifacts": [APP]}),
        ActData(summary="", artifacts=[APP_SPEC]),
        ['missing "summary": used ""'],
        id="missing-summary",
    ),
    pytest.param(
        act(APP, summary=None),
        ActData(summary="", artifacts=[APP_SPEC]),
        ['missing "summary": used ""'],
        id="null-summary",
    ),
    pytest.param(
        act(art("a.py", "1", "python"), art("a.py", "2", "python"), art("a.py", "3", "python")),
        ActData(
            summary="done",
            artifacts=[
                spec("a.py", "python", "1"),
                spec("a-2.py", "python", "2"),
                spec("a-3.py", "python", "3"),
            ],
        ),
        [
            "artifacts[1].filename: duplicate 'a.py' renamed to 'a-2.py'",
            "artifacts[2].filename: duplicate 'a.py' renamed to 'a-3.py'",
        ],
        id="duplicate-names",
    ),
    pytest.param(
        act(art("README.md", kind="markdown"), art("readme.md", kind="markdown")),
        ActData(summary="done", artifacts=[spec("README.md", "markdown"), spec("readme-2.md", "markdown")]),
        ["artifacts[1].filename: duplicate 'readme.md' renamed to 'readme-2.md'"],
        id="duplicate-ignoring-case",
    ),
    pytest.param(
        act(art("x.py", kind="python"), art("../x.py", kind="python")),
        ActData(summary="done", artifacts=[spec("x.py", "python"), spec("x-2.py", "python")]),
        [
            "artifacts[1].filename: '../x.py' made safe as 'x.py'",
            "artifacts[1].filename: duplicate 'x.py' renamed to 'x-2.py'",
        ],
        id="duplicate-after-sanitizing",
    ),
    pytest.param(
        act(art("../../x", kind="text")),
        ActData(summary="done", artifacts=[spec("x", "text")]),
        ["artifacts[0].filename: '../../x' made safe as 'x'"],
        id="name-parent-traversal",
    ),
    pytest.param(
        act(art("/etc/passwd", kind="text")),
        ActData(summary="done", artifacts=[spec("etc/passwd", "text")]),
        ["artifacts[0].filename: '/etc/passwd' made safe as 'etc/passwd'"],
        id="name-absolute",
    ),
    pytest.param(
        act(art("C:\\x", kind="text")),
        ActData(summary="done", artifacts=[spec("x", "text")]),
        ["artifacts[0].filename: 'C:\\\\x' made safe as 'x'"],
        id="name-windows-drive",
    ),
    pytest.param(
        act(art(".env", kind="text")),
        ActData(summary="done", artifacts=[spec("env", "text")]),
        ["artifacts[0].filename: '.env' made safe as 'env'"],
        id="name-dot-file",
    ),
    pytest.param(
        act(art("CON", kind="text")),
        ActData(summary="done", artifacts=[spec("CON_", "text")]),
        ["artifacts[0].filename: 'CON' made safe as 'CON_'"],
        id="name-reserved",
    ),
    pytest.param(
        act(art("a.py", "abc", "python")).removesuffix('"}]}'),  # cut inside the content
        ActData(summary="done", artifacts=[spec("a.py", "python", "abc")]),
        ["truncated: closed 3 open brackets", UNTERMINATED],
        id="truncated-content",
    ),
    pytest.param(
        TWO[: TWO.index("some te") + 7],
        ActData(summary="done", artifacts=[APP_SPEC, spec("b.md", "markdown", "# Title\n\nsome te")]),
        ["truncated: closed 3 open brackets", UNTERMINATED],
        id="truncated-second-artifact-content",
    ),
    pytest.param(
        TWO[: TWO.index('"b.md"') - 10],
        PLAIN_DATA,
        ["truncated: closed 2 open brackets", DROPPED],
        id="truncated-second-artifact-name",
    ),
    pytest.param(
        act(art("a.py", "\ud800", "python")),  # json.dumps writes the escape "\ud800"
        ActData(summary="done", artifacts=[spec("a.py", "python", "\ufffd")]),
        ["artifacts[0].content: lone surrogate characters replaced with U+FFFD"],
        id="escaped-lone-surrogate",
    ),
    pytest.param(
        '{"summary": "s", "artifacts": [], "decision": {"approved": False, "reasons": ["no",],},}',
        ActData(summary="s", artifacts=[], decision=Decision(approved=False, reasons=["no"])),
        ["converted Python literals True/False/None to JSON", "removed trailing commas"],
        id="python-literal-and-commas-in-decision",
    ),
]


@pytest.mark.parametrize(("text", "expected", "notes"), REPAIRED_ACT)
def test_parse_act_repairs(text: str, expected: ActData, notes: list[str]) -> None:
    result = parse_act(text)
    assert result.data == expected
    assert list(result.repairs) == notes


@pytest.mark.parametrize(
    ("plan", "expected", "notes"),
    [
        pytest.param(
            {"summary": "s", "steps": "do it all"},
            PlanData(summary="s", steps=["do it all"]),
            ["steps: a single string was read as a one-item list"],
            id="steps-as-string",
        ),
        pytest.param(
            {"steps": ["a"]},
            PlanData(summary="", steps=["a"]),
            ['missing "summary": used ""'],
            id="missing-summary",
        ),
        pytest.param(
            {"summary": "s", "steps": [], "artifacts": [{"filename": "../notes.md"}]},
            PlanData(
                summary="s", steps=[], artifacts=[PlannedArtifact(filename="notes.md", kind="markdown")]
            ),
            ["artifacts[0].filename: '../notes.md' made safe as 'notes.md'", _inferred(0, "markdown")],
            id="planned-artifact-name-and-kind",
        ),
    ],
)
def test_parse_plan_repairs(plan: dict[str, Any], expected: PlanData, notes: list[str]) -> None:
    result = parse_plan(json.dumps(plan))
    assert result.data == expected
    assert list(result.repairs) == notes


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


# --- file names and kinds ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("src/app.py", "src/app.py"),
        ("../../x", "x"),
        ("/etc/passwd", "etc/passwd"),
        ("C:\\x", "x"),
        ("C:\\Users\\me\\notes.md", "Users/me/notes.md"),
        ("\\\\server\\share\\x.txt", "server/share/x.txt"),
        ("a/./b/../c.txt", "a/b/c.txt"),
        ("dir//x", "dir/x"),
        (".env", "env"),
        (".github/workflows/ci.yml", "github/workflows/ci.yml"),
        ("...hidden", "hidden"),
        ("CON", "CON_"),
        ("nul.txt", "nul_.txt"),
        ("docs/com1.md", "docs/com1_.md"),
        ("CONFIG.py", "CONFIG.py"),
        ("my file (1).md", "my_file__1_.md"),
        ("r\u00e9sum\u00e9.md", "r_sum_.md"),
        ("nul\x00byte", "nulbyte"),
        ("a/b/c/d/e/f/g.py", "a/b/c/d/g.py"),
        ("x" * 200 + ".py", "x" * 117 + ".py"),
    ],
)
def test_sanitize_filename(name: str, expected: str) -> None:
    assert sanitize_filename(name) == expected


@pytest.mark.parametrize("name", ["", "..", ".", "/", "../..", "...", "C:\\", "./../."])
def test_sanitize_filename_rejects_names_with_nothing_safe(name: str) -> None:
    with pytest.raises(ParseError, match="has no safe characters"):
        sanitize_filename(name)


@pytest.mark.parametrize(
    ("filename", "kind"),
    [
        ("a.py", "python"),
        ("a.md", "markdown"),
        ("a.json", "json"),
        ("a.yaml", "yaml"),
        ("a.yml", "yaml"),
        ("a.csv", "csv"),
        ("a.sql", "sql"),
        ("a.txt", "text"),
        ("a.toml", "toml"),
        ("a.ipynb", "notebook"),
        ("A.PY", "python"),
        ("Makefile", "text"),
        ("x.tar.gz", "text"),
        ("dir.py/file", "text"),
    ],
)
def test_infer_kind(filename: str, kind: str) -> None:
    assert infer_kind(filename) == kind


# --- large inputs, API surface --------------------------------------------------------------------

BIG = "".join(f'def f{n}():\n    return {{\'n\': {n}, "s": "`{{}}`"}}\n' for n in range(20_000))[:900_000]


def test_huge_artifact_with_prose_and_braces() -> None:
    text = f"Here {{}} you go:\n```json\n{act(art('big.py', BIG, 'python'))}\n```\nDone {{x}}."
    result = parse_act(text)
    assert result.data.artifacts == [spec("big.py", "python", BIG)]
    assert result.repairs == ()


def test_huge_truncated_artifact_keeps_what_arrived() -> None:
    full = act(art("big.py", BIG, "python"))
    cut = full[: full.index(json.dumps(BIG)) + 500_001]  # the opening quote and 500,000 JSON chars
    result = parse_act(cut)
    content = result.data.artifacts[0].content
    assert BIG.startswith(content) and len(content) > 400_000
    assert "truncated: closed 3 open brackets" in result.repairs


def test_response_parser_wraps_the_functions() -> None:
    assert ResponseParser.parse_plan is parse_plan
    assert ResponseParser.parse_act is parse_act
    assert ResponseParser.extract_json is extract_json
    assert ResponseParser().parse_act(act(APP)).data == PLAIN_DATA


def test_declared_public_api() -> None:
    assert sorted(rp.__all__) == sorted(
        [
            "MAX_ARTIFACT_CHARS",
            "MAX_RESPONSE_CHARS",
            "ActData",
            "ArtifactSpec",
            "Decision",
            "Parsed",
            "PlanData",
            "PlannedArtifact",
            "ResponseParser",
            "Score",
            "extract_json",
            "infer_kind",
            "parse_act",
            "parse_plan",
            "sanitize_filename",
        ]
    )
    assert all(hasattr(rp, name) for name in rp.__all__)
    assert (MAX_ARTIFACT_CHARS, MAX_RESPONSE_CHARS) == (1_000_000, 5_000_000)


# --- shapes real models answer in (issue #8): each is read, nothing is invented --------------------

J = json.dumps
CODE = "def main():\n    return 0\n"
S2 = ["Read the request", "Write the code"]


def plan_of(*steps: str, summary: str = "s", artifacts: list[PlannedArtifact] | None = None) -> PlanData:
    return PlanData(summary=summary, steps=list(steps), artifacts=artifacts or [])


PLAN_SHAPES = [
    pytest.param(
        J(
            {
                "summary": "s",
                "steps": [
                    {"step_id": 1, "description": "Read the request"},
                    {"step_id": 2, "description": "Write the code"},
                ],
            }
        ),
        plan_of(*S2),
        id="steps-step_id-description",
    ),
    pytest.param(
        J({"summary": "s", "steps": [{"id": 1, "title": "Design", "details": "pick a parser"}]}),
        plan_of("Design: pick a parser"),
        id="steps-id-title-details",
    ),
    pytest.param(
        J(
            {
                "summary": "s",
                "steps": [{"step": 1, "action": "Read the request"}, {"step": 2, "action": "Write the code"}],
            }
        ),
        plan_of(*S2),
        id="steps-step-action",
    ),
    pytest.param(
        J({"summary": "s", "steps": [{"step": "Read the request"}]}), plan_of(S2[0]), id="steps-step-text"
    ),
    pytest.param(
        J({"summary": "s", "steps": [{"name": "Tests", "description": "cover the parser"}]}),
        plan_of("Tests: cover the parser"),
        id="steps-name-description",
    ),
    pytest.param(J({"summary": "s", "steps": [{"task": "Write the code"}]}), plan_of(S2[1]), id="steps-task"),
    pytest.param(
        J({"summary": "s", "steps": [{"title": "Build", "substeps": ["parse", "write"]}]}),
        plan_of("Build: parse; write"),
        id="steps-title-substeps",
    ),
    pytest.param(
        J({"summary": "s", "steps": [{"number": 1, "text": "Read the request"}]}),
        plan_of(S2[0]),
        id="steps-number-text",
    ),
    pytest.param(
        J({"summary": "s", "steps": [{"title": "Docs", "details": ["README", "usage"]}]}),
        plan_of("Docs: README; usage"),
        id="steps-details-list",
    ),
    pytest.param(
        J({"summary": "s", "steps": ["Read the request", {"description": "Write the code"}]}),
        plan_of(*S2),
        id="steps-mixed",
    ),
    pytest.param(J({"summary": "s", "execution_summary": S2}), plan_of(*S2), id="under-execution_summary"),
    pytest.param(
        J({"execution_summary": {"overview": "s", "steps": S2}}), plan_of(*S2), id="nested-execution_summary"
    ),
    pytest.param(J({"summary": "s", "plan": S2}), plan_of(*S2), id="under-plan"),
    pytest.param(J({"plan": {"summary": "s", "steps": S2}}), plan_of(*S2), id="nested-plan"),
    pytest.param(
        J({"summary": "s", "tasks": [{"id": "T1", "title": "Read", "description": "the request"}]}),
        plan_of("Read: the request"),
        id="under-tasks-objects",
    ),
    pytest.param(J({"result": {"summary": "s", "steps": S2}}), plan_of(*S2), id="nested-result"),
    pytest.param(J({"Summary": "s", "Steps": S2}), plan_of(*S2), id="capitalised-keys"),
    pytest.param(J({"overview": "s", "steps": S2}), plan_of(*S2), id="overview-as-summary"),
    pytest.param(J({"goal": "s", "action_items": S2}), plan_of(*S2), id="goal-action_items"),
    pytest.param(J({"summary": "s", "implementation_steps": S2}), plan_of(*S2), id="implementation_steps"),
    pytest.param(
        J({"summary": "s", "steps": {"1": S2[0], "2": S2[1]}}), plan_of(*S2), id="steps-numbered-dict"
    ),
    pytest.param(
        J({"summary": "s", "steps": {"step_2": S2[1], "step_1": S2[0]}}), plan_of(*S2), id="steps-step_n-dict"
    ),
    pytest.param(
        J({"summary": "s", "steps": "1. Read the request\n2. Write the code"}),
        plan_of(*S2),
        id="steps-numbered-string",
    ),
    pytest.param(J(S2), plan_of(*S2, summary=""), id="top-level-list"),
    pytest.param(
        J([{"step": 1, "description": S2[0]}, {"step": 2, "description": S2[1]}]),
        plan_of(*S2, summary=""),
        id="top-level-list-of-objects",
    ),
    pytest.param(
        J({"summary": "s", "phases": [{"name": "Design", "steps": ["pick a parser", "sketch"]}]}),
        plan_of("Design: pick a parser; sketch"),
        id="phases-with-steps",
    ),
    pytest.param(
        "Here's my plan for the CLI:\n\n1. Read the request\n2. Write the code\n\nLet me know if that works.",
        plan_of(*S2, summary="Here's my plan for the CLI"),
        id="text-numbered",
    ),
    pytest.param("- Read the request\n- Write the code", plan_of(*S2, summary=""), id="text-dashes"),
    pytest.param("* Read the request\n* Write the code", plan_of(*S2, summary=""), id="text-stars"),
    pytest.param(
        "\u2022 Read the request\n\u2022 Write the code", plan_of(*S2, summary=""), id="text-bullets"
    ),
    pytest.param(
        "Step 1: Read the request\nStep 2: Write the code", plan_of(*S2, summary=""), id="text-step-n"
    ),
    pytest.param("1) Read the request\n2) Write the code", plan_of(*S2, summary=""), id="text-parenthesis"),
    pytest.param(
        "## Plan\n\n1. **Design**: pick a parser\n   - compare two\n2. **Build** the CLI",
        plan_of("Design: pick a parser; compare two", "Build the CLI", summary="Plan"),
        id="text-markdown-nested-bullets",
    ),
    pytest.param(
        "Plan:\n```python\n# 1. not a step\n```\n1. Read the request\n2. Write the code",
        plan_of(*S2, summary="Plan"),
        id="text-ignores-code-fences",
    ),
    pytest.param(
        '```jsonc\n{\n  // the summary\n  "summary": "s",\n  "steps": ["Read the request", /* first */ "Write the code"]\n}\n```',
        plan_of(*S2),
        id="jsonc-comments",
    ),
    pytest.param(
        'The shape is:\n```json\n{"summary": "...", "steps": ["..."]}\n```\nMy plan:\n```json\n'
        + J({"summary": "s", "steps": S2}, indent=2)
        + "\n```",
        plan_of(*S2),
        id="several-blocks-example-then-plan",
    ),
    pytest.param(
        f'```JSON\n{J({"summary": "s", "steps": S2})}\n```\n\nNotes: I assumed UTF-8 input {{"x": 1}}.',
        plan_of(*S2),
        id="upper-tag-and-trailing-commentary",
    ),
    pytest.param(f"<plan>\n{J({'summary': 's', 'steps': S2})}\n</plan>", plan_of(*S2), id="xml-tag-wrapper"),
    pytest.param(
        J({"summary": "s", "steps": S2, "artifacts": ["app.py", "README.md"]}),
        plan_of(
            *S2,
            artifacts=[
                PlannedArtifact(filename="app.py", kind="python"),
                PlannedArtifact(filename="README.md", kind="markdown"),
            ],
        ),
        id="planned-artifacts-as-names",
    ),
    pytest.param(
        J({"summary": "s", "steps": S2, "artifacts": {"app.py": "the app"}}),
        plan_of(*S2, artifacts=[PlannedArtifact(filename="app.py", kind="python", purpose="the app")]),
        id="planned-artifacts-as-dict",
    ),
    pytest.param(
        J({"summary": "s", "steps": S2, "files": [{"path": "src/app/main.py", "description": "entry"}]}),
        plan_of(*S2, artifacts=[PlannedArtifact(filename="src/app/main.py", kind="python", purpose="entry")]),
        id="planned-files-path-description",
    ),
]


@pytest.mark.parametrize(("text", "expected"), PLAN_SHAPES)
def test_plan_shapes_models_answer_in(text: str, expected: PlanData) -> None:
    assert parse_plan(text).data == expected


def act_of(*artifacts: ArtifactSpec, summary: str = "s", **extra: Any) -> ActData:
    return ActData(summary=summary, artifacts=list(artifacts), **extra)


APP2 = spec("app.py", "python", CODE)
ACT_SHAPES = [
    pytest.param(J({"summary": "s", "artifacts": {"app.py": CODE}}), act_of(APP2), id="artifacts-dict"),
    pytest.param(
        J({"summary": "s", "artifacts": {"app.py": {"content": CODE, "kind": "python"}}}),
        act_of(APP2),
        id="artifacts-dict-of-objects",
    ),
    pytest.param(
        J({"summary": "s", "files": [{"path": "app.py", "content": CODE}]}), act_of(APP2), id="files-path"
    ),
    pytest.param(
        J({"summary": "s", "files": [{"name": "app.py", "code": CODE, "language": "python"}]}),
        act_of(APP2),
        id="files-name-code-language",
    ),
    pytest.param(
        J({"summary": "s", "artifacts": [{"file_name": "app.py", "file_content": CODE}]}),
        act_of(APP2),
        id="snake-keys",
    ),
    pytest.param(
        J({"summary": "s", "artifacts": [{"fileName": "app.py", "fileContent": CODE, "type": "py"}]}),
        act_of(APP2),
        id="camel-keys-kind-alias",
    ),
    pytest.param(J([{"filename": "app.py", "content": CODE}]), act_of(APP2, summary=""), id="top-level-list"),
    pytest.param(
        J({"filename": "app.py", "content": CODE}), act_of(APP2, summary=""), id="single-artifact-object"
    ),
    pytest.param(
        J({"summary": "s", "artifacts": {"filename": "app.py", "content": CODE}}),
        act_of(APP2),
        id="artifacts-single-object",
    ),
    pytest.param(
        J({"result": {"summary": "s", "artifacts": [{"filename": "app.py", "content": CODE}]}}),
        act_of(APP2),
        id="nested-result",
    ),
    pytest.param(
        J({"summary": "s", "output": {"files": [{"filename": "app.py", "content": CODE}]}}),
        act_of(APP2),
        id="nested-output-files",
    ),
    pytest.param(
        J({"summary": "s", "artifacts": [{"filename": "app.py", "content": CODE.splitlines()}]}),
        act_of(spec("app.py", "python", CODE.rstrip("\n"))),
        id="content-as-lines",
    ),
    pytest.param(
        J({"summary": "s", "artifacts": [{"filename": "cfg.json", "content": {"a": 1}}]}),
        act_of(spec("cfg.json", "json", '{\n  "a": 1\n}\n')),
        id="json-file-as-value",
    ),
    pytest.param(
        J({"summary": "s", "artifacts": [{"filename": "app.py", "kind": "file", "content": CODE}]}),
        act_of(APP2),
        id="generic-kind-inferred",
    ),
    pytest.param(
        f"I've written the module.\n\n### `app.py`\n```python\n{CODE}```\n\nRun it with python app.py.",
        act_of(APP2, summary="I've written the module."),
        id="markdown-heading-then-fence",
    ),
    pytest.param(
        f"**src/app/main.py**\n```python\n{CODE}```",
        act_of(spec("src/app/main.py", "python", CODE), summary=""),
        id="markdown-bold-name",
    ),
    pytest.param(
        f'```python title="app.py"\n{CODE}```', act_of(APP2, summary=""), id="fence-title-attribute"
    ),
    pytest.param(f"```python:app.py\n{CODE}```", act_of(APP2, summary=""), id="fence-lang-colon-name"),
    pytest.param(f"```python\n# app.py\n{CODE}```", act_of(APP2, summary=""), id="fence-first-line-comment"),
    pytest.param(
        "File: README.md\n````markdown\n# Title\n\n```bash\npip install x\n```\n````\n",
        act_of(spec("README.md", "markdown", "# Title\n\n```bash\npip install x\n```\n"), summary=""),
        id="four-backtick-fence-with-inner-fence",
    ),
    pytest.param(
        f"Files:\n\n`app.py`:\n```python\n{CODE}```\n\n`tests/test_app.py`:\n```python\nimport app\n```\n```bash\npytest\n```",
        act_of(APP2, spec("tests/test_app.py", "python", "import app\n"), summary="Files:"),
        id="several-files-unnamed-block-skipped",
    ),
    pytest.param(
        "Here you go:\n```json\n"
        + J({"summary": "s", "artifacts": [{"filename": "app.py", "content": CODE}]}, indent=2)
        + "\n```\nTo test it:\n```bash\npython -m pytest\n```",
        act_of(APP2),
        id="json-block-and-shell-block",
    ),
    pytest.param(
        'An artifact looks like {"filename": "x.md", "content": "..."}.\n'
        + J({"summary": "s", "artifacts": [{"filename": "app.py", "content": CODE}]}),
        act_of(APP2),
        id="example-object-then-answer",
    ),
    pytest.param(
        J({"summary": "s", "artifacts": [], "decision": "approved", "reasons": ["complete"]}),
        act_of(decision=Decision(approved=True, reasons=["complete"])),
        id="decision-as-word",
    ),
    pytest.param(
        J({"summary": "s", "artifacts": [], "approved": False, "reasons": ["no tests"]}),
        act_of(decision=Decision(approved=False, reasons=["no tests"])),
        id="approved-at-top-level",
    ),
    pytest.param(
        J({"summary": "s", "artifacts": [], "decision": {"status": "approved", "rationale": ["ok"]}}),
        act_of(decision=Decision(approved=True, reasons=["ok"])),
        id="decision-status-rationale",
    ),
    pytest.param(
        J({"summary": "s", "artifacts": [], "verdict": "reject", "reasons": "too vague"}),
        act_of(decision=Decision(approved=False, reasons=["too vague"])),
        id="verdict-reject",
    ),
    pytest.param(
        J({"summary": "s", "artifacts": [], "score": {"score": 8, "reasons": ["typed"]}}),
        act_of(score=Score(value=8, reasons=["typed"])),
        id="score-object-score-key",
    ),
    pytest.param(
        J({"summary": "s", "artifacts": [], "rating": "7/10"}),
        act_of(score=Score(value=7)),
        id="rating-of-ten",
    ),
    pytest.param(
        J(J({"summary": "s", "artifacts": [{"filename": "app.py", "content": CODE}]})),
        act_of(APP2),
        id="json-encoded-twice",
    ),
    pytest.param(
        J({"Summary": "s", "Artifacts": [{"Filename": "app.py", "Content": CODE}]}),
        act_of(APP2),
        id="capitalised-keys",
    ),
]


@pytest.mark.parametrize(("text", "expected"), ACT_SHAPES)
def test_act_shapes_models_answer_in(text: str, expected: ActData) -> None:
    assert parse_act(text).data == expected


REJECTED_SHAPES = [
    pytest.param(parse_plan, "I'll get started on this right away.", "no JSON object found", id="plan-prose"),
    pytest.param(
        parse_plan, J({"summary": "s", "notes": "later"}), 'missing "steps"', id="plan-no-steps-anywhere"
    ),
    pytest.param(
        parse_plan,
        J({"summary": "s", "steps": [{"id": 1}]}),
        "steps[0]: a step object without text",
        id="step-object-no-text",
    ),
    pytest.param(
        parse_plan,
        J({"summary": "s", "steps": [1, 2]}),
        "steps[0]: expected a string, got int",
        id="steps-numbers",
    ),
    pytest.param(parse_plan, "[]", 'missing "steps"', id="plan-empty-list"),
    pytest.param(parse_act, "Done! The files are ready.", "no JSON object found", id="act-prose"),
    pytest.param(parse_act, f"```python\n{CODE}```", "no JSON object found", id="act-unnamed-code-block"),
    pytest.param(parse_act, J({"summary": "done"}), 'missing "artifacts"', id="act-summary-only"),
    pytest.param(
        parse_act,
        J({"summary": "s", "artifacts": {"a.py": 3}}),
        "artifacts: expected a list of",
        id="artifacts-dict-of-numbers",
    ),
    pytest.param(
        parse_act,
        J({"summary": "s", "files": [{"path": "a.py"}]}),
        'artifacts[0]: missing "content"',
        id="files-without-content",
    ),
    pytest.param(
        parse_act,
        J({"summary": "s", "files": [{"content": "x"}]}),
        'artifacts[0]: missing "filename"',
        id="files-without-names",
    ),
    pytest.param(parse_act, act(decision="maybe"), "decision: got str", id="decision-maybe"),
]


@pytest.mark.parametrize(("parse", "text", "fragment"), REJECTED_SHAPES)
def test_shapes_without_anything_usable_are_refused(
    parse: Callable[[str], Parsed[Any]], text: str, fragment: str
) -> None:
    with pytest.raises(ParseError) as info:
        parse(text)
    assert fragment in str(info.value)


def test_shape_tables_count() -> None:
    """The measured figures of issue #8: shapes read and shapes refused by these tables."""
    assert len(PLAN_SHAPES) + len(ACT_SHAPES) >= 40 and len(REJECTED_SHAPES) >= 10
