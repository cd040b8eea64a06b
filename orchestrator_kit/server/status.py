"""The status view of a run: per-agent progress, tokens and cost from its folder (checkpoint + ledger),
plus the agents running now. Also checks a checkpoint's shape, so a damaged ``state.json`` is named, not
a 500."""

from __future__ import annotations

import json
from collections.abc import Collection
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ..engine.gates import GATE
from ..records import CallRecord, RunTotals
from ..store.run_folder import CALLS, STATE, RunFolder
from .db import IN_FLIGHT, WAITING
from .failures import DamagedRun


def check_state(doc: Any, where: str) -> dict[str, Any]:
    """``doc`` (a parsed ``state.json``) if it has the shape a checkpoint has, else DamagedRun naming why."""
    fix = "restore it from a backup, or delete it to let resume start the run's agents again"
    if doc is None:
        return {}
    if not isinstance(doc, dict):
        raise DamagedRun(f"{where}/{STATE} is damaged: it holds a {type(doc).__name__}, not an object; {fix}")
    for key in ("steps", "project_state", "error"):
        value = doc.get(key)
        if value is not None and not isinstance(value, dict):
            raise DamagedRun(
                f"{where}/{STATE} is damaged: {key!r} is a {type(value).__name__}, not an object; {fix}"
            )
    project = doc.get("project_state") or {}
    for key in ("artifacts", "scores"):
        value = project.get(key)
        if value is not None and not isinstance(value, dict):
            raise DamagedRun(
                f"{where}/{STATE} is damaged: project_state.{key} is a {type(value).__name__}, "
                f"not an object; {fix}"
            )
    return doc


def _compact(t: RunTotals) -> dict[str, Any]:
    """One agent's figures: calls, input tokens (cache writes and reads included), output, cost."""
    j = t.to_json()
    return {
        "calls": t.calls,
        "failed_attempts": t.failed_attempts,
        "input_tokens": t.input_side_tokens,
        "output_tokens": t.output_tokens,
        "cache_read_tokens": t.cache_read_tokens,
        "total_tokens": t.total_tokens,
        "cost_usd": j["cost_usd"],
        "wasted_usd": j["wasted_usd"],
    }


def _ledger(run_dir: Path) -> list[CallRecord]:
    try:
        return RunFolder(run_dir).calls()
    except ValidationError as exc:
        raise DamagedRun(
            f"{run_dir.name}/{CALLS} is damaged: a line is not a ledger record ({exc.error_count()} "
            "problem(s)); restore it from a backup"
        ) from None


def describe(
    row: dict[str, Any], state: dict[str, Any], run_dir: Path, running_agents: Collection[str]
) -> dict[str, Any]:
    """The body of ``GET .../runs/{id}``: the index row, the checkpoint ``state`` and the ledger in
    ``run_dir``, with ``running_agents`` shown as running while the run is in flight."""
    agents = list(row["params"]["agents"])
    steps = dict(state.get("steps") or {})
    live = row["status"] in IN_FLIGHT
    for agent in agents:
        s = steps.get(agent, "pending")
        if live and agent in running_agents:
            s = "running"
        elif not live and s == "running":
            s = "interrupted"
        steps[agent] = s
    calls = _ledger(run_dir)
    per_agent = RunTotals.per_agent(calls, agents)
    project_state = state.get("project_state") or {}
    score = (project_state.get("scores") or {}).get("reviewer") or {}
    base = f"/projects/{row['project_id']}/runs/{row['id']}"
    pending = None
    if row["status"] in WAITING and (run_dir / GATE).is_file():
        pending = json.loads((run_dir / GATE).read_text(encoding="utf-8"))
    return {
        "id": row["id"],
        "project_id": row["project_id"],
        "status": row["status"],
        "mode": row["mode"],
        "model": row["model"],
        "request": row["params"]["request"],
        "agents": {a: {"status": steps[a], **_compact(per_agent[a])} for a in agents},
        "totals": RunTotals.of(calls).to_json(),
        "artifacts": sum(len(v) for v in (project_state.get("artifacts") or {}).values()),
        "review_score": score.get("value") if isinstance(score, dict) else None,
        "error": row["error"],
        "pending": pending,
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
        "links": {
            "self": base,
            "events": base + "/events",
            "artifacts": base + "/artifacts",
            "resume": base + "/resume",
            "decision": base + "/decision",
        },
    }


__all__ = ["check_state", "describe"]
