"""Run a coroutine from sync code, in a plain script or inside a running loop (Jupyter)."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run`` when no loop runs in this thread; otherwise run the coroutine in a
    worker thread with its own loop and wait for it (never nests ``asyncio.run``)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    ctx = contextvars.copy_context()
    with concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="orchestrator-sync") as pool:
        return pool.submit(ctx.run, asyncio.run, coro).result()
