"""What one line of a Message Batch's results means: its kind, whether to retry it, its Completion.

Lines are the API's own JSON (``{"custom_id", "result": {"type": "succeeded", "message": {...}} | ...}``),
read as the SDK reads a direct answer: block types and fields it does not know are carried, not refused.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from ..errors import BackendError
from .messages_wire import _STOP_REASONS, message_text, usage_from_api
from .types import Attempt, Completion, LLMRequest

TRANSIENT_ERROR_TYPES = frozenset({"api_error", "overloaded_error", "rate_limit_error", "timeout_error"})


@dataclass
class Outcome:
    """One result line of a batch, for one custom_id."""

    batch_id: str
    line: dict[str, Any] = field(default_factory=dict)

    @property
    def kind(self) -> str:
        return str((self.line.get("result") or {}).get("type") or "missing")

    def error_type(self) -> str | None:
        error = (self.line.get("result") or {}).get("error") or {}
        return (error.get("error") or {}).get("type")

    def error_message(self) -> str:
        error = (self.line.get("result") or {}).get("error") or {}
        return str((error.get("error") or {}).get("message") or "no message")

    @property
    def retryable(self) -> bool:
        if self.kind == "errored":
            return self.error_type() in TRANSIENT_ERROR_TYPES
        return self.kind in ("expired", "canceled", "missing")

    def attempt_error(self) -> str:
        if self.kind == "errored":
            return f"BatchRequestErrored({self.error_type() or 'unknown'})"
        return {"expired": "BatchRequestExpired", "canceled": "BatchRequestCanceled"}.get(
            self.kind, "BatchResultMissing"
        )

    def completion(self, request: LLMRequest, failed: list[Attempt], started: float) -> Completion:
        """The Completion of a ``succeeded`` line; BackendError (its tokens kept) for an unknown stop_reason."""
        import anthropic

        # Built as the SDK builds a direct answer (no validation): block types and fields it does not
        # know are carried, not refused.
        data = (self.line.get("result") or {}).get("message")
        if not isinstance(data, dict):
            raise BackendError(
                f"Message Batch {self.batch_id} marked request {self.line.get('custom_id')} succeeded "
                f"but sent no message ({type(data).__name__} instead)",
                attempts=[a.model_dump() for a in failed],
            )
        message = anthropic.types.Message.model_construct(**data)
        text = message_text(message)
        problem = (
            f"an unknown stop_reason {message.stop_reason!r}; this version of orchestrator_kit cannot tell "
            "whether the answer is complete"
            if message.stop_reason not in _STOP_REASONS
            else "a malformed message (content is not a list of blocks with text)"
            if text is None
            else None
        )
        if problem is not None:  # answered and billed: its tokens go to the ledger as a wasted attempt
            paid = Attempt(
                number=len(failed) + 1,
                error="UnknownStopReason" if text is not None else "MalformedMessage",
                usage=usage_from_api(message.usage),
                batch_id=self.batch_id,
            )
            raise BackendError(
                f"Message Batch {self.batch_id} returned {problem}",
                attempts=[a.model_dump() for a in (*failed, paid)],
            )
        return Completion(
            text=text or "",
            stop_reason=message.stop_reason,
            usage=usage_from_api(message.usage),
            model=message.model or request.model,
            mode="real",
            request_id=None,
            latency_s=round(time.monotonic() - started, 6),
            attempts=len(failed) + 1,
            failed_attempts=tuple(failed),
            batch_id=self.batch_id,
        )
