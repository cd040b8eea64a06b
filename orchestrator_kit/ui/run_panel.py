"""The run panel: request, mode, model, budget; Run and Stop; per-agent progress; live spend.

How it runs: Run builds a ``WorkflowEngine`` (config errors show at once), subscribes to its events and
starts ``engine.arun(...)`` as a task on a fresh event loop in a background thread, so the kernel stays
free while the run goes on. Events arrive in that thread and update the widgets from there (ipywidgets
sends the changes to the frontend from any thread). Stop cancels the task: the engine checkpoints the
run as "interrupted" (resumable) and emits ``run_failed``.

Human gates: the gate dropdown (model | human | model+human) and the budget-pause box set the run's gate
policy and ``on_budget``. When the run stops at a gate, the panel's :class:`GatePanel` shows what is asked;
a decision there is recorded in the run folder and the run continues here, on the same worker-thread
machinery (``WorkflowEngine.for_resume(...).aresume``: no call is repaid).
"""

from __future__ import annotations

import asyncio
import html
import threading
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import ipywidgets as w

from ..engine.events import Event
from ..llm.pricing import DEFAULT_MODEL
from ..money import format_usd
from .agent_panel import AgentPanel, model_choices
from .gate_panel import GatePanel

MODES = ("simulated", "auto", "real")
GATES = ("model", "human", "model+human")
WAITING = ("awaiting_approval", "awaiting_budget")
_STYLE = {"pending": "", "running": "info", "done": "success", "failed": "danger", "interrupted": "warning"}


class AgentProgress(w.HBox):
    """One agent's bar (calls finished out of plan + act) and a line: state, calls, cost, artifacts."""

    def __init__(self, agent: str) -> None:
        self.agent = agent
        self.bar = w.IntProgress(
            value=0,
            min=0,
            max=2,
            description=agent,
            layout=w.Layout(width="360px"),
            style={"description_width": "110px"},
        )
        self.label = w.HTML()
        self.state, self.calls, self.cost, self.artifacts = "pending", 0, Decimal(0), 0
        super().__init__([self.bar, self.label])
        self._render()

    def _render(self) -> None:
        self.bar.bar_style = _STYLE.get(self.state, "")
        arts = f" · {self.artifacts} artifact{'s' if self.artifacts != 1 else ''}" if self.artifacts else ""
        self.label.value = html.escape(f"{self.state} · {self.calls} calls · {format_usd(self.cost)}{arts}")

    def update(self, event: Event) -> None:
        if event.type == "agent_started":
            self.state, self.bar.value = "running", 0
        elif event.type == "call_finished" and not event.data.get("reused"):
            self.calls += 1
            if event.data.get("cost_usd") is not None:
                self.cost += Decimal(event.data["cost_usd"])
            self.bar.value = min(
                self.bar.value + 1, self.bar.max - 1 if self.state == "running" else self.bar.max
            )
        elif event.type == "artifact_written":
            self.artifacts += 1
        elif event.type == "agent_finished":
            self.state, self.bar.value = "done", self.bar.max
        elif event.type == "agent_failed":
            self.state = "failed"
        self._render()

    def cut_off(self) -> None:
        """The run ended (stopped or failed elsewhere) while this agent was still running."""
        if self.state == "running":
            self.state = "interrupted"
            self._render()


class RunPanel(w.VBox):
    """``RunPanel(agent_panel, output_dir="runs", **engine_options)``; extra options go to WorkflowEngine
    (e.g. ``max_concurrency``, ``simulated_options``). ``on_started(fn)`` calls ``fn(panel)`` when a run starts,
    ``on_finished(fn)`` after it ended, before Run is enabled again."""

    def __init__(
        self,
        agent_panel: AgentPanel | None = None,
        *,
        output_dir: str | Path = "runs",
        request: str = "",
        **engine_options: Any,
    ) -> None:
        self.agent_panel = agent_panel
        self.extra_options = dict(engine_options)
        self.request = w.Textarea(
            value=request,
            placeholder="What should the team build?",
            description="request",
            rows=3,
            layout=w.Layout(width="720px"),
        )
        self.project_name = w.Text(value="Untitled project", description="project")
        self.mode = w.Dropdown(options=MODES, value="simulated", description="mode")
        models = model_choices()
        self.model = w.Dropdown(
            options=models, value=DEFAULT_MODEL if DEFAULT_MODEL in models else models[0], description="model"
        )
        self.budget = w.BoundedFloatText(
            value=0.0,
            min=0.0,
            max=100_000.0,
            step=0.1,
            description="budget $",
            tooltip="dollar cap for the run; 0 means no cap",
        )
        self.output_dir = w.Text(value=str(output_dir), description="output")
        self.gate = w.Dropdown(
            options=GATES,
            value="model",
            description="gate",
            tooltip="who decides at the design gate: the consensus agent, you, or it proposes and you confirm",
        )
        self.budget_pause = w.Checkbox(value=False, description="pause at budget (ask me)", indent=False)
        self.gate_panel = GatePanel(on_decided=lambda _action: self.continue_run())
        self.run_button = w.Button(description="Run", button_style="success", icon="play")
        self.stop_button = w.Button(description="Stop", button_style="danger", icon="stop", disabled=True)
        self.status = w.HTML()
        self.spend = w.HTML()
        self.spend_bar = w.FloatProgress(
            value=0.0, min=0.0, max=1.0, layout=w.Layout(width="320px", visibility="hidden")
        )
        self.progress_box = w.VBox()
        self.event_log = w.HTML()
        super().__init__(
            [
                self.request,
                w.HBox([self.project_name, self.mode, self.model]),
                w.HBox([self.budget, self.output_dir]),
                w.HBox([self.gate, self.budget_pause]),
                w.HBox([self.run_button, self.stop_button]),
                self.status,
                w.HBox([self.spend, self.spend_bar]),
                self.progress_box,
                self.gate_panel,
                self.event_log,
            ]
        )
        self.run_button.on_click(lambda _b: self.start())
        self.stop_button.on_click(lambda _b: self.stop())
        self.progress: dict[str, AgentProgress] = {}
        self.events: list[Event] = []
        # idle | running | completed | failed | interrupted | budget_exceeded | awaiting_approval | awaiting_budget
        self.state = "idle"
        self.result: Any = None
        self.error: BaseException | None = None
        self.run_dir: Path | None = None
        self._listeners: list[Callable[[RunPanel], None]] = []
        self._start_listeners: list[Callable[[RunPanel], None]] = []
        self._busy = False  # from Run until the finish listeners (the results) are done
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[Any] | None = None
        self._budget = Decimal(0)
        self._simulated = False
        self.log_lines: list[str] = []
        self.status_text = ""
        self._set_status("Ready.")

    # -- public ------------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        """True from Run until the run ended and its results are shown."""
        return self._busy or (self._thread is not None and self._thread.is_alive())

    def on_started(self, fn: Callable[[RunPanel], None]) -> None:
        self._start_listeners.append(fn)

    def on_finished(self, fn: Callable[[RunPanel], None]) -> None:
        self._listeners.append(fn)

    def engine_options(self) -> dict[str, Any]:
        opts: dict[str, Any] = dict(
            mode=self.mode.value,
            model=self.model.value,
            budget_usd=self.budget.value or None,
            output_dir=self.output_dir.value,
            on_budget="pause" if self.budget_pause.value else "fail",
        )
        if self.gate.value != "model":  # model: the workflow as it is (the default gate)
            opts["gate_policy"] = self.gate.value
        if self.agent_panel is not None:
            opts["agents"] = self.agent_panel.agents()
            opts["agent_settings"] = self.agent_panel.settings()
        return {**opts, **self.extra_options}

    def start(self) -> bool:
        """Start a run in a background thread; False (with the reason in the status line) if it cannot."""
        from ..engine.engine import WorkflowEngine
        from ..errors import OrchestratorError

        if self.running:
            self._set_status("A run is still going (or its results are being built): wait for it.", "warning")
            return False
        if not self.request.value.strip():
            self._set_status("Describe what the team should build in the request box first.", "warning")
            return False
        try:
            engine = WorkflowEngine(**self.engine_options())
        except (OrchestratorError, ValueError, TypeError) as exc:
            self._set_status(f"Cannot start: {exc}", "danger")
            return False
        engine.subscribe(self.on_event)
        self._busy = True
        self._prepare(engine)
        self._call(self._start_listeners)
        loop = asyncio.new_event_loop()
        self._loop = loop
        self._task = loop.create_task(engine.arun(self.request.value, project_name=self.project_name.value))
        self._thread = threading.Thread(
            target=self._work, args=(loop, self._task), daemon=True, name="orchestrator-ui-run"
        )
        self._thread.start()
        return True

    def continue_run(self) -> bool:
        """Resume the run in ``run_dir`` after a decision (the gate panel calls this), in this panel."""
        from ..engine.engine import WorkflowEngine
        from ..errors import OrchestratorError

        if self.running or self.run_dir is None:
            return False
        run_dir = self.run_dir
        try:
            engine = WorkflowEngine.for_resume(run_dir, **self.extra_options)
        except (OrchestratorError, ValueError, TypeError) as exc:
            self._set_status(f"Cannot continue: {exc}", "danger")
            return False
        engine.subscribe(self.on_event)
        self._busy = True
        self.state, self.result, self.error = "running", None, None
        self.run_button.disabled, self.stop_button.disabled = True, False
        self._set_status(f"Continuing the run in {run_dir} after your decision...", "info")
        loop = asyncio.new_event_loop()
        self._loop = loop
        self._task = loop.create_task(engine.aresume(run_dir))
        self._thread = threading.Thread(
            target=self._work, args=(loop, self._task), daemon=True, name="orchestrator-ui-run"
        )
        self._thread.start()
        return True

    def stop(self) -> bool:
        """Cancel the running run (it is checkpointed as interrupted). False when nothing runs."""
        loop, task = self._loop, self._task
        if not self.running or loop is None or task is None or loop.is_closed():
            return False
        self._set_status("Stopping...", "warning")
        loop.call_soon_threadsafe(task.cancel)
        return True

    def wait(self, timeout: float | None = None) -> str:
        """Block until the run ends (for scripts and tests); returns the final state."""
        if self._thread is not None:
            self._thread.join(timeout)
        return self.state

    # -- events (called in the engine's thread) ----------------------------------------------
    def on_event(self, event: Event) -> None:
        self.events.append(event)
        row = self.progress.get(event.agent or "")
        if row is not None:
            row.update(event)
        if event.type == "run_started":
            self.run_dir = Path(event.data["run_dir"])
            self._set_status(
                f"Running {len(self.progress)} agents in {event.data['mode']} mode with "
                f"{event.data['model']}; run folder {self.run_dir}",
                "info",
            )
        elif event.type == "call_finished" and "spent_usd" in event.data:
            self._show_spend(Decimal(event.data["spent_usd"]))
        elif event.type == "gate_rejected":
            self._log(
                f"{event.agent} sent the design back to {event.data['send_back_to']} "
                f"(round {event.data['round']}): {'; '.join(event.data.get('reasons', []))}"
            )
        elif event.type == "run_waiting":
            self._log(f"waiting: {event.data['status'].replace('_', ' ')}")
        elif event.type == "agent_failed":
            self._log(f"{event.agent} failed: {event.data['type']}: {event.data['message']}")
        elif event.type in ("agent_finished", "artifact_written"):
            what = event.data.get("filename") if event.type == "artifact_written" else "done"
            self._log(f"{event.agent}: {what}")

    # -- internals ---------------------------------------------------------------------------
    def _prepare(self, engine: Any) -> None:
        self.progress = {a: AgentProgress(a) for a in engine.workflow.order()}
        self.progress_box.children = tuple(self.progress.values())
        self.events, self.result, self.error, self.run_dir = [], None, None, None
        self.gate_panel.hide()
        self.log_lines, self.event_log.value = [], ""
        self._budget = engine.budget.max_usd or Decimal(0)
        self._simulated = engine.mode == "simulated"
        self.spend_bar.layout.visibility = "visible" if self._budget else "hidden"
        self._show_spend(Decimal(0))
        self.state = "running"
        self.run_button.disabled, self.stop_button.disabled = True, False
        self._set_status(f"Starting {len(self.progress)} agents in {engine.mode} mode...", "info")

    def _work(self, loop: asyncio.AbstractEventLoop, task: asyncio.Task[Any]) -> None:
        try:
            self.result = loop.run_until_complete(task)
            self.state = getattr(self.result, "status", "completed")
        except asyncio.CancelledError:
            self.state = "interrupted"
        except BaseException as exc:  # noqa: BLE001 - shown in the panel; the run folder is checkpointed by the engine
            self.error = exc
            failed = next((e for e in reversed(self.events) if e.type == "run_failed"), None)
            self.state = failed.data.get("status", "failed") if failed else "failed"
        finally:
            loop.close()
            self._finish()

    def _finish(self) -> None:
        self.stop_button.disabled = True
        for row in self.progress.values():
            row.cut_off()
        self._set_status("Run ended: building the results...", "info")
        self._call(self._listeners)  # Run stays disabled until the results are shown
        where = f" Run folder: {self.run_dir}" if self.run_dir else ""
        if self.state == "completed":
            self._set_status(f"Completed.{where}", "success")
        elif self.state in WAITING and self.run_dir is not None:
            from ..engine.gates import pending_gate

            gate = pending_gate(self.run_dir)
            what = "more budget" if self.state == "awaiting_budget" else "your decision at the gate"
            self._set_status(f"Waiting for {what} (below).{where}", "warning")
            if gate is not None:
                self.gate_panel.show(self.run_dir, gate)
        elif self.state == "interrupted":
            self._set_status(
                f"Stopped: the run is checkpointed as interrupted; resume it with "
                f"orchestrator-kit resume {self.run_dir}.",
                "warning",
            )
        else:
            err = f"{type(self.error).__name__}: {self.error}" if self.error else self.state
            self._set_status(f"{self.state.replace('_', ' ').capitalize()}: {err}", "danger")
        self._busy = False
        self.run_button.disabled = False

    def _call(self, listeners: list[Callable[[RunPanel], None]]) -> None:
        for fn in list(listeners):
            try:
                fn(self)
            except Exception as exc:  # noqa: BLE001 - a broken listener must not hide the run's outcome
                self._log(f"listener {getattr(fn, '__name__', fn)} failed: {type(exc).__name__}: {exc}")

    def _show_spend(self, spent: Decimal) -> None:
        cap = f" of {format_usd(self._budget)} budget" if self._budget else " (no budget cap)"
        note = " · simulated: would-be cost, nothing billed" if self._simulated else ""
        self.spend.value = html.escape(f"Spent {format_usd(spent)}{cap}{note}")
        if self._budget:
            self.spend_bar.value = float(min(spent / self._budget, Decimal(1)))
            self.spend_bar.bar_style = "danger" if spent / self._budget > Decimal("0.8") else "info"

    def _set_status(self, text: str, style: str = "") -> None:
        self.status_text = text
        color = {"success": "#2e7d32", "danger": "#c62828", "warning": "#ef6c00", "info": "#1565c0"}.get(
            style, ""
        )
        self.status.value = (
            f'<span style="color:{color}">{html.escape(text)}</span>' if color else html.escape(text)
        )

    def _log(self, line: str) -> None:
        self.log_lines = [*self.log_lines[-11:], line]
        self.event_log.value = "<br>".join(html.escape(x) for x in self.log_lines)


__all__ = ["AgentProgress", "RunPanel"]
