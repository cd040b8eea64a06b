"""Small readers of run folders and engine events shared by the integration tests (imported by name: tests/
has no packages)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def read_state(run_dir: Path) -> dict[str, Any]:
    return json.loads((run_dir / "state.json").read_text(encoding="utf-8"))


def ok_request_hashes(run_dir: Path) -> list[str]:
    """The request hashes of the run's answered calls, in ledger order."""
    return [ln["request_hash"] for ln in read_jsonl(run_dir / "calls.jsonl") if ln["status"] == "ok"]


def started_agents(events: list[Any]) -> list[str]:
    """The agents in the order their ``agent_started`` events came."""
    return [e.agent for e in events if e.type == "agent_started" and e.agent]


def only_run(root: Path) -> Path:
    (run_dir,) = [p for p in root.iterdir() if (p / "manifest.json").is_file()]
    return run_dir


def artifact_bytes(run_dir: Path) -> dict[str, bytes]:
    base = run_dir / "artifacts"
    return {p.relative_to(base).as_posix(): p.read_bytes() for p in sorted(base.rglob("*")) if p.is_file()}
