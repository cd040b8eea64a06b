"""The scripting vocabulary of the fake server: recorded requests and faults."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

FaultKind = Literal[
    "status", "delay", "drop", "malformed", "truncate", "refusal", "reply", "stream_drop", "stream_error"
]


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str  # without the query string
    headers: dict[str, str]  # lower-case names
    body: Any  # parsed JSON, or None (no body, or not JSON)
    time: float  # time.time() on arrival
    query: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Fault:
    """One scripted misbehaviour, consumed by the next request whose path matches ``path``.

    Build them with the factories (``Fault.status(429, retry_after_ms=10)``, ``Fault.drop()``, ...).
    ``path=None`` matches any path.
    """

    kind: FaultKind
    status_code: int = 200
    headers: tuple[tuple[str, str], ...] = ()
    message: str | None = None
    error_type: str | None = None
    seconds: float = 0.0
    text: str | None = None
    after_deltas: int = 0
    clean: bool = False
    reply: Any = None
    path: str | None = "/v1/messages"

    @classmethod
    def status(
        cls,
        code: int,
        *,
        retry_after_ms: int | None = None,
        retry_after: float | str | None = None,
        message: str | None = None,
        error_type: str | None = None,
        headers: dict[str, str] | None = None,
        path: str | None = "/v1/messages",
    ) -> Fault:
        """An HTTP error with the API's error JSON (type from the status unless ``error_type`` given)."""
        extra = dict(headers or {})
        if retry_after_ms is not None:
            extra["retry-after-ms"] = str(retry_after_ms)
        if retry_after is not None:
            extra["retry-after"] = str(retry_after)
        return cls(
            "status",
            status_code=code,
            headers=tuple(extra.items()),
            message=message,
            error_type=error_type,
            path=path,
        )

    @classmethod
    def delay(cls, seconds: float, *, path: str | None = "/v1/messages") -> Fault:
        """Wait ``seconds`` before answering normally (longer than a client timeout: a timeout)."""
        return cls("delay", seconds=seconds, path=path)

    @classmethod
    def drop(cls, *, path: str | None = "/v1/messages") -> Fault:
        """Close the connection without any response."""
        return cls("drop", path=path)

    @classmethod
    def malformed(cls, *, path: str | None = "/v1/messages") -> Fault:
        """200 with a body that is not valid JSON (an SSE event with bad JSON when streaming)."""
        return cls("malformed", path=path)

    @classmethod
    def truncate(cls, text: str = "This answer was cut", *, path: str | None = "/v1/messages") -> Fault:
        """A normal reply with ``stop_reason: "max_tokens"``."""
        return cls("truncate", text=text, path=path)

    @classmethod
    def refusal(cls, text: str = "I can't help with that.", *, path: str | None = "/v1/messages") -> Fault:
        """A normal reply with ``stop_reason: "refusal"``."""
        return cls("refusal", text=text, path=path)

    @classmethod
    def respond(cls, reply: str | dict[str, Any], *, path: str | None = "/v1/messages") -> Fault:
        """A one-off reply (text or message dict) instead of the responder's."""
        return cls("reply", reply=reply, path=path)

    @classmethod
    def stream_drop_after(
        cls, n_deltas: int, *, clean: bool = False, path: str | None = "/v1/messages"
    ) -> Fault:
        """SSE that stops after ``n_deltas`` text deltas. By default the connection is cut mid-body
        (the client sees a protocol error); ``clean=True`` ends the body properly, leaving a
        message without stop_reason. A non-streaming request gets a dropped connection."""
        return cls("stream_drop", after_deltas=n_deltas, clean=clean, path=path)

    @classmethod
    def stream_error(
        cls,
        after_deltas: int = 1,
        *,
        error_type: str = "overloaded_error",
        message: str | None = None,
        path: str | None = "/v1/messages",
    ) -> Fault:
        """SSE that sends an ``event: error`` after ``after_deltas`` deltas (HTTP status stays 200)."""
        return cls(
            "stream_error", after_deltas=after_deltas, error_type=error_type, message=message, path=path
        )
