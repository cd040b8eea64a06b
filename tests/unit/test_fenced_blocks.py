"""shapes._blocks: fenced code blocks in an answer written as markdown, nested the way models nest them."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from orchestrator_kit.agents.shapes import _blocks

# CommonMark's reading (what the parser did before nesting): the first bare fence of the same length closes
_PLAIN = re.compile(r"^(?P<fence>`{3,}|~{3,})(?P<info>[^\n`]*)\n(?P<body>.*?)^(?P=fence)[ \t]*$", re.M | re.S)


@pytest.mark.parametrize(
    ("text", "bodies"),
    [
        ("```md\n# T\n```bash\npip\n```\nMore\n```\n", ["# T\n```bash\npip\n```\nMore\n"]),  # nested
        ("```md\n```bash\nunclosed\n```\n", ["```bash\nunclosed\n"]),  # nesting never closes
        ("```a\n```a\n```\n```b\ny\n```\n", ["```a\n", "y\n"]),  # from there on: no nesting
        ("````md\n```bash\nx\n```\n````\n", ["```bash\nx\n```\n"]),  # a longer outer fence
        ("```a\n~~~\n```\n", ["~~~\n"]),  # another fence is content
        ("```py\r\nx\r\n```\r\n```sh\r\ny\r\n```", ["x\r\n", "y\r\n"]),  # CRLF
        ("```py\nx\n", []),  # unclosed
        ("text ```py\nx\n```", []),  # not at the start of a line
    ],
)
def test_blocks(text: str, bodies: list[str]) -> None:
    assert [body for *_, body in _blocks(text)] == bodies


_line = st.sampled_from(
    ["```", "```python", "~~~", "~~~md", "````", "x = 1", "", "# note", "``` ", "text ```"]
)


@settings(max_examples=500, deadline=None)
@given(st.lists(_line, max_size=30))
def test_blocks_are_ordered_slices_and_agree_with_commonmark_where_nothing_nests(lines: list[str]) -> None:
    text = "\n".join(lines)
    found = list(_blocks(text))
    for (start, end, info, body), nxt in zip(found, [*found[1:], None][: len(found)], strict=True):
        assert text[start:end].startswith(text[start : start + 3]) and body in text[start:end]
        assert nxt is None or nxt[0] > end
        assert text[start:].split("\n", 1)[0].rstrip("\r").endswith(info)
    nested = any(
        re.fullmatch(r"(`{3,}|~{3,})[^`\s][^`]*", b) for _, _, _, body in found for b in body.split("\n")
    )
    if not nested:
        assert [(s, e, i, b) for s, e, i, b in found] == [
            (m.start(), m.end(), m["info"], m["body"]) for m in _PLAIN.finditer(text)
        ]
