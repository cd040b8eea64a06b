"""WorkflowEngine: runs the agents of a workflow DAG over a project request.

Ready steps run concurrently under one limiter; the budget is checked before every call;
a checkpoint follows every agent; ``resume(run_dir)`` continues without repeating any paid call
(completions already received are served from the run's own responses.jsonl, except those that fail
validation: those are asked again live, with a ``reuse_rejected`` event).
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any, Unpack

from .. import records
from .._sync import run_sync
from ..agents import Agent, create_agent, get_role
from ..errors import BudgetExceeded, ConfigError, RunFailed
from ..llm.gateway import ConcurrencyLimiter, Gateway
from ..llm.pricing import DEFAULT_MODEL, check_model
from ..llm.selection import BackendChoice, BackendOptions, check_keywords, select_backend
from ..records import AgentContext, AgentSettings, CacheTtl, CallRecord, ProjectState, TaskDefinition
from ..store.run_folder import RunFolder
from .budget import Budget, BudgetTracker
from .checkpoint import load_project_state, save_checkpoint
from .events import Event, EventBus
from .gates import PendingGate, after_step, budget_gate, record_decision, refuse_if_waiting
from .manifest import check_resumable_layout, engine_options, expected_usd, run_manifest
from .recorder import RunRecorder
from .result import RunResult
from .run_options import check_run_options
from .summary import RunEnding
from .workflow import DEFAULT_WORKFLOW, Workflow

_DEFAULT_SETTINGS = AgentSettings()  # an agent's settings when none are given (never changed)


@functools.cache
def shared_limiter(max_concurrency: int) -> ConcurrencyLimiter:
    """The process-wide limiter for a given limit: runs in one process share it."""
    return ConcurrencyLimiter(max_concurrency)


class WorkflowEngine:
    """Runs the agents of a workflow over a project request and records everything in a run folder.

    The backend is chosen by ``llm.select_backend`` (the one place that decides), from ``backend``
    (a ``Backend`` to use as it is) or from ``mode`` and the options that go with it (``api_key``,
    ``client``, ``base_url``, ``replay_from``, ``record_to``, ``retry``, ``simulated_options``,
    ``backend_options`` for a registered third-party backend). The engine never knows which backend
    it talks to.

    Other settings: the ``model`` and per-agent ``agent_settings``; which ``agents`` run and the
    ``workflow`` DAG; a budget (``budget_usd``, ``budget_tokens``) checked before every call; how many
    calls run at once (``max_concurrency``, or a shared ``limiter``); ``cache_ttl`` of the stable prompt
    prefix; ``output_dir``, where run folders go.

    ``run(request)`` / ``await arun(request)`` return a ``RunResult``; ``resume(run_dir)`` continues a
    run without repeating a paid call; ``subscribe(fn)`` receives the engine's events.
    """

    def __init__(
        self,
        *,
        mode: str = "auto",
        model: str = DEFAULT_MODEL,
        agents: Iterable[str] | None = None,
        workflow: Workflow | Mapping[str, Any] | None = None,
        agent_settings: Mapping[str, AgentSettings | Mapping[str, Any]] | None = None,
        budget_usd: Decimal | str | float | None = None,
        budget_tokens: int | None = None,
        max_concurrency: int = 4,
        max_rounds: int | None = None,
        output_dir: str | Path = "runs",
        limiter: ConcurrencyLimiter | None = None,
        allow_unknown_model: bool = False,
        cache_ttl: CacheTtl | None = "5m",
        shared_budget: BudgetTracker | None = None,
        gate_policy: str | None = None,
        on_budget: str = "fail",
        today: date | None = None,
        exact_budget: bool = False,
        **backend_keywords: Unpack[BackendOptions],
    ) -> None:
        """``today``: the date model retirements are checked against (default: ``date.today()``).
        ``exact_budget``: count every prompt with the API's count_tokens before checking the budget
        (real mode; otherwise the local estimate, calibrated from billed usage as the run goes).
        The backend's keywords (``backend``, ``api_key``, ``key_source``, ``client``, ``base_url``,
        ``replay_from``, ``record_to``, ``retry``, ``simulated_options``, ``backend_options``, ``timeout``:
        seconds per attempt of a real call, default ``DEFAULT_TIMEOUT_S``, 120) are typed once, in
        ``llm.selection.BackendOptions``, and go to ``select_backend`` as they are."""
        check_keywords(backend_keywords, BackendOptions, "WorkflowEngine()")
        max_concurrency, max_rounds = check_run_options(
            model, max_concurrency, max_rounds, gate_policy, output_dir, on_budget, cache_ttl
        )
        self.on_budget = on_budget
        self.cache_ttl: CacheTtl | None = cache_ttl
        self.model = model
        self.settings = {
            a: s if isinstance(s, AgentSettings) else AgentSettings(**s)
            for a, s in (agent_settings or {}).items()
        }
        for a in self.settings:
            get_role(a)
        base = (
            workflow
            if isinstance(workflow, Workflow)
            else (Workflow.from_dict(workflow) if workflow is not None else DEFAULT_WORKFLOW)
        )
        chosen = list(agents) if agents is not None else list(base.steps)
        chosen = [a for a in chosen if self.settings.get(a, AgentSettings()).enabled]
        self.workflow = base.subset(chosen, max_rounds=max_rounds)
        if gate_policy is not None:
            self.workflow = self.workflow.with_gate_policy(gate_policy)
        self.max_concurrency = max_concurrency
        self.budget = Budget.of(budget_usd, budget_tokens)
        for m in {model, *(s.model for s in self.settings.values() if s.model)}:
            check_model(m, today=today, allow_unknown=allow_unknown_model)
        self.allow_unknown_model = allow_unknown_model
        self.output_dir = Path(output_dir)
        self.choice: BackendChoice = select_backend(mode, **backend_keywords)
        self.timeout = backend_keywords.get("timeout")
        self.exact_budget = bool(exact_budget)
        if self.exact_budget and self.mode == "real" and self.choice.token_counter() is None:
            raise ConfigError(
                "exact_budget needs a backend that can count tokens (the Anthropic backend's "
                "count_tokens); drop exact_budget to use the calibrated estimate"
            )
        self.replay_from = backend_keywords.get("replay_from")
        self.simulated_options = dict(backend_keywords.get("simulated_options") or {})
        self.limiter = limiter or shared_limiter(max_concurrency)
        self.shared_budget = shared_budget  # e.g. a sweep's whole budget, checked with the run's own
        self.events = EventBus()
        self._agents: dict[str, Agent] = {}
        self._active_runs = 0

    def __repr__(self) -> str:
        return (
            f"WorkflowEngine(mode={self.choice.mode!r}, model={self.model!r}, "
            f"agents={list(self.workflow.steps)})"
        )

    @property
    def mode(self) -> str:
        return self.choice.mode

    def subscribe(
        self, fn: Callable[[Event], None], types: Iterable[str] | None = None
    ) -> Callable[[], None]:
        """Receive engine events (all, or only ``types``); returns an unsubscribe function."""
        return self.events.subscribe(fn, types)

    # -- the guide's hooks ---------------------------------------------------------------------
    def _get_or_create_agent(self, agent_id: str) -> Agent:
        if agent_id not in self._agents:
            self._agents[agent_id] = create_agent(agent_id)
        return self._agents[agent_id]

    def _build_agent_context(
        self, agent_id: str, state: ProjectState, task: TaskDefinition, gateway: Gateway, run_id: str
    ) -> AgentContext:
        s = self.settings.get(agent_id) or _DEFAULT_SETTINGS  # (a model is always true)
        return AgentContext(
            project_state=state,
            task=task,
            model=s.model or self.model,
            max_tokens=s.max_tokens,
            extra_instructions=s.extra_instructions,
            mode=self.mode,
            run_id=run_id,
            gateway=gateway,
            cache_ttl=self.cache_ttl,
        )

    # -- public API --------------------------------------------------------------------------
    def manifest(self, request: str, project_name: str) -> dict[str, Any]:
        """The manifest a run of ``request`` starts with (settings, prompt hashes, price table, estimate)."""
        return run_manifest(self, request, project_name)

    async def arun(
        self, request: str, *, project_name: str = "Untitled project", run_id: str | None = None
    ) -> RunResult:
        if problem := records.request_problem(request, project_name):  # empty, or not valid text
            raise ConfigError(problem)
        state = ProjectState(project_name=project_name, request=request)
        manifest = self.manifest(state.request, project_name)
        folder = RunFolder.create(self.output_dir, manifest, run_id)
        estimate_usd = expected_usd(manifest)
        del manifest  # not held while the run goes on
        steps = dict.fromkeys(self.workflow.order(), "pending")
        return await self._execute(folder, state, steps, estimate_usd=estimate_usd)

    def run(self, request: str, **kw: Any) -> RunResult:
        return run_sync(self.arun(request, **kw))

    @classmethod
    def for_resume(cls, run_dir: str | Path, **overrides: Any) -> WorkflowEngine:
        """An engine configured from a run folder's manifest (secrets come from the environment)."""
        return cls(**engine_options(run_dir, **overrides))

    async def aresume(self, run_dir: str | Path) -> RunResult:
        folder = RunFolder.open(run_dir)
        manifest = folder.manifest()
        doc = folder.load_state() or {}
        if doc.get("status") == "completed":
            return RunResult.load(folder.path)
        check_resumable_layout(folder, manifest)
        refuse_if_waiting(folder, doc)
        state = load_project_state(folder, doc, manifest)
        steps = {
            a: ("done" if doc.get("steps", {}).get(a) == "done" else "pending") for a in self.workflow.order()
        }
        estimate_usd = expected_usd(manifest)
        del manifest, doc  # not held while the run goes on
        return await self._execute(
            folder, state, steps, estimate_usd=estimate_usd, paid=folder.responses(), spent=folder.calls()
        )

    def resume(self, run_dir: str | Path) -> RunResult:
        return run_sync(self.aresume(run_dir))

    # -- execution ---------------------------------------------------------------------------
    async def _execute(
        self,
        folder: RunFolder,
        state: ProjectState,
        steps: dict[str, str],
        *,
        estimate_usd: str | None,
        paid: list[dict[str, Any]] | None = None,
        spent: list[CallRecord] | None = None,
    ) -> RunResult:
        self._active_runs += 1
        try:
            return await self._execute_run(
                folder, state, steps, estimate_usd=estimate_usd, paid=paid, spent=spent
            )
        finally:
            self._active_runs -= 1
            aclose = getattr(self.choice.backend, "aclose", None)
            if self._active_runs == 0 and aclose is not None:
                await aclose()  # the SDK client of this event loop: no sockets left behind

    async def _execute_run(
        self,
        folder: RunFolder,
        state: ProjectState,
        steps: dict[str, str],
        *,
        estimate_usd: str | None,
        paid: list[dict[str, Any]] | None,
        spent: list[CallRecord] | None,
    ) -> RunResult:
        tracker = BudgetTracker(
            self.budget,
            run_dir=str(folder.path),
            parent=self.shared_budget,
            batch=bool(getattr(self.choice.backend, "billed_as_batch", False)),
        )
        for line in spent or ():  # a resumed run has already spent this
            tracker.add(line.cost_usd, line.total_tokens)
        recorder = RunRecorder(folder, self.events, tracker, self.mode, prior_lines=spent)
        run_id = folder.run_id
        gateway = Gateway(
            self.choice.backend,
            observer=recorder,
            limiter=self.limiter,
            paid=paid,
            on_reuse_rejected=recorder.reuse_rejected,
            counter=(  # simulated and replay bill the local estimate / nothing: their estimate is exact
                self.choice.token_counter() if self.exact_budget and not self.budget.unlimited else None
            ),
        )
        task = TaskDefinition(title=state.project_name, description=state.request)
        started = time.time()
        save_checkpoint(folder, "running", steps, state)
        if self.events.wants("run_started"):  # no event is built that nobody hears
            data = {
                "mode": self.mode,
                "model": self.model,
                "agents": list(steps),
                "run_dir": str(folder.path),
            }
            self.events.emit(Event("run_started", run_id, None, data))
        order, decided = self.workflow.order(), spent is not None  # only a resumed run has decisions
        end = RunEnding(self.mode, self.model, order, self.budget, self.events, estimate_usd, decided)
        try:
            waiting = await self._schedule(folder, state, steps, task, gateway, run_id)
        except BudgetExceeded as exc:
            if self.on_budget != "pause":
                end.fail(folder, state, steps, started, exc)
                raise
            return end.pause(folder, state, steps, started, budget_gate(exc, state))
        except BaseException as exc:
            end.fail(folder, state, steps, started, exc)
            raise
        if waiting is not None:
            return end.pause(folder, state, steps, started, waiting)
        return end.complete(folder, state, steps, started)

    async def _schedule(
        self,
        folder: RunFolder,
        state: ProjectState,
        steps: dict[str, str],
        task: TaskDefinition,
        gateway: Gateway,
        run_id: str,
    ) -> PendingGate | None:
        """Run ready steps until all are done; returns the gate the run now waits at, if any. Steps that
        can run together get a task each; the only step able to run (nothing can start before it ends)
        runs in this task, after a yield so that runs sharing the loop still take turns."""
        running: dict[asyncio.Task[None], str] = {}
        failure: BaseException | None = None
        waiting: PendingGate | None = None

        try:
            while True:
                ready = []
                if failure is None and waiting is None:  # at a human gate: finish what runs, start nothing
                    for agent in self.workflow.order():
                        if self.workflow.can_start(agent, steps):
                            steps[agent] = "running"
                            ready.append(agent)
                if len(ready) == 1 and not running:
                    await asyncio.sleep(0)  # other runs in this loop go on, as when a task starts
                    error: BaseException | None = None
                    try:
                        await self._run_step(ready[0], folder, state, steps, task, gateway, run_id)
                    except Exception as exc:  # noqa: BLE001 - kept as a task keeps it: the run stops after it
                        error = exc
                    waiting = self._ended(ready[0], error, folder, state, steps, run_id) or waiting
                    failure = failure or error
                    continue
                for agent in ready:
                    coro = self._run_step(agent, folder, state, steps, task, gateway, run_id)
                    running[asyncio.create_task(coro)] = agent
                if not running:
                    break
                done, _ = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
                for t in done:
                    error = t.exception()
                    waiting = self._ended(running.pop(t), error, folder, state, steps, run_id) or waiting
                    failure = failure or error
        except BaseException:
            for t in running:
                t.cancel()
            await asyncio.gather(*running, return_exceptions=True)
            raise
        if failure is not None:
            raise failure
        if waiting is not None:
            return waiting
        if any(s != "done" for s in steps.values()):  # pragma: no cover - scheduler invariant
            raise RunFailed(f"steps left unfinished: {steps}", run_dir=str(folder.path))
        return None

    def _ended(
        self,
        agent: str,
        exc: BaseException | None,
        folder: RunFolder,
        state: ProjectState,
        steps: dict[str, str],
        run_id: str,
    ) -> PendingGate | None:
        """A step ended: failed with ``exc`` (marked, told; the run stops after it), or done (checkpointed
        unless the run is complete: its ending does it at once; returns the gate it waits at, if any)."""
        if exc is not None:
            steps[agent] = "failed"
            self.events.emit(
                Event("agent_failed", run_id, agent, {"type": type(exc).__name__, "message": str(exc)})
            )
            return None
        waiting = after_step(self.workflow, agent, state, steps, events=self.events, run_id=run_id)
        if waiting is not None or any(s != "done" for s in steps.values()):
            save_checkpoint(folder, "running", steps, state)
        return waiting

    async def _run_step(
        self,
        agent_id: str,
        folder: RunFolder,
        state: ProjectState,
        steps: dict[str, str],
        task: TaskDefinition,
        gateway: Gateway,
        run_id: str,
    ) -> None:
        agent = self._get_or_create_agent(agent_id)
        gate = self.workflow.steps[agent_id].gate
        if gate is not None and gate.policy == "human" and agent.role.needs_decision:
            return  # a person decides in this agent's place: no model call
        ctx = self._build_agent_context(agent_id, state, task, gateway, run_id)
        events = self.events
        if events.wants("agent_started"):  # no event is built that nobody hears
            events.emit(Event("agent_started", run_id, agent_id, {"round": state.design_round}))
        plan = await agent.aplan(task, agent.role.phase, state, ctx)
        output = await agent.aact(plan, state, ctx)
        written = events.wants("artifact_written")
        for art in output.artifacts:
            path = folder.write_artifact(agent_id, art.filename, art.content)
            if written:
                events.emit(
                    Event(
                        "artifact_written",
                        run_id,
                        agent_id,
                        {
                            "filename": art.filename,
                            "path": path,
                            "kind": art.kind,
                            "chars": len(art.content),
                            "truncated": art.truncated,
                        },
                    )
                )
        repairs = state.take_output(agent_id, plan, output)
        steps[agent_id] = "done"
        if events.wants("agent_finished"):
            events.emit(
                Event(
                    "agent_finished",
                    run_id,
                    agent_id,
                    {
                        "artifacts": [a.filename for a in output.artifacts],
                        "truncated": output.truncated,
                        "repairs": list(repairs),  # a copy: a subscriber may keep or change it
                        "decision": output.decision.model_dump() if output.decision else None,
                        "score": output.score.value if output.score else None,
                    },
                )
            )


async def arun_workflow(
    request: str,
    *,
    project_name: str = "Untitled project",
    subscribers: Iterable[Callable[[Event], None]] = (),
    **engine_options: Any,
) -> RunResult:
    engine = WorkflowEngine(**engine_options)
    for fn in subscribers:
        engine.subscribe(fn)
    return await engine.arun(request, project_name=project_name)


def run_workflow(
    request: str,
    *,
    project_name: str = "Untitled project",
    subscribers: Iterable[Callable[[Event], None]] = (),
    **engine_options: Any,
) -> RunResult:
    """Run a whole workflow and return its RunResult (works in scripts and in Jupyter)."""
    return run_sync(
        arun_workflow(request, project_name=project_name, subscribers=subscribers, **engine_options)
    )


def resume(run_dir: str | Path, **overrides: Any) -> RunResult:
    """Continue a run folder; finished calls are not repeated. ``budget_usd=`` may raise the cap."""
    return WorkflowEngine.for_resume(run_dir, **overrides).resume(run_dir)


def decide(
    run_dir: str | Path,
    action: str,
    *,
    reasons: Iterable[str] = (),
    edits: Mapping[str, str] | None = None,
    budget_usd: Any = None,
    by: str = "user",
    resume_run: bool = True,
    **overrides: Any,
) -> RunResult:
    """Decide for a run waiting at a human gate (``approve``, ``revise`` with ``reasons``, ``edit`` with
    ``{"agent/file": text}``) or for more budget (``budget`` with ``budget_usd``), then resume it (no paid
    call is repeated). ``resume_run=False`` only records the decision."""
    if resume_run:  # the resume's options are checked before the decision is recorded
        WorkflowEngine.for_resume(run_dir, **overrides)
    record_decision(
        run_dir, action, reasons=list(reasons), edits=dict(edits or {}), budget_usd=budget_usd, by=by
    )
    return resume(run_dir, **overrides) if resume_run else RunResult.load(run_dir)


__all__ = ["WorkflowEngine", "arun_workflow", "decide", "resume", "run_workflow", "shared_limiter"]
