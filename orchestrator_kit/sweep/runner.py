"""The sweep's runner: every unfinished cell's workflow at once, in one asyncio process.

One shared backend, one ConcurrencyLimiter and one whole-sweep BudgetTracker serve every cell's
``WorkflowEngine`` (one asyncio task per cell): a failed cell is recorded and the others go on.
As each cell completes, its code is evaluated (``evaluate``: sandboxed, ``evaluation.json``) and then its
workflow notebook rendered, both on an executor (local processes or Dask). Each run's manifest records
its sweep (``manifest["sweep"]``: id, name, cell, params, setting label) for the report.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from concurrent.futures import Executor
from decimal import Decimal
from pathlib import Path
from typing import Any

from ..engine.budget import Budget, BudgetTracker, _worst_cost
from ..engine.engine import WorkflowEngine
from ..engine.gates import WAITING
from ..errors import BudgetExceeded, ConfigError, NotARunError
from ..llm.gateway import ConcurrencyLimiter
from ..llm.selection import BackendChoice
from ..llm.tokens import estimate_tokens
from ..money import format_usd
from ..store.run_folder import RunFolder, redact
from .backend import SharedBackend
from .folder import FINISHED, SAVE_EVERY_S, SweepFolder
from .grid import Cell, setting_label
from .progress import SweepEvent, SweepProgress, SweepSubscriber
from .render import render_job, render_notebook


def _engine_for(
    cell: Cell,
    folder: SweepFolder,
    backend: Any,
    limiter: Any,
    tracker: Any,
    *,
    gates: dict[str, Any] | None = None,
) -> WorkflowEngine:
    p = cell.parameters
    g = gates or {}
    return WorkflowEngine(
        model=p["model"],
        agents=p["agents"],
        agent_settings=p["agent_settings"],
        budget_usd=p["budget_usd"] or None,
        budget_tokens=p["budget_tokens"] or None,
        max_concurrency=p["max_concurrency"],
        max_rounds=p["max_rounds"],
        output_dir=folder.runs_dir,
        simulated_options=p["simulated_options"] or None,
        allow_unknown_model=p["allow_unknown_model"],
        backend=backend,
        limiter=limiter,
        shared_budget=tracker,
        gate_policy=g.get("gate"),
        on_budget=g.get("on_budget") or "fail",
    )


def first_call_worst_case(engine: WorkflowEngine, cell: Cell) -> Decimal | None:
    """The worst case of a cell's first call (its first agent's plan), as the budget check sees it."""
    from ..agents.prompt_builder import PromptBuilder
    from ..agents.roles import get_role
    from ..llm.types import RequestLabels

    agent = engine.workflow.order()[0]
    role = get_role(agent)
    s = engine.settings.get(agent)
    request = PromptBuilder(role, cache_ttl=engine.cache_ttl).build(
        "plan",
        model=(s.model if s and s.model else engine.model),
        max_tokens=(s.max_tokens if s and s.max_tokens else role.default_max_tokens),
        labels=RequestLabels(agent=agent, step="plan"),
        project_name=cell.project_name,
        request=cell.request,
        inputs=[],
        extra_instructions=s.extra_instructions if s else "",
    )
    batch = bool(getattr(engine.choice.backend, "billed_as_batch", False))
    return _worst_cost(request, estimate_tokens(request.prompt_text()), batch=batch)


class SweepDriver:
    """Runs the unfinished cells of a sweep folder. Built by ``run_sweep`` / ``resume_sweep``."""

    def __init__(
        self,
        folder: SweepFolder,
        cells: list[Cell],
        choice: BackendChoice,
        *,
        budget_usd: Decimal | None,
        max_concurrency: int,
        executor: Executor | None,
        subscribers: Iterable[SweepSubscriber] = (),
        gates: dict[str, Any] | None = None,
        render: bool = True,
        evaluate: bool = False,
        allow_model_code: bool = False,
    ) -> None:
        self.folder = folder
        self.render = render
        self.evaluate = evaluate
        self.allow_model_code = allow_model_code
        self.cells = {c.cell_id: c for c in cells}
        self.choice = choice
        self.backend = SharedBackend(choice.backend)
        # Message Batches queue calls rather than hold HTTP requests open: a limit on calls in flight would
        # only keep cells from joining the next batch (it flushes when every running cell waits).
        queues = getattr(choice.backend, "queues_calls", False)
        self.limiter = ConcurrencyLimiter(len(cells) * 8 + 8 if queues else max_concurrency)
        self.tracker = BudgetTracker(
            Budget.of(budget_usd),
            run_dir=str(folder.path),
            batch=bool(getattr(choice.backend, "billed_as_batch", False)),
        )
        self.executor = executor
        self.subscribers = list(subscribers)
        self.engines = {
            cid: _engine_for(c, folder, self.backend, self.limiter, self.tracker, gates=gates)
            for cid, c in self.cells.items()
        }
        self.running = 0
        self.calls = 0
        self._renders: list[asyncio.Future[Any]] = []  # renders and evaluations in flight
        self._renders_total = 0
        self._renders_done = 0

    # -- checks before any call -----------------------------------------------------------------
    def preflight(self) -> None:
        """A whole-sweep budget below some cell's first call can never be met: say so now."""
        cap = self.tracker.budget.max_usd
        if cap is None:
            return
        for cid, cell in self.cells.items():
            worst = first_call_worst_case(self.engines[cid], cell)
            if worst is None:
                raise ConfigError(
                    f"cell {cid}: a dollar budget needs known prices, and {cell.model!r} has none"
                )
            if worst > cap:
                raise ConfigError(
                    f"the sweep's budget_usd {format_usd(cap)} is below the worst case of cell {cid}'s "
                    f"first call ({format_usd(worst)}: its input plus max_tokens of output); raise "
                    "budget_usd or lower max_tokens (agent_settings)"
                )

    # -- progress -------------------------------------------------------------------------------
    def progress(self) -> SweepProgress:
        recs = self.folder.cells.values()
        return SweepProgress(
            cells_total=len(self.folder.cells),
            cells_done=sum(r.status == FINISHED for r in recs),
            cells_failed=sum(r.status in ("failed", "budget_exceeded", "interrupted") for r in recs),
            cells_waiting=sum(r.status in WAITING for r in recs),
            cells_running=self.running,
            calls=self.calls,
            spent_usd=self.tracker.spent_usd,
            budget_usd=self.tracker.budget.max_usd,
            renders_total=self._renders_total,
            renders_done=self._renders_done,
        )

    def emit(self, type_: str, cell_id: str | None = None, **data: Any) -> None:
        event = SweepEvent(type_, cell_id, self.progress(), data)
        for fn in self.subscribers:
            try:
                fn(event)
            except Exception:  # a broken progress bar must not fail a paid sweep
                import logging

                logging.getLogger(__name__).exception("sweep subscriber %r failed", fn)

    def _on_engine_event(self, cell_id: str, event: Any) -> None:
        if event.type == "call_finished" and not event.data.get("reused"):
            self.calls += 1
            self.emit("call_finished", cell_id)

    # -- running --------------------------------------------------------------------------------
    async def arun(self) -> None:
        for rec in self.folder.cells.values():  # spend of cells finished in an earlier session
            if rec.status == FINISHED and rec.cost_usd:
                self.tracker.spent_usd += Decimal(rec.cost_usd)
        todo = [
            cid
            for cid in self.cells
            if self.folder.cells[cid].status != FINISHED and not _still_waiting(self.folder.run_dir(cid))
        ]
        self.emit("sweep_started", data={"cells": len(todo)})
        try:
            for cid in self.cells:
                if self.folder.cells[cid].status == FINISHED:
                    self._tag(cid)  # run folders of sweeps made before the tag existed
                    self._after(cid, resumed=True)
            tasks = [asyncio.create_task(self._run_cell(cid), name=cid) for cid in todo]
            flusher = asyncio.create_task(self._flush_every(SAVE_EVERY_S))
            try:
                await asyncio.gather(*tasks)
            except BaseException:
                for t in tasks:
                    t.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
                raise
            finally:
                flusher.cancel()
            while self._renders:  # each outcome is recorded by its callback (which may start a render)
                pending, self._renders = self._renders, []
                await asyncio.gather(*pending, return_exceptions=True)
        finally:
            await self.backend.aclose_inner()
            self.folder.flush()
            self.folder.write_summary()
            self.emit("sweep_finished")

    async def _flush_every(self, seconds: float) -> None:
        while True:
            await asyncio.sleep(seconds)
            self.folder.flush()

    async def _run_cell(self, cell_id: str) -> None:
        engine = self.engines[cell_id]
        cell = self.cells[cell_id]
        rec = self.folder.cells[cell_id]
        run_dir = self.folder.run_dir(cell_id)
        engine.subscribe(lambda e: self._on_engine_event(cell_id, e), types=("call_finished",))
        self.running += 1
        self.folder.update(cell_id, status="running", error_type="", error_message="")
        self.emit("cell_started", cell_id)
        status, err_type, err_msg = FINISHED, "", ""
        try:
            if (run_dir / "manifest.json").is_file():
                result = await engine.aresume(run_dir)
            else:
                result = await engine.arun(cell.request, project_name=cell.project_name, run_id=rec.run_id)
            if result.status != FINISHED:  # waiting at a human gate (or for more budget)
                status = result.status
        except asyncio.CancelledError:
            status, err_type, err_msg = "interrupted", "Interrupted", "the sweep stopped while this cell ran"
            raise
        except BudgetExceeded as exc:
            status, err_type, err_msg = "budget_exceeded", type(exc).__name__, str(exc)
        except Exception as exc:  # noqa: BLE001 - recorded for this cell; the others go on
            status, err_type, err_msg = "failed", type(exc).__name__, str(exc)
        finally:
            self.running -= 1
            self._tag(cell_id)
            self.folder.update(
                cell_id, status=status, error_type=err_type, error_message=redact(err_msg), **_totals(run_dir)
            )
            self.emit("cell_finished", cell_id, status=status)
        if status == FINISHED:
            self._after(cell_id)

    def _tag(self, cell_id: str) -> None:
        """Record the sweep in the run's manifest (what ``load_runs`` reads as ``sweep`` and ``setting``)."""
        run_dir = self.folder.run_dir(cell_id)
        if not (run_dir / "manifest.json").is_file():
            return
        folder = RunFolder.open(run_dir)
        if "sweep" in folder.manifest():
            return
        cell = self.cells[cell_id]
        folder.update_manifest(
            sweep={
                "id": self.folder.sweep_id,
                "name": self.folder.path.name,
                "cell": cell_id,
                "params": cell.settings,
                "setting": setting_label(cell.settings),
                "repeat": cell.repeat,
            }
        )

    def _after(self, cell_id: str, *, resumed: bool = False) -> None:
        """A completed cell: evaluate it, then render it (so its notebook shows the evaluation)."""
        if self.executor is None:
            return
        rec = self.folder.cells[cell_id]
        if self.evaluate and rec.evaluation != "evaluated":
            self._evaluate(cell_id)
        elif self.render and not (resumed and rec.render == "rendered"):
            self._render(cell_id)

    def _evaluate(self, cell_id: str) -> None:
        from ..evaluate.checks import evaluate_path

        assert self.executor is not None
        run_dir = str(self.folder.run_dir(cell_id))
        options = {"allow_model_code": self.allow_model_code}
        fut = asyncio.wrap_future(self.executor.submit(evaluate_path, run_dir, options))

        def done(f: asyncio.Future[Any]) -> None:
            if f.cancelled():
                return
            exc = f.exception()
            out: dict[str, Any] = f.result() if exc is None else {"error": f"{type(exc).__name__}: {exc}"}
            ev = out.get("evaluation")
            if ev is None:
                self.folder.update(cell_id, evaluation="failed", evaluation_error=out["error"])
            else:
                self.folder.update(
                    cell_id,
                    evaluation="evaluated",
                    evaluation_error="; ".join(ev["stopped"]),
                    imports_ok=ev["imports_ok"],
                    tests_passed=ev["tests_passed"],
                    tests_collected=ev["tests_collected"],
                    completeness=ev["completeness"],
                )
            self.emit("evaluation_finished", cell_id, status=self.folder.cells[cell_id].evaluation)
            if self.render:
                self._render(cell_id)

        fut.add_done_callback(done)
        self._renders.append(fut)

    def _render(self, cell_id: str) -> None:
        assert self.executor is not None
        notebook = self.folder.notebooks_dir / f"{cell_id}.ipynb"
        # the notebook shows the sweep's evaluation (made before the render), or none: it never evaluates again
        params = {**self.cells[cell_id].parameters, "evaluate": "auto" if self.evaluate else "no"}
        self._renders_total += 1
        more = self._renders_total < len(self.cells)  # other cells may still be rendered after this one
        job = render_job(params, self.folder.run_dir(cell_id), notebook, spare_kernel=more)
        fut = asyncio.wrap_future(self.executor.submit(render_notebook, job))

        def done(f: asyncio.Future[Any]) -> None:
            if f.cancelled():
                return
            exc = f.exception()
            out = f.result() if exc is None else {"status": "failed", "error": f"{type(exc).__name__}: {exc}"}
            self._renders_done += 1
            self.folder.update(
                cell_id, render=out["status"], render_error=out["error"], notebook=str(notebook)
            )
            self.emit("render_finished", cell_id, status=out["status"])

        fut.add_done_callback(done)
        self._renders.append(fut)


def _still_waiting(run_dir: Path) -> bool:
    """True while the cell's run waits for a decision nobody made yet (resume leaves it waiting)."""
    try:
        return (RunFolder.open(run_dir).load_state() or {}).get("status") in WAITING
    except (ConfigError, OSError, ValueError):  # no run folder yet
        return False


def _totals(run_dir: Path) -> dict[str, Any]:
    try:
        summary = RunFolder.open(run_dir).summary()
    except NotARunError:  # no run folder yet (failed before it was made)
        return {}
    if summary is None:
        return {}
    t = summary.totals
    return {
        "cost_usd": "" if t.cost_usd is None else str(t.cost_usd),
        "cost_basis": t.cost_basis,
        "total_tokens": t.total_tokens,
        "review_score": summary.review_score,
        "calls": t.calls,
    }


__all__ = ["SweepDriver", "first_call_worst_case"]
