"""Run slots shared fairly by users: at most ``capacity`` runs at once; a freed slot goes to the next user
in turn (round robin over the users who have runs waiting, each user's runs first in, first out), so one
user's hundreds of queued runs delay another user's run by about one run per slot, not by all of them."""

from __future__ import annotations

import asyncio
from collections import OrderedDict, deque


class FairSlots:
    """An asyncio semaphore whose waiters are served round robin by user. Event-loop thread only."""

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError(f"capacity must be at least 1, got {capacity}")
        self.capacity = capacity
        self.active = 0
        self._waiting: OrderedDict[str, deque[asyncio.Future[None]]] = OrderedDict()

    def waiting(self, user: str) -> int:
        """How many of ``user``'s runs wait for a slot."""
        return len(self._waiting.get(user, ()))

    async def acquire(self, user: str) -> None:
        """Wait for a slot; served in turn with the other users' waiting runs."""
        if self.active < self.capacity and not self._waiting:
            self.active += 1
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(user, deque()).append(future)
        try:
            await future
        except asyncio.CancelledError:
            queue = self._waiting.get(user)
            if queue is not None and future in queue:
                queue.remove(future)
                if not queue:
                    del self._waiting[user]
            elif future.done() and not future.cancelled():
                self.release()  # the slot was handed over just as we were cancelled: pass it on
            raise

    def release(self) -> None:
        """Free a slot: the next user in turn gets it (the slot count stays when it is handed over)."""
        while self._waiting:
            user, queue = next(iter(self._waiting.items()))
            future = queue.popleft()
            if queue:
                self._waiting.move_to_end(user)
            else:
                del self._waiting[user]
            if not future.done():
                future.set_result(None)
                return
        self.active -= 1


__all__ = ["FairSlots"]
