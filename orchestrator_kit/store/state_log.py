"""The checkpoint log of a run in flight (``checkpoints.jsonl``): one JSON line per checkpoint.

A writer's first line is the whole state document, ``{"n": 0, "full": {...}}``; each later line holds
only what changed since its previous line, ``{"n": k, "set": {...}, "drop": [[key, ...], ...]}``:
``set`` is merged into the document (a dict merges into a dict, anything else replaces), ``drop`` lists
the key paths removed. The run's state is the fold of the log. A line without its newline (torn by a
kill) is ignored, and a line that does not follow on from the one before (``n`` out of sequence, e.g. a
second writer) is not applied: the fold stops at the last consistent state until the next ``full`` line.
"""

from __future__ import annotations

import json
from typing import Any

Doc = dict[str, Any]


def diff(old: Doc, new: Doc, prefix: tuple[str, ...] = ()) -> tuple[Doc, list[list[str]]]:
    """``(set, drop)`` such that ``apply(old, set, drop) == new``; nested dicts are diffed key by key."""
    changed: Doc = {}
    dropped = [[*prefix, k] for k in old if k not in new]
    for k, v in new.items():
        if k in old:
            before = old[k]
            if before == v:
                continue
            if isinstance(before, dict) and isinstance(v, dict):
                sub, subdrop = diff(before, v, (*prefix, k))
                changed[k] = sub
                dropped.extend(subdrop)
                continue
        changed[k] = v
    return changed, dropped


def apply(doc: Doc, changed: Doc, dropped: list[list[str]]) -> None:
    """Apply one delta to ``doc`` in place."""
    for path in dropped:
        target: Any = doc
        for k in path[:-1]:
            target = target.get(k) if isinstance(target, dict) else None
        if isinstance(target, dict):
            target.pop(path[-1], None)
    _merge(doc, changed)


def _merge(doc: Doc, changed: Doc) -> None:
    for k, v in changed.items():
        cur = doc.get(k)
        if isinstance(v, dict) and isinstance(cur, dict):
            _merge(cur, v)
        else:
            doc[k] = v


def fold(data: bytes) -> Doc | None:
    """The state a log's bytes hold, or None when no whole ``full`` line was written."""
    doc: Doc | None = None
    n = -1
    lines = data.split(b"\n")
    for line in lines[:-1]:  # the last piece has no newline: empty, or torn by a kill
        try:
            rec = json.loads(line)
        except ValueError:
            continue
        if not isinstance(rec, dict):
            continue
        if isinstance(rec.get("full"), dict):
            doc, n = rec["full"], 0
        elif doc is not None and rec.get("n") == n + 1:
            apply(doc, rec.get("set") or {}, rec.get("drop") or [])
            n += 1
        else:
            n = -2  # out of sequence: nothing more applies until the next full line
    return doc
