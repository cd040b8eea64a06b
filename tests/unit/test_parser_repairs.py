"""The response parser's repairs: extract_json's repaired objects, and parse_act / parse_plan results each with its note."""

from __future__ import annotations

import json
from typing import Any

import pytest
from parser_builders import (
    APP,
    APP_SPEC,
    PLAIN_DATA,
    TWO,
    act,
    art,
    spec,
)

from orchestrator_kit.agents.response_parser import (
    MAX_RESPONSE_CHARS,
    ActData,
    Decision,
    PlanData,
    PlannedArtifact,
    Score,
    extract_json,
    parse_act,
    parse_plan,
)
from orchestrator_kit.errors import ParseError

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
        pytest.param('{"a": "x\\u00', {"a": "x"}, (TRUNC_1, UNTERMINATED), id="truncated-in-unicode-escape"),
        pytest.param('{"a": "x\\u', {"a": "x"}, (TRUNC_1, UNTERMINATED), id="truncated-after-backslash-u"),
        pytest.param('{"a": "x\\ud83d', {"a": "x"}, (TRUNC_1, UNTERMINATED), id="truncated-in-emoji-pair"),
        pytest.param('{"a": "x\\ud83d\\ude', {"a": "x"}, (TRUNC_1, UNTERMINATED), id="truncated-in-low-half"),
        pytest.param(
            '{"a": "x\\\\u00', {"a": "x\\u00"}, (TRUNC_1, UNTERMINATED), id="escaped-backslash-u-kept"
        ),
        pytest.param('{"a": "x\\u0041', {"a": "xA"}, (TRUNC_1, UNTERMINATED), id="complete-escape-kept"),
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
        TWO[: TWO.index('"b.md"') + 7],  # after the second file's name, before its content
        PLAIN_DATA,
        [
            "truncated: closed 3 open brackets",
            "truncated: dropped artifacts[1], cut off before its content",
        ],
        id="truncated-second-artifact-before-content",
    ),
    pytest.param(
        TWO[: TWO.index("some te")] + "caf\\u00",  # inside an escape
        ActData(summary="done", artifacts=[APP_SPEC, spec("b.md", "markdown", "# Title\n\ncaf")]),
        ["truncated: closed 3 open brackets", UNTERMINATED],
        id="truncated-second-artifact-in-escape",
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
        json.dumps(
            {
                "summary": "s",
                "artifacts": [],
                "decision": {
                    "approved": False,
                    "reasons": [
                        {"issue": "No tests", "severity": "high"},
                        {"title": "Naming", "detail": "unclear"},
                    ],
                },
                "score": {"value": 4, "reasons": [{"category": "tests", "comment": "none"}, "plain"]},
            }
        ),
        ActData(
            summary="s",
            artifacts=[],
            decision=Decision(approved=False, reasons=["issue: No tests; severity: high", "Naming: unclear"]),
            score=Score(value=4, reasons=["category: tests; comment: none", "plain"]),
        ),
        ["decision.reasons: read reason objects as text", "score.reasons: read reason objects as text"],
        id="reasons-as-objects",
    ),
    pytest.param(
        '{"summary": "s", "artifacts": [], "decision": "Approved."}',
        ActData(summary="s", artifacts=[], decision=Decision(approved=True, reasons=[])),
        ["read \"decision\": 'Approved.' as the decision", "decision.approved: read 'Approved.' as true"],
        id="decision-word-with-full-stop",
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
