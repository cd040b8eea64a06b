"""Background runs: one asyncio task per run in the server's event loop, driving ``engine.arun``.

- At most ``max_concurrent_runs`` run at once; the rest wait as ``queued``.
- Each run has a ``RunHandle``: its engine events with sequence numbers (replayed to late SSE
  subscribers; ``call_delta`` text goes to live subscribers only), and which agents are running.
- Status and progress come from the run folder (checkpoint + ledger) plus the live handle.
- On start, runs the index still shows ``queued``/``running`` (the server stopped or died) become
  ``interrupted``, unless their folder says they finished; on stop, in-flight runs are cancelled, and
  the engine checkpoints them as ``interrupted``. Either way ``resume`` continues them without repeating
  finished calls.
- Who pays: a user's stored key (decrypted only to build the run's backend); without one, the run is
  explicitly ``simulated``: the server's own ANTHROPIC_API_KEY or .env is never used for a user's run.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import warnings
from collections import OrderedDict, deque
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from ..engine import summary as summarize
from ..engine.engine import WorkflowEngine
from ..engine.events import Event
from ..engine.result import RunResult
from ..errors import BudgetExceeded, ConfigError
from ..llm.pricing import DEFAULT_MODEL
from ..store.run_folder import RunFolder, new_run_id, read_jsonl, redact
from .db import FINAL, IN_FLIGHT, Database
from .schemas import RunIn
from .secrets import KeyVault

log = logging.getLogger("orchestrator_kit.server")
RESUMABLE = ("interrupted", "failed", "budget_exceeded")
KEY_SOURCE = "your provider settings (POST /users/me/provider-settings)"


class Conflict(ConfigError):
    """The request is valid but the resource's state forbids it (HTTP 409)."""


class _Subscriber:
    def __init__(self) -> None:
        self.wake = asyncio.Event()
        self.deltas: deque[dict[str, Any]] = deque(maxlen=256)


class RunHandle:
    """A run's live state in this process. All methods run in the server's event loop thread."""

    def __init__(self, run_id: str) -> None:
        self.run_id = run_id
        self.history: list[dict[str, Any]] = []
        self.running_agents: set[str] = set()
        self.finished = False
        self.final_status: str | None = None
        self.task: asyncio.Task[None] | None = None
        self._seq = 0
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

    def restart(self) -> None:
        self.finished, self.final_status = False, None
        self.running_agents.clear()

    def finish(self) -> None:
        self.finished = True
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


def _compact(t: dict[str, Any]) -> dict[str, Any]:
    """One agent's figures: calls, input tokens (cache writes and reads included), output, cost."""
    return {
        "calls": t["calls"],
        "failed_attempts": t["failed_attempts"],
        "input_tokens": t["total_tokens"] - t["output_tokens"],
        "output_tokens": t["output_tokens"],
        "cache_read_tokens": t["cache_read_tokens"],
        "total_tokens": t["total_tokens"],
        "cost_usd": t["cost_usd"],
        "wasted_usd": t["wasted_usd"],
    }


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
    ) -> None:
        if max_concurrent_runs < 1:
            raise ConfigError(f"max_concurrent_runs must be at least 1, got {max_concurrent_runs}")
        self.db, self.vault, self.data_dir = db, vault, Path(data_dir)
        self.anthropic_base_url = anthropic_base_url
        self.max_concurrent_runs = max_concurrent_runs
        if max_concurrent_calls < 1:
            raise ConfigError(f"max_concurrent_calls must be at least 1, got {max_concurrent_calls}")
        self.max_concurrent_calls = max_concurrent_calls  # model calls in flight across all users' runs
        self.simulated_latency_s = simulated_latency_s
        self._keep_finished = keep_finished
        self._handles: dict[str, RunHandle] = {}
        self._finished: OrderedDict[str, None] = OrderedDict()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: int | None = None
        self._slots: asyncio.Semaphore | None = None
        self.closing: asyncio.Event | None = None

    # -- lifecycle -----------------------------------------------------------------------------
    async def start(self) -> int:
        self._loop, self._loop_thread = asyncio.get_running_loop(), threading.get_ident()
        self._slots = asyncio.Semaphore(self.max_concurrent_runs)
        self.closing = asyncio.Event()
        return self.reconcile()

    def reconcile(self) -> int:
        """Runs left queued/running by a stopped server: finished per their folder, else interrupted."""
        changed = 0
        for row in self.db.runs_with_status(IN_FLIGHT):
            state = self._read_state(row)
            status = str(state["status"]) if state.get("status") in FINAL else "interrupted"
            error = state.get("error") or (
                {
                    "type": "Interrupted",
                    "message": "the server stopped while this run "
                    "was in flight; continue it with POST .../resume",
                }
                if status == "interrupted"
                else None
            )
            self.db.update_run(row["id"], status, error=error)
            changed += 1
        if changed:
            log.warning(
                "%d run(s) were in flight when the server last stopped; marked as shown in their "
                "folders (interrupted runs can be resumed)",
                changed,
            )
        return changed

    async def close(self, timeout: float = 10.0) -> None:
        if self.closing is not None:
            self.closing.set()
        tasks = [h.task for h in self._handles.values() if h.task is not None and not h.task.done()]
        for t in tasks:
            t.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=timeout)

    # -- starting and resuming ---------------------------------------------------------------
    def user_root(self, user_id: str) -> Path:
        return self.data_dir / "runs" / user_id

    def _credentials(self, user_id: str) -> tuple[SecretStr | None, str | None]:
        row = self.db.get_provider(user_id)
        if row is None:
            return None, None
        return SecretStr(self.vault.decrypt(row["key_blob"])), row["model"]

    def _backend_options(self, mode: str, key: SecretStr | None) -> dict[str, Any]:
        if mode == "simulated" or (mode == "auto" and key is None):
            return {"mode": "simulated", **self._simulated_options({})}
        if key is None:
            raise Conflict(
                "mode 'real' needs your Anthropic API key: set it with POST /users/me/provider-settings, "
                "or use mode 'simulated'"
            )
        if self.anthropic_base_url:
            from ..llm.anthropic_backend import AnthropicBackend

            return {"backend": AnthropicBackend(key, base_url=self.anthropic_base_url, key_source=KEY_SOURCE)}
        return {"mode": "auto", "api_key": key}

    def _simulated_options(self, base: dict[str, Any]) -> dict[str, Any]:
        opts = dict(base)
        if self.simulated_latency_s:
            opts["latency_s"] = self.simulated_latency_s
        else:
            opts.pop("latency_s", None)
        return {"simulated_options": opts} if opts else {}

    def _prepare(
        self, user_id: str, project: dict[str, Any], body: RunIn
    ) -> tuple[WorkflowEngine, dict[str, Any], list[str]]:
        """Validate and build the engine: bad input fails here, before anything is indexed (a 4xx)."""
        request = body.request or project.get("request")
        if not request:
            raise ConfigError(
                'this project has no request; pass one: {"request": "what the team should build"} '
                "(or create the project with a request)"
            )
        key, user_model = (None, None) if body.mode == "simulated" else self._credentials(user_id)
        model = body.model or user_model or DEFAULT_MODEL
        options = self._backend_options(body.mode, key)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            engine = WorkflowEngine(
                model=model,
                agents=body.agents,
                budget_usd=body.budget_usd,
                max_concurrency=self.max_concurrent_calls,
                output_dir=self.user_root(user_id),
                **options,
            )
        params = {
            "request": request,
            "project_name": project["name"],
            "agents": list(engine.workflow.steps),
            "model": model,
            "mode": body.mode,
            "budget_usd": None if body.budget_usd is None else str(body.budget_usd),
        }
        return engine, params, [redact(str(w.message)) for w in caught]

    def launch(self, user_id: str, project: dict[str, Any], body: RunIn) -> tuple[dict[str, Any], list[str]]:
        """Start a new run of ``project``; returns its index row and any warnings (e.g. a retiring model)."""
        engine, params, notes = self._prepare(user_id, project, body)
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
            engine,
            lambda: engine.arun(params["request"], project_name=project["name"], run_id=run_id),
        )
        return row, notes

    def resume(
        self, user_id: str, project: dict[str, Any], row: dict[str, Any], budget_usd: Any = None
    ) -> dict[str, Any]:
        if row["status"] not in RESUMABLE:
            raise Conflict(
                f"run {row['id']} is {row['status']}; only {', '.join(RESUMABLE)} runs can be resumed"
            )
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
            )
            engine, params, _ = self._prepare(user_id, project, body)
            fresh = engine

            def start() -> Awaitable[RunResult]:
                return fresh.arun(params["request"], project_name=project["name"], run_id=run_id)
        else:
            manifest = RunFolder.open(run_dir).manifest()
            overrides: dict[str, Any] = {}
            if manifest.get("mode") == "real":
                overrides = self._backend_options("real", self._credentials(user_id)[0])
                overrides.pop("mode", None)
            elif manifest.get("mode") == "simulated":
                sim = self._simulated_options(manifest.get("simulated_options") or {})
                overrides = {"simulated_options": sim.get("simulated_options", {})}
            if budget_usd is not None:
                overrides["budget_usd"] = budget_usd
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                engine = WorkflowEngine.for_resume(run_dir, **overrides)
            again = engine

            def start() -> Awaitable[RunResult]:
                return again.aresume(run_dir)

        if not self.db.claim_for_resume(run_id, RESUMABLE):
            raise Conflict(f"run {run_id} is already being resumed")
        self._start(run_id, engine, start)
        fresh_row = self.db.get_run(user_id, project["id"], run_id)
        assert fresh_row is not None
        return fresh_row

    def _start(self, run_id: str, engine: WorkflowEngine, start: Callable[[], Awaitable[RunResult]]) -> None:
        assert self._loop is not None, "RunManager.start() was not called"
        handle = self._handles.get(run_id) or RunHandle(run_id)
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
        handle.task = self._loop.create_task(self._drive(handle, engine, start), name=f"run-{run_id}")

    async def _drive(
        self, handle: RunHandle, engine: WorkflowEngine, start: Callable[[], Awaitable[RunResult]]
    ) -> None:
        assert self._slots is not None
        status, error = "failed", None
        try:
            async with self._slots:
                self.db.update_run(handle.run_id, "running", clear_error=True)
                result = await start()
                status = result.status
        except asyncio.CancelledError:
            status = "interrupted"
            error = {
                "type": "Interrupted",
                "message": "the server stopped while this run was in flight; "
                "continue it with POST .../resume",
            }
            raise
        except Exception as exc:
            status = handle.final_status or (
                "budget_exceeded" if isinstance(exc, BudgetExceeded) else "failed"
            )
            error = {"type": type(exc).__name__, "message": redact(str(exc))}
        finally:
            self.db.update_run(handle.run_id, status, error=error, clear_error=error is None)
            handle.finish()
            self._retire(handle.run_id)
            log.info("run %s: %s", handle.run_id, status)
            aclose = getattr(engine.choice.backend, "aclose", None)
            if aclose is not None:
                try:
                    await aclose()
                except Exception:  # pragma: no cover - closing an HTTP client
                    log.debug("closing the backend of run %s failed", handle.run_id, exc_info=True)

    def _retire(self, run_id: str) -> None:
        self._finished[run_id] = None
        while len(self._finished) > self._keep_finished:
            old, _ = self._finished.popitem(last=False)
            h = self._handles.get(old)
            if h is not None and h.finished:
                del self._handles[old]

    # -- reading -------------------------------------------------------------------------------
    def handle(self, run_id: str) -> RunHandle | None:
        return self._handles.get(run_id)

    def _read_state(self, row: dict[str, Any]) -> dict[str, Any]:
        try:
            return RunFolder(self.data_dir / row["run_dir"]).load_state() or {}
        except (OSError, ValueError):
            return {}

    def folder(self, row: dict[str, Any]) -> RunFolder | None:
        path = self.data_dir / row["run_dir"]
        return RunFolder(path) if (path / "manifest.json").is_file() else None

    def describe(self, row: dict[str, Any]) -> dict[str, Any]:
        """Status, per-agent progress, tokens and cost (the run folder, plus live agents)."""
        state = self._read_state(row)
        agents = list(row["params"]["agents"])
        steps = dict(state.get("steps") or {})
        live = row["status"] in IN_FLIGHT
        handle = self._handles.get(row["id"])
        for agent in agents:
            s = steps.get(agent, "pending")
            if live and handle is not None and agent in handle.running_agents:
                s = "running"
            elif not live and s == "running":
                s = "interrupted"
            steps[agent] = s
        calls = read_jsonl(self.data_dir / row["run_dir"] / "calls.jsonl")
        per_agent = summarize.per_agent(calls, agents)
        project_state = state.get("project_state") or {}
        score = (project_state.get("scores") or {}).get("reviewer") or {}
        base = f"/projects/{row['project_id']}/runs/{row['id']}"
        return {
            "id": row["id"],
            "project_id": row["project_id"],
            "status": row["status"],
            "mode": row["mode"],
            "model": row["model"],
            "request": row["params"]["request"],
            "agents": {
                a: {"status": steps[a], **_compact(per_agent.get(a) or summarize.totals([]))} for a in agents
            },
            "totals": summarize.totals(calls),
            "artifacts": sum(len(v) for v in (project_state.get("artifacts") or {}).values()),
            "review_score": score.get("value"),
            "error": row["error"],
            "created_at": row["created_at"],
            "updated_at": row["updated_at"],
            "links": {
                "self": base,
                "events": base + "/events",
                "artifacts": base + "/artifacts",
                "resume": base + "/resume",
            },
        }

    async def events(
        self, row: dict[str, Any], after: int = 0, heartbeat_s: float = 15.0
    ) -> AsyncIterator[dict[str, Any] | None]:
        assert self.closing is not None
        handle = self._handles.get(row["id"])
        if handle is not None:
            async for event in handle.stream(after, self.closing, heartbeat_s):
                yield event
            return
        if after < 1:  # the server restarted since: only the final status is known
            state = self._read_state(row)
            kind = "run_finished" if row["status"] == "completed" else "run_failed"
            yield {
                "seq": 1,
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
