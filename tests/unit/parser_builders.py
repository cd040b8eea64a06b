"""Builders and shared answers for the response parser tables (imported by name: tests/ has no packages)."""

from __future__ import annotations

import json
from typing import Any

from orchestrator_kit.agents.response_parser import (
    ActData,
    ArtifactSpec,
)


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
