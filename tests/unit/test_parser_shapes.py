"""Shapes real models answer in (issue #8): each is read and nothing is invented, or it is refused with a message."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from parser_builders import (
    act,
    spec,
)

from orchestrator_kit.agents.response_parser import (
    ActData,
    ArtifactSpec,
    Decision,
    Parsed,
    PlanData,
    PlannedArtifact,
    Score,
    parse_act,
    parse_plan,
)
from orchestrator_kit.errors import ParseError

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
    pytest.param(  # the format the prompt shows the inputs in
        f'I wrote two files.\n\n<artifact filename="app.py" kind="python">\n{CODE}\n</artifact>\n'
        '<artifact agent="developer" filename="cfg.json" kind="json">\n{"a": 1}\n</artifact>',
        act_of(APP2, spec("cfg.json", "json", '{"a": 1}'), summary="I wrote two files."),
        id="artifact-tags",
    ),
    pytest.param(
        f'<file path="src/app.py">\n```python\n{CODE}```\n</file>\n<file name="notes.md">\n# N\n</file>',
        act_of(spec("src/app.py", "python", CODE), spec("notes.md", "markdown", "# N"), summary=""),
        id="file-tags-with-a-fence-inside",
    ),
    pytest.param(
        "### README.md\n```markdown\n# Title\n\n```bash\npip install x\n```\n\nThen run it.\n```\n\n"
        f"### app.py\n```python\n{CODE}```\n",
        act_of(
            spec("README.md", "markdown", "# Title\n\n```bash\npip install x\n```\n\nThen run it.\n"),
            APP2,
            summary="",
        ),
        id="three-backtick-fence-with-inner-fence",  # models nest without a longer outer fence
    ),
    pytest.param(
        "Files:\r\n\r\n### app.py\r\n```python\r\nprint(1)\r\n```\r\n### b.md\r\n```\r\nB\r\n```\r\n",
        act_of(spec("app.py", "python", "print(1)\r\n"), spec("b.md", "markdown", "B\r\n"), summary="Files:"),
        id="fences-with-crlf",
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
