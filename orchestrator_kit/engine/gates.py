"""Gates: a model gate that sends the design back, a run that pauses durably for a person's decision, and the
decision that lets it go on.

After a step with a gate, :func:`after_step` decides: a model gate (the consensus agent's decision) approves or
sends the design back to an earlier step (bounded rounds); a human gate asks a person.

At a gate with policy ``human`` or ``model+human`` (and, with ``on_budget="pause"``, when the next call would
pass the budget) the engine checkpoints the run as ``awaiting_approval`` (``awaiting_budget``), writes what is
asked to ``gate.json`` and returns; the process may exit. Later (minutes or days), :func:`record_decision`
checks the decision, applies it to the saved state and appends it to ``decisions.jsonl`` (who, when, what,
the diff of an edit); resuming the run then continues without repaying any call.

Decisions: ``approve``; ``revise`` with reasons (back to the gate's ``send_back_to`` step, counted against
``max_rounds``); ``edit`` (the person's text replaces an artifact under review, then the gate passes);
``budget`` (a new, larger dollar cap for a run awaiting budget).
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from ..agents.roles import get_role
from ..errors import BudgetExceeded, ConfigError, RunFailed
from ..records import Decision, ProjectState
from ..store.run_folder import RunFolder, read_jsonl, write_json_atomic
from .checkpoint import load_project_state, save_checkpoint
from .events import Event, EventBus

if TYPE_CHECKING:
    from .workflow import Gate, Workflow

__all__ = [
    "ACTIONS",
    "DECISIONS",
    "GATE",
    "WAITING",
    "GateDecision",
    "PendingGate",
    "after_step",
    "budget_gate",
    "decision_stats",
    "pending_gate",
    "record_decision",
    "refuse_if_waiting",
]

GATE = "gate.json"  # what a waiting run asks
DECISIONS = "decisions.jsonl"  # every decision made, in order
WAITING = ("awaiting_approval", "awaiting_budget")
Action = Literal["approve", "revise", "edit", "budget"]
ACTIONS: tuple[str, ...] = ("approve", "revise", "edit", "budget")


@dataclass(frozen=True)
class PendingGate:
    """What a paused run asks of a person."""

    kind: Literal["approval", "budget"]
    step: str | None
    policy: str
    round: int
    max_rounds: int | None
    send_back_to: str | None
    asked_at: str
    under_review: list[str] = field(default_factory=list)  # artifact paths, relative to artifacts/
    proposal: dict[str, Any] | None = None  # the model's decision (model+human), if any
    budget: dict[str, Any] | None = None  # spent / cap / needed, for a budget pause

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> PendingGate:
        return cls(**{k: d.get(k) for k in cls.__dataclass_fields__ if k in d})  # type: ignore[arg-type]


@dataclass(frozen=True)
class GateDecision:
    """One decision as recorded in ``decisions.jsonl``."""

    action: str
    by: str
    at: str
    step: str | None
    round: int
    asked_at: str
    waited_s: float
    reasons: list[str] = field(default_factory=list)
    edits: dict[str, str] = field(default_factory=dict)  # artifact path -> unified diff
    budget_usd: str | None = None


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def pending_gate(run_dir: str | Path) -> PendingGate | None:
    """What the run at ``run_dir`` waits for, or None when it waits for nothing."""
    folder = RunFolder.open(run_dir)
    doc = folder.load_state() or {}
    path = folder.path / GATE
    if doc.get("status") not in WAITING or not path.is_file():
        return None
    return PendingGate.from_dict(json.loads(path.read_text(encoding="utf-8")))


def write_pending(folder: RunFolder, gate: PendingGate) -> None:
    write_json_atomic(folder.path / GATE, gate.to_dict())


def after_step(
    workflow: Workflow,
    agent_id: str,
    state: ProjectState,
    steps: dict[str, str],
    *,
    events: EventBus,
    run_id: str,
) -> PendingGate | None:
    """A gate after ``agent_id``: a human gate asks a person (returns what it asks); a model gate (the
    consensus agent) approves, or sends the design back (bounded rounds)."""
    gate = workflow.steps[agent_id].gate
    if gate is not None and gate.human:
        steps[agent_id] = "waiting"
        return _ask(workflow, agent_id, gate, state)
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
    for a in workflow.between(gate.send_back_to, agent_id):
        steps[a] = "pending"
        if a in state.completed_agents:
            state.completed_agents.remove(a)
    events.emit(
        Event(
            "gate_rejected",
            run_id,
            agent_id,
            {"round": state.design_round, "reasons": decision.reasons, "send_back_to": gate.send_back_to},
        )
    )
    return None


def _ask(workflow: Workflow, agent_id: str, gate: Gate, state: ProjectState) -> PendingGate:
    """What a human gate after ``agent_id`` asks: the artifacts under review and the model's proposal."""
    role = get_role(agent_id)
    span = workflow.between(gate.send_back_to, agent_id) or [agent_id]
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


def budget_gate(exc: BudgetExceeded, state: ProjectState) -> PendingGate:
    """What a run that would pass its budget asks (``on_budget="pause"``): a larger cap."""
    over = {"spent_usd": str(exc.spent) if exc.spent is not None else None, "cap_usd": str(exc.cap)}
    return PendingGate(
        kind="budget",
        step=None,
        policy="budget",
        round=state.design_round,
        max_rounds=None,
        send_back_to=None,
        asked_at=now_iso(),
        budget={**over, "message": str(exc)},
    )


def refuse_if_waiting(folder: RunFolder, doc: dict[str, Any]) -> None:
    """A run waiting for a decision does not resume: raise ConfigError saying what to decide."""
    if doc.get("status") not in WAITING:
        return
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


def decision_stats(run_dir: str | Path) -> dict[str, Any]:
    """Human decisions of a run and the time it spent waiting for them (for tables and reports)."""
    lines = read_jsonl(Path(run_dir) / DECISIONS)
    return {
        "human_decisions": len(lines),
        "human_revisions": sum(1 for d in lines if d.get("action") == "revise"),
        "human_edits": sum(1 for d in lines if d.get("action") == "edit"),
        "waiting_s": round(sum(float(d.get("waited_s") or 0) for d in lines), 3),
    }


def record_decision(
    run_dir: str | Path,
    action: str,
    *,
    reasons: list[str] | None = None,
    edits: dict[str, str] | None = None,
    budget_usd: Any = None,
    by: str = "user",
) -> GateDecision:
    """Check ``action`` against what the run waits for, apply it to the saved state and record it.

    Raises ConfigError (and changes nothing) when the run is not waiting, the action does not fit the gate,
    ``revise`` has no reason or no round left, an edit names no artifact under review or is empty, or a
    budget is not larger than what was spent."""
    folder = RunFolder.open(run_dir)
    doc = folder.load_state() or {}
    status = doc.get("status")
    gate = pending_gate(folder.path)
    if gate is None:
        raise ConfigError(
            f"run {folder.run_id} is not waiting for a decision (status {status!r}); "
            "only runs awaiting approval or budget take one (see: orchestrator-kit runs)"
            + (
                "; it was decided: continue it with orchestrator-kit resume RUN_DIR"
                if status == "decided"
                else ""
            )
        )
    if action not in ACTIONS:
        raise ConfigError(f"unknown decision {action!r}; choose one of: {', '.join(ACTIONS)}")
    reasons = [r.strip() for r in (reasons or []) if r and r.strip()]
    if gate.kind == "budget" and action != "budget":
        raise ConfigError(
            f"run {folder.run_id} waits for more budget, not an approval: "
            f"orchestrator-kit decide {folder.path} budget USD"
        )
    if gate.kind == "approval" and action == "budget":
        raise ConfigError(f"run {folder.run_id} waits at gate {gate.step!r}: approve, revise or edit")
    manifest = folder.manifest()
    state = load_project_state(folder, doc, manifest)
    steps = dict(doc.get("steps") or {})
    diffs: dict[str, str] = {}
    new_budget: str | None = None
    if action == "revise":
        if not reasons:
            raise ConfigError("a revise decision needs at least one reason (--reason '...')")
        if gate.max_rounds is not None and state.design_round >= gate.max_rounds:
            raise ConfigError(
                f"no design rounds left ({state.design_round} of {gate.max_rounds}); approve or edit instead, "
                "or resume with a larger --max-rounds"
            )
    if action == "edit":
        diffs = _apply_edits(folder, state, gate, edits or {})
    if action == "budget":
        new_budget = _check_budget(budget_usd, gate)
    decided_at = now_iso()
    waited = (datetime.fromisoformat(decided_at) - datetime.fromisoformat(gate.asked_at)).total_seconds()
    record = GateDecision(
        action=action,
        by=by,
        at=decided_at,
        step=gate.step,
        round=gate.round,
        asked_at=gate.asked_at,
        waited_s=round(max(waited, 0.0), 3),
        reasons=reasons,
        edits=diffs,
        budget_usd=new_budget,
    )
    # apply: the state a resume will continue from
    if gate.kind == "approval" and gate.step is not None:
        if action in ("approve", "edit"):
            note = f"{action}d by {by}" if action == "approve" else f"edited and approved by {by}"
            state.decisions[gate.step] = Decision(approved=True, reasons=reasons or [note])
            steps[gate.step] = "done"
            if gate.step not in state.completed_agents:
                state.completed_agents.append(gate.step)
        else:  # revise
            state.decisions[gate.step] = Decision(approved=False, reasons=reasons)
            state.design_round += 1
            target = gate.send_back_to or gate.step
            state.feedback[target] = list(reasons)
            for a in _between(manifest, target, gate.step):
                steps[a] = "pending"
                if a in state.completed_agents:
                    state.completed_agents.remove(a)
    if new_budget is not None:
        budget = dict(manifest.get("budget") or {})
        budget["max_usd"] = new_budget
        folder.update_manifest(budget=budget)
    if diffs:
        edits_log = [
            *manifest.get("human_edits", []),
            *({"by": by, "at": decided_at, "artifact": p} for p in diffs),
        ]
        folder.update_manifest(human_edits=edits_log)
    with (folder.path / DECISIONS).open("a", encoding="utf-8") as f:
        f.write(json.dumps(record.__dict__, ensure_ascii=False) + "\n")
    save_checkpoint(folder, "decided", steps, state)
    (folder.path / GATE).unlink(missing_ok=True)
    return record


def _between(manifest: dict[str, Any], start: str, end: str) -> list[str]:
    from .workflow import Workflow

    wf = Workflow.from_dict(manifest.get("workflow") or {})
    return wf.between(start, end) or [end]


def _apply_edits(folder: RunFolder, state: Any, gate: PendingGate, edits: dict[str, str]) -> dict[str, str]:
    if not edits:
        raise ConfigError(
            "an edit decision needs the edited artifact (orchestrator-kit decide RUN edit FILE)"
        )
    diffs: dict[str, str] = {}
    for rel, text in edits.items():
        if rel not in gate.under_review:
            raise ConfigError(
                f"{rel!r} is not under review at this gate; edit one of: {', '.join(gate.under_review) or 'none'}"
            )
        if not text.strip():
            raise ConfigError(f"the edited {rel!r} is empty; an edit replaces the artifact with your text")
        agent, filename = rel.split("/", 1)
        old = folder.artifact_path(agent, filename).read_text(encoding="utf-8")
        diffs[rel] = "".join(
            difflib.unified_diff(
                old.splitlines(keepends=True), text.splitlines(keepends=True), f"a/{rel}", f"b/{rel}"
            )
        )
    for rel, text in edits.items():  # only once every edit checked out
        agent, filename = rel.split("/", 1)
        folder.write_artifact(agent, filename, text)
        for art in state.artifacts.get(agent, []):
            if art.filename == filename:
                art.content = text
                art.truncated = False
    return diffs


def _check_budget(value: Any, gate: PendingGate) -> str:
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise ConfigError(
            f"a budget decision needs an amount in dollars, e.g. 2.50 (got {value!r})"
        ) from None
    spent = Decimal(str((gate.budget or {}).get("spent_usd") or 0))
    if not amount.is_finite() or amount <= spent:
        raise ConfigError(f"the new budget must be more than the ${spent} already spent (got {value!r})")
    return str(amount)
