"""The engine's CallObserver: budget check before each call; after it, the ledger line
(calls.jsonl), the stored completion (responses.jsonl), the budget update and the event."""

from __future__ import annotations

import math
import time
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from ..errors import BackendError
from ..llm.pricing import cost_total
from ..llm.replay import recording_record
from ..llm.types import Completion, LLMRequest, Usage
from ..records import CallRecord, unchecked
from ..store.run_folder import RunFolder
from .budget import BudgetTracker
from .events import Event, EventBus

# the last second a line was written in, and its text (one tuple: threads never see one without the other)
_second: list[tuple[int | None, str]] = [(None, "")]


def _iso_ms(t: float) -> str:
    """``datetime.fromtimestamp(t, UTC).isoformat(timespec="milliseconds")``; the text up to the second
    is made once per second (isoformat costs more than the rest of a ledger line's fields together)."""
    dt = datetime.fromtimestamp(t, UTC)
    us = dt.microsecond
    second = math.floor(t)
    if us < 1000 and t - second >= 0.5:  # the microseconds were rounded up into the next second
        second += 1
    last = _second[0]
    if last[0] != second:
        last = _second[0] = (second, dt.isoformat(timespec="seconds")[:-6])
    return f"{last[1]}.{us // 1000:03d}+00:00"


def _basis(mode: str, usage: Usage, cost: Decimal | None) -> str:
    if cost is None:
        return "unknown"
    if mode == "replay":
        return "replay"
    return "estimate" if mode == "simulated" or usage.estimated else "actual"


class RunRecorder:
    def __init__(
        self,
        folder: RunFolder,
        bus: EventBus,
        budget: BudgetTracker,
        mode: str,
        prior_lines: list[CallRecord] | None = None,
    ) -> None:
        self.folder = folder
        self.bus = bus
        self.budget = budget
        self.mode = mode
        self.run_id = folder.run_id
        # Calls paid in an earlier process that already have their ledger line (resume): request hash ->
        # how many. A plain dict of str -> int: the garbage collector does not track it.
        self._ledgered: dict[str, int] = {}
        for ln in prior_lines or ():
            if not ln.failed:
                self._ledgered[ln.request_hash] = self._ledgered.get(ln.request_hash, 0) + 1

    # -- CallObserver ------------------------------------------------------------------------
    def before_call(self, request: LLMRequest, *, input_tokens: int | None = None) -> None:
        self.budget.check(request, input_tokens=input_tokens)
        if self.bus.wants("call_started"):  # no event is built that nobody hears
            self.bus.emit(
                Event(
                    "call_started",
                    self.run_id,
                    request.labels.agent,
                    {"step": request.labels.step, "model": request.model},
                )
            )

    def wants_deltas(self) -> bool:
        return self.bus.wants("call_delta")

    def on_delta(self, request: LLMRequest, text: str) -> None:
        self.bus.emit(
            Event(
                "call_delta", self.run_id, request.labels.agent, {"step": request.labels.step, "text": text}
            )
        )

    def on_response(self, request: LLMRequest, completion: Completion) -> None:
        self.folder.append_response(recording_record(request, completion))

    def after_call(
        self,
        request: LLMRequest,
        completion: Completion,
        *,
        status: str,
        wasted: bool,
        reused: bool,
        error: str | None,
    ) -> None:
        self.budget.release(request)
        self.budget.calibrate(request, completion.usage)
        h = request.request_hash()
        if reused and self._ledgered.get(h, 0) > 0:  # paid in an earlier process, already in the ledger
            self._ledgered[h] -= 1
            self.bus.emit(
                Event(
                    "call_finished",
                    self.run_id,
                    request.labels.agent,
                    {"step": request.labels.step, "reused": True, "status": status},
                )
            )
            return
        for attempt in completion.failed_attempts:
            self._line(
                request,
                attempt.usage,
                mode=completion.mode,
                status="error",
                wasted=True,
                attempt=attempt.number,
                latency_s=attempt.latency_s,
                error=attempt.error,
                status_code=attempt.status_code,
                batch_id=attempt.batch_id,
                at=attempt.ended_at,
            )
        record = self._line(
            request,
            completion.usage,
            mode=completion.mode,
            status=status,
            wasted=wasted,
            attempt=completion.attempts,
            latency_s=completion.latency_s,
            error=error,
            request_id=completion.request_id,
            stop_reason=completion.stop_reason,
            batch_id=completion.batch_id,
        )
        if not self.bus.wants("call_finished"):
            return
        self.bus.emit(
            Event(
                "call_finished",
                self.run_id,
                request.labels.agent,
                {
                    "step": request.labels.step,
                    "status": status,
                    "cost_usd": None if record.cost_usd is None else str(record.cost_usd),
                    "input_tokens": record.input_tokens,
                    "output_tokens": record.output_tokens,
                    "spent_usd": str(self.budget.spent_usd),
                    "spent_tokens": self.budget.spent_tokens,
                },
            )
        )

    def reuse_rejected(self, request: LLMRequest, completion: Completion, reason: str) -> None:
        """A completion paid in an earlier process failed validation: it is asked again, live."""
        self.bus.emit(
            Event(
                "reuse_rejected",
                self.run_id,
                request.labels.agent,
                {"step": request.labels.step, "reason": reason, "request_id": completion.request_id},
            )
        )

    def on_error(self, request: LLMRequest, error: BaseException, latency_s: float) -> None:
        self.budget.release(request)
        attempts = error.attempts if isinstance(error, BackendError) else []
        if not attempts:
            attempts = [{"number": 1, "error": type(error).__name__, "latency_s": latency_s}]
        for a in attempts:
            usage = Usage(**a["usage"]) if isinstance(a.get("usage"), dict) else Usage()
            self._line(
                request,
                usage,
                mode=self.mode,
                status="error",
                wasted=True,
                attempt=a.get("number", 1),
                latency_s=float(a.get("latency_s") or 0.0),
                error=str(a.get("error", type(error).__name__)),
                status_code=a.get("status_code"),
                batch_id=a.get("batch_id"),
                at=a.get("ended_at"),
                typed=False,
            )

    # -- ledger ---------------------------------------------------------------------------------
    def _line(
        self,
        request: LLMRequest,
        usage: Usage,
        *,
        mode: str,
        status: str,
        wasted: bool,
        attempt: int,
        latency_s: float,
        error: str | None,
        status_code: int | None = None,
        request_id: str | None = None,
        stop_reason: str | None = None,
        batch_id: str | None = None,
        at: float | None = None,
        typed: bool = True,
    ) -> CallRecord:
        """One ledger line; ``at`` is when the attempt ended (default: now). ``typed``: every value is
        already of its field's type (not so for an error's attempts, plain dicts)."""
        costs = cost_total(usage, request.model, batch=batch_id is not None)
        cost, savings = (None, None) if costs is None else costs
        tokens = usage.total_tokens
        self.budget.add(cost, tokens)
        labels = request.labels
        t = time.time() if at is None else at
        fields: dict[str, Any] = {
            "ts": _iso_ms(t),
            "t": t,
            "run_id": self.run_id,
            "agent": labels.agent,
            "phase": labels.phase,
            "step": labels.step,
            "model": request.model,
            "mode": mode,
            "status": status,
            "attempt": attempt,
            "input_tokens": usage.input_tokens,
            "output_tokens": usage.output_tokens,
            "cache_write_5m_tokens": usage.cache_write_5m_tokens,
            "cache_write_1h_tokens": usage.cache_write_1h_tokens,
            "cache_read_tokens": usage.cache_read_tokens,
            "estimated": usage.estimated,
            "max_tokens": request.max_tokens,
            "cost_usd": cost,
            "cost_basis": _basis(mode, usage, cost),
            "cache_savings_usd": savings,
            "wasted": wasted,
            "latency_s": round(latency_s, 6),
            "request_hash": request.request_hash(),
            "request_id": request_id,
            "stop_reason": stop_reason,
            "status_code": status_code,
            "error": error,
            "batch_id": batch_id,
        }
        # typed values of our own records (the completion, its attempts): made without validation;
        # an error's attempts (plain dicts) are validated
        record = unchecked(CallRecord, **fields) if typed else CallRecord(**fields)
        self.folder.append_call(record)
        return record
