"""Engine events and the bus that hands them to subscribers (progress bars, widgets, server, logs).

Subscribers are plain callables ``fn(event)``; they run in the engine's thread and must be quick.
A subscriber that raises is logged and dropped from nothing: the run goes on.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

EventType = Literal[
    "run_started",
    "agent_started",
    "call_started",
    "call_delta",
    "call_finished",
    "reuse_rejected",
    "artifact_written",
    "agent_finished",
    "agent_failed",
    "gate_rejected",
    "run_waiting",
    "run_finished",
    "run_failed",
]
Subscriber = Callable[["Event"], None]
log = logging.getLogger("orchestrator_kit.events")


@dataclass(frozen=True)
class Event:
    type: EventType
    run_id: str
    agent: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    ts: float = field(default_factory=time.time)

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "run_id": self.run_id,
            "agent": self.agent,
            "data": self.data,
            "ts": self.ts,
        }


class EventBus:
    def __init__(self) -> None:
        self._subscribers: list[tuple[Subscriber, frozenset[str] | None]] = []

    def subscribe(self, fn: Subscriber, types: Iterable[str] | None = None) -> Callable[[], None]:
        """Add a subscriber (to every event, or only to ``types``); returns a function that removes it."""
        entry = (fn, None if types is None else frozenset(types))
        self._subscribers.append(entry)
        return lambda: self._subscribers.remove(entry) if entry in self._subscribers else None

    def wants(self, event_type: str) -> bool:
        """Whether anyone listens to ``event_type`` (e.g. partial text: streaming costs CPU)."""
        if not self._subscribers:
            return False
        return any(types is None or event_type in types for _, types in self._subscribers)

    def emit(self, event: Event) -> None:
        for fn, types in tuple(self._subscribers):
            if types is not None and event.type not in types:
                continue
            try:
                fn(event)
            except Exception:  # a broken progress bar must not fail a paid run
                log.exception("event subscriber %r failed on %s", fn, event.type)
