"""The response parser on well-formed answers (parsed as is, no repair notes), large inputs, and its API."""

from __future__ import annotations

import json

import pytest
from parser_builders import (
    APP,
    APP_SPEC,
    NESTED,
    NESTED_DATA,
    PLAIN_DATA,
    act,
    art,
    spec,
)

from orchestrator_kit.agents import response_parser as rp
from orchestrator_kit.agents.response_parser import (
    MAX_ARTIFACT_CHARS,
    MAX_RESPONSE_CHARS,
    ActData,
    Decision,
    PlanData,
    PlannedArtifact,
    ResponseParser,
    Score,
    extract_json,
    parse_act,
    parse_plan,
)

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
