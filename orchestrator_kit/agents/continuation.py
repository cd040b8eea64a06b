"""Join an answer cut off at max_tokens and its continuation the way the model wrote them. Pure functions.

The continuation request shows the model its cut-off answer as ``shown_turn(prefix)``: without trailing
whitespace (the API's rule for an assistant turn) and ``"{"`` when nothing came, so the model goes on
from that text, and the answer is that turn plus the continuation (the cut-off whitespace, written
again, is not doubled). Two habits of real models are undone, each with a note: a continuation that
opens a ```json fence (not part of the answer), and one that starts the whole answer over, perhaps
after a line of prose (read alone: it holds everything).
"""

from __future__ import annotations

import re

__all__ = ["join", "shown_turn"]

_SURROGATES = re.compile("[\ud800-\udfff]")
_FENCE_OPENER = re.compile(r"\s*```(?:json)?[ \t]*\r?\n", re.IGNORECASE)
_HEAD_CHARS = 40  # the start of the answer's JSON that a continuation starting over repeats
_PROSE_CHARS = 200  # at most this much prose (no quotes) before the answer started over

FENCE_NOTE = "continuation: removed the ```json fence the continuation began with"
RESTART_NOTE = "continuation: the model started the answer over; read that complete answer alone"


def shown_turn(prefix: str) -> str:
    """The cut-off answer as the continuation request shows it to the model."""
    turn = prefix.rstrip() or "{"
    return turn if turn.isascii() else _SURROGATES.sub("\ufffd", turn)  # lone surrogates have no UTF-8


def join(prefix: str, continuation: str) -> tuple[str, tuple[str, ...]]:
    """(the whole answer, notes) from a cut-off answer and the continuation the model wrote after it."""
    turn = prefix.rstrip() or "{"
    start = turn.find("{")
    if start < 0:  # not JSON (files as fenced blocks, prose): joined as written
        return turn + continuation, ()
    head = _SURROGATES.sub("\ufffd", turn[start : start + _HEAD_CHARS])
    again = continuation.find(head, 0, _PROSE_CHARS + len(head))
    if again >= 0 and '"' not in continuation[:again]:
        return continuation[again:], (RESTART_NOTE,)
    fence = _FENCE_OPENER.match(continuation)
    if fence is not None:
        return turn + continuation[fence.end() :], (FENCE_NOTE,)
    return turn + continuation, ()
