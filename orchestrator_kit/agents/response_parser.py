"""Read an agent's JSON answer into typed records. Pure functions: no I/O, no global state.

``extract_json`` finds the object in the text (bare, fenced, before or after prose, with ``` fences
inside string values) and repairs what is safe to repair locally; ``parse_plan`` / ``parse_act`` then
check every field. Each repair is a human-readable note in ``Parsed.repairs``. A note starting with
``"truncated:"`` means the response was cut off and closed here, so its last value (usually the last
artifact's content) may be incomplete. Whatever cannot be repaired without inventing content raises
``ParseError`` naming what was wrong and where, e.g. ``artifacts[1].content: expected a string, got int``.
"""

from __future__ import annotations

import json
import posixpath
import re
from dataclasses import dataclass
from string import ascii_letters
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, Field

from ..errors import ConfigError, ParseError
from ..records import Decision, Score
from ..store.artifact_paths import ArtifactNamer, artifact_relpath

__all__ = [
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

MAX_ARTIFACT_CHARS = 1_000_000
MAX_RESPONSE_CHARS = 5_000_000


class PlannedArtifact(BaseModel):
    filename: str
    kind: str = "text"
    purpose: str = ""


class PlanData(BaseModel):
    summary: str
    steps: list[str]
    artifacts: list[PlannedArtifact] = Field(default_factory=list)


class ArtifactSpec(BaseModel):
    filename: str
    kind: str
    content: str


class ActData(BaseModel):
    summary: str
    artifacts: list[ArtifactSpec]
    decision: Decision | None = None
    score: Score | None = None


T = TypeVar("T", bound=BaseModel)


@dataclass(frozen=True)
class Parsed(Generic[T]):
    """A parsed response and the notes of every local repair applied (empty if none)."""

    data: T
    repairs: tuple[str, ...] = ()


# --- finding and repairing the JSON object ------------------------------------------------------

_SURROGATES = re.compile("[\ud800-\udfff]")
# Where an object (first key) or an array of objects may start. Prose braces like "{x}" are skipped
# unseen: each failed decode costs O(position), so at most _MAX_FAILURES candidates may fail.
_CANDIDATE = re.compile('\\{\\s*["\u201c\u201d]|\\[\\s*\\{')
_MAX_FAILURES = 20
_STRING_STOP = re.compile(r'["\\\x00-\x1f]')  # linear scans, no backtracking
_SMART_STRING_STOP = re.compile('["\\\\\x00-\x1f\u201c\u201d]')
_WORD = re.compile(r"[A-Za-z_]\w*")
_PY_LITERALS = {"True": "true", "False": "false", "None": "null"}
_CONTROL_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
_CLOSER = {"{": "}", "[": "]"}
_DECODER = json.JSONDecoder()


def _type(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def _to_text(raw: str | bytes, notes: list[str]) -> str:
    """The response as stripped text without BOM or lone surrogates (never raises on bad bytes)."""
    if isinstance(raw, (bytes, bytearray)):
        try:
            text = bytes(raw).decode("utf-8")
        except UnicodeDecodeError:
            text = bytes(raw).decode("utf-8", errors="replace")
            notes.append("invalid UTF-8 bytes replaced with U+FFFD")
    elif isinstance(raw, str):
        text = raw
    else:
        raise TypeError(f"expected the response as str or bytes, got {type(raw).__name__}")
    if len(text) > MAX_RESPONSE_CHARS:
        raise ParseError(
            f"the response is {len(text):,} chars, over the limit of "
            f"{MAX_RESPONSE_CHARS:,} (MAX_RESPONSE_CHARS)",
            excerpt=text,
        )
    if _SURROGATES.search(text):
        text = _SURROGATES.sub("\ufffd", text)
        notes.append("lone surrogate characters replaced with U+FFFD")
    text = text.strip()
    if text.startswith("\ufeff"):
        text = text[1:].strip()
        notes.append("removed a byte-order mark (BOM)")
    return text


def _close(pieces: list[str], stack: tuple[str, ...] | list[str], in_string: bool) -> str:
    text = ("".join(pieces) + ('"' if in_string else "")).rstrip()
    return text.removesuffix(",") + "".join(_CLOSER[b] for b in reversed(stack))


def _repair_at(text: str, start: int) -> tuple[dict[str, Any] | None, int, list[str]]:
    """Repair the object at the '{' at ``start`` in one string-aware pass.

    Returns the object (None if unrepairable), the end of its span and the repair notes.
    """
    out: list[str] = []  # the repaired copy, in pieces
    stack: list[str] = []  # open brackets
    notes: list[str] = []
    cut: tuple[int, tuple[str, ...]] | None = None  # (len(out), open brackets) at the last comma
    comma_at: int | None = None  # index in out of a comma not yet followed by a value
    i, limit, in_string = start, len(text), False

    while i < limit and (stack or i == start):
        c = text[i]
        if c in '"\u201c\u201d':
            smart = c != '"'
            if smart:
                notes.append("replaced smart quotes with straight quotes")
            stop = _SMART_STRING_STOP if smart else _STRING_STOP
            out.append('"')
            comma_at, in_string, i = None, True, i + 1
            while in_string and i < limit:
                m = stop.search(text, i)
                j = m.start() if m else limit
                out.append(text[i:j])
                if m is None:
                    i = limit
                elif text[j] == "\\":
                    if j + 1 < limit:  # a dangling backslash at the very end is dropped
                        out.append(text[j : j + 2])
                    i = j + 2
                elif text[j] == '"' and smart:
                    out.append('\\"')
                    i = j + 1
                elif text[j] in '"\u201c\u201d':
                    out.append('"')
                    in_string, i = False, j + 1
                else:
                    out.append(_CONTROL_ESCAPES.get(text[j], f"\\u{ord(text[j]):04x}"))
                    notes.append("escaped raw control characters inside strings")
                    i = j + 1
            continue
        if c in "{[":
            stack.append(c)
            comma_at = None
        elif c in "}]":
            if comma_at is not None:
                out[comma_at], comma_at = "", None
                notes.append("removed trailing commas")
            if not stack or _CLOSER[stack.pop()] != c:
                return None, i + 1, notes  # mismatched brackets
        elif c == ",":
            cut, comma_at = (len(out), tuple(stack)), len(out)
        elif c == "`":  # a closing code fence: the JSON stopped before it
            break
        elif c in ascii_letters or c == "_":
            word = _WORD.match(text, i).group()  # type: ignore[union-attr]
            if word in _PY_LITERALS:
                notes.append("converted Python literals True/False/None to JSON")
            out.append(_PY_LITERALS.get(word, word))
            comma_at, i = None, i + len(word)
            continue
        elif not c.isspace():
            comma_at = None
        out.append(c)
        i += 1

    notes = list(dict.fromkeys(notes))  # each kind of repair once
    attempts = [("".join(out), notes)]
    if stack:  # truncated: close what is open, else fall back to the last complete member
        attempts = [
            (
                _close(out, stack, in_string),
                notes
                + [
                    f"truncated: closed {len(stack)} open brackets",
                    *(["truncated: closed an unterminated string"] if in_string else []),
                ],
            )
        ]
        if cut is not None:
            attempts.append(
                (
                    _close(out[: cut[0]], cut[1], False),
                    notes
                    + [
                        f"truncated: closed {len(cut[1])} open brackets",
                        "truncated: dropped the incomplete last member",
                    ],
                )
            )
    for candidate, candidate_notes in attempts:
        try:
            return json.loads(candidate), i, candidate_notes
        except (json.JSONDecodeError, RecursionError):  # RecursionError: absurdly deep nesting
            continue
    return None, i, notes


def _preview(text: str) -> str:
    return f"({len(text):,} chars, starts with: {text[:60]!r})"


def extract_json(text: str | bytes) -> tuple[dict[str, Any], tuple[str, ...]]:
    """The JSON object in a response, and the notes of the local repairs that were needed."""
    notes: list[str] = []
    text = _to_text(text, notes)
    try:  # the common case: the whole answer is the object
        whole = json.loads(text)
    except (json.JSONDecodeError, RecursionError):
        pass
    else:
        if not isinstance(whole, dict):
            raise ParseError(
                f"the top level must be a JSON object, got {_type(whole)} {_preview(text)}", excerpt=text
            )
        return whole, tuple(notes)

    # Try each candidate start: raw_decode is string-aware, so ``` inside string values cannot
    # confuse it. Keep the largest; objects nested in one already found are skipped.
    found: list[tuple[int, int, Any, list[str]]] = []  # (start, end, value, repair notes)
    failure: tuple[int, int, str] | None = None  # (start, end, error) of the first broken object
    pos = failures = 0
    while failures < _MAX_FAILURES and (m := _CANDIDATE.search(text, pos)) is not None:
        i = pos = m.start()
        try:
            value, end = _DECODER.raw_decode(text, i)
        except (json.JSONDecodeError, RecursionError) as exc:
            failures += 1
            if text[i] == "{":
                value, end, repairs = _repair_at(text, i)
                if value is not None:
                    found.append((i, end, value, repairs))
                    pos = end - 1
                else:
                    failure = failure or (i, end, str(exc) or type(exc).__name__)
                    if end >= len(text):  # unclosed to the end: later objects would lie inside it
                        break
        else:
            if isinstance(value, dict) or (
                isinstance(value, list) and any(isinstance(x, dict) for x in value)
            ):
                found.append((i, end, value, []))
                pos = end - 1
        pos += 1

    start, end, value, repairs = max(found, key=lambda f: f[1] - f[0], default=(0, 0, None, []))
    if failure and (value is None or failure[0] < start < failure[1]):
        raise ParseError(
            f"invalid JSON starting at char {failure[0]} that local repair could not fix: "
            f"{failure[2]} {_preview(text)}",
            excerpt=text[failure[0] :],
        )
    if value is None:
        raise ParseError(f"no JSON object found in the response {_preview(text)}", excerpt=text)
    if not isinstance(value, dict):
        raise ParseError(f"the top level must be a JSON object, got list {_preview(text)}", excerpt=text)
    return value, tuple(notes + repairs)


# --- file names ---------------------------------------------------------------------------------

_KINDS = {
    ".py": "python",
    ".md": "markdown",
    ".json": "json",
    ".yaml": "yaml",
    ".yml": "yaml",
    ".csv": "csv",
    ".sql": "sql",
    ".txt": "text",
    ".toml": "toml",
    ".ipynb": "notebook",
}


def sanitize_filename(name: str) -> str:
    """Where an artifact named ``name`` lands (see ``store.artifact_paths.artifact_relpath``, the one
    authority the run folder checks against); ParseError when nothing safe is left."""
    try:
        return artifact_relpath(name)
    except ConfigError as exc:
        raise ParseError(str(exc)) from None


def infer_kind(filename: str) -> str:
    """The artifact kind for a file name's extension ("text" when unknown)."""
    return _KINDS.get(posixpath.splitext(filename.lower())[1], "text")


# --- checking fields ----------------------------------------------------------------------------

_DECISION_SHAPE = '{"approved": true|false, "reasons": [...]}'
_SCORE_SHAPE = '{"value": 0..10, "reasons": [...]} or a number from 0 to 10'
_ARTIFACTS_SHAPE = 'a list of {"filename": ..., "kind": ..., "content": ...} objects ([] for none)'
_SCORE_TEXT = re.compile(r"(-?\d{1,6}(?:\.\d{1,6})?)(?: ?/ ?10)?")  # "7", "7.5", "7/10", "7 / 10"
_BOOLISH = {
    **dict.fromkeys(("true", "yes", "approved", "approve", "pass", "passed"), True),
    **dict.fromkeys(("false", "no", "rejected", "reject", "fail", "failed"), False),
}


def _string(value: Any, where: str, notes: list[str]) -> str:
    if not isinstance(value, str):
        raise ParseError(f"{where}: expected a string, got {_type(value)}")
    if _SURROGATES.search(value):  # e.g. from a "\ud800" escape; such text cannot be written out
        notes.append(f"{where}: lone surrogate characters replaced with U+FFFD")
        value = _SURROGATES.sub("\ufffd", value)
    return value


def _strings(value: Any, where: str, notes: list[str]) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        notes.append(f"{where}: a single string was read as a one-item list")
        return [_string(value, where, notes)]
    if not isinstance(value, list):
        raise ParseError(f"{where}: expected a list of strings, got {_type(value)}")
    return [_string(item, f"{where}[{n}]", notes) for n, item in enumerate(value)]


def _summary(obj: dict[str, Any], notes: list[str]) -> str:
    if obj.get("summary") is None:
        notes.append('missing "summary": used ""')
        return ""
    return _string(obj["summary"], "summary", notes)


def _decision(value: Any, notes: list[str]) -> Decision:
    if not isinstance(value, dict) or value.get("approved") is None:
        problem = 'missing "approved"' if isinstance(value, dict) else f"got {_type(value)}"
        raise ParseError(f"decision: {problem}; expected {_DECISION_SHAPE}")
    approved = value["approved"]
    if not isinstance(approved, bool):  # bool-ish strings: "yes", "Approved", "false", ...
        key = approved.strip().lower() if isinstance(approved, str) else None
        if key not in _BOOLISH:
            raise ParseError(
                f"decision.approved: expected true or false, got {_type(approved)} "
                f"{str(approved)[:40]!r}; expected {_DECISION_SHAPE}"
            )
        notes.append(f"decision.approved: read {approved!r} as {str(_BOOLISH[key]).lower()}")
        approved = _BOOLISH[key]
    return Decision(approved=approved, reasons=_strings(value.get("reasons"), "decision.reasons", notes))


def _score(value: Any, notes: list[str]) -> Score:
    where, raw = ("score.value", value.get("value")) if isinstance(value, dict) else ("score", value)
    if isinstance(raw, str):  # "7", "7.5", "7/10"
        m = _SCORE_TEXT.fullmatch(raw.strip())
        if m is None:
            raise ParseError(f"{where}: could not read {raw[:40]!r} as a number; expected {_SCORE_SHAPE}")
        number: float = float(m.group(1))
        notes.append(f"{where}: read {raw!r} as {number}")
    elif isinstance(raw, (int, float)) and not isinstance(raw, bool):
        number = raw
    else:
        problem = 'missing "value"' if raw is None else f"expected a number, got {_type(raw)}"
        raise ParseError(f"{where}: {problem}; expected {_SCORE_SHAPE}")
    if not 0 <= number <= 10:  # NaN fails too
        raise ParseError(f"{where}: {raw!r} is out of range 0..10")
    reasons = _strings(value.get("reasons"), "score.reasons", notes) if isinstance(value, dict) else []
    return Score(value=float(number), reasons=reasons)


def _artifact_fields(item: Any, where: str, notes: list[str]) -> tuple[str, str]:
    """The safe file name and the kind of one artifact entry (a dict)."""
    if not isinstance(item, dict):
        raise ParseError(f"{where}: expected an object, got {_type(item)}")
    if item.get("filename") is None:
        raise ParseError(f'{where}: missing "filename"')
    raw_name = _string(item["filename"], f"{where}.filename", notes)
    try:
        name = sanitize_filename(raw_name)
    except ParseError as exc:
        raise ParseError(f"{where}.filename: {exc}") from None
    if name != raw_name:
        notes.append(f"{where}.filename: {raw_name!r} made safe as {name!r}")
    kind = item.get("kind")
    if kind is not None:
        kind = _string(kind, f"{where}.kind", notes).strip()
    if not kind:
        kind = infer_kind(name)
        notes.append(f'{where}.kind: missing, inferred "{kind}" from the file name')
    return name, kind


# --- public parsers -----------------------------------------------------------------------------


def parse_plan(text: str | bytes) -> Parsed[PlanData]:
    """Read a plan: {"summary": str, "steps": [str], "artifacts": [{"filename", "kind", "purpose"}]}."""
    obj, found_notes = extract_json(text)
    notes = list(found_notes)
    summary = _summary(obj, notes)
    if obj.get("steps") is None:
        raise ParseError('missing "steps": expected a list of strings')
    steps = _strings(obj["steps"], "steps", notes)
    raw_artifacts = [] if obj.get("artifacts") is None else obj["artifacts"]
    if not isinstance(raw_artifacts, list):
        raise ParseError(f"artifacts: expected a list of objects, got {_type(raw_artifacts)}")
    artifacts = []
    for n, item in enumerate(raw_artifacts):
        where = f"artifacts[{n}]"
        name, kind = _artifact_fields(item, where, notes)
        purpose = item.get("purpose")
        purpose = "" if purpose is None else _string(purpose, f"{where}.purpose", notes)
        artifacts.append(PlannedArtifact(filename=name, kind=kind, purpose=purpose))
    return Parsed(PlanData(summary=summary, steps=steps, artifacts=artifacts), tuple(notes))


def parse_act(
    text: str | bytes, *, require_decision: bool = False, require_score: bool = False
) -> Parsed[ActData]:
    """Read an act: {"summary", "artifacts": [{"filename", "kind", "content"}], "decision"?, "score"?}."""
    obj, found_notes = extract_json(text)
    notes = list(found_notes)
    summary = _summary(obj, notes)
    raw_artifacts = obj.get("artifacts")
    if raw_artifacts is None:
        raise ParseError(f'missing "artifacts": expected {_ARTIFACTS_SHAPE}')
    if not isinstance(raw_artifacts, list):
        raise ParseError(f"artifacts: expected {_ARTIFACTS_SHAPE}, got {_type(raw_artifacts)}")
    artifacts: list[ArtifactSpec] = []
    namer = ArtifactNamer()  # distinct paths, case-insensitively, as on macOS and Windows
    for n, item in enumerate(raw_artifacts):
        where = f"artifacts[{n}]"
        name, kind = _artifact_fields(item, where, notes)
        if item.get("content") is None:
            raise ParseError(f'{where}: missing "content" (the file text is never invented)')
        content = _string(item["content"], f"{where}.content", notes)
        if len(content) > MAX_ARTIFACT_CHARS:
            raise ParseError(
                f"{where}.content: {len(content):,} chars is over the limit of "
                f"{MAX_ARTIFACT_CHARS:,} chars (MAX_ARTIFACT_CHARS)"
            )
        unique = namer.place(name)  # keep both: a-2.py, a-3.py, ...
        if unique != name:
            notes.append(f"{where}.filename: duplicate {name!r} renamed to {unique!r}")
        artifacts.append(ArtifactSpec(filename=unique, kind=kind, content=content))
    decision = None if obj.get("decision") is None else _decision(obj["decision"], notes)
    if decision is None and require_decision:
        raise ParseError(f'missing "decision": expected {_DECISION_SHAPE}')
    score = None if obj.get("score") is None else _score(obj["score"], notes)
    if score is None and require_score:
        raise ParseError(f'missing "score": expected {_SCORE_SHAPE}')
    data = ActData(summary=summary, artifacts=artifacts, decision=decision, score=score)
    return Parsed(data, tuple(notes))


class ResponseParser:
    """The integration guide's name for this module: static wrappers over the functions above."""

    parse_plan = staticmethod(parse_plan)
    parse_act = staticmethod(parse_act)
    extract_json = staticmethod(extract_json)
