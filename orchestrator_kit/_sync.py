"""Run a coroutine from sync code, in a plain script or inside a running loop (Jupyter).

In the main thread with no loop running (a script, the CLI, a test) every call runs on one event loop
kept for the process: making a loop and closing it again, as ``asyncio.run`` does, costs more than a
short simulated run's own engine work (about 0.13 ms a run, and ``asyncio.run``'s Ctrl-C handling
formats the whole task's repr twice a run). Each call still behaves as ``asyncio.run``: the coroutine
runs in a copy of the caller's context, the first Ctrl-C cancels it and raises ``KeyboardInterrupt``
(a second one raises at once), and tasks it leaves behind are cancelled before the call returns. The
loop is closed at exit, and a forked child makes its own (leaving the parent's untouched). Other threads
use ``asyncio.run`` as before; inside a running loop the coroutine runs in a worker thread with its own loop
(never nested).
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import contextvars
import os
import signal
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")

_loop: asyncio.AbstractEventLoop | None = None  # the main thread's loop, between calls
_loop_pid = 0  # the process that made it (a forked child makes its own)
_INHERITED: list[asyncio.AbstractEventLoop] = []  # the parent's loops, in a forked child


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` to completion and return its result (see the module's docstring)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        if threading.current_thread() is threading.main_thread():
            return _run_on_main_loop(coro)
        return asyncio.run(coro)
    ctx = contextvars.copy_context()
    with concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="orchestrator-sync") as pool:
        return pool.submit(ctx.run, asyncio.run, coro).result()


def _main_loop() -> asyncio.AbstractEventLoop:
    global _loop, _loop_pid
    if _loop is not None and _loop_pid != os.getpid():  # the parent's, inherited by fork
        # Kept, never closed nor collected (which closes it): closing unregisters its self-pipe from the
        # epoll instance the child shares with the parent, whose loop then never wakes for a thread's result.
        stale, _loop = _loop, None
        _INHERITED.append(stale)
    if _loop is None or _loop.is_closed():
        _loop, _loop_pid = asyncio.new_event_loop(), os.getpid()
    return _loop


def _run_on_main_loop(coro: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run(coro)`` on the kept loop (asyncio.Runner.run's steps, without closing the loop)."""
    loop = _main_loop()
    task = loop.create_task(coro, context=contextvars.copy_context())
    interrupted = False

    def on_sigint(signum: int, frame: Any) -> None:  # a plain function: its repr is cheap
        nonlocal interrupted
        if not interrupted and not task.done():
            interrupted = True
            task.cancel()
            loop.call_soon_threadsafe(lambda: None)  # wake the loop if it waits in select()
            return
        raise KeyboardInterrupt()

    handler: Any = None
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        try:
            signal.signal(signal.SIGINT, on_sigint)
            handler = on_sigint
        except ValueError:  # an embedded interpreter without signals
            pass
    asyncio.set_event_loop(loop)  # as asyncio.run: the current loop while the call runs, none after
    try:
        return loop.run_until_complete(task)
    except asyncio.CancelledError:
        if interrupted and task.uncancel() == 0:
            raise KeyboardInterrupt() from None
        raise
    finally:
        if handler is not None and signal.getsignal(signal.SIGINT) is handler:
            signal.signal(signal.SIGINT, signal.default_int_handler)
        try:
            _cancel_left_behind(loop)
        finally:
            asyncio.set_event_loop(None)


def _cancel_left_behind(loop: asyncio.AbstractEventLoop) -> None:
    """Cancel the tasks a call left on the loop and wait for them (asyncio.run does so on closing)."""
    left = asyncio.all_tasks(loop)
    if not left:
        return
    for t in left:
        t.cancel()
    loop.run_until_complete(asyncio.gather(*left, return_exceptions=True))
    for t in left:
        if not t.cancelled() and t.exception() is not None:
            loop.call_exception_handler(
                {
                    "message": "unhandled exception in a task left behind",
                    "exception": t.exception(),
                    "task": t,
                }
            )


def _close_main_loop() -> None:
    """At exit: finish the loop's async generators and default executor, then close it."""
    global _loop
    loop, _loop = _loop, None
    if loop is None or loop.is_closed() or _loop_pid != os.getpid() or loop.is_running():
        return
    try:
        _cancel_left_behind(loop)
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.run_until_complete(loop.shutdown_default_executor())
    finally:
        loop.close()


atexit.register(_close_main_loop)
