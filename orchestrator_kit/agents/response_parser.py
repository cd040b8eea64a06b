"""Read an agent's answer into typed records. Pure functions: no I/O, no global state.

``json_extract`` finds the JSON in the text (bare, fenced with any language tag, before or after prose,
with ``` fences inside string values, several blocks) and repairs what is safe to repair locally;
``shapes`` brings the many shapes models answer in (steps as objects, plans under ``tasks`` or
``execution_summary``, artifacts as a dict of filename -> content, plain-text numbered plans, files
as fenced code blocks...) to one canonical form; ``parse_plan`` / ``parse_act`` then check every
field. Each repair or reading is a human-readable note in ``Parsed.repairs``. A note starting with
``"truncated:"`` means the response was cut off and closed here, so its last value (usually the last
artifact's content) may be incomplete. When nothing usable is there, ``ParseError`` names what was
missing or wrong and where, e.g. ``artifacts[1].content: expected a string, got int``.
"""

from __future__ import annotations

import json
import posixpath
import re
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, Field

from ..errors import ConfigError, ParseError
from ..records import Decision, Score, unchecked
from ..store.artifact_paths import ArtifactNamer, artifact_relpath
from . import canonical_reply, shapes
from .json_extract import (
    MAX_RESPONSE_CHARS,
    Found,
    Scan,
    extract_json,
    preview,
    scan_json,
    whole_scan,
    whole_value,
)

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
_SURROGATES = re.compile("[\ud800-\udfff]")


def _type(value: Any) -> str:
    return "null" if value is None else type(value).__name__


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
_KIND_ALIASES = {
    "py": "python",
    "python3": "python",
    "md": "markdown",
    "yml": "yaml",
    "txt": "text",
    "plaintext": "text",
    "plain": "text",
    "sh": "shell",
    "bash": "shell",
    "js": "javascript",
    "ts": "typescript",
}
_GENERIC_KINDS = frozenset({"file", "code", "document", "source", "artifact"})
_UNUSUAL_KINDS = frozenset(_KIND_ALIASES) | _GENERIC_KINDS  # read as another kind, or inferred anew


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
_STEPS_SHAPE = 'a list of strings or of {"description": ...} objects'
_SCORE_TEXT = re.compile(r"(-?\d{1,6}(?:\.\d{1,6})?)(?: ?/ ?10)?")  # "7", "7.5", "7/10", "7 / 10"
_BOOLISH = {
    **dict.fromkeys(("true", "yes", "approved", "approve", "pass", "passed", "accept", "accepted"), True),
    **dict.fromkeys(
        ("false", "no", "rejected", "reject", "fail", "failed", "revise", "changes requested"), False
    ),
}
_REASON_KEYS = ("reasons", "rationale", "comments", "feedback", "issues", "justification")


def _string(value: Any, where: str, notes: list[str]) -> str:
    if not isinstance(value, str):
        raise ParseError(f"{where}: expected a string, got {_type(value)}")
    if not value.isascii() and _SURROGATES.search(value):  # e.g. from a "\ud800" escape: unwritable
        notes.append(f"{where}: lone surrogate characters replaced with U+FFFD")
        return _SURROGATES.sub("\ufffd", value)
    return value


def _strings(value: Any, where: str, notes: list[str]) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        notes.append(f"{where}: a single string was read as a one-item list")
        return [_string(value, where, notes)]
    if not isinstance(value, list):
        raise ParseError(f"{where}: expected a list of strings, got {_type(value)}")
    if any(isinstance(item, dict) for item in value):  # [{"issue": ..., "severity": ...}]
        value = shapes.objects_as_text(value, f"{where}: read reason objects as text", notes)
    return [_string(item, f"{where}[{n}]", notes) for n, item in enumerate(value)]


def _steps(value: Any, notes: list[str]) -> list[str]:
    if value is None or isinstance(value, str):
        return _strings(value, "steps", notes)
    if not isinstance(value, list):
        raise ParseError(f"steps: expected {_STEPS_SHAPE}, got {_type(value)}")
    out = []
    for n, item in enumerate(value):
        if isinstance(item, dict):
            text = shapes.step_text(item)
            if text is None:
                raise ParseError(
                    f'steps[{n}]: a step object without text; expected a string or {{"description": ...}}'
                )
            out.append(_string(text, f"steps[{n}]", notes))
        else:
            out.append(_string(item, f"steps[{n}]", notes))
    if any(isinstance(item, dict) for item in value):
        notes.append("steps: read step objects as text")
    return out


def _summary(summary: Any, notes: list[str]) -> str:
    if summary is None:
        notes.append('missing "summary": used ""')
        return ""
    return _string(summary, "summary", notes)


def _decision(value: Any, notes: list[str]) -> Decision:
    if not isinstance(value, dict) or value.get("approved") is None:
        problem = 'missing "approved"' if isinstance(value, dict) else f"got {_type(value)}"
        raise ParseError(f"decision: {problem}; expected {_DECISION_SHAPE}")
    approved = value["approved"]
    if not isinstance(approved, bool):  # bool-ish strings: "yes", "Approved", "false", ...
        key = approved.strip().rstrip(".!").lower() if isinstance(approved, str) else None
        if key not in _BOOLISH:
            raise ParseError(
                f"decision.approved: expected true or false, got {_type(approved)} "
                f"{str(approved)[:40]!r}; expected {_DECISION_SHAPE}"
            )
        notes.append(f"decision.approved: read {approved!r} as {str(_BOOLISH[key]).lower()}")
        approved = _BOOLISH[key]
    reasons = shapes.lookup(value, _REASON_KEYS)[1]
    return Decision(approved=approved, reasons=_strings(reasons, "decision.reasons", notes))


def _decision_value(obj: dict[str, Any], notes: list[str]) -> Any:
    """The decision in an act object, in the canonical {"approved", "reasons"} shape where possible."""
    real, value = shapes.lookup(obj, ("decision", "verdict", "approval"))
    if value is None and shapes.lookup(obj, ("approved",))[0] is not None:  # flattened into the top level
        notes.append('read top-level "approved" as the decision')
        return {
            "approved": shapes.lookup(obj, ("approved",))[1],
            "reasons": shapes.lookup(obj, _REASON_KEYS)[1],
        }
    if isinstance(value, bool) or (isinstance(value, str) and value.strip().rstrip(".!").lower() in _BOOLISH):
        notes.append(f'read "{real}": {value!r} as the decision')
        return {"approved": value, "reasons": shapes.lookup(obj, _REASON_KEYS)[1]}
    if isinstance(value, dict) and value.get("approved") is None:
        alias, verdict = shapes.lookup(
            value, ("approved", "approve", "status", "verdict", "decision", "outcome")
        )
        if verdict is not None:
            notes.append(f'decision: read "{alias}" as "approved"')
            return {**value, "approved": verdict}
    return value


def _score(value: Any, notes: list[str]) -> Score:
    if isinstance(value, dict):
        alias, raw = shapes.lookup(value, ("value", "score", "rating", "overall", "total"))
        where = "score.value"
        if alias not in (None, "value"):
            notes.append(f'score: read "{alias}" as "value"')
    else:
        where, raw = "score", value
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
    reasons = shapes.lookup(value, _REASON_KEYS)[1] if isinstance(value, dict) else None
    return Score(value=float(number), reasons=_strings(reasons, "score.reasons", notes))


def _kind(raw: Any, name: str, where: str, notes: list[str]) -> str:
    kind = "" if raw is None else _string(raw, f"{where}.kind", notes).strip()
    alias = _KIND_ALIASES.get(kind.lower())
    if alias:
        notes.append(f"{where}.kind: read {kind!r} as {alias!r}")
        return alias
    if not kind or kind.lower() in _GENERIC_KINDS:
        kind = infer_kind(name)
        notes.append(f'{where}.kind: missing, inferred "{kind}" from the file name')
    return kind


def _artifact_fields(item: Any, where: str, notes: list[str]) -> tuple[str, str]:
    """The safe file name and the kind of one artifact entry (a dict)."""
    if not isinstance(item, dict):
        raise ParseError(f"{where}: expected an object, got {_type(item)}")
    alias, raw = shapes.lookup(item, shapes.NAME_KEYS)
    if raw is None:
        raise ParseError(f'{where}: missing "filename"')
    if alias != "filename":
        notes.append(f'{where}: read "{alias}" as "filename"')
    raw_name = _string(raw, f"{where}.filename", notes)
    try:
        name = sanitize_filename(raw_name)
    except ParseError as exc:
        raise ParseError(f"{where}.filename: {exc}") from None
    if name != raw_name:
        notes.append(f"{where}.filename: {raw_name!r} made safe as {name!r}")
    return name, _kind(shapes.lookup(item, shapes.KIND_KEYS)[1], name, where, notes)


def _content(item: dict[str, Any], name: str, where: str, notes: list[str]) -> str:
    alias, raw = shapes.lookup(item, shapes.CONTENT_KEYS)
    if raw is None:
        raise ParseError(f'{where}: missing "content" (the file text is never invented)')
    if alias != "content":
        notes.append(f'{where}: read "{alias}" as "content"')
    if isinstance(raw, list) and raw and all(isinstance(x, str) for x in raw):
        notes.append(f"{where}.content: joined a list of lines")
        raw = "\n".join(raw)
    elif isinstance(raw, (dict, list)) and infer_kind(name) in ("json", "notebook"):
        notes.append(f"{where}.content: wrote a JSON value as the file's text")
        raw = json.dumps(raw, indent=2, ensure_ascii=False) + "\n"
    content = _string(raw, f"{where}.content", notes)
    if len(content) > MAX_ARTIFACT_CHARS:
        raise ParseError(
            f"{where}.content: {len(content):,} chars is over the limit of "
            f"{MAX_ARTIFACT_CHARS:,} chars (MAX_ARTIFACT_CHARS)"
        )
    return content


def _planned(value: Any, notes: list[str]) -> list[PlannedArtifact]:
    if value is None:
        return []
    if isinstance(value, dict):  # filename -> purpose
        notes.append("artifacts: read an object of filename -> purpose")
        value = [{"filename": k, **(v if isinstance(v, dict) else {"purpose": v})} for k, v in value.items()]
    if not isinstance(value, list):
        raise ParseError(f"artifacts: expected a list of objects, got {_type(value)}")
    out = []
    for n, raw in enumerate(value):
        where = f"artifacts[{n}]"
        item = {"filename": raw} if isinstance(raw, str) else raw
        if isinstance(raw, str):
            notes.append(f"{where}: read a file name as a planned artifact")
        name, kind = _artifact_fields(item, where, notes)
        purpose = shapes.lookup(item, shapes.PURPOSE_KEYS)[1]
        purpose = "" if purpose is None else _string(purpose, f"{where}.purpose", notes)
        out.append(PlannedArtifact(filename=name, kind=kind, purpose=purpose))
    return out


# --- choosing what in the answer carries the data ----------------------------------------------------


def _best(scan: Scan, shape: Any) -> tuple[Found, dict[str, Any], list[str]] | None:
    """The largest JSON value found that has the shape (several fenced blocks: the one with the data)."""
    best = None
    for found in scan.found:
        notes: list[str] = []
        shaped = shape(found.value, notes)
        if shaped is not None and (best is None or found.end - found.start > best[0].end - best[0].start):
            best = (found, shaped, notes)
    return best


def _nothing_usable(scan: Scan, what: str, shape: str) -> ParseError:
    error = scan.failure_error()
    if error is not None and not scan.found:
        return error
    if scan.found:
        return ParseError(f'missing "{what}": expected {shape}')
    return ParseError(
        f"no JSON object found in the response {preview(scan.text)}; expected {shape}", excerpt=scan.text
    )


# --- public parsers -----------------------------------------------------------------------------


def _canonical_plan(
    fast: tuple[str, list[str], list[tuple[str, str, str]]], notes: tuple[str, ...]
) -> Parsed[PlanData]:
    summary, steps, planned = fast
    # text checked there: made without validation
    artifacts = [unchecked(PlannedArtifact, filename=f, kind=k, purpose=p) for f, k, p in planned]
    return Parsed(unchecked(PlanData, summary=summary, steps=steps, artifacts=artifacts), notes)


def parse_plan(text: str | bytes) -> Parsed[PlanData]:
    """Read a plan: {"summary": str, "steps": [str], "artifacts": [{"filename", "kind", "purpose"}]},
    or any shape listed in ``shapes`` that carries steps (also a plain numbered or bulleted list)."""
    whole = whole_value(text)  # the common answer: one JSON value, no note
    if whole is not None:
        fast = canonical_reply.plan(whole[1], _UNUSUAL_KINDS)
        if fast is not None:
            return _canonical_plan(fast, ())
        scan = whole_scan(*whole)
    else:
        scan = scan_json(text)
    notes = list(scan.notes)
    if whole is None and len(scan.found) == 1:  # the canonical shape: read in one pass (canonical_reply)
        fast = canonical_reply.plan(scan.found[0].value, _UNUSUAL_KINDS)
        if fast is not None:
            return _canonical_plan(fast, (*notes, *scan.found[0].notes))
    best = _best(scan, shapes.plan_shape)
    if best is not None:
        found, shaped, shape_notes = best
        notes += [*found.notes, *shape_notes]
        summary = _summary(shaped["summary"], notes)
        steps = _steps(shaped["steps"], notes)
        artifacts = _planned(shaped["artifacts"], notes)
        return Parsed(PlanData(summary=summary, steps=steps, artifacts=artifacts), tuple(notes))
    prose, steps = shapes.text_steps(scan.text)
    if not steps:
        raise _nothing_usable(scan, "steps", _STEPS_SHAPE)
    notes.append("read a plain-text numbered or bulleted plan")
    summary = _summary(prose or None, notes)
    return Parsed(PlanData(summary=summary, steps=[_string(s, "steps", notes) for s in steps]), tuple(notes))


def parse_act(
    text: str | bytes, *, require_decision: bool = False, require_score: bool = False
) -> Parsed[ActData]:
    """Read an act: {"summary", "artifacts": [{"filename", "kind", "content"}], "decision"?, "score"?},
    or any shape listed in ``shapes`` that carries artifacts (also files as named fenced code blocks)."""
    whole = whole_value(text)  # the common answer: one JSON value, no note
    scan: Scan | None = None
    if whole is not None:
        whole_text, found = whole
    else:
        scan = scan_json(text)
        found = scan.found[0].value if len(scan.found) == 1 else None
    if found is not None:  # the canonical shape: read in one pass (canonical_reply), no note to add
        fast = canonical_reply.act(found, _UNUSUAL_KINDS, MAX_ARTIFACT_CHARS)
        if fast is not None:
            notes = [] if scan is None else [*scan.notes, *scan.found[0].notes]
            summary, files = fast
            specs = [unchecked(ArtifactSpec, filename=f, kind=k, content=c) for f, k, c in files]
            return _act_data(found, summary, specs, notes, require_decision, require_score)
    if scan is None:
        scan = whole_scan(whole_text, found)
    notes = list(scan.notes)
    best = _best(scan, shapes.act_shape)
    if best is not None:
        found, obj, shape_notes = best
        notes += [*found.notes, *shape_notes]
        cut = any(n.startswith("truncated:") for n in found.notes)
        raw_artifacts = shapes.without_cut_last(obj["artifacts"], cut, notes)
    else:
        prose, raw_artifacts, written_as = shapes.text_files(scan.text)
        if not raw_artifacts:
            raise _nothing_usable(scan, "artifacts", _ARTIFACTS_SHAPE)
        notes.append(f"read {len(raw_artifacts)} file(s) from {written_as}")
        largest = max(scan.found, key=lambda f: f.end - f.start, default=None)
        obj = dict(largest.value) if largest is not None and isinstance(largest.value, dict) else {}
        obj.setdefault("summary", prose or None)
    summary = _summary(obj.get("summary"), notes)
    if not isinstance(raw_artifacts, list):
        raise ParseError(f"artifacts: expected {_ARTIFACTS_SHAPE}, got {_type(raw_artifacts)}")
    artifacts: list[ArtifactSpec] = []
    namer = ArtifactNamer()  # distinct paths, case-insensitively, as on macOS and Windows
    for n, item in enumerate(raw_artifacts):
        where = f"artifacts[{n}]"
        name, kind = _artifact_fields(item, where, notes)
        content = _content(item, name, where, notes)
        unique = namer.place(name)  # keep both: a-2.py, a-3.py, ...
        if unique != name:
            notes.append(f"{where}.filename: duplicate {name!r} renamed to {unique!r}")
        artifacts.append(ArtifactSpec(filename=unique, kind=kind, content=content))
    return _act_data(obj, summary, artifacts, notes, require_decision, require_score)


def _act_data(
    obj: dict[str, Any],
    summary: str,
    artifacts: list[ArtifactSpec],
    notes: list[str],
    require_decision: bool,
    require_score: bool,
) -> Parsed[ActData]:
    """The act with its decision and score read from ``obj`` (the answer's object)."""
    raw_decision = _decision_value(obj, notes)
    decision = None if raw_decision is None else _decision(raw_decision, notes)
    if decision is None and require_decision:
        raise ParseError(f'missing "decision": expected {_DECISION_SHAPE}')
    alias, raw_score = shapes.lookup(obj, ("score", "rating", "qualityscore", "reviewscore", "overallscore"))
    if alias not in (None, "score"):
        notes.append(f'read "{alias}" as the score')
    score = None if raw_score is None else _score(raw_score, notes)
    if score is None and require_score:
        raise ParseError(f'missing "score": expected {_SCORE_SHAPE}')
    # made of what this module read and checked: no validation
    data = unchecked(ActData, summary=summary, artifacts=artifacts, decision=decision, score=score)
    return Parsed(data, tuple(notes))


class ResponseParser:
    """The integration guide's name for this module: static wrappers over the functions above."""

    parse_plan = staticmethod(parse_plan)
    parse_act = staticmethod(parse_act)
    extract_json = staticmethod(extract_json)
