"""WorkflowEngine: runs the agents of a workflow DAG over a project request.

Ready steps run concurrently under one limiter; the budget is checked before every call;
a checkpoint follows every agent; ``resume(run_dir)`` continues without repeating any paid call
(completions already received are served from the run's own responses.jsonl, except those that fail
validation: those are asked again live, with a ``reuse_rejected`` event).
"""

from __future__ import annotations

import asyncio
import platform
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import SecretStr

from .. import __version__
from .._sync import run_sync
from ..agents import Agent, create_agent, get_role
from ..agents.prompt_builder import PROMPT_LAYOUT, template_hashes
from ..errors import BudgetExceeded, ConfigError, RunFailed
from ..llm.backend import Backend
from ..llm.gateway import ConcurrencyLimiter, Gateway
from ..llm.pricing import DEFAULT_MODEL, check_model, price_table
from ..llm.selection import BackendChoice, select_backend
from ..llm.types import Completion, LLMRequest
from ..records import (
    AgentContext,
    AgentSettings,
    CacheTtl,
    CallRecord,
    ProjectState,
    RunSummary,
    RunTotals,
    TaskDefinition,
)
from ..store.run_folder import RESPONSES, RunFolder, check_output_root
from .budget import Budget, BudgetTracker
from .checkpoint import load_project_state, save_checkpoint
from .estimate import estimate_run
from .events import Event, EventBus
from .gates import (
    WAITING,
    PendingGate,
    decision_stats,
    now_iso,
    pending_gate,
    record_decision,
    write_pending,
)
from .recorder import RunRecorder
from .result import RunResult
from .workflow import DEFAULT_WORKFLOW, Gate, Workflow

if TYPE_CHECKING:
    import anthropic

    from ..llm.retry import RetryConfig

_SHARED_LIMITERS: dict[int, ConcurrencyLimiter] = {}


def shared_limiter(max_concurrency: int) -> ConcurrencyLimiter:
    """The process-wide limiter for a given limit: runs in one process share it."""
    if max_concurrency not in _SHARED_LIMITERS:
        _SHARED_LIMITERS[max_concurrency] = ConcurrencyLimiter(max_concurrency)
    return _SHARED_LIMITERS[max_concurrency]


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
        backend: Backend | None = None,
        api_key: str | SecretStr | None = None,
        key_source: str | None = None,
        client: anthropic.AsyncAnthropic | None = None,
        base_url: str | None = None,
        replay_from: str | Path | None = None,
        record_to: str | Path | None = None,
        retry: RetryConfig | None = None,
        simulated_options: Mapping[str, Any] | None = None,
        backend_options: Mapping[str, Any] | None = None,
        limiter: ConcurrencyLimiter | None = None,
        allow_unknown_model: bool = False,
        cache_ttl: CacheTtl | None = "5m",
        shared_budget: BudgetTracker | None = None,
        gate_policy: str | None = None,
        on_budget: str = "fail",
        today: date | None = None,
        timeout: float | None = None,
        exact_budget: bool = False,
    ) -> None:
        """``today``: the date model retirements are checked against (default: ``date.today()``).
        ``timeout``: seconds per attempt of a real call (default ``DEFAULT_TIMEOUT_S``, 120).
        ``exact_budget``: count every prompt with the API's count_tokens before checking the budget
        (real mode; otherwise the local estimate, calibrated from billed usage as the run goes)."""
        if on_budget not in ("fail", "pause"):
            raise ConfigError(f"on_budget must be 'fail' or 'pause' (wait for a person), got {on_budget!r}")
        self.on_budget = on_budget
        if cache_ttl not in ("5m", "1h", None):
            raise ConfigError(f"cache_ttl must be '5m', '1h' or None (no prompt caching), got {cache_ttl!r}")
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
        if max_concurrency < 1:
            raise ConfigError(f"max_concurrency must be at least 1, got {max_concurrency}")
        self.max_concurrency = max_concurrency
        self.budget = Budget.of(budget_usd, budget_tokens)
        for m in {model, *(s.model for s in self.settings.values() if s.model)}:
            check_model(m, today=today, allow_unknown=allow_unknown_model)
        self.allow_unknown_model = allow_unknown_model
        self.output_dir = Path(output_dir)
        self.choice: BackendChoice = select_backend(
            mode,
            backend=backend,
            api_key=api_key,
            key_source=key_source,
            client=client,
            base_url=base_url,
            replay_from=replay_from,
            record_to=record_to,
            retry=retry,
            simulated_options=simulated_options,
            backend_options=backend_options,
            timeout=timeout,
        )
        self.timeout = timeout
        self.exact_budget = bool(exact_budget)
        if self.exact_budget and self.mode == "real" and self._token_counter() is None:
            raise ConfigError(
                "exact_budget needs a backend that can count tokens (the Anthropic backend's "
                "count_tokens); drop exact_budget to use the calibrated estimate"
            )
        self.replay_from = replay_from
        self.simulated_options = dict(simulated_options or {})
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

    def _token_counter(self) -> Any:
        """The backend's exact token counter (``count_tokens``), looking through wrappers; or None."""
        backend: Any = self.choice.backend
        while backend is not None:
            if callable(counter := getattr(backend, "count_tokens", None)):
                return counter
            backend = getattr(backend, "inner", None)
        return None

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
        s = self.settings.get(agent_id, AgentSettings())
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
        return {
            "schema": 1,
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "package_version": __version__,
            "python": platform.python_version(),
            "request": request,
            "project_name": project_name,
            "agents": list(self.workflow.steps),
            "workflow": self.workflow.to_dict(),
            "mode": self.mode,
            "model": self.model,
            "key_source": self.choice.key_source,
            "agent_settings": {a: s.model_dump() for a, s in self.settings.items()},
            "budget": self.budget.to_dict(),
            "max_concurrency": self.max_concurrency,
            "replay_from": None if self.replay_from is None else str(self.replay_from),
            "simulated_options": self.simulated_options,
            "allow_unknown_model": self.allow_unknown_model,
            "cache_ttl": self.cache_ttl,
            "on_budget": self.on_budget,
            "timeout_s": self.timeout,
            "exact_budget": self.exact_budget,
            "prompt_hashes": template_hashes(),
            "prompt_layout": PROMPT_LAYOUT,
            "price_table_version": price_table().version,
            "estimate": estimate_run(
                request,
                workflow=self.workflow,
                model=self.model,
                project_name=project_name,
                agent_settings=self.settings,
                cache_ttl=self.cache_ttl,
            ).to_dict(),
        }

    async def arun(
        self, request: str, *, project_name: str = "Untitled project", run_id: str | None = None
    ) -> RunResult:
        if not isinstance(request, str) or not request.strip():
            raise ConfigError(
                "the project request is empty; describe what the team should build, "
                "e.g. 'a CLI that converts CSV to JSON'"
            )
        check_output_root(self.output_dir)
        state = ProjectState(project_name=project_name, request=request)
        folder = RunFolder.create(self.output_dir, self.manifest(state.request, project_name), run_id)
        steps = dict.fromkeys(self.workflow.order(), "pending")
        return await self._execute(folder, state, steps, paid=[], spent=[])

    def run(self, request: str, **kw: Any) -> RunResult:
        return run_sync(self.arun(request, **kw))

    @classmethod
    def for_resume(cls, run_dir: str | Path, **overrides: Any) -> WorkflowEngine:
        """An engine configured from a run folder's manifest (secrets come from the environment)."""
        m = RunFolder.open(run_dir).manifest()
        if m.get("mode") == "replay" and "replay_from" not in overrides:
            overrides["replay_from"] = m.get("replay_from")
        budget = m.get("budget") or {}
        kw: dict[str, Any] = dict(
            mode=m.get("mode", "auto"),
            model=m.get("model", DEFAULT_MODEL),
            agents=m.get("agents"),
            workflow=m.get("workflow"),
            agent_settings=m.get("agent_settings"),
            budget_usd=budget.get("max_usd"),
            budget_tokens=budget.get("max_tokens"),
            max_concurrency=m.get("max_concurrency", 4),
            output_dir=Path(run_dir).parent,
            simulated_options=m.get("simulated_options"),
            allow_unknown_model=m.get("allow_unknown_model", False),
            cache_ttl=m.get("cache_ttl", "5m"),
            on_budget=m.get("on_budget", "fail"),
            timeout=m.get("timeout_s"),
            exact_budget=m.get("exact_budget", False),
        )
        kw.update(overrides)
        return cls(**kw)

    async def aresume(self, run_dir: str | Path) -> RunResult:
        folder = RunFolder.open(run_dir)
        manifest = folder.manifest()
        doc = folder.load_state() or {}
        if doc.get("status") == "completed":
            return RunResult.load(folder.path)
        layout = manifest.get("prompt_layout", 1)
        if layout != PROMPT_LAYOUT and (folder.path / RESPONSES).exists():
            raise ConfigError(
                f"cannot resume {str(folder.path)!r}: its calls were made with prompt layout {layout}, "
                f"this version builds layout {PROMPT_LAYOUT}, so none of its paid calls would be reused "
                "(they would be paid again). Resume it with the orchestrator_kit version that started it "
                f"({manifest.get('package_version', 'unknown')}), or start a new run."
            )
        if doc.get("status") in WAITING:
            gate = pending_gate(folder.path)
            what = (
                "more budget"
                if gate and gate.kind == "budget"
                else f"a decision at gate {gate.step if gate else '?'}"
            )
            raise ConfigError(
                f"run {folder.run_id} is waiting for {what}; decide first: orchestrator-kit decide "
                f"{folder.path} approve | revise --reason '...' | edit FILE | budget USD"
            )
        state = load_project_state(folder, doc, manifest)
        steps = {
            a: ("done" if doc.get("steps", {}).get(a) == "done" else "pending") for a in self.workflow.order()
        }
        return await self._execute(folder, state, steps, paid=folder.responses(), spent=folder.calls())

    def resume(self, run_dir: str | Path) -> RunResult:
        return run_sync(self.aresume(run_dir))

    # -- execution ---------------------------------------------------------------------------
    async def _execute(
        self,
        folder: RunFolder,
        state: ProjectState,
        steps: dict[str, str],
        *,
        paid: list[dict[str, Any]],
        spent: list[CallRecord],
    ) -> RunResult:
        self._active_runs += 1
        try:
            return await self._execute_run(folder, state, steps, paid=paid, spent=spent)
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
        paid: list[dict[str, Any]],
        spent: list[CallRecord],
    ) -> RunResult:
        tracker = BudgetTracker(self.budget, run_dir=str(folder.path), parent=self.shared_budget)
        for line in spent:  # a resumed run has already spent this
            tracker.add(line.cost_usd, line.total_tokens)
        recorder = RunRecorder(folder, self.events, tracker, self.mode, prior_lines=spent)
        run_id = folder.run_id

        def reuse_rejected(request: LLMRequest, completion: Completion, reason: str) -> None:
            self.events.emit(
                Event(
                    "reuse_rejected",
                    run_id,
                    request.labels.agent,
                    {"step": request.labels.step, "reason": reason, "request_id": completion.request_id},
                )
            )

        gateway = Gateway(
            self.choice.backend,
            observer=recorder,
            limiter=self.limiter,
            paid=paid,
            on_reuse_rejected=reuse_rejected,
            counter=(  # simulated and replay bill the local estimate / nothing: their estimate is exact
                self._token_counter() if self.exact_budget and not self.budget.unlimited else None
            ),
        )
        task = TaskDefinition(title=state.project_name, description=state.request)
        started = time.time()
        save_checkpoint(folder, "running", steps, state)
        self.events.emit(
            Event(
                "run_started",
                run_id,
                None,
                {"mode": self.mode, "model": self.model, "agents": list(steps), "run_dir": str(folder.path)},
            )
        )
        try:
            waiting = await self._schedule(folder, state, steps, task, gateway, run_id)
        except BudgetExceeded as exc:
            if self.on_budget != "pause":
                self._fail(folder, state, steps, started=started, exc=exc)
                raise
            over = {"spent_usd": str(exc.spent) if exc.spent is not None else None, "cap_usd": str(exc.cap)}
            budget_gate = PendingGate(
                kind="budget",
                step=None,
                policy="budget",
                round=state.design_round,
                max_rounds=None,
                send_back_to=None,
                asked_at=now_iso(),
                budget={**over, "message": str(exc)},
            )
            return self._pause(folder, state, steps, started=started, gate=budget_gate)
        except BaseException as exc:
            self._fail(folder, state, steps, started=started, exc=exc)
            raise
        if waiting is not None:
            return self._pause(folder, state, steps, started=started, gate=waiting)
        save_checkpoint(folder, "completed", steps, state)
        lines = folder.calls()
        summary = self._write_summary(folder, "completed", state, started, None, lines)
        self.events.emit(
            Event(
                "run_finished",
                run_id,
                None,
                {"run_dir": str(folder.path), "totals": summary.totals.to_json()},
            )
        )
        return RunResult(
            run_dir=folder.path,
            status="completed",
            mode=self.mode,
            model=self.model,
            project_state=state,
            summary=summary,
            calls=lines,
        )

    def _fail(
        self,
        folder: RunFolder,
        state: ProjectState,
        steps: dict[str, str],
        *,
        started: float,
        exc: BaseException,
    ) -> None:
        """Checkpoint a run that stops on ``exc`` (failed, over budget or interrupted) and say how to go on."""
        run_id = folder.run_id
        status = (
            "budget_exceeded"
            if isinstance(exc, BudgetExceeded)
            else "interrupted"
            if isinstance(exc, (KeyboardInterrupt, asyncio.CancelledError))
            else "failed"
        )
        err = {"type": type(exc).__name__, "message": str(exc)}
        steps = {a: ("pending" if s == "running" else s) for a, s in steps.items()}
        save_checkpoint(folder, status, steps, state, error=err)
        self._write_summary(folder, status, state, started, err)
        self.events.emit(
            Event("run_failed", run_id, None, {**err, "status": status, "run_dir": str(folder.path)})
        )
        if isinstance(exc, RunFailed) and exc.run_dir is None:
            exc.run_dir = str(folder.path)
        if isinstance(exc, Exception):
            exc.add_note(
                f"run folder: {folder.path} (status {status}); "
                f"continue with: orchestrator-kit resume {folder.path}"
            )

    def _pause(
        self, folder: RunFolder, state: ProjectState, steps: dict[str, str], started: float, gate: PendingGate
    ) -> RunResult:
        """Checkpoint a run that waits for a person, write what is asked, and return (the process may exit)."""
        status = "awaiting_budget" if gate.kind == "budget" else "awaiting_approval"
        steps = {a: ("pending" if s == "running" else s) for a, s in steps.items()}
        write_pending(folder, gate)
        save_checkpoint(folder, status, steps, state)
        lines = folder.calls()
        summary = self._write_summary(folder, status, state, started, None, lines)
        self.events.emit(
            Event(
                "run_waiting",
                folder.run_id,
                gate.step,
                {**gate.to_dict(), "status": status, "run_dir": str(folder.path)},
            )
        )
        return RunResult(
            run_dir=folder.path,
            status=status,
            mode=self.mode,
            model=self.model,
            project_state=state,
            summary=summary,
            calls=lines,
        )

    async def _schedule(
        self,
        folder: RunFolder,
        state: ProjectState,
        steps: dict[str, str],
        task: TaskDefinition,
        gateway: Gateway,
        run_id: str,
    ) -> PendingGate | None:
        """Run ready steps until all are done; returns the gate the run now waits at, if any."""
        running: dict[asyncio.Task[None], str] = {}
        failure: BaseException | None = None
        waiting: PendingGate | None = None
        try:
            while True:
                if failure is None and waiting is None:  # at a human gate: finish what runs, start nothing
                    for agent in self.workflow.order():
                        deps = self.workflow.steps[agent].after
                        if steps[agent] == "pending" and all(steps[d] == "done" for d in deps):
                            steps[agent] = "running"
                            coro = self._run_step(agent, folder, state, steps, task, gateway, run_id)
                            running[asyncio.create_task(coro)] = agent
                if not running:
                    break
                done, _ = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
                for t in done:
                    agent = running.pop(t)
                    exc = t.exception()
                    if exc is not None:
                        steps[agent] = "failed"
                        self.events.emit(
                            Event(
                                "agent_failed",
                                run_id,
                                agent,
                                {"type": type(exc).__name__, "message": str(exc)},
                            )
                        )
                        failure = failure or exc
                    else:
                        waiting = self._after_step(agent, state, steps, run_id) or waiting
                        save_checkpoint(folder, "running", steps, state)
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
        self.events.emit(Event("agent_started", run_id, agent_id, {"round": state.design_round}))
        plan = await agent.aplan(task, agent.role.phase, state, ctx)
        output = await agent.aact(plan, state, ctx)
        for art in output.artifacts:
            path = folder.write_artifact(agent_id, art.filename, art.content)
            self.events.emit(
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
        state.artifacts[agent_id] = output.artifacts
        if output.decision is not None:
            state.decisions[agent_id] = output.decision
        if output.score is not None:
            state.scores[agent_id] = output.score
        if agent_id not in state.completed_agents:
            state.completed_agents.append(agent_id)
        steps[agent_id] = "done"
        self.events.emit(
            Event(
                "agent_finished",
                run_id,
                agent_id,
                {
                    "artifacts": [a.filename for a in output.artifacts],
                    "truncated": output.truncated,
                    "decision": output.decision.model_dump() if output.decision else None,
                    "score": output.score.value if output.score else None,
                },
            )
        )

    def _after_step(
        self, agent_id: str, state: ProjectState, steps: dict[str, str], run_id: str
    ) -> PendingGate | None:
        """A gate after ``agent_id``: a human gate asks a person (returns what it asks); a model gate (the
        consensus agent) approves, or sends the design back (bounded rounds)."""
        gate = self.workflow.steps[agent_id].gate
        if gate is not None and gate.human:
            steps[agent_id] = "waiting"
            return self._ask(agent_id, gate, state)
        decision = state.decisions.get(agent_id)
        if gate is None or decision is None or decision.approved:
            return None
        if state.design_round >= gate.max_rounds:
            steps[agent_id] = "failed"  # not "done": a resume must meet the gate again, not slip past it
            raise RunFailed(
                f"{agent_id} did not approve the design after {state.design_round} round(s): "
                + "; ".join(decision.reasons),
                agent=agent_id,
            )
        state.design_round += 1
        state.feedback[gate.send_back_to] = list(decision.reasons)
        for a in self.workflow.between(gate.send_back_to, agent_id):
            steps[a] = "pending"
            if a in state.completed_agents:
                state.completed_agents.remove(a)
        self.events.emit(
            Event(
                "gate_rejected",
                run_id,
                agent_id,
                {"round": state.design_round, "reasons": decision.reasons, "send_back_to": gate.send_back_to},
            )
        )
        return None

    def _ask(self, agent_id: str, gate: Gate, state: ProjectState) -> PendingGate:
        role = get_role(agent_id)
        span = self.workflow.between(gate.send_back_to, agent_id) or [agent_id]
        reviewed = [a for a in span if not (a == agent_id and role.needs_decision)]
        proposal = state.decisions.get(agent_id) if gate.policy == "model+human" else None
        return PendingGate(
            kind="approval",
            step=agent_id,
            policy=gate.policy,
            round=state.design_round,
            max_rounds=gate.max_rounds,
            send_back_to=gate.send_back_to,
            asked_at=now_iso(),
            under_review=[f"{a}/{art.filename}" for a in reviewed for art in state.artifacts.get(a, [])],
            proposal=proposal.model_dump() if proposal is not None else None,
        )

    def _write_summary(
        self,
        folder: RunFolder,
        status: str,
        state: ProjectState,
        started: float,
        error: dict[str, Any] | None,
        lines: list[CallRecord] | None = None,
    ) -> RunSummary:
        lines = folder.calls() if lines is None else lines
        score = state.scores.get("reviewer")
        # artifacts cut off at max_tokens (even after a continuation), as agent/filename
        truncated = [
            f"{agent}/{a.filename}" for agent, arts in state.artifacts.items() for a in arts if a.truncated
        ]
        summary = RunSummary(
            run_id=folder.run_id,
            status=status,
            mode=self.mode,
            model=self.model,
            project_name=state.project_name,
            request=state.request,
            started_at=datetime.fromtimestamp(started, UTC).isoformat(timespec="seconds"),
            finished_at=datetime.now(UTC).isoformat(timespec="seconds"),
            duration_s=round(time.time() - started, 3),
            design_rounds=state.design_round,
            consensus_approved=(
                state.decisions["consensus"].approved if "consensus" in state.decisions else None
            ),
            review_score=score.value if score else None,
            artifacts=sum(len(v) for v in state.artifacts.values()),
            artifacts_truncated=len(truncated),
            truncated_artifacts=truncated,
            totals=RunTotals.of(lines),
            agents=RunTotals.per_agent(lines, self.workflow.order()),
            budget=self.budget.to_dict(),
            **decision_stats(folder.path),
            error=error,
            estimate_usd=(folder.manifest().get("estimate") or {}).get("total_expected"),
        )
        folder.write_summary(summary)
        return summary


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
    record_decision(
        run_dir, action, reasons=list(reasons), edits=dict(edits or {}), budget_usd=budget_usd, by=by
    )
    return resume(run_dir, **overrides) if resume_run else RunResult.load(run_dir)


__all__ = ["WorkflowEngine", "arun_workflow", "decide", "resume", "run_workflow", "shared_limiter"]
