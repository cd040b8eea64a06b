"""run_sync (orchestrator_kit/_sync.py): the main thread keeps one event loop between calls, and each
call still behaves as ``asyncio.run``: its own copy of the caller's context, tasks left behind
cancelled, Ctrl-C cancels the coroutine and raises KeyboardInterrupt, a forked child gets its own loop;
inside a running loop and in other threads it runs as before."""

from __future__ import annotations

import asyncio
import contextvars
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator

import pytest

from orchestrator_kit._sync import run_sync

VAR: contextvars.ContextVar[str] = contextvars.ContextVar("VAR", default="unset")


@pytest.fixture
def ctrl_c_handled() -> Iterator[None]:
    """Ctrl-C handled as in a terminal (a background job may have inherited SIGINT ignored)."""
    old = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, old)


async def _loop_id() -> int:
    return id(asyncio.get_running_loop())


def test_calls_in_the_main_thread_share_one_loop_and_leave_none_current() -> None:
    first, second = run_sync(_loop_id()), run_sync(_loop_id())
    assert first == second
    with pytest.raises(RuntimeError):
        asyncio.get_running_loop()  # nothing runs between calls


def test_each_call_runs_in_a_copy_of_the_callers_context() -> None:
    async def read_then_set() -> str:
        seen = VAR.get()
        VAR.set("set inside")
        return seen

    token = VAR.set("caller")
    try:
        assert run_sync(read_then_set()) == "caller"
        assert VAR.get() == "caller"  # the call's change stays in its copy
        assert run_sync(read_then_set()) == "caller"  # and does not reach the next call
    finally:
        VAR.reset(token)


def test_tasks_left_behind_are_cancelled_before_the_call_returns() -> None:
    cancelled = []

    async def forever() -> None:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            cancelled.append(True)
            raise

    async def leave_one() -> asyncio.Task[None]:
        task = asyncio.get_running_loop().create_task(forever())
        await asyncio.sleep(0)  # it starts
        return task

    task = run_sync(leave_one())
    assert task.cancelled() and cancelled == [True]
    assert run_sync(_loop_id()) == run_sync(_loop_id())  # the loop is still usable


def test_an_exception_propagates_and_the_loop_stays_usable() -> None:
    async def fail() -> None:
        raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        run_sync(fail())
    assert run_sync(asyncio.sleep(0, result="ok")) == "ok"


def test_ctrl_c_cancels_the_coroutine_and_raises_keyboard_interrupt(ctrl_c_handled: None) -> None:
    seen = []

    async def long_call() -> None:
        asyncio.get_running_loop().call_later(0.05, os.kill, os.getpid(), signal.SIGINT)
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            seen.append("cancelled")  # the run's own cleanup gets to run (checkpoint, run folder)
            raise

    with pytest.raises(KeyboardInterrupt):
        run_sync(long_call())
    assert seen == ["cancelled"]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # handler restored
    assert run_sync(asyncio.sleep(0, result="after")) == "after"


def test_a_coroutine_that_handles_the_cancellation_returns_normally(ctrl_c_handled: None) -> None:
    async def swallow() -> str:
        asyncio.get_running_loop().call_later(0.05, os.kill, os.getpid(), signal.SIGINT)
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            asyncio.current_task().uncancel()  # type: ignore[union-attr]
            return "handled"
        return "not interrupted"

    assert run_sync(swallow()) == "handled"  # as asyncio.run: no KeyboardInterrupt when handled


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_forked_child_runs_on_a_loop_of_its_own() -> None:
    parent = run_sync(_loop_id())
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: a call must work (the parent's loop shares its files with the parent)
        try:
            ok = run_sync(asyncio.sleep(0.01, result=True)) and run_sync(_loop_id()) != parent
            os.write(w, b"ok" if ok else b"same loop")
        except BaseException as exc:
            os.write(w, repr(exc).encode()[:200])
        finally:
            os._exit(0)
    os.close(w)
    _, status = os.waitpid(pid, 0)
    with os.fdopen(r, "rb") as f:
        assert f.read() == b"ok" and status == 0
    assert run_sync(_loop_id()) == parent  # the parent's loop is untouched


_FORK_THEN_WAIT_ON_A_THREAD = """
import asyncio, os, time
from orchestrator_kit._sync import run_sync
run_sync(asyncio.sleep(0))
pid = os.fork()
if pid == 0:
    run_sync(asyncio.sleep(0))
    os._exit(0)
os.waitpid(pid, 0)
print(run_sync(asyncio.to_thread(lambda: time.sleep(0.3) or "woken")))
"""


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_forked_childs_call_leaves_the_parents_loop_able_to_wake() -> None:
    """The child closed the parent's loop it inherited, which unregistered the loop's self-pipe from the
    epoll instance parent and child share: the parent's next call waiting on a thread (a DNS lookup, a
    file write off the loop) then slept in select() for ever. Run in a subprocess, bounded."""
    proc = subprocess.run(
        [sys.executable, "-c", _FORK_THEN_WAIT_ON_A_THREAD], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0 and proc.stdout.strip() == "woken", proc.stderr


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_child_forked_inside_a_call_can_make_calls_of_its_own() -> None:
    """As a process pool does when it starts its workers from inside a running sweep (fork)."""

    async def fork_here() -> tuple[int, bytes]:
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            try:
                os.write(w, b"ok" if run_sync(asyncio.sleep(0.01, result=True)) else b"no")
            except BaseException as exc:
                os.write(w, repr(exc).encode()[:200])
            finally:
                os._exit(0)
        os.close(w)
        _, status = os.waitpid(pid, 0)  # noqa: ASYNC222 - blocking on purpose: nothing else runs
        with os.fdopen(r, "rb") as f:
            return status, f.read()

    status, out = run_sync(fork_here())
    assert (status, out) == (0, b"ok")


def test_inside_a_running_loop_the_call_runs_in_a_worker_thread() -> None:
    async def outer() -> tuple[str, str]:
        async def inner() -> str:
            return threading.current_thread().name

        return run_sync(inner()), threading.current_thread().name

    inner_thread, outer_thread = run_sync(outer())
    assert inner_thread.startswith("orchestrator-sync") and outer_thread == "MainThread"


def test_another_thread_uses_a_loop_of_its_own() -> None:
    main = run_sync(_loop_id())
    out: list[int] = []
    t = threading.Thread(target=lambda: out.append(run_sync(_loop_id())))
    t.start()
    t.join(timeout=30)
    assert out and out[0] != main


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_an_ignored_sigint_stays_ignored() -> None:
    old = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        run_sync(asyncio.sleep(0))
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, old)
