"""Background runs: one asyncio task per run in the server's event loop, driving ``engine.arun``.

- At most ``max_concurrent_runs`` run at once; the rest wait as ``queued``.
- Each run has a ``RunHandle``: its engine events with sequence numbers (replayed to late SSE
  subscribers; ``call_delta`` text goes to live subscribers only), and which agents are running.
- Status and progress come from the run folder (checkpoint + ledger) plus the live handle.
- On start, runs the index still shows ``queued``/``running`` (the server stopped or died) become
  ``interrupted``, unless their folder says they finished; on stop, in-flight runs are cancelled, and
  the engine checkpoints them as ``interrupted``. Either way ``resume`` continues them without repeating
  finished calls.
- Event numbers only grow (``sse.event_base``): a client that reconnects with the ``Last-Event-ID`` of a
  stream from before a restart gets how the run ended (a stopped server's streams end without it), then,
  once resumed, all of the resumption's events.
- The live events of the last ``keep_finished`` finished runs are kept; an older run's handle is let go but
  the number of its last event stays, so a client reconnecting with an earlier ``Last-Event-ID`` still gets
  how the run ended (as after a restart), and one that saw the end gets nothing again.
- A run stopped at a human gate (``awaiting_approval``/``awaiting_budget``) is neither in flight nor final:
  its event stream ends after ``run_waiting``; ``decide`` records a person's decision and resumes it here
  (the same handle: event numbers go on, so a client reconnects with ``Last-Event-ID``).
- Each run's engine (who pays, which backend) is built by ``run_setup.RunSetup``: a user's stored key, or
  explicitly ``simulated``; the server's own ANTHROPIC_API_KEY or .env is never used for a user's run.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import Counter, OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

from ..engine.budget import RAISE_HINT
from ..engine.engine import WorkflowEngine
from ..engine.events import Event
from ..engine.gates import record_decision
from ..engine.result import RunResult
from ..errors import BudgetExceeded, ConfigError
from ..store.run_folder import RunFolder, new_run_id
from .db import IN_FLIGHT, WAITING, Database
from .failures import Conflict, DamagedRun, TooManyQueued, public_text
from .index_sync import INDEX_ERRORS, INTERRUPTED, IndexSync, folder_truth
from .run_setup import RunSetup
from .scheduler import FairSlots
from .schemas import RunIn
from .secrets import KeyVault
from .sse import RunHandle, event_base
from .status import check_state, describe

log = logging.getLogger("orchestrator_kit.server")
RESUMABLE = ("interrupted", "failed", "budget_exceeded")
_KEEP_ENDED = 100_000


def raise_hint(project_id: str, run_id: str, on_budget: str) -> Callable[[str], str]:
    """How a client of the API raises a run's cap when the next call could pass it (``budget.RAISE_HINT``):
    a run that pauses takes a decision; one that fails, a resume with a larger cap (in dollars: the API
    sets no token cap)."""
    base = f"/projects/{project_id}/runs/{run_id}"
    if on_budget == "pause":
        text = f'raise it with POST {base}/decision with {{"action": "budget", "budget_usd": <dollars>}}'
    else:
        text = f'resume with a larger budget: POST {base}/resume with {{"budget_usd": <dollars>}}'
    return lambda kind: text


class RunManager:
    def __init__(
        self,
        db: Database,
        vault: KeyVault,
        *,
        data_dir: Path,
        anthropic_base_url: str | None = None,
        max_concurrent_runs: int = 8,
        simulated_latency_s: float = 0.0,
        keep_finished: int = 256,
        max_concurrent_calls: int = 4,
        max_queued_per_user: int = 20,
        call_timeout_s: float | None = None,
    ) -> None:
        if max_concurrent_runs < 1:
            raise ConfigError(f"max_concurrent_runs must be at least 1, got {max_concurrent_runs}")
        self.db, self.data_dir = db, Path(data_dir)
        self.max_concurrent_runs = max_concurrent_runs
        self.setup = RunSetup(
            db,
            vault,
            data_dir=self.data_dir,
            anthropic_base_url=anthropic_base_url,
            simulated_latency_s=simulated_latency_s,
            max_concurrent_calls=max_concurrent_calls,
            call_timeout_s=call_timeout_s,
        )
        if max_queued_per_user < 1:
            raise ConfigError(f"max_queued_per_user must be at least 1, got {max_queued_per_user}")
        self.max_queued_per_user = max_queued_per_user
        self._queued: Counter[str] = Counter()  # runs per user started here and waiting for a slot
        self.index = IndexSync(db)
        self._keep_finished = keep_finished
        self._handles: dict[str, RunHandle] = {}
        self._finished: OrderedDict[str, None] = OrderedDict()
        # the last event number of runs whose handle was let go: a client reconnecting still learns how
        # the run ended, once (the most recent _KEEP_ENDED runs; a number and an id each)
        self._ended: OrderedDict[str, int] = OrderedDict()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: int | None = None
        self._slots: FairSlots | None = None
        self.closing: asyncio.Event | None = None
        self._first_seq = 0

    # -- lifecycle -----------------------------------------------------------------------------
    async def start(self) -> int:
        self._loop, self._loop_thread = asyncio.get_running_loop(), threading.get_ident()
        self._slots = FairSlots(self.max_concurrent_runs)
        self.closing = asyncio.Event()
        self._first_seq = event_base()  # above every event number of an earlier process
        return self.reconcile()

    def reconcile(self) -> int:
        """Runs left queued/running by a stopped server: finished per their folder, else interrupted.
        An index that cannot be written now is repaired on later reads (logged, not fatal)."""
        changed = 0
        for row in self.db.runs_with_status(IN_FLIGHT):
            status, error = folder_truth(self._read_state(row))
            self.index.try_write(row["id"], status, error, strict=False)
            changed += 1
        if changed:
            log.warning(
                "%d run(s) were in flight when the server last stopped; marked as shown in their "
                "folders (interrupted runs can be resumed)",
                changed,
            )
        return changed

    async def close(self, grace_s: float = 10.0) -> None:
        """Cancel the runs in flight and wait up to ``grace_s`` seconds for them to checkpoint and stop."""
        if self.closing is not None:
            self.closing.set()
        tasks = [h.task for h in self._handles.values() if h.task is not None and not h.task.done()]
        for t in tasks:
            t.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=grace_s)

    # -- starting and resuming ---------------------------------------------------------------
    def launch(self, user_id: str, project: dict[str, Any], body: RunIn) -> tuple[dict[str, Any], list[str]]:
        """Start a new run of ``project``; returns its index row and any warnings (e.g. a retiring model)."""
        self._check_queue(user_id)
        engine, params, notes = self.setup.prepare(user_id, project, body)
        run_id = new_run_id()
        row = self.db.create_run(
            run_id,
            project_id=project["id"],
            user_id=user_id,
            status="queued",
            mode=engine.mode,
            model=params["model"],
            params=params,
            run_dir=f"runs/{user_id}/{run_id}",
        )
        self._start(
            run_id,
            user_id,
            project["id"],
            engine,
            lambda: engine.arun(params["request"], project_name=project["name"], run_id=run_id),
        )
        return row, notes

    def _check_queue(self, user_id: str) -> None:
        waiting = self._queued[user_id]
        if waiting >= self.max_queued_per_user:
            raise TooManyQueued(
                f"you have {waiting} runs waiting to start, the most this server queues per user "
                f"(--max-queued-per-user {self.max_queued_per_user}); retry when some have started",
                retry_after_s=max(1, min(60, waiting // self.max_concurrent_runs)),
            )

    def decide(
        self, user_id: str, project: dict[str, Any], row: dict[str, Any], decision: dict[str, Any]
    ) -> dict[str, Any]:
        """Record a person's decision on a waiting run (``by`` = ``user_id``) and resume it like POST
        .../resume does (queued, fair slots, index). Bad input changes nothing: 409 when the run is not
        waiting, 422 naming the problem (from ``record_decision``) otherwise."""
        row = self.settle(row, strict=True)
        if row["status"] not in WAITING:
            raise Conflict(
                f"run {row['id']} is {row['status']}; only runs awaiting approval or budget take a decision"
            )
        self._check_queue(user_id)
        self._read_state(row, strict=True)
        # no await between recording and claiming: nothing else in this event loop runs in between
        record_decision(self.data_dir / row["run_dir"], by=user_id, **decision)
        return self.resume(user_id, project, row, allowed=WAITING)

    def resume(
        self,
        user_id: str,
        project: dict[str, Any],
        row: dict[str, Any],
        budget_usd: Any = None,
        *,
        allowed: tuple[str, ...] = RESUMABLE,
    ) -> dict[str, Any]:
        row = self.settle(row, strict=True)  # a stale index is repaired first (or the write error shown)
        if row["status"] in WAITING and allowed is RESUMABLE:
            raise Conflict(
                f"run {row['id']} is {row['status']}: it waits for a person; decide first with "
                "POST .../decision (approve, revise, edit, or budget), which resumes it"
            )
        if row["status"] not in allowed:
            raise Conflict(
                f"run {row['id']} is {row['status']}; only {', '.join(RESUMABLE)} runs can be resumed"
            )
        self._check_queue(user_id)
        self._read_state(row, strict=True)  # a damaged checkpoint is named now, not in the run
        run_id, run_dir = row["id"], self.data_dir / row["run_dir"]
        start: Callable[[], Awaitable[RunResult]]
        if not (run_dir / "manifest.json").is_file():  # interrupted before it started: start it now
            p = row["params"]  # the same mode as before: a run that was simulated stays simulated
            body = RunIn(
                request=p["request"],
                agents=p["agents"],
                model=p["model"],
                mode="simulated" if row["mode"] == "simulated" else "real",
                budget_usd=budget_usd or p.get("budget_usd"),
                gate=p.get("gate"),
                on_budget=p.get("on_budget") or "fail",
            )
            engine, params, _ = self.setup.prepare(user_id, project, body)
            fresh = engine

            def start() -> Awaitable[RunResult]:
                return fresh.arun(params["request"], project_name=project["name"], run_id=run_id)
        else:
            engine = again = self.setup.for_resume(user_id, run_dir, budget_usd)

            def start() -> Awaitable[RunResult]:
                return again.aresume(run_dir)

        if not self.db.claim_for_resume(run_id, allowed):
            raise Conflict(f"run {run_id} is already being resumed")
        self._start(run_id, user_id, project["id"], engine, start)
        fresh_row = self.db.get_run(user_id, project["id"], run_id)
        assert fresh_row is not None
        return fresh_row

    def _start(
        self,
        run_id: str,
        user_id: str,
        project_id: str,
        engine: WorkflowEngine,
        start: Callable[[], Awaitable[RunResult]],
    ) -> None:
        assert self._loop is not None, "RunManager.start() was not called"
        self._queued[user_id] += 1
        after = max(self._first_seq, self._ended.pop(run_id, 0))  # numbers go on above a let-go handle's
        handle = self._handles.get(run_id) or RunHandle(run_id, event_base(after + 1))
        handle.restart()
        self._handles[run_id] = handle
        self._finished.pop(run_id, None)

        def on_event(event: Event) -> None:
            data = {k: v for k, v in event.data.items() if k != "run_dir"}
            record = {
                "type": event.type,
                "run_id": event.run_id,
                "agent": event.agent,
                "data": data,
                "ts": event.ts,
            }
            if threading.get_ident() == self._loop_thread:
                handle.publish(record)
            else:
                assert self._loop is not None
                self._loop.call_soon_threadsafe(handle.publish, record)

        engine.subscribe(on_event)
        handle.task = self._loop.create_task(
            self._drive(handle, user_id, engine, start, raise_hint(project_id, run_id, engine.on_budget)),
            name=f"run-{run_id}",
        )

    async def _drive(
        self,
        handle: RunHandle,
        user_id: str,
        engine: WorkflowEngine,
        start: Callable[[], Awaitable[RunResult]],
        hint: Callable[[str], str],
    ) -> None:
        """Wait for a slot (round robin by user), run, then end: the handle first (event streams end),
        then the index (retried; the run folder stays the truth if the index cannot be written)."""
        assert self._slots is not None
        run_id, status, error = handle.run_id, "failed", None
        slot = False
        try:
            try:
                await self._slots.acquire(user_id)
                slot = True
            finally:
                self._queued[user_id] -= 1
            try:
                self.db.update_run(run_id, "running", clear_error=True)
            except INDEX_ERRORS as exc:  # the run goes on: its folder records it
                log.error(
                    "run %s: the index cannot record that it started (%s: %s)",
                    run_id,
                    type(exc).__name__,
                    exc,
                )
            RAISE_HINT.set(hint)  # this task's (the run's) budget stops name the API's fix, not the CLI's
            result = await start()
            status = result.status
        except asyncio.CancelledError:
            status, error = "interrupted", INTERRUPTED
            raise
        except Exception as exc:  # noqa: BLE001 - whatever ended the run is recorded as its end
            status = handle.final_status or (
                "budget_exceeded" if isinstance(exc, BudgetExceeded) else "failed"
            )
            error = {"type": type(exc).__name__, "message": public_text(str(exc), self.data_dir)}
            log.warning("run %s %s: %s", run_id, status, error["message"])
        finally:
            if slot:
                self._slots.release()
            ends = ("run_finished", "run_failed", "run_waiting")
            if not handle.history or handle.history[-1]["type"] not in ends:
                # the engine could not say how it ended (e.g. its checkpoint failed on a full disk)
                data = {**(error or {}), "status": status}
                handle.publish(
                    {"type": "run_failed", "run_id": run_id, "agent": None, "data": data, "ts": time.time()}
                )
            handle.finish(status, error)
            self._retire(run_id)
            log.info("run %s: %s", run_id, status)
            aclose = getattr(engine.choice.backend, "aclose", None)
            if aclose is not None:
                try:
                    await aclose()
                except Exception:  # pragma: no cover - closing an HTTP client
                    log.debug("closing the backend of run %s failed", run_id, exc_info=True)
            if status == "interrupted":  # shutting down: one attempt, no waiting
                self.index.pending[run_id] = (status, error)
                self.index.try_write(run_id, status, error, strict=False)
            else:
                await self.index.write_final(run_id, status, error)

    def _retire(self, run_id: str) -> None:
        self._finished[run_id] = None
        while len(self._finished) > self._keep_finished:
            old, _ = self._finished.popitem(last=False)
            h = self._handles.get(old)
            if h is not None and h.finished:
                del self._handles[old]
                self._ended[old] = h.last_seq
                if len(self._ended) > _KEEP_ENDED:
                    self._ended.popitem(last=False)

    # -- reading -------------------------------------------------------------------------------
    def handle(self, run_id: str) -> RunHandle | None:
        return self._handles.get(run_id)

    def _read_state(self, row: dict[str, Any], *, strict: bool = False) -> dict[str, Any]:
        """The run's checkpoint; ``strict`` raises DamagedRun when it is not a checkpoint, else {}."""
        where = row["run_dir"]
        try:
            doc = RunFolder(self.data_dir / where).load_state()
        except OSError:
            return {}
        except DamagedRun:  # read, but not a checkpoint: its own message says what is wrong
            if strict:
                raise
            return {}
        except ValueError as exc:
            if strict:
                raise DamagedRun(
                    f"{where}/state.json is damaged: it is not valid JSON ({exc}); restore it from a "
                    "backup, or delete it to let resume start the run's agents again"
                ) from None
            return {}
        try:
            return check_state(doc, where)
        except DamagedRun:
            if strict:
                raise
            return {}

    def truth(self, row: dict[str, Any]) -> tuple[str, dict[str, Any] | None] | None:
        """The real final state of a run its index row shows in flight, or None if it is in flight."""
        handle = self._handles.get(row["id"])
        if handle is not None and not handle.finished:
            return None
        if row["id"] in self.index.pending:
            return self.index.pending[row["id"]]
        if handle is not None and handle.final_status is not None:
            return handle.final_status, handle.final_error
        return folder_truth(self._read_state(row))

    def settle(self, row: dict[str, Any], *, strict: bool = False) -> dict[str, Any]:
        """``row`` as it really is: a stale in-flight status (the index could not be written) is
        replaced by the run's final state and written again (``strict``: raising if that fails)."""
        if row["status"] not in IN_FLIGHT:
            return row
        return self.index.settle(row, self.truth(row), strict=strict)

    def folder(self, row: dict[str, Any]) -> RunFolder | None:
        path = self.data_dir / row["run_dir"]
        return RunFolder(path) if (path / "manifest.json").is_file() else None

    def describe(self, row: dict[str, Any]) -> dict[str, Any]:
        """Status, per-agent progress, tokens and cost (the run folder, plus live agents)."""
        row = self.settle(row)
        handle = self._handles.get(row["id"])
        running = handle.running_agents if handle is not None else ()
        described = describe(row, self._read_state(row, strict=True), self.data_dir / row["run_dir"], running)
        return described

    async def events(
        self, row: dict[str, Any], after: int = 0, heartbeat_s: float = 15.0
    ) -> AsyncIterator[dict[str, Any] | None]:
        assert self.closing is not None
        row = self.settle(row)
        handle = self._handles.get(row["id"])
        if handle is not None:
            async for event in handle.stream(after, self.closing, heartbeat_s):
                yield event
            return
        # not live in this process, or let go: only how the run ended is known, under the number of the
        # run's last event here (or, never live here, the first number of this process)
        end_seq = self._ended.get(row["id"], self._first_seq)
        if after < end_seq:
            state = self._read_state(row)
            kind = (
                "run_finished"
                if row["status"] == "completed"
                else "run_waiting"
                if row["status"] in WAITING
                else "run_failed"
            )
            yield {
                "seq": end_seq,
                "type": kind,
                "run_id": row["id"],
                "agent": None,
                "ts": None,
                "data": {
                    "status": row["status"],
                    "error": row["error"],
                    "live_events": False,
                    "steps": state.get("steps") or {},
                },
            }


__all__ = ["RESUMABLE", "Conflict", "RunHandle", "RunManager"]
