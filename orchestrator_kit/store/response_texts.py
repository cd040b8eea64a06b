"""Long texts of ``responses.jsonl`` written once per writer and file, referred to afterwards.

A record is ``{"layout", "hash", "request", "completion"}`` (llm/replay.py). Most of a request repeats
earlier ones: the charter system block is in every call, an act call repeats its plan call's turns and
answer. So a writer (one :class:`~orchestrator_kit.store.run_folder.RunFolder` object) writes a long text
(a system block's ``text``, a message's ``content``, the completion's ``text``: at least
:data:`MIN_CHARS` characters) in full where it first occurs, and names it in the line's ``text_ids``
(``{"s0": id, "m2": id, "c": id}``: system block 0, message 2, the completion); later lines hold
``{"ref": id}`` in place of that string.

- Unambiguous: those fields are strings in every record, so an object there is a reference, never text;
  ``text_ids`` is no field of a record (the prompt ``layout`` field is unrelated to this encoding).
- Ids are the writer's random prefix and a counter: two writers (a resume in a new process, or two at
  once) never share one. A new writer knows nothing and writes texts in full again.
- Backward only, to whole lines: a text is registered once the append of its line returned, so no line
  refers forward, into a torn line (kill -9 mid-write) or into a line whose append failed.
- A reader gets the text as it is stored: redacted where the line was (:func:`redact_bytes` runs on the
  whole line, definition included), lone surrogates as json_bytes wrote them.

Lines without ``text_ids`` or references (older folders, recording files) are read unchanged.
"""

from __future__ import annotations

import itertools
import secrets
from collections.abc import Iterable
from typing import Any

from ..errors import DamagedRun

MIN_CHARS = 128  # shorter texts are written in place: a reference would save little
# The writer forgets all texts past this many (they are written again). A default run's texts are about
# 55,000 characters (about 22 KB of RSS per run in flight, measured at 1,000 runs); the bound keeps a long
# run from holding megabytes: 1,000 runs in flight hold at most 256 M characters.
MAX_HELD_CHARS = 256_000
FIELD = "text_ids"
_PLACES = (("s", "system", "text"), ("m", "messages", "content"))


class TextWriter:
    """One writer's texts already in the file. Texts are found by length, then compared (``==`` is a
    memory compare, cheaper than hashing a new 10 KB string); a text whose length an earlier one has is
    found by hash (rare). Only strings are held, in dicts of strings (ints to strings, strings to
    strings): the garbage collector never scans them (a list or tuple per text made about 34 tracked
    objects per run in flight). Not locked: a text two threads define at once is written twice under
    two ids, and either is registered only after its line is whole."""

    __slots__ = ("_held", "_id_at", "_next", "_other", "_prefix", "_text_at")

    def __init__(self) -> None:
        self._prefix = secrets.token_hex(6) + "."
        self._next = itertools.count(1).__next__  # atomic under the GIL
        self._text_at: dict[int, str] = {}  # length -> the first text of that length held
        self._id_at: dict[int, str] = {}  # length -> that text's id
        self._other: dict[str, str] = {}  # text -> id, for a text whose length another has
        self._held = 0

    def compact(self, record: dict[str, Any]) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        """The record to write (``record`` itself when nothing changes; it is never mutated) and the
        texts it defines (text, id), for :meth:`written` once its line is appended. The hot loop of a
        line (about 7 texts a call): the copies are ``dict.copy``/``list.copy`` and ``where`` is made
        only when needed (about 10% fewer instructions than comprehensions and ``{**item}``)."""
        request = record.get("request")
        if type(request) is not dict:
            return record, None
        text_at = self._text_at
        fresh: list[tuple[str, str]] = []  # (text, id) first written by this line
        where: dict[str, str] | None = None  # place -> id
        out_request = None
        for tag, key, field in _PLACES:
            items = request.get(key)
            if type(items) is not list:
                continue
            changed = None
            i = -1
            for item in items:
                i += 1
                if type(item) is not dict:
                    continue
                text = item.get(field)
                if type(text) is not str or (n := len(text)) < MIN_CHARS:
                    continue
                known = text_at.get(n)  # _ref_id, inlined
                if known is None:
                    ref = None
                elif known == text:
                    ref = self._id_at[n]
                else:
                    ref = self._other.get(text)
                if ref is not None:
                    if changed is None:
                        changed = items.copy()
                    copy = changed[i] = item.copy()  # the same keys in the same order
                    copy[field] = {"ref": ref}
                else:
                    if where is None:
                        where = {}
                    where[tag + str(i)] = self._define(text, fresh)
            if changed is not None:
                if out_request is None:
                    out_request = request.copy()
                out_request[key] = changed
        out = None
        completion = record.get("completion")
        if type(completion) is dict:
            text = completion.get("text")
            if type(text) is str and len(text) >= MIN_CHARS:
                ref = self._ref_id(text)
                if ref is not None:
                    out = dict(record)
                    out["completion"] = {**completion, "text": {"ref": ref}}
                else:
                    if where is None:
                        where = {}
                    where["c"] = self._define(text, fresh)
        if out_request is not None or where is not None:
            if out is None:
                out = dict(record)
            if out_request is not None:
                out["request"] = out_request
            if where is not None:
                out[FIELD] = where
        return out or record, fresh or None

    def written(self, fresh: list[tuple[str, str]]) -> None:
        """The line defining ``fresh`` is in the file, whole: later lines may refer to its texts."""
        added = sum(len(text) for text, _ in fresh)
        self._held += added
        if self._held > MAX_HELD_CHARS:  # bounded memory: start afresh (texts are written again)
            self._text_at.clear()
            self._id_at.clear()
            self._other.clear()
            self._held = added
        text_at = self._text_at
        for text, text_id in fresh:
            n = len(text)
            known = text_at.get(n)
            if known is None:
                text_at[n] = text
                self._id_at[n] = text_id
            elif known != text:
                self._other.setdefault(text, text_id)

    def _ref_id(self, text: str) -> str | None:
        n = len(text)
        known = self._text_at.get(n)
        if known is None:
            return None
        if known == text:
            return self._id_at[n]
        return self._other.get(text)

    def _define(self, text: str, fresh: list[tuple[str, str]]) -> str:
        for known, text_id in fresh:  # the same text twice in one line: one id
            if known == text:
                return text_id
        text_id = f"{self._prefix}{self._next()}"
        fresh.append((text, text_id))
        return text_id


def expand(records: Iterable[dict[str, Any]], source: str) -> list[dict[str, Any]]:
    """The full records of parsed lines (in file order; changed in place): references replaced by their
    texts, ``text_ids`` removed. A reference no earlier line defines raises :class:`DamagedRun`."""
    texts: dict[str, str] = {}
    out = []
    for n, rec in enumerate(records, 1):
        where = rec.pop(FIELD, None)
        request = rec.get("request")
        if type(request) is dict:
            for _, key, field in _PLACES:
                items = request.get(key)
                if type(items) is list:
                    for item in items:
                        if type(item) is dict and type(item.get(field)) is dict:
                            item[field] = _text(texts, item[field], n, source)
        completion = rec.get("completion")
        if type(completion) is dict and type(completion.get("text")) is dict:
            completion["text"] = _text(texts, completion["text"], n, source)
        if where:
            for place, text_id in where.items():
                texts[text_id] = _at(rec, place, n, source)
        out.append(rec)
    return out


def _text(texts: dict[str, str], ref: dict[str, Any], n: int, source: str) -> str:
    text = texts.get(ref.get("ref"))  # type: ignore[arg-type]
    if text is None:
        raise DamagedRun(
            f"{source}: record {n} refers to text {ref.get('ref')!r}, which no earlier line holds "
            "(the file was edited or damaged); restore it or start a new run"
        )
    return text


def _at(rec: dict[str, Any], place: str, n: int, source: str) -> str:
    try:
        if place == "c":
            value = rec["completion"]["text"]
        else:
            tag, i = place[0], int(place[1:])
            key, field = {"s": ("system", "text"), "m": ("messages", "content")}[tag]
            value = rec["request"][key][i][field]
    except (KeyError, IndexError, ValueError, TypeError):
        value = None
    if type(value) is not str:
        raise DamagedRun(f"{source}: record {n} names {place!r} in {FIELD}, which holds no text")
    return value
