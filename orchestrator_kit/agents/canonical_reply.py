"""The parser's fast path for answers already in the canonical shape (issue #12).

Most answers are exactly the JSON the prompts ask for: ``{"summary", "steps", "artifacts": [{"filename",
"kind", "purpose"}]}`` for a plan, ``{"summary", "artifacts": [{"filename", "kind", "content"}],
"decision"?, "score"?}`` for an act, every key spelled as asked and every value of the asked type. For
those, ``response_parser``'s general path finds each key under its own name, applies no reading and
writes no note; this module reads them in one pass, with the same checks (text without lone
surrogates, a file name already where it lands, a kind that needs no alias or inference, content
within the limit). Anything else, even one key or value off, gives None: the general path reads it
(and writes its notes or errors), so answers are validated exactly as before
(tests/unit/test_canonical_reply.py compares both paths).
"""

from __future__ import annotations

import re
from typing import Any, TypeGuard

from ..errors import ConfigError
from ..store.artifact_paths import ArtifactNamer, artifact_relpath

_SURROGATES = re.compile("[\ud800-\udfff]")
_PLAN_KEYS = frozenset({"summary", "steps", "artifacts"})
_PLANNED_KEYS = frozenset({"filename", "kind", "purpose"})
_ACT_KEYS = frozenset({"summary", "artifacts", "decision", "score"})
_FILE_KEYS = frozenset({"filename", "kind", "content"})


def _text(value: Any) -> TypeGuard[str]:
    """A string the general path takes as it is (no lone surrogate to replace)."""
    return type(value) is str and (value.isascii() or _SURROGATES.search(value) is None)


def _kind(value: Any, unusual: frozenset[str]) -> str | None:
    """The kind as the general path reads it when that needs no note (stripped), else None."""
    if not _text(value):
        return None
    kind: str = value.strip()
    return kind if kind and kind.lower() not in unusual else None


# File names recur (each role asks for the same deliverables): whether one lands as it is, kept per name;
# bounded (started afresh when full), names of landing length only.
_LANDED: dict[str, bool] = {}
_MAX_LANDED, _MAX_NAME = 1024, 256


def _landed(name: Any) -> TypeGuard[str]:
    """A file name already where the artifact lands (the general path would change it with a note)."""
    if type(name) is not str:
        return False
    known = _LANDED.get(name)
    if known is not None:
        return known
    landed = _text(name) and _lands(name)
    if len(name) <= _MAX_NAME:
        if len(_LANDED) >= _MAX_LANDED:
            _LANDED.clear()
        _LANDED[name] = landed
    return landed


def _lands(name: str) -> bool:
    try:
        return bool(artifact_relpath(name) == name)
    except ConfigError:
        return False


def plan(
    value: Any, unusual_kinds: frozenset[str]
) -> tuple[str, list[str], list[tuple[str, str, str]]] | None:
    """(summary, steps, planned artifacts as (filename, kind, purpose)) of a canonical plan, else None.
    ``unusual_kinds``: kinds (lower case) the general path reads as another or infers anew."""
    if type(value) is not dict or not value.keys() <= _PLAN_KEYS or "summary" not in value:
        return None
    summary, steps, artifacts = value["summary"], value.get("steps"), value.get("artifacts")
    if not _text(summary) or type(steps) is not list:
        return None
    for step in steps:  # _text, inlined (the hot loop)
        if type(step) is not str or not (step.isascii() or _SURROGATES.search(step) is None):
            return None
    planned: list[tuple[str, str, str]] = []
    if artifacts is not None:
        if type(artifacts) is not list:
            return None
        for item in artifacts:
            if type(item) is not dict or not item.keys() <= _PLANNED_KEYS:
                return None
            name, purpose = item.get("filename"), item.get("purpose")
            kind = _kind(item.get("kind"), unusual_kinds)
            if kind is None or not _landed(name) or not (purpose is None or _text(purpose)):
                return None
            planned.append((name, kind, purpose or ""))
    return summary, steps, planned


def act(
    value: Any, unusual_kinds: frozenset[str], max_chars: int
) -> tuple[str, list[tuple[str, str, str]]] | None:
    """(summary, artifacts as (filename, kind, content)) of a canonical act, else None. Its decision
    and score, if any, are left to the general path's readers (they read ``value`` alike)."""
    if type(value) is not dict or not value.keys() <= _ACT_KEYS:
        return None
    summary, artifacts = value.get("summary"), value.get("artifacts")
    if not _text(summary) or type(artifacts) is not list:
        return None
    files: list[tuple[str, str, str]] = []
    namer = ArtifactNamer() if len(artifacts) > 1 else None  # one file lands where its name says
    for item in artifacts:
        if type(item) is not dict or item.keys() != _FILE_KEYS:
            return None
        name, content = item["filename"], item["content"]
        kind = _kind(item["kind"], unusual_kinds)
        if kind is None or not _landed(name) or not _text(content) or len(content) > max_chars:
            return None
        if namer is not None and namer.place(name) != name:  # a duplicate: renamed, with a note
            return None
        files.append((name, kind, content))
    return summary, files
