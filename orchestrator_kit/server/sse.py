"""A run's live event fan-out: numbered events kept for late subscribers (``call_delta`` text goes to live
subscribers only), the agents running now, and the end of the stream when the run ends.

Event numbers only grow, across server restarts too: a handle numbers from ``event_base()``, the time in
microseconds when it was made, so a ``Last-Event-ID`` from an earlier process (or an earlier handle of the
same run) is below every number this one hands out."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import AsyncIterator
from typing import Any


def event_base(at_least: int = 0) -> int:
    """A first event number above any from an earlier handle or process: microseconds since the epoch."""
    return max(time.time_ns() // 1000, at_least)


class _Subscriber:
    def __init__(self) -> None:
        self.wake = asyncio.Event()
        self.deltas: deque[dict[str, Any]] = deque(maxlen=256)


class RunHandle:
    """A run's live state in this process. All methods run in the server's event loop thread."""

    def __init__(self, run_id: str, first_seq: int = 0) -> None:
        self.run_id = run_id
        self.history: list[dict[str, Any]] = []
        self.running_agents: set[str] = set()
        self.finished = False
        self.final_status: str | None = None
        self.final_error: dict[str, Any] | None = None
        self.task: asyncio.Task[None] | None = None
        self._seq = first_seq  # events are numbered from first_seq + 1
        self._subs: set[_Subscriber] = set()

    def publish(self, event: dict[str, Any]) -> None:
        self._seq += 1
        event = {"seq": self._seq, **event}
        kind, agent = event["type"], event.get("agent")
        if kind == "agent_started" and agent:
            self.running_agents.add(agent)
        elif kind in ("agent_finished", "agent_failed") and agent:
            self.running_agents.discard(agent)
        elif kind == "run_failed":
            self.final_status = event["data"].get("status")
        for sub in self._subs:
            if kind == "call_delta":
                sub.deltas.append(event)
            sub.wake.set()
        if kind != "call_delta":
            self.history.append(event)

    @property
    def last_seq(self) -> int:
        """The number of the last event published (the first number less one before any)."""
        return self._seq

    def restart(self) -> None:
        self.finished, self.final_status, self.final_error = False, None, None
        self.running_agents.clear()

    def finish(self, status: str | None = None, error: dict[str, Any] | None = None) -> None:
        """The run ended (``status``, ``error``: its final state); every stream ends after its backlog."""
        self.finished = True
        if status is not None:
            self.final_status, self.final_error = status, error
        self.running_agents.clear()
        for sub in self._subs:
            sub.wake.set()

    async def stream(
        self, after: int, closing: asyncio.Event, heartbeat_s: float
    ) -> AsyncIterator[dict[str, Any] | None]:
        """Events with ``seq > after``, then live ones until the run ends; None is a heartbeat."""
        sub = _Subscriber()
        self._subs.add(sub)
        index = next((i for i, e in enumerate(self.history) if e["seq"] > after), len(self.history))
        try:
            while True:
                sub.wake.clear()
                batch = self.history[index:]
                index += len(batch)
                deltas = [d for d in sub.deltas if d["seq"] > after]
                sub.deltas.clear()
                for event in sorted(batch + deltas, key=lambda e: e["seq"]):
                    yield event
                if (self.finished and index == len(self.history)) or closing.is_set():
                    return
                waiters = [asyncio.ensure_future(sub.wake.wait()), asyncio.ensure_future(closing.wait())]
                try:
                    done, _ = await asyncio.wait(
                        waiters, timeout=heartbeat_s, return_when=asyncio.FIRST_COMPLETED
                    )
                finally:
                    for w in waiters:
                        w.cancel()
                if not done:
                    yield None
        finally:
            self._subs.discard(sub)


__all__ = ["RunHandle", "event_base"]
