"""The records that cross the one backend seam: LLMRequest in, Completion out."""

from __future__ import annotations

import hashlib
import json
from functools import cached_property
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


class SystemBlock(_Frozen):
    """One block of the system prompt. Stable blocks come first and may be cached."""

    text: str
    cache_ttl: Literal["5m", "1h"] | None = None  # None: not marked for caching


class Message(_Frozen):
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

    @cached_property
    def _data(self) -> dict[str, Any]:  # computed once: the request is frozen
        return self.model_dump(mode="json", exclude={"labels"})

    @cached_property
    def _hash(self) -> str:  # the canonical JSON itself is not kept: requests in flight stay small
        try:
            raw = orjson.dumps(self._data, option=orjson.OPT_SORT_KEYS)
        except TypeError:  # see canonical_json (a lone surrogate raises here, as it always did)
            raw = self._json_module_canonical().encode("utf-8")
        return hashlib.sha256(raw).hexdigest()

    def canonical_json(self) -> str:
        """Everything that decides the answer, as canonical JSON (labels left out): what
        ``json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)`` writes.
        orjson writes those very bytes for a request's data (strings, ints, None, lists and dicts
        with str keys: no float field, see tests/unit/test_json_bytes.py); what it refuses (ints
        beyond 64 bits, lone surrogates) is left to the json module."""
        try:
            return orjson.dumps(self._data, option=orjson.OPT_SORT_KEYS).decode("utf-8")
        except TypeError:
            return self._json_module_canonical()

    def _json_module_canonical(self) -> str:
        return json.dumps(self._data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)

    def canonical_data(self) -> dict[str, Any]:
        """What ``canonical_json`` encodes, as JSON-ready data (computed once per request: do not
        change it; copy it first)."""
        return self._data

    def request_hash(self) -> str:
        """The recording key: sha256 of the canonical JSON (computed once per request)."""
        return self._hash

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
