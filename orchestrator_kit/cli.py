"""The ``orchestrator-kit`` command (also ``python -m orchestrator_kit``). Thin: parses, calls, prints.

Exit codes: 0 ok; 1 the run failed (its folder says where to resume); 2 bad arguments or input.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from typing import Any

from . import __version__
from .errors import BudgetExceeded, ConfigError, OrchestratorError

Handler = Callable[[argparse.Namespace], int]
COMMANDS: dict[str, Handler] = {}


def command(name: str) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        COMMANDS[name] = fn
        return fn

    return register


def _agents(value: str) -> list[str]:
    return [a.strip() for a in value.split(",") if a.strip()]


def _engine_options(a: argparse.Namespace) -> dict[str, Any]:
    opts: dict[str, Any] = dict(
        mode=a.mode,
        model=a.model,
        budget_usd=a.budget,
        budget_tokens=a.budget_tokens,
        max_concurrency=a.max_concurrency,
        output_dir=a.output,
        allow_unknown_model=a.allow_unknown_model,
        exact_budget=a.exact_budget,
    )
    if a.timeout is not None:
        opts["timeout"] = a.timeout
    if a.agents is not None:
        opts["agents"] = a.agents
    if a.max_rounds is not None:
        opts["max_rounds"] = a.max_rounds
    if a.replay_from is not None:
        opts["replay_from"] = a.replay_from
    if a.gate is not None:
        opts["gate_policy"] = a.gate
    if a.on_budget is not None:
        opts["on_budget"] = a.on_budget
    if a.record_to is not None:
        opts["record_to"] = a.record_to
    return opts


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
    from .engine.engine import WorkflowEngine

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
    from .engine.gates import pending_gate

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

    from .engine.engine import decide
    from .engine.gates import pending_gate

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
    from .engine.engine import WorkflowEngine
    from .sweep.folder import is_sweep

    if is_sweep(a.run_dir):
        return _resume_sweep(a)
    if a.cancel_batches:
        raise ConfigError("--cancel-batches applies to a sweep folder (orchestrator-kit batch -o DIR)")
    from .engine.result import RunResult
    from .store.run_folder import RunFolder

    a.run_folder = a.run_dir
    folder = RunFolder.open(a.run_dir)
    if (folder.load_state() or {}).get("status") == "completed":
        result = RunResult.load(folder.path)
        print(result.table())
        print(f"run folder: {result.run_dir}")
        print(f"{folder.path} was already complete: nothing to resume, no calls made", file=sys.stderr)
        return 0
    overrides: dict[str, Any] = {}
    if a.timeout is not None:
        overrides["timeout"] = a.timeout
    if a.exact_budget:
        overrides["exact_budget"] = True
    if a.budget is not None:
        overrides["budget_usd"] = a.budget
    if a.budget_tokens is not None:
        overrides["budget_tokens"] = a.budget_tokens
    if a.max_rounds is not None:
        overrides["max_rounds"] = a.max_rounds
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
    from .engine.estimate import estimate_run
    from .llm.pricing import check_model

    check_model(a.model, allow_unknown=a.allow_unknown_model)
    est = estimate_run(a.request, agents=a.agents, model=a.model)
    print(json.dumps(est.to_dict(), indent=2) if a.json else est.table())
    return 0


@command("runs")
def _runs(a: argparse.Namespace) -> int:
    from .store.listing import list_runs

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


def _resume_sweep(a: argparse.Namespace) -> int:
    from .sweep.driver import resume_sweep

    if a.cancel_batches:
        from .sweep.backend import cancel_sweep_batches

        summary = cancel_sweep_batches(a.run_dir)
        for batch_id, counts in summary.items():
            print(f"{batch_id}: " + ", ".join(f"{n} {kind}" for kind, n in sorted(counts.items())))
        print(
            f"canceled {len(summary)} Message Batch(es) in flight; answers they had already given are kept. "
            f"Continue the sweep (the canceled requests go into new batches) with: "
            f"orchestrator-kit resume {a.run_dir}"
        )
        return 0

    for name in ("budget_tokens", "max_rounds"):
        if getattr(a, name) is not None:
            raise ConfigError(
                f"--{name.replace('_', '-')} applies to one run; a sweep's cells take theirs from its grid"
            )
    result = resume_sweep(
        a.run_dir,
        budget_usd=a.budget,
        render=False if a.no_render else None,
        dask=a.dask,
        evaluate=a.evaluate,
        progress=not a.quiet,
    )
    print(result)
    return 0 if not result.failed else 1


@command("batch")
def _batch(a: argparse.Namespace) -> int:
    from .sweep.driver import run_sweep

    result = run_sweep(
        a.grid,
        a.output,
        budget_usd=a.budget,
        render=False if a.no_render else None,
        dask=a.dask,
        evaluate=a.evaluate,
        progress=not a.quiet,
        backend=a.backend,
        rpm=a.rpm,
        itpm=a.itpm,
        otpm=a.otpm,
    )
    print(result)
    return 0 if not result.failed else 1


@command("report")
def _report(a: argparse.Namespace) -> int:
    from .report.html import build_report

    path = build_report(a.runs_dir, a.output, title=a.title)
    print(f"report: {path}")
    return 0


@command("evaluate")
def _evaluate(a: argparse.Namespace) -> int:
    from .evaluate import Limits, evaluate_many, find_run_dirs
    from .evaluate.text import evaluation_table

    limits = Limits(wall_s=a.timeout)
    paths = find_run_dirs(a.path)  # a bad path is an error before any executor starts
    executor = None
    if a.dask is not None or a.workers is not None:
        from .sweep.executors import DEFAULT_WORKERS, make_executor

        executor = make_executor(a.dask, workers=a.workers or DEFAULT_WORKERS)
    try:
        results = evaluate_many(paths, executor=executor, allow_model_code=a.allow_model_code, limits=limits)
    finally:
        if executor is not None:
            executor.shutdown()
    print(evaluation_table(results))
    return 1 if any("error" in r for r in results) else 0


@command("serve")
def _serve(a: argparse.Namespace) -> int:
    from .server.main import main as serve_main

    return serve_main(a.server_args, prog="orchestrator-kit serve") or 0


def _timeout(value: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number of seconds, e.g. 120") from None
    if not seconds > 0:
        raise argparse.ArgumentTypeError(f"the timeout must be more than 0 seconds, got {value}")
    return seconds


def call_options(sp: argparse.ArgumentParser) -> None:
    """--timeout and --exact-budget (run, resume)."""
    from .llm.anthropic_backend import DEFAULT_TIMEOUT_S

    sp.add_argument(
        "--timeout",
        type=_timeout,
        default=None,
        metavar="SECONDS",
        help=f"per attempt of a real model call, retried on expiry (default: {DEFAULT_TIMEOUT_S:g})",
    )
    sp.add_argument(
        "--exact-budget",
        action="store_true",
        help="count each prompt with the API's count_tokens before the budget check (real mode), "
        "instead of the local estimate calibrated from billed usage",
    )


def _build_parser() -> argparse.ArgumentParser:
    from .llm.pricing import DEFAULT_MODEL

    p = argparse.ArgumentParser(prog="orchestrator-kit", description=__doc__.splitlines()[0])
    p.add_argument("--version", action="version", version=f"orchestrator-kit {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

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

    def sweep_options(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--no-render", action="store_true", help="sweeps: skip rendering cell notebooks")
        sp.add_argument(
            "--dask",
            default=None,
            metavar="ADDRESS",
            help="sweeps: render on a Dask cluster (tcp://HOST:PORT, or 'local'); needs [dask]",
        )
        sp.add_argument(
            "--evaluate",
            action=argparse.BooleanOptionalAction,
            default=None,
            help="sweeps: evaluate each completed cell's code on the executor (default: the grid's "
            "'evaluate', auto = simulated sweeps only; real sweeps also need 'allow_model_code: true')",
        )
        sp.add_argument("-q", "--quiet", action="store_true", help="no progress bar")

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

    b = sub.add_parser(
        "batch", help="run a sweep: every cell of a grid at once, each cell's notebook rendered from its run"
    )
    b.add_argument("grid", help="GRID.yaml: requests x models x settings x repeats")
    b.add_argument("-o", "--output", default="out/sweep", help="the sweep folder (must not hold a sweep)")
    b.add_argument(
        "--budget", type=float, default=None, help="the whole sweep's dollar cap (overrides the grid's)"
    )
    b.add_argument(
        "--backend",
        choices=["anthropic", "batches"],
        default=None,
        help="real mode: anthropic (standard) or batches (Message Batches, half price, answers within "
        "hours); overrides the grid's",
    )
    for flag, what in (("rpm", "requests"), ("itpm", "input tokens"), ("otpm", "output tokens")):
        b.add_argument(
            f"--{flag}", type=int, default=None, metavar="N", help=f"pace the sweep under N {what} a minute"
        )
    sweep_options(b)

    rp = sub.add_parser("report", help="cost-analysis report of run folders as self-contained HTML")
    rp.add_argument("runs_dir")
    rp.add_argument("-o", "--output", default="report.html")
    rp.add_argument("--title", default=None)

    ev = sub.add_parser("evaluate", help="measure generated code in a sandbox: imports, tests, completeness")
    ev.add_argument("path", help="a run folder, a folder of runs, or a sweep folder")
    ev.add_argument(
        "--allow-model-code",
        action="store_true",
        help="also run code a model wrote (real/replay runs); simulated runs need no flag",
    )
    ev.add_argument("--timeout", type=float, default=60.0, help="wall-clock seconds per sandboxed command")
    ev.add_argument(
        "--dask",
        default=None,
        metavar="ADDRESS",
        help="evaluate on a Dask cluster (tcp://HOST:PORT, or 'local'); needs [dask]",
    )
    ev.add_argument(
        "--workers",
        type=int,
        default=None,
        help="worker processes (local processes, or the workers of --dask local); default 2",
    )

    # the server's own parser reads every serve option (unknown to this one): see main()
    sub.add_parser(
        "serve", help="start the HTTP API server (see: orchestrator-kit serve --help)", add_help=False
    )
    return p


def report_error(exc: OrchestratorError, prog: str = "orchestrator-kit") -> int:
    """Print an error the way the CLI does (with any resume hint) and return its exit code:
    2 for bad input, 1 for a failed run."""
    if isinstance(exc, ConfigError):
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 2
    label = "budget exceeded" if isinstance(exc, BudgetExceeded) else type(exc).__name__
    print(f"{prog}: {label}: {exc}", file=sys.stderr)
    for note in getattr(exc, "__notes__", []):
        print(f"  {note}", file=sys.stderr)
    return 1


def main(argv: Sequence[str] | None = None) -> int:
    parser = _build_parser()
    args, extra = parser.parse_known_args(argv)
    if args.command == "serve":
        args.server_args = extra  # every flag of `orchestrator-kit serve --help`, --help included
    elif extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    try:
        return COMMANDS[args.command](args)
    except OrchestratorError as exc:
        return report_error(exc)
    except KeyboardInterrupt:
        folder = getattr(args, "run_folder", None)
        print(
            "orchestrator-kit: interrupted; "
            + (
                f"the run folder is checkpointed: orchestrator-kit resume {folder}"
                if folder
                else "no run folder was started yet"
            ),
            file=sys.stderr,
        )
        return 130


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())


__all__ = ["COMMANDS", "main", "report_error"]
