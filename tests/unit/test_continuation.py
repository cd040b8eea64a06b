"""continuation.join: a cut-off answer and its continuation, joined as the model wrote them."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from orchestrator_kit.agents.continuation import FENCE_NOTE, RESTART_NOTE, join, shown_turn
from orchestrator_kit.agents.response_parser import parse_act

ANSWER = '{"summary": "s", "artifacts": [{"filename": "a.py", "kind": "python", "content": "x = 1\\n"}]}'


@pytest.mark.parametrize(
    ("prefix", "continuation", "whole", "notes"),
    [
        ('{"summary": "a ', 'b"}', '{"summary": "ab"}', ()),  # the model went on from '{"summary": "a'
        ('{"summary": "a', ' b"}', '{"summary": "a b"}', ()),
        ("", '"summary": "s"}', '{"summary": "s"}', ()),  # shown "{"
        ("  \n", '"summary": "s"}', '{"summary": "s"}', ()),
        ('{"summary": "a', '```json\nb"}\n```', '{"summary": "ab"}\n```', (FENCE_NOTE,)),
        ('{"summary": "a', '\n```JSON\nb"}', '{"summary": "ab"}', (FENCE_NOTE,)),
        ('{"summary": "a', '```python\\nb"}', '{"summary": "a```python\\nb"}', ()),  # content, escaped
        (ANSWER[:50], ANSWER, ANSWER, (RESTART_NOTE,)),
        ("```json\n" + ANSWER[:50], "```json\n" + ANSWER + "\n```", ANSWER + "\n```", (RESTART_NOTE,)),
        (ANSWER[:50], "Here is the full answer:\n\n" + ANSWER, ANSWER, (RESTART_NOTE,)),
        ("{", ANSWER, ANSWER, (RESTART_NOTE,)),
        ("### app.py\n", "```python\nprint(1)\n```", "### app.py```python\nprint(1)\n```", ()),  # no JSON
    ],
)
def test_join(prefix: str, continuation: str, whole: str, notes: tuple[str, ...]) -> None:
    assert join(prefix, continuation) == (whole, notes)


def test_shown_turn() -> None:
    assert shown_turn('{"a": "b \n ') == '{"a": "b'
    assert shown_turn(" ") == "{"
    assert shown_turn('{"a": "\ud800') == '{"a": "\ufffd'


_content = st.text(st.characters(codec="utf-8"), max_size=300) | st.sampled_from(
    ["```json\n{}\n```", "def f():\n    return 1\n", ANSWER, '{"summary": "s"}', "  \n\t"]
)


@settings(max_examples=300, deadline=None)
@given(contents=st.lists(_content, min_size=1, max_size=3), cut=st.floats(0, 1), ascii_only=st.booleans())
def test_a_model_that_goes_on_from_the_turn_shown_gets_its_answer_back(
    contents: list[str], cut: float, ascii_only: bool
) -> None:
    files = [{"filename": f"f{n}.md", "kind": "markdown", "content": c} for n, c in enumerate(contents)]
    answer = json.dumps({"summary": "s", "artifacts": files}, ensure_ascii=ascii_only)
    prefix = answer[: int(len(answer) * cut)]
    turn = prefix.rstrip() or "{"
    whole, notes = join(prefix, answer[len(turn) :])
    assert (whole, notes) == (answer, ())
    assert [a.content for a in parse_act(whole).data.artifacts] == contents
