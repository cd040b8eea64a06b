"""Find the JSON in a model's answer and repair what is safe to repair locally. Pure functions.

``extract_json`` returns the largest JSON object in the text (bare, fenced, before or after prose,
with ``` fences inside string values); ``scan_json`` returns every JSON object or array found, in
order of appearance, for the shape readers to choose from. Each repair is a human-readable note.
A note starting with ``"truncated:"`` means the text was cut off and closed here.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from string import ascii_letters
from typing import Any

from ..errors import ParseError

__all__ = [
    "MAX_RESPONSE_CHARS",
    "Found",
    "Scan",
    "extract_json",
    "preview",
    "scan_json",
    "to_text",
    "whole_scan",
    "whole_value",
]

MAX_RESPONSE_CHARS = 5_000_000

_SURROGATES = re.compile("[\ud800-\udfff]")
# Where an object (first key) or an array of objects may start. Prose braces like "{x}" are skipped
# unseen: each failed decode costs O(position), so at most _MAX_FAILURES candidates may fail.
_CANDIDATE = re.compile('\\{\\s*(?:["\u201c\u201d]|//|/\\*)|\\[\\s*[{"\u201c]')
_MAX_FAILURES = 20
_STRING_STOP = re.compile(r'["\\\x00-\x1f]')  # linear scans, no backtracking
_SMART_STRING_STOP = re.compile('["\\\\\x00-\x1f\u201c\u201d]')
_WORD = re.compile(r"[A-Za-z_]\w*")
_PY_LITERALS = {"True": "true", "False": "false", "None": "null"}
_CONTROL_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
_CLOSER = {"{": "}", "[": "]"}
_CUT_ESCAPE = re.compile(r"(?P<slashes>\\+)u(?:[0-9A-Fa-f]{0,3}|[dD][89abAB][0-9A-Fa-f]{2})$")
_DECODER = json.JSONDecoder()
# json.loads' scanner (C): (value, end) of the value at an index; StopIteration where none starts
_SCAN_ONCE: Callable[[str, int], tuple[Any, int]] = _DECODER.scan_once  # type: ignore[attr-defined]


def _type(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def to_text(raw: str | bytes, notes: list[str]) -> str:
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
    if not text.isascii() and _SURROGATES.search(text):
        text = _SURROGATES.sub("\ufffd", text)
        notes.append("lone surrogate characters replaced with U+FFFD")
    text = text.strip()
    if text.startswith("\ufeff"):
        text = text[1:].strip()
        notes.append("removed a byte-order mark (BOM)")
    return text


def _close(pieces: list[str], stack: tuple[str, ...] | list[str], in_string: bool) -> str:
    text = "".join(pieces)
    while in_string:  # cut inside an escape ("\u00") or an emoji's pair ("\ud83d"): drop that piece
        m = _CUT_ESCAPE.search(text, max(0, len(text) - 64))
        if m is None or not len(m["slashes"]) % 2:
            text += '"'
            break
        text = text[: m.end("slashes") - 1]
    return text.rstrip().removesuffix(",") + "".join(_CLOSER[b] for b in reversed(stack))


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
        elif c == "/" and text.startswith(("//", "/*"), i):  # JSONC comments
            line = text[i + 1] == "/"
            end_at = text.find("\n" if line else "*/", i + 2)
            i = limit if end_at < 0 else end_at + (0 if line else 2)
            notes.append("removed comments")
            continue
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
                [
                    *notes,
                    f"truncated: closed {len(stack)} open brackets",
                    *(["truncated: closed an unterminated string"] if in_string else []),
                ],
            )
        ]
        if cut is not None:
            attempts.append(
                (
                    _close(out[: cut[0]], cut[1], False),
                    [
                        *notes,
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


def preview(text: str) -> str:
    return f"({len(text):,} chars, starts with: {text[:60]!r})"


@dataclass(frozen=True)
class Found:
    """One JSON value found in a response: the value, its span and the repairs it needed."""

    value: Any
    start: int
    end: int
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Scan:
    """Every JSON value found in a response (in order of appearance) and the first broken object."""

    text: str
    notes: tuple[str, ...]
    found: list[Found] = field(default_factory=list)
    failure: tuple[int, int, str] | None = None  # (start, end, error) of an object repair could not fix
    whole: bool = False  # the whole response was one JSON value

    def failure_error(self) -> ParseError | None:
        if self.failure is None:
            return None
        start, _, error = self.failure
        return ParseError(
            f"invalid JSON starting at char {start} that local repair could not fix: "
            f"{error} {preview(self.text)}",
            excerpt=self.text[start:],
        )


def scan_json(raw: str | bytes) -> Scan:
    """Every JSON object, array of objects or array of strings in ``raw``, repaired where safe."""
    notes: list[str] = []
    text = to_text(raw, notes)
    # The common case: the whole answer is the value. What json.loads does, without its wrappers: the
    # text is stripped, so a value that ends before the text does is followed by other text (an error).
    try:
        whole, end = _SCAN_ONCE(text, 0)
    except (StopIteration, json.JSONDecodeError, RecursionError):
        whole, end = None, -1
    if end == len(text):
        if isinstance(whole, str) and whole.strip()[:1] in ("{", "["):  # JSON encoded twice
            inner = scan_json(whole)
            return Scan(
                inner.text,
                (*notes, "decoded a JSON string that held the JSON"),
                inner.found,
                inner.failure,
                inner.whole,
            )
        return Scan(text, tuple(notes), [Found(whole, 0, len(text))], whole=True)

    # Try each candidate start: raw_decode is string-aware, so ``` inside string values cannot
    # confuse it. Values nested in one already found are skipped.
    found: list[Found] = []
    failure: tuple[int, int, str] | None = None
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
                    found.append(Found(value, i, end, tuple(repairs)))
                    pos = end - 1
                else:
                    failure = failure or (i, end, str(exc) or type(exc).__name__)
                    if end >= len(text):  # unclosed to the end: later objects would lie inside it
                        break
        else:
            if isinstance(value, dict) or (
                isinstance(value, list) and value and all(isinstance(x, (dict, str)) for x in value)
            ):
                found.append(Found(value, i, end))
                pos = end - 1
        pos += 1
    return Scan(text, tuple(notes), found, failure)


def whole_value(raw: str | bytes) -> tuple[str, Any] | None:
    """(text, value) when ``scan_json(raw)`` is that one value, whole and without a note: ``raw`` a str
    that, stripped, is exactly one JSON value other than a string (the common answer, read without the
    scan's records). None otherwise: ``scan_json`` reads it."""
    if (
        type(raw) is not str
        or len(raw) > MAX_RESPONSE_CHARS
        or (not raw.isascii() and _SURROGATES.search(raw))
    ):
        return None
    text = raw.strip()
    if text.startswith("\ufeff"):
        return None
    try:
        value, end = _SCAN_ONCE(text, 0)
    except (StopIteration, json.JSONDecodeError, RecursionError):
        return None
    if end != len(text) or type(value) is str:
        return None
    return text, value


def whole_scan(text: str, value: Any) -> Scan:
    """What ``scan_json`` returns for a ``whole_value``."""
    return Scan(text, (), [Found(value, 0, len(text))], whole=True)


def extract_json(text: str | bytes) -> tuple[dict[str, Any], tuple[str, ...]]:
    """The largest JSON object in a response, and the notes of the local repairs that were needed."""
    scan = scan_json(text)
    if scan.whole:
        whole = scan.found[0].value
        if not isinstance(whole, dict):
            raise ParseError(
                f"the top level must be a JSON object, got {_type(whole)} {preview(scan.text)}",
                excerpt=scan.text,
            )
        return whole, scan.notes
    objects = [
        f
        for f in scan.found
        if isinstance(f.value, dict) or any(isinstance(x, dict) for x in f.value)  # objects, lists of them
    ]
    best = max(objects, key=lambda f: f.end - f.start, default=None)
    if scan.failure and (best is None or scan.failure[0] < best.start < scan.failure[1]):
        raise scan.failure_error()  # type: ignore[misc]
    if best is None:
        raise ParseError(f"no JSON object found in the response {preview(scan.text)}", excerpt=scan.text)
    if not isinstance(best.value, dict):
        raise ParseError(
            f"the top level must be a JSON object, got list {preview(scan.text)}", excerpt=scan.text
        )
    return best.value, scan.notes + best.notes
