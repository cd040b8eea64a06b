"""Message batches for the fake server: created ``in_progress``, processed over time, mixed results, cancel.

A batch of n requests created at time c with ``processing_s`` = p answers its i-th request at
``c + p * (i + 1) / n``; ``retrieve`` shows the counts so far; it ends at ``c + p``. ``cancel`` moves it to
``canceling``; requests answered before the cancel keep their result (paid for), the rest come back
``canceled``, and the batch ends ``cancel_s`` later. Each request's outcome is the next scripted one
(``script_outcomes("errored", "expired", ...)``), else ``succeeded``. Results are JSONL lines in an order
other than the requests' (as the real API warns), sent in chunks.
"""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from . import _wire

CUSTOM_ID = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
OUTCOMES = ("succeeded", "errored", "expired", "canceled")


@dataclass
class _Item:
    custom_id: str
    kind: str  # succeeded | errored | expired | canceled
    result: dict[str, Any]
    due: float  # monotonic time it is answered


@dataclass
class _Batch:
    id: str
    created: datetime
    started: float
    ends: float
    items: list[_Item]
    canceled_at: float | None = None
    cancel_s: float = 0.0
    request_counts: dict[str, int] = field(default_factory=dict)

    def ended(self, now: float) -> bool:
        if self.canceled_at is not None:
            return now >= self.canceled_at + self.cancel_s
        return now >= self.ends

    def kind_of(self, item: _Item, now: float) -> str | None:
        """The item's result type at ``now``; None while it is still processing."""
        if self.canceled_at is not None and item.due > self.canceled_at:
            return "canceled" if self.ended(now) else None
        return item.kind if now >= item.due else None

    def to_dict(self, now: float) -> dict[str, Any]:
        counts = dict.fromkeys(("processing", *OUTCOMES), 0)
        for item in self.items:
            counts[self.kind_of(item, now) or "processing"] += 1
        ended = self.ended(now)
        status = "ended" if ended else ("canceling" if self.canceled_at is not None else "in_progress")
        end_time = self.created + timedelta(seconds=max(0.0, self.ends - self.started))
        return {
            "id": self.id,
            "type": "message_batch",
            "processing_status": status,
            "request_counts": counts,
            "created_at": _wire.iso(self.created),
            "ended_at": _wire.iso(end_time) if ended else None,
            "expires_at": _wire.iso(self.created + timedelta(hours=24)),
            "archived_at": None,
            "cancel_initiated_at": None if self.canceled_at is None else _wire.iso(datetime.now(UTC)),
            "results_url": f"/v1/messages/batches/{self.id}/results" if ended else None,
        }


class FakeBatches:
    """The batch store behind the fake server's ``/v1/messages/batches`` routes (thread-safe)."""

    def __init__(self, build_message: Callable[[dict[str, Any]], dict[str, Any]]) -> None:
        self._build = build_message
        self.processing_s = 0.0
        self.cancel_s = 0.05  # a canceled batch shows "canceling" this long before it ends
        self._lock = threading.Lock()
        self._outcomes: deque[str] = deque()
        self._batches: dict[str, _Batch] = {}

    def script_outcomes(self, *kinds: str) -> None:
        """The outcomes of the next requests submitted in batches, in order: ``succeeded``,
        ``errored`` (an ``api_error``), ``errored:<error type>``, ``expired`` or ``canceled``."""
        for kind in kinds:
            if kind.split(":", 1)[0] not in OUTCOMES:
                raise ValueError(f"unknown batch outcome {kind!r}; use one of {', '.join(OUTCOMES)}")
        with self._lock:
            self._outcomes.extend(kinds)

    def reset(self) -> None:
        with self._lock:
            self._outcomes.clear()
            self._batches.clear()

    def __len__(self) -> int:
        return len(self._batches)

    def create(self, body: Any, request_id: str) -> tuple[int, dict[str, Any]]:
        requests = body.get("requests") if isinstance(body, dict) else None
        if not isinstance(requests, list) or not requests:
            return 400, _wire.error_body(400, request_id, "requests: Field required")
        ids = [item.get("custom_id") if isinstance(item, dict) else None for item in requests]
        for cid in ids:
            if not isinstance(cid, str) or not CUSTOM_ID.match(cid):
                return 400, _wire.error_body(
                    400, request_id, f"custom_id {cid!r} must match {CUSTOM_ID.pattern}"
                )
        if len(set(ids)) != len(ids):
            return 400, _wire.error_body(400, request_id, "custom_id values must be unique within a batch")
        now = time.monotonic()
        n = len(requests)
        items = []
        for i, item in enumerate(requests):
            with self._lock:
                scripted = self._outcomes.popleft() if self._outcomes else "succeeded"
            kind, _, error_type = scripted.partition(":")
            result = self._result(kind, error_type or "api_error", item.get("params"), request_id)
            items.append(
                _Item(item["custom_id"], result["type"], result, now + self.processing_s * (i + 1) / n)
            )
        batch = _Batch(
            id=f"msgbatch_fake_{uuid.uuid4().hex[:20]}",
            created=datetime.now(UTC),
            started=now,
            ends=now + self.processing_s,
            items=items,
            cancel_s=self.cancel_s,
        )
        with self._lock:
            self._batches[batch.id] = batch
        return 200, batch.to_dict(now)

    def _result(self, kind: str, error_type: str, params: Any, request_id: str) -> dict[str, Any]:
        if kind == "succeeded":
            try:
                if not isinstance(params, dict):
                    raise ValueError("params: Field required")
                problem = _wire.invalid_request({"anthropic-version": _wire.API_VERSION}, params, strict=True)
                if problem is not None:
                    raise ValueError(problem)
                return {"type": "succeeded", "message": self._build(params)}
            except Exception as exc:  # noqa: BLE001 - invalid params come back errored, as from the real API
                return {"type": "errored", "error": _wire.error_body(400, request_id, str(exc))}
        if kind == "errored":
            return {"type": "errored", "error": _wire.error_body(500, request_id, None, error_type)}
        return {"type": kind}

    def finish(self, batch_id: str) -> None:
        """End a batch now: every request still processing is answered with its outcome."""
        now = time.monotonic()
        with self._lock:
            batch = self._batches[batch_id]
            batch.ends = min(batch.ends, now)
            for item in batch.items:
                item.due = min(item.due, now)

    def get(self, batch_id: str) -> dict[str, Any] | None:
        with self._lock:
            batch = self._batches.get(batch_id)
        return None if batch is None else batch.to_dict(time.monotonic())

    def cancel(self, batch_id: str) -> dict[str, Any] | None:
        now = time.monotonic()
        with self._lock:
            batch = self._batches.get(batch_id)
            if batch is not None and not batch.ended(now) and batch.canceled_at is None:
                batch.canceled_at = now
        return None if batch is None else batch.to_dict(now)

    def page(self, limit: int, after_id: str | None) -> dict[str, Any]:
        """One page of the batch list, newest first (``after_id``: the page after that batch)."""
        now = time.monotonic()
        with self._lock:
            batches = list(reversed(self._batches.values()))
        if after_id is not None:
            ids = [b.id for b in batches]
            batches = batches[ids.index(after_id) + 1 :] if after_id in ids else []
        page = [b.to_dict(now) for b in batches[:limit]]
        return {
            "data": page,
            "has_more": len(batches) > limit,
            "first_id": page[0]["id"] if page else None,
            "last_id": page[-1]["id"] if page else None,
        }

    def result_lines(self, batch_id: str) -> list[bytes] | None:
        """The JSONL result lines of an ended batch (request order reversed); None if not ended."""
        now = time.monotonic()
        with self._lock:
            batch = self._batches.get(batch_id)
        if batch is None or not batch.ended(now):
            return None
        lines = []
        for item in reversed(batch.items):
            kind = batch.kind_of(item, now)
            result = item.result if kind == item.kind else {"type": kind}
            lines.append((json.dumps({"custom_id": item.custom_id, "result": result}) + "\n").encode("utf-8"))
        return lines
