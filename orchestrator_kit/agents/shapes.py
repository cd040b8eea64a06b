"""The shapes models give plans and artifacts in, brought to one canonical form. Pure functions.

Canonical plan: ``{"summary": str, "steps": [...], "artifacts": [...]}``; canonical act:
``{"summary": str, "artifacts": [{"filename", "kind", "content"}], "decision"?, "score"?}``.
What is accepted besides (each reading adds a note):

- keys in any case and spelling (``fileName``, ``file_name``, ``File Name``) and their common
  synonyms (``tasks`` / ``plan`` / ``execution_summary`` for steps, ``files`` / ``outputs`` for
  artifacts, ``path`` / ``name`` for filename, ``code`` / ``text`` for content, ``language`` for kind);
- the data wrapped one level down (``{"plan": {...}}``, ``{"result": {...}}``), or a top-level list;
- steps as objects (``{"step_id", "description"}``, ``{"id", "title", "details"}``,
  ``{"step", "action"}``...), as a numbered dict, or as one numbered/bulleted string;
- artifacts as a dict of filename -> content (or -> {content, kind}), as single artifact objects;
- plans written as plain numbered or bulleted text, and files written as fenced code blocks
  labelled with their name (in the fence's info string, the line before, or a first-line comment).

Nothing is invented: a step needs text, an artifact needs a name and content.
"""

from __future__ import annotations

import bisect
import itertools
import re
from collections.abc import Iterator
from functools import lru_cache
from typing import Any

__all__ = [
    "act_shape",
    "fenced_files",
    "key",
    "lookup",
    "objects_as_text",
    "plan_shape",
    "step_text",
    "text_files",
    "text_steps",
    "without_cut_last",
]

STEP_KEYS = (
    "steps",
    "plan",
    "tasks",
    "executionsummary",
    "executionplan",
    "implementationplan",
    "implementationsteps",
    "actionitems",
    "actions",
    "todo",
    "todos",
    "workplan",
    "phases",
    "stages",
    "milestones",
    "checklist",
)
ARTIFACT_KEYS = ("artifacts", "files", "outputs", "deliverables", "documents", "codefiles", "createdfiles")
SUMMARY_KEYS = ("summary", "overview", "plansummary", "description", "goal", "objective", "approach", "title")
WRAPPER_KEYS = ("result", "output", "response", "data", "answer", "plan", "executionsummary", "act", "work")
NAME_KEYS = ("filename", "path", "filepath", "file", "name", "filetitle")
CONTENT_KEYS = ("content", "contents", "code", "text", "body", "source", "filecontent", "data")
KIND_KEYS = ("kind", "type", "language", "lang", "format", "filetype")
PURPOSE_KEYS = ("purpose", "description", "why", "reason", "summary")
_TITLE_KEYS = ("title", "name", "heading", "step", "phase", "stage", "label")
_BODY_KEYS = (
    "description",
    "details",
    "detail",
    "action",
    "task",
    "text",
    "content",
    "instruction",
    "instructions",
    "activity",
    "what",
    "summary",
)
_SUB_KEYS = ("steps", "substeps", "subtasks", "tasks", "actions", "items")


_LOOSE = re.compile(r"[\s_\-]")


@lru_cache(maxsize=4096)
def _key(name: str) -> str:
    return _LOOSE.sub("", name).lower()


def key(name: str) -> str:
    """A key compared loosely: case, spaces, '_' and '-' ignored (``File_Name`` == ``filename``).
    Short names (JSON keys: the same few again and again) are memoised."""
    return _key(name) if len(name) <= 64 else _LOOSE.sub("", name).lower()


# Keys models commonly answer with, each already in its loose form (``key(k) == k``): an object whose keys
# are all among them needs no table of loose keys (see ``lookup``).
_COMMON = (
    *STEP_KEYS,
    *ARTIFACT_KEYS,
    *SUMMARY_KEYS,
    *WRAPPER_KEYS,
    *NAME_KEYS,
    *CONTENT_KEYS,
    *KIND_KEYS,
    *PURPOSE_KEYS,
    *_TITLE_KEYS,
    *_BODY_KEYS,
    *_SUB_KEYS,
    *("decision", "verdict", "approval", "approved", "approve", "status", "outcome", "reasons"),
    *("rationale", "comments", "feedback", "issues", "justification", "score", "value", "rating"),
)
_LOOSE_ALREADY = frozenset(n for n in _COMMON if key(n) == n)


def lookup(obj: dict[str, Any], names: tuple[str, ...]) -> tuple[str | None, Any]:
    """The first of ``names`` present in ``obj`` (loosely compared, non-null): (its real key, value)."""
    if obj.keys() <= _LOOSE_ALREADY:  # each key is its own loose form: the table would map k -> k
        for name in names:
            value = obj.get(name)
            if value is not None:
                return name, value
        return None, None
    loose = {key(k): k for k in obj if isinstance(k, str)}
    for name in names:
        real = loose.get(name)
        if real is not None and obj[real] is not None:
            return real, obj[real]
    return None, None


# --- plans -----------------------------------------------------------------------------------------

_ITEM = re.compile(
    r"^(?P<indent>[ \t]*)(?:\d{1,3}[.):]|[-*\u2022+]|step\s+\d{1,3}\s*[:.)-]?|\(\d{1,3}\)|[a-z][.)])\s+(?P<text>\S.*)$",
    re.I,
)
_MARKUP = re.compile(r"\*\*|__|^#+\s*|`")


def _clean_line(text: str) -> str:
    return _MARKUP.sub("", text).strip()


def text_steps(text: str) -> tuple[str, list[str]]:
    """A plan written as text: (the prose before the list, the numbered or bulleted items).

    Items indented under an earlier item are folded into it ("Design: pick a parser; write tests").
    Lines inside code fences are ignored."""
    steps: list[str] = []
    prose: list[str] = []
    base_indent: int | None = None
    in_fence = False
    for line in text.splitlines():
        if line.lstrip().startswith(("```", "~~~")):
            in_fence = not in_fence
            continue
        if in_fence:
            continue
        m = _ITEM.match(line)
        if m is None:
            if not steps and line.strip():
                prose.append(_clean_line(line))
            continue
        indent = len(m["indent"].expandtabs(4))
        item = _clean_line(m["text"])
        if not item:
            continue
        if base_indent is None:
            base_indent = indent
        if indent > base_indent and steps:
            steps[-1] += ("; " if ":" in steps[-1] else ": ") + item
        else:
            steps.append(item)
    return " ".join(p.rstrip(":") for p in prose if p).strip(), steps


def step_text(item: dict[str, Any]) -> str | None:
    """One step given as an object, as a line of text ("title: details"); None if it has no text."""
    _, title = lookup(item, _TITLE_KEYS)
    _, body = lookup(item, _BODY_KEYS)
    _, subs = lookup(item, _SUB_KEYS)
    title = title if isinstance(title, str) and title.strip() else None
    if isinstance(body, list):
        body = "; ".join(x for x in body if isinstance(x, str)) or None
    if body is None and isinstance(subs, list):
        parts = [x if isinstance(x, str) else step_text(x) if isinstance(x, dict) else None for x in subs]
        body = "; ".join(p for p in parts if p) or None
    body = body if isinstance(body, str) and body.strip() else None
    if title and body and title.strip() != body.strip():
        return f"{title.strip()}: {body.strip()}"
    return (body or title or "").strip() or None


def objects_as_text(items: list[Any], note: str, notes: list[str]) -> list[Any]:
    """Items given as objects (reasons: ``{"issue": ..., "severity": ...}``) as lines of text ("title:
    details", else "key: value; ..."), with ``note``; an object without text is left as it is."""
    notes.append(note)
    out: list[Any] = []
    for item in items:
        text = step_text(item) if isinstance(item, dict) else None
        if isinstance(item, dict) and text is None:
            pairs = [
                f"{k}: {v}" for k, v in item.items() if isinstance(v, (str, int, float)) and str(v).strip()
            ]
            text = "; ".join(pairs) or None
        out.append(item if text is None else text)
    return out


def _has_steps(obj: dict[str, Any]) -> bool:
    """Whether ``obj`` holds steps: a "steps" key (checked strictly later), or a synonym with a usable value."""
    real, value = lookup(obj, STEP_KEYS)
    if real is None:
        return False
    return key(real) == "steps" or isinstance(value, (list, str)) or _numbered_dict(value) is not None


def _numbered_dict(value: Any) -> list[Any] | None:
    """``{"1": ..., "2": ...}`` or ``{"step_1": ..., "step_2": ...}`` as a list in key order; else None."""
    if not isinstance(value, dict) or not value:
        return None
    if not all(re.search(r"\d+$", k) for k in value if isinstance(k, str)):
        return None
    ordered = sorted(value, key=lambda k: int(re.search(r"(\d+)$", k).group(1)))  # type: ignore[union-attr]
    return [value[k] for k in ordered]


def plan_shape(value: Any, notes: list[str]) -> dict[str, Any] | None:
    """``value`` (a parsed JSON value) as a canonical plan dict with raw steps; None if it has no steps."""
    if isinstance(value, list):
        if value and all(isinstance(x, (str, dict)) for x in value):
            notes.append("read a top-level list as the plan's steps")
            return {"summary": None, "steps": value, "artifacts": None}
        return None
    if not isinstance(value, dict):
        return None
    obj = value
    if not _has_steps(obj):
        for wrapper in WRAPPER_KEYS:
            real, inner = lookup(obj, (wrapper,))
            if isinstance(inner, dict) and _has_steps(inner):
                notes.append(f'read the plan inside "{real}"')
                # keep an outer summary if the inner object has none
                merged = {**{k: v for k, v in obj.items() if k != real}, **inner}
                obj = merged
                break
        else:
            return None
    real, steps = lookup(obj, STEP_KEYS)
    if real != "steps":
        notes.append(f'read "{real}" as the steps')
    if isinstance(steps, dict) and (numbered := _numbered_dict(steps)) is not None:
        steps = numbered
        notes.append("read a numbered object as the list of steps")
    elif isinstance(steps, str) and "\n" in steps.strip():
        _, lines = text_steps(steps)
        if len(lines) > 1:
            notes.append("split a numbered or bulleted string into steps")
            steps = lines
    s_real, summary = lookup(obj, SUMMARY_KEYS)
    if s_real is not None and s_real != "summary":
        if isinstance(summary, str):
            notes.append(f'read "{s_real}" as the summary')
        else:
            summary = None
    a_real, artifacts = lookup(obj, ARTIFACT_KEYS)
    if a_real is not None and a_real != "artifacts":
        notes.append(f'read "{a_real}" as the artifacts')
    return {"summary": summary, "steps": steps, "artifacts": artifacts}


# --- artifacts --------------------------------------------------------------------------------------


def _is_artifact(obj: Any) -> bool:
    if not isinstance(obj, dict):
        return False
    name = lookup(obj, NAME_KEYS)[1]
    return isinstance(name, str) and lookup(obj, CONTENT_KEYS)[0] is not None


def artifact_entries(value: Any, notes: list[str]) -> Any:
    """Artifacts given as a dict (filename -> content, or one artifact object) as a list; else as is."""
    if not isinstance(value, dict):
        return value
    if _is_artifact(value):
        notes.append("read a single artifact object as a one-item list")
        return [value]
    if value and all(isinstance(k, str) and isinstance(v, (str, dict, list)) for k, v in value.items()):
        notes.append("read an object of filename -> content as the artifacts")
        out = []
        for name, v in value.items():
            if isinstance(v, dict) and lookup(v, NAME_KEYS)[0] is None:
                out.append({"filename": name, **v})
            elif isinstance(v, dict):
                out.append(v)
            else:
                out.append({"filename": name, "content": v})
        return out
    return value


def act_shape(value: Any, notes: list[str]) -> dict[str, Any] | None:
    """``value`` as a canonical act dict with raw artifacts; None if it holds no artifacts."""
    if isinstance(value, list):
        if value and all(_is_artifact(x) for x in value):
            notes.append("read a top-level list as the artifacts")
            return {"summary": None, "artifacts": value}
        return None
    if not isinstance(value, dict):
        return None
    if _is_artifact(value) and lookup(value, ARTIFACT_KEYS)[0] is None:
        notes.append("read a single artifact object as the artifacts")
        return {"summary": None, "artifacts": [value]}
    obj = value
    if lookup(obj, ARTIFACT_KEYS)[0] is None:
        for wrapper in WRAPPER_KEYS:
            real, inner = lookup(obj, (wrapper,))
            if isinstance(inner, dict) and lookup(inner, ARTIFACT_KEYS)[0] is not None:
                notes.append(f'read the artifacts inside "{real}"')
                obj = {**{k: v for k, v in obj.items() if k != real}, **inner}
                break
        else:
            return None
    real, artifacts = lookup(obj, ARTIFACT_KEYS)
    if real != "artifacts":
        notes.append(f'read "{real}" as the artifacts')
    out = dict(obj)
    out.pop(real, None)
    out["artifacts"] = artifact_entries(artifacts, notes)
    s_real, summary = lookup(obj, SUMMARY_KEYS)
    if s_real not in (None, "summary") and isinstance(summary, str):
        notes.append(f'read "{s_real}" as the summary')
        out["summary"] = summary
    return out


def without_cut_last(artifacts: Any, truncated: bool, notes: list[str]) -> Any:
    """Artifacts without the last one when the answer was cut off before that one's content came:
    the complete ones are kept (marked truncated), not lost with it."""
    if (
        truncated
        and isinstance(artifacts, list)
        and len(artifacts) > 1
        and isinstance(artifacts[-1], dict)
        and lookup(artifacts[-1], CONTENT_KEYS)[1] is None
    ):
        notes.append(f"truncated: dropped artifacts[{len(artifacts) - 1}], cut off before its content")
        return artifacts[:-1]
    return artifacts


# --- files written as fenced code blocks --------------------------------------------------------------

_FENCE_LINE = re.compile(r"(?P<fence>`{3,}|~{3,})(?P<info>[^\n`]*)")
_PATH = re.compile(
    r"(?<![\w/.-])((?:[\w.-]+/)*[\w-][\w.-]*\.[A-Za-z0-9]{1,10}|(?:[\w.-]+/)*(?:Makefile|Dockerfile|LICENSE|Procfile))(?![\w/-])"
)
_FIRST_LINE = re.compile(
    r"^\s*(?:#|//|--|<!--|/\*)\s*(?:file(?:name)?\s*[:=]\s*)?(?P<path>[^\s*>]+)\s*(?:-->|\*/)?\s*$", re.I
)


def _path_in(text: str) -> str | None:
    found = _PATH.findall(text)
    return found[-1] if found else None


def _blocks(text: str) -> Iterator[tuple[int, int, str, str]]:
    """(start, end, info string, body) of each fenced code block, LF or CRLF. Inside a block, a fence
    line with an info string (```bash) opens a nested block that the next bare fence closes: models
    nest code blocks in a markdown file without a longer outer fence. Where nesting never closes, the
    first bare fence closes the block, and from there on every block (no nesting: linear time)."""
    raw = text.split("\n")
    lines = [line.rstrip("\r") for line in raw]
    starts = list(itertools.accumulate((len(line) + 1 for line in raw), initial=0))
    fences = [_FENCE_LINE.fullmatch(line) if line[:1] in "`~" else None for line in lines]
    bare: dict[str, list[int]] = {}  # fence -> the lines that are that fence alone (closers)
    for n, m in enumerate(fences):
        if m is not None and not m["info"].strip(" \t"):
            bare.setdefault(m["fence"], []).append(n)
    nesting, i = True, 0
    while i < len(lines):
        m = fences[i]
        closers = bare.get(m["fence"], []) if m is not None else []
        after = bisect.bisect_right(closers, i)
        if m is None or after == len(closers):  # nothing can close it
            i += 1
            continue
        close = closers[after]
        if nesting:  # the bare fence at depth 0, counting nested openers (```bash) and their closers
            depth, j = 0, i + 1
            while j < len(lines):
                f = fences[j]
                if f is not None and f["fence"] == m["fence"]:
                    if f["info"].strip(" \t"):
                        depth += 1
                    elif depth == 0:
                        break
                    else:
                        depth -= 1
                j += 1
            if j < len(lines):
                close = j
            else:
                nesting = False
        yield starts[i], starts[close] + len(lines[close]), m["info"], text[starts[i + 1] : starts[close]]
        i = close + 1


def fenced_files(text: str) -> tuple[str, list[dict[str, str]]]:
    """Files written as fenced code blocks, each named in its info string (```python app.py,
    ```python:app.py, ```python title="app.py"), on the line before it (### `app.py`, **app.py**,
    File: app.py) or in a first-line comment (# app.py). Returns (the prose before the first
    block, [{"filename", "content", "kind"}]); unnamed blocks are skipped."""
    files: list[dict[str, str]] = []
    first = None
    pos = 0
    for m_start, m_end, info, block in _blocks(text):
        lang, _, rest = info.strip().partition(" ")
        lang, colon, after = lang.partition(":")
        gap = text[pos:m_start].rstrip()
        before_at = pos + gap.rfind("\n") + 1  # where the line before the fence starts
        before = gap[before_at - pos :]
        start, body = m_start, block
        name = _path_in(after if colon else rest) or (lang if _PATH.fullmatch(lang) else None)
        if name is None and (name := _path_in(before)) is not None:
            start = before_at  # the naming line is not prose
        if name is None:
            head, _, tail = body.partition("\n")
            fm = _FIRST_LINE.match(head)
            if fm and _PATH.fullmatch(fm["path"]):
                name, body = fm["path"], tail
        pos = m_end
        if name is None:
            continue
        first = start if first is None else first
        kind = "" if _PATH.fullmatch(lang) else lang.lower()
        files.append({"filename": name, "content": body, "kind": kind})
    prose = text[:first].strip() if first is not None else ""
    return prose, files


# --- files written as tags, the way the prompt shows its inputs: <artifact filename="app.py" kind="python"> ---

_TAG = re.compile(r"<(?P<tag>artifact|file)\b(?P<attrs>[^<>]*)>(?P<body>.*?)</(?P=tag)\s*>", re.I | re.S)
_ATTR = re.compile(r'\b(?P<key>[\w-]+)\s*=\s*(?:"(?P<dq>[^"]*)"|\'(?P<sq>[^\']*)\')')


def _tagged_files(text: str) -> tuple[str, list[dict[str, str]]]:
    """Files written as ``<artifact filename="..." kind="...">text</artifact>`` (or ``<file path=...>``),
    the text as it is (one newline after the opening and before the closing tag dropped, as the prompt
    writes them; a body that is one fenced block: that block's text). Returns (prose before, files)."""
    files: list[dict[str, str]] = []
    first = None
    lower = text.lower()  # no tag opened after the last closing one is tried (linear time)
    last = max(lower.rfind("</artifact"), lower.rfind("</file"))
    for m in _TAG.finditer(text, 0, lower.find(">", last) + 1 if last >= 0 else 0):
        attrs = {
            key(a["key"]): a["dq"] if a["dq"] is not None else a["sq"] for a in _ATTR.finditer(m["attrs"])
        }
        name = lookup(attrs, NAME_KEYS)[1]
        if not name:
            continue
        body = m["body"].removeprefix("\r").removeprefix("\n").removesuffix("\n").removesuffix("\r")
        blocks = list(_blocks(body.strip()))
        if len(blocks) == 1 and blocks[0][0] == 0 and blocks[0][1] == len(body.strip()):
            body = blocks[0][3]
        first = m.start() if first is None else first
        files.append({"filename": name, "content": body, "kind": lookup(attrs, KIND_KEYS)[1] or ""})
    return (text[:first].strip() if first is not None else ""), files


def text_files(text: str) -> tuple[str, list[dict[str, str]], str]:
    """Files written in an answer's text instead of JSON: (prose before them, files, how they were
    written), from ``<artifact filename=...>`` tags, else from named fenced code blocks."""
    prose, files = _tagged_files(text)
    if files:
        return prose, files, "<artifact> tags"
    return (*fenced_files(text), "fenced code blocks")
