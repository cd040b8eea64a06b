"""The records that cross the one backend seam: LLMRequest in, Completion out."""

from __future__ import annotations

import hashlib
import json
from typing import Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field

Mode = Literal["simulated", "real", "replay"]
StopReason = Literal[
    "end_turn",
    "max_tokens",
    "stop_sequence",
    "tool_use",
    "pause_turn",
    "refusal",
    "model_context_window_exceeded",
]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


_PART_MEMOS = ("_plain", "_canon")


class _Part(_Frozen):
    """A system block or message: its JSON data and canonical JSON are worked out once (it is frozen,
    and the prompt builder shares one object among the requests that hold the same text). Memoised in
    the instance dict by plain methods (functools.cached_property takes a lock on each first use)."""

    def model_copy(self, *, update: Any = None, deep: bool = False) -> Any:
        """A copy; the memoised JSON is dropped (``update`` may change it)."""
        copy = super().model_copy(update=update, deep=deep)
        for memo in _PART_MEMOS:
            copy.__dict__.pop(memo, None)
        return copy

    def _plain_json(self) -> dict[str, Any]:
        """``model_dump(mode="json")``: the fields (str or None) in field order. Shared: never changed."""
        d = self.__dict__
        plain = d.get("_plain")
        if plain is None:
            plain = d["_plain"] = {name: d[name] for name in type(self).__pydantic_fields__}
        return plain

    def _canon_json(self) -> bytes:
        """``orjson.dumps(self._plain_json(), option=OPT_SORT_KEYS)``; TypeError where orjson refuses (see
        LLMRequest.canonical_json)."""
        d = self.__dict__
        canon = d.get("_canon")
        if canon is None:
            canon = d["_canon"] = orjson.dumps(self._plain_json(), option=orjson.OPT_SORT_KEYS)
        return canon


class SystemBlock(_Part):
    """One block of the system prompt. Stable blocks come first and may be cached."""

    text: str
    cache_ttl: Literal["5m", "1h"] | None = None  # None: not marked for caching


class Message(_Part):
    role: Literal["user", "assistant"]
    content: str
    cache_ttl: Literal["5m", "1h"] | None = None  # a cache breakpoint at the end of this turn


class RequestLabels(_Frozen):
    """Where a call belongs. Not part of the request hash (a replay may serve another run)."""

    run_id: str = ""
    agent: str = ""
    phase: str = ""
    step: str = ""  # plan | act | reask | continue


class LLMRequest(_Frozen):
    model: str
    system: tuple[SystemBlock, ...] = ()
    messages: tuple[Message, ...]
    max_tokens: int = Field(gt=0)
    stop_sequences: tuple[str, ...] = ()
    labels: RequestLabels = RequestLabels()

    def model_copy(self, *, update: Any = None, deep: bool = False) -> LLMRequest:
        """A copy; the memoised data and hash are dropped (``update`` may change them)."""
        copy = super().model_copy(update=update, deep=deep)
        for memo in ("_data", "_hash"):
            copy.__dict__.pop(memo, None)
        return copy

    def _json_data(self) -> dict[str, Any]:
        """``model_dump(mode="json", exclude={"labels"})``, made of the parts' own data (computed once:
        the request is frozen; shared, never changed)."""
        d = self.__dict__
        data = d.get("_data")
        if data is None:
            data = d["_data"] = {
                "model": self.model,
                "system": [b._plain_json() for b in self.system],
                "messages": [m._plain_json() for m in self.messages],
                "max_tokens": self.max_tokens,
                "stop_sequences": list(self.stop_sequences),
            }
        return data

    def _orjson_pieces(self) -> tuple[bytes, ...]:
        """``orjson.dumps(self._json_data(), option=OPT_SORT_KEYS)`` in pieces, joined from the parts'
        canonical JSON (each worked out once; keys in sorted order: max_tokens, messages, model,
        stop_sequences, system). Raises TypeError where orjson refuses (see canonical_json)."""
        return (
            b'{"max_tokens":',
            orjson.dumps(self.max_tokens),
            b',"messages":[',
            b",".join([m._canon_json() for m in self.messages]),
            b'],"model":',
            orjson.dumps(self.model),
            b',"stop_sequences":',
            orjson.dumps(self.stop_sequences),
            b',"system":[',
            b",".join([b._canon_json() for b in self.system]),
            b"]}",
        )

    def canonical_json(self) -> str:
        """Everything that decides the answer, as canonical JSON (labels left out): what
        ``json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)`` writes.
        orjson writes those very bytes for a request's data (strings, ints, None, lists and dicts
        with str keys: no float field, see tests/unit/test_json_bytes.py); what it refuses (ints
        beyond 64 bits, lone surrogates) is left to the json module."""
        try:
            return b"".join(self._orjson_pieces()).decode("utf-8")
        except TypeError:
            return self._json_module_canonical()

    def _json_module_canonical(self) -> str:
        return json.dumps(self._json_data(), sort_keys=True, separators=(",", ":"), ensure_ascii=False)

    def canonical_data(self) -> dict[str, Any]:
        """What ``canonical_json`` encodes, as JSON-ready data (computed once per request: do not
        change it; copy it first)."""
        return self._json_data()

    def request_hash(self) -> str:
        """The recording key: sha256 of the canonical JSON (computed once per request; the canonical
        JSON itself is not kept: requests in flight stay small)."""
        h: str | None = self.__dict__.get("_hash")
        if h is None:
            try:
                pieces = self._orjson_pieces()
            except TypeError:  # see canonical_json (a lone surrogate raises here, as it always did)
                pieces = (self._json_module_canonical().encode("utf-8"),)
            sha = hashlib.sha256()
            for piece in pieces:  # hashed piece by piece: the system blocks are not copied again
                sha.update(piece)
            h = self.__dict__["_hash"] = sha.hexdigest()
        return h

    def prompt_text(self) -> str:
        """All prompt text, for token estimates."""
        return "\n".join([b.text for b in self.system] + [m.content for m in self.messages])


class Usage(_Frozen):
    input_tokens: int = 0
    output_tokens: int = 0
    cache_write_5m_tokens: int = 0
    cache_write_1h_tokens: int = 0
    cache_read_tokens: int = 0
    estimated: bool = False  # True when counted by our estimator, not by the API

    @property
    def total_input_tokens(self) -> int:
        return (
            self.input_tokens
            + self.cache_write_5m_tokens
            + self.cache_write_1h_tokens
            + self.cache_read_tokens
        )

    @property
    def total_tokens(self) -> int:
        return self.total_input_tokens + self.output_tokens

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            input_tokens=self.input_tokens + other.input_tokens,
            output_tokens=self.output_tokens + other.output_tokens,
            cache_write_5m_tokens=self.cache_write_5m_tokens + other.cache_write_5m_tokens,
            cache_write_1h_tokens=self.cache_write_1h_tokens + other.cache_write_1h_tokens,
            cache_read_tokens=self.cache_read_tokens + other.cache_read_tokens,
            estimated=self.estimated or other.estimated,
        )


class Attempt(_Frozen):
    """One attempt at a call that did not succeed (retried or final)."""

    number: int
    error: str  # exception type name, e.g. "RateLimitError"
    status_code: int | None = None
    latency_s: float = 0.0
    usage: Usage = Usage()  # tokens billed for the failed attempt, when known
    retry_after_s: float | None = None
    batch_id: str | None = None  # the Message Batch the attempt went through, if any
    ended_at: float | None = None  # time.time() when the attempt failed (each attempt its own time)


class Completion(_Frozen):
    text: str
    stop_reason: StopReason | None
    usage: Usage
    model: str
    mode: Mode
    request_id: str | None = None
    latency_s: float = 0.0
    attempts: int = 1
    failed_attempts: tuple[Attempt, ...] = ()
    batch_id: str | None = None  # set when answered through the Message Batches API (priced at batch rates)

    def json_data(self) -> dict[str, Any]:
        """``model_dump(mode="json")``, written out (pydantic's walk of the schema costs more, once per
        call); tests/unit/test_unchecked.py holds it to model_dump, keys and order included."""
        u = self.usage
        return {
            "text": self.text,
            "stop_reason": self.stop_reason,
            "usage": {
                "input_tokens": u.input_tokens,
                "output_tokens": u.output_tokens,
                "cache_write_5m_tokens": u.cache_write_5m_tokens,
                "cache_write_1h_tokens": u.cache_write_1h_tokens,
                "cache_read_tokens": u.cache_read_tokens,
                "estimated": u.estimated,
            },
            "model": self.model,
            "mode": self.mode,
            "request_id": self.request_id,
            "latency_s": self.latency_s,
            "attempts": self.attempts,
            "failed_attempts": [a.model_dump(mode="json") for a in self.failed_attempts],
            "batch_id": self.batch_id,
        }
