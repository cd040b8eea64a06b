"""Commands of one run: ``run``, ``estimate``, ``resume`` (a run; a sweep folder goes to ``sweeps``),
``decide`` at a gate, and ``runs`` (list run folders)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from ..errors import ConfigError
from .options import timeout_option
from .registry import command, given
from .sweeps import resume_sweep, sweep_options


def _agents(value: str) -> list[str]:
    return [a.strip() for a in value.split(",") if a.strip()]


# flags that are passed on only when given: flag -> WorkflowEngine option
_RUN_FLAGS = {
    "timeout": "timeout",
    "agents": "agents",
    "max_rounds": "max_rounds",
    "replay_from": "replay_from",
    "gate": "gate_policy",
    "on_budget": "on_budget",
    "record_to": "record_to",
}
_RESUME_FLAGS = {
    "timeout": "timeout",
    "budget": "budget_usd",
    "budget_tokens": "budget_tokens",
    "max_rounds": "max_rounds",
}


def _engine_options(a: argparse.Namespace) -> dict[str, Any]:
    opts: dict[str, Any] = {
        "mode": a.mode,
        "model": a.model,
        "budget_usd": a.budget,
        "budget_tokens": a.budget_tokens,
        "max_concurrency": a.max_concurrency,
        "output_dir": a.output,
        "allow_unknown_model": a.allow_unknown_model,
        "exact_budget": a.exact_budget,
    }
    return opts | given(a, _RUN_FLAGS)


def _print_progress(event: Any) -> None:
    if event.type == "agent_finished":
        print(f"  done  {event.agent:<14} {', '.join(event.data.get('artifacts', []))}", file=sys.stderr)
    elif event.type == "gate_rejected":
        print(f"  gate  {event.agent} sent the design back (round {event.data['round']})", file=sys.stderr)
    elif event.type == "agent_failed":
        print(f"  fail  {event.agent:<14} {event.data['type']}", file=sys.stderr)
    elif event.type == "reuse_rejected":
        print(
            f"  ask   {event.agent}/{event.data['step']} again live: its recorded answer failed validation "
            f"({event.data['reason'][:160]}); that wasted call stays in the ledger",
            file=sys.stderr,
        )


@command("run")
def _run(a: argparse.Namespace) -> int:
    from ..engine.engine import WorkflowEngine

    if not a.request.strip():
        raise ConfigError(
            "the project request is empty; describe what the team should build, "
            "e.g. 'a CLI that converts CSV to JSON'"
        )
    engine = WorkflowEngine(**_engine_options(a))
    engine.subscribe(lambda e: setattr(a, "run_folder", e.data["run_dir"]), types=("run_started",))
    if not a.quiet:
        engine.subscribe(_print_progress, types=("agent_finished", "gate_rejected", "agent_failed"))
        print(
            f"running {len(engine.workflow.steps)} agents in {engine.mode} mode with {engine.model}",
            file=sys.stderr,
        )
    result = engine.run(a.request, project_name=a.project_name)
    print(result.table())
    print(f"run folder: {result.run_dir}")
    _say_how_to_decide(result.run_dir)
    return 0


def _say_how_to_decide(run_dir: Any) -> None:
    """If the run waits for a person, say what it asks and how to answer."""
    from ..engine.gates import pending_gate

    gate = pending_gate(run_dir)
    if gate is None:
        return
    if gate.kind == "budget":
        print(f"waiting for more budget ({(gate.budget or {}).get('message', '')})", file=sys.stderr)
        print(f"  orchestrator-kit decide {run_dir} budget USD", file=sys.stderr)
        return
    print(
        f"waiting at gate {gate.step!r} ({gate.policy}, round {gate.round} of {gate.max_rounds})",
        file=sys.stderr,
    )
    for path in gate.under_review:
        print(f"  review: {run_dir}/artifacts/{path}", file=sys.stderr)
    if gate.proposal is not None:
        verdict = "approve" if gate.proposal.get("approved") else "revise"
        print(
            f"  the model proposes: {verdict}: {'; '.join(gate.proposal.get('reasons') or [])}",
            file=sys.stderr,
        )
    print(f"  orchestrator-kit decide {run_dir} approve", file=sys.stderr)
    print(f"  orchestrator-kit decide {run_dir} revise --reason '...'", file=sys.stderr)
    print(f"  orchestrator-kit decide {run_dir} edit FILE [--artifact AGENT/NAME]", file=sys.stderr)


@command("decide")
def _decide(a: argparse.Namespace) -> int:
    import getpass
    from pathlib import Path

    from ..engine.engine import decide
    from ..engine.gates import pending_gate

    edits: dict[str, str] = {}
    budget = None
    if a.action == "edit":
        if a.value is None:
            raise ConfigError("edit needs the edited file: orchestrator-kit decide RUN_DIR edit FILE")
        source = Path(a.value)
        if not source.is_file():
            raise ConfigError(f"the edit file {str(source)!r} does not exist")
        gate = pending_gate(a.run_dir)
        target = a.artifact or _artifact_for(source.name, gate.under_review if gate else [])
        edits[target] = source.read_text(encoding="utf-8")
    elif a.action == "budget":
        budget = a.value
    elif a.value is not None:
        raise ConfigError(f"{a.action} takes no file or amount (got {a.value!r})")
    by = a.by or getpass.getuser()
    result = decide(
        a.run_dir,
        a.action,
        reasons=a.reason,
        edits=edits,
        budget_usd=budget,
        by=by,
        resume_run=not a.no_resume,
    )
    if a.no_resume:
        print(f"recorded; continue with: orchestrator-kit resume {result.run_dir}")
        return 0
    print(result.table())
    print(f"run folder: {result.run_dir}")
    _say_how_to_decide(result.run_dir)
    return 0


def _artifact_for(name: str, under_review: list[str]) -> str:
    hits = [p for p in under_review if p.rsplit("/", 1)[-1] == name]
    if len(hits) == 1:
        return hits[0]
    if len(under_review) == 1:
        return under_review[0]
    raise ConfigError(
        f"say which artifact {name!r} replaces: --artifact one of {', '.join(under_review) or '(none under review)'}"
    )


@command("resume")
def _resume(a: argparse.Namespace) -> int:
    from ..engine.engine import WorkflowEngine
    from ..sweep.folder import is_sweep

    if is_sweep(a.run_dir):
        return resume_sweep(a)
    if a.cancel_batches:
        raise ConfigError("--cancel-batches applies to a sweep folder (orchestrator-kit batch -o DIR)")
    from ..engine.result import RunResult
    from ..store.run_folder import RunFolder

    a.run_folder = a.run_dir
    folder = RunFolder.open(a.run_dir)
    if (folder.load_state() or {}).get("status") == "completed":
        result = RunResult.load(folder.path)
        print(result.table())
        print(f"run folder: {result.run_dir}")
        print(f"{folder.path} was already complete: nothing to resume, no calls made", file=sys.stderr)
        return 0
    overrides: dict[str, Any] = given(a, _RESUME_FLAGS)
    if a.exact_budget:
        overrides["exact_budget"] = True
    engine = WorkflowEngine.for_resume(a.run_dir, **overrides)
    engine.subscribe(_print_progress, types=("reuse_rejected",))
    counts = {"reused": 0, "new": 0}

    def count(event: Any) -> None:
        if event.data.get("reused"):  # a recorded answer rejected by validation is asked again: not reused
            counts["reused"] += event.data.get("status") != "malformed"
        else:
            counts["new"] += 1

    engine.subscribe(count, types=("call_finished",))
    try:
        result = engine.resume(a.run_dir)
    finally:
        print(_resume_counts(engine.mode, counts["reused"], counts["new"]), file=sys.stderr)
    print(result.table())
    print(f"run folder: {result.run_dir}")
    return 0


def _resume_counts(mode: str, reused: int, new: int) -> str:
    def calls(n: int) -> str:
        return f"{n} call{'s' if n != 1 else ''}"

    made = f"made {calls(new)}" + (" (paid)" if mode == "real" else f" ({mode}: $0 billed)")
    return f"resume: reused {calls(reused)} already answered (not paid again), {made}"


@command("estimate")
def _estimate(a: argparse.Namespace) -> int:
    from ..engine.estimate import estimate_run
    from ..llm.pricing import check_model

    check_model(a.model, allow_unknown=a.allow_unknown_model)
    est = estimate_run(a.request, agents=a.agents, model=a.model)
    print(json.dumps(est.to_dict(), indent=2) if a.json else est.table())
    return 0


@command("runs")
def _runs(a: argparse.Namespace) -> int:
    from ..store.listing import list_runs

    rows = list_runs(a.root)
    if a.json:
        print(json.dumps(rows, indent=2))
        return 0
    if not rows:
        print(f"no runs in {a.root}")
        return 0
    print(f"{'run_id':<32}{'status':<19}{'mode':<11}{'agents':>7}{'cost':>12}  project")
    for r in rows:
        print(
            f"{r['run_id']:<32}{r['status']:<19}{r['mode']:<11}{r['agents_done']:>7}{r['cost']:>12}  {r['project_name']}"
        )
    waiting = [r for r in rows if str(r["status"]).startswith("awaiting_")]
    if waiting:
        print(
            f"{len(waiting)} run(s) wait for a decision: orchestrator-kit decide {a.root}/RUN_ID approve|revise|edit|budget"
        )
    return 0


def call_options(sp: argparse.ArgumentParser) -> None:
    """--timeout and --exact-budget (run, resume)."""
    timeout_option(sp)
    sp.add_argument(
        "--exact-budget",
        action="store_true",
        help="count each prompt with the API's count_tokens before the budget check (real mode), "
        "instead of the local estimate calibrated from billed usage",
    )


def add_parsers(sub: Any) -> None:
    """The parsers of this group's commands, on the subparsers ``sub``."""
    from ..llm.pricing import DEFAULT_MODEL

    def run_options(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("request", help="what the team should build")
        sp.add_argument("--project-name", default="Untitled project")
        sp.add_argument(
            "--agents",
            type=_agents,
            default=None,
            help="comma-separated subset, e.g. architect,developer (default: all eight)",
        )
        sp.add_argument("--model", default=DEFAULT_MODEL)
        sp.add_argument(
            "--allow-unknown-model",
            action="store_true",
            help="accept a model id missing from the price table (its cost is shown as unknown)",
        )

    r = sub.add_parser("run", help="run a workflow and print a per-agent table")
    run_options(r)
    r.add_argument(
        "--mode",
        default="auto",
        choices=["auto", "simulated", "real", "replay"],
        help="auto: real when an API key is found, else simulated",
    )
    r.add_argument("--budget", type=float, default=None, help="cap in dollars, checked before every call")
    r.add_argument("--budget-tokens", type=int, default=None, help="cap in tokens")
    r.add_argument("--max-concurrency", type=int, default=4)
    r.add_argument("--max-rounds", type=int, default=None, help="consensus gate rounds (default 3)")
    r.add_argument("-o", "--output", default="runs", help="folder that receives the run folder")
    r.add_argument("--replay-from", default=None, help="run folder or .jsonl recording (mode replay)")
    r.add_argument("--record-to", default=None, help="also append every completion to this .jsonl file")
    r.add_argument(
        "--gate",
        choices=["model", "human", "model+human"],
        default=None,
        help="who decides at the design gate: the consensus agent (default), a person, or the agent proposes "
        "and a person confirms (the run pauses; see: orchestrator-kit decide)",
    )
    r.add_argument(
        "--on-budget",
        choices=["fail", "pause"],
        default=None,
        help="when the next call would pass the budget: fail (default) or pause for a person to raise it",
    )
    r.add_argument("-q", "--quiet", action="store_true")
    call_options(r)

    e = sub.add_parser("estimate", help="estimate tokens and cost before running")
    run_options(e)
    e.add_argument("--json", action="store_true")

    rs = sub.add_parser(
        "resume", help="continue a failed or interrupted run, or sweep folder, without repeating paid calls"
    )
    rs.add_argument("run_dir", help="a run folder, or a sweep folder (orchestrator-kit batch -o DIR)")
    rs.add_argument("--budget", type=float, default=None, help="a new (larger) dollar cap")
    rs.add_argument("--budget-tokens", type=int, default=None)
    rs.add_argument("--max-rounds", type=int, default=None, help="allow more consensus gate rounds")
    rs.add_argument(
        "--cancel-batches",
        action="store_true",
        help="sweeps: cancel the Message Batches still in flight (keeping answers already paid for) and stop; "
        "a plain resume afterwards resubmits the canceled requests",
    )
    sweep_options(rs)
    call_options(rs)

    d = sub.add_parser(
        "decide", help="decide for a run waiting at a human gate (or for more budget), then resume it"
    )
    d.add_argument("run_dir")
    d.add_argument("action", choices=["approve", "revise", "edit", "budget"])
    d.add_argument("value", nargs="?", default=None, help="edit: the edited file; budget: the new cap in USD")
    d.add_argument("--reason", action="append", default=[], help="why (needed for revise; repeatable)")
    d.add_argument("--artifact", default=None, help="edit: which artifact the file replaces (AGENT/NAME)")
    d.add_argument("--by", default=None, help="who decides (default: the login name)")
    d.add_argument("--no-resume", action="store_true", help="record the decision only")

    ls = sub.add_parser("runs", help="list run folders")
    ls.add_argument("root", nargs="?", default="runs")
    ls.add_argument("--json", action="store_true")


__all__ = ["add_parsers", "call_options"]
