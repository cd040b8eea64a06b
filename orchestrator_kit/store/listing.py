"""Fast listing of run folders from their summary (or state, for unfinished runs)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..money import format_usd
from ..records import RunSummary
from .run_folder import MANIFEST, SUMMARY, RunFolder


def _load(path: Path) -> dict[str, Any]:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return {}
    return doc if isinstance(doc, dict) else {}  # a listing shows what it can; not a JSON object: nothing


def _state(folder: Path) -> dict[str, Any]:
    """The run's checkpoint (the fold of its log while in flight), or {} if unreadable."""
    try:
        doc = RunFolder(folder).load_state()
    except (OSError, ValueError):
        return {}
    return doc if isinstance(doc, dict) else {}


def list_runs(root: str | Path) -> list[dict[str, Any]]:
    """One row per run folder under ``root``, oldest first (run ids sort by time)."""
    root = Path(root)
    if not root.is_dir():
        return []
    rows = []
    for d in sorted(p for p in root.iterdir() if (p / MANIFEST).is_file()):
        manifest, state, summary = _load(d / MANIFEST), _state(d), _load(d / SUMMARY)
        steps = state.get("steps", {})
        # an unfinished run has no summary yet: its cost is not known here
        cost = RunSummary.model_validate(summary).totals.cost_usd if summary else None
        rows.append(
            {
                "run_id": d.name,
                "path": str(d),
                "status": state.get("status", "created"),
                "mode": manifest.get("mode", "?"),
                "model": manifest.get("model", "?"),
                "project_name": manifest.get("project_name", ""),
                "agents_done": f"{sum(1 for s in steps.values() if s == 'done')}/{len(steps)}",
                "cost_usd": None if cost is None else str(cost),
                "cost": format_usd(cost),
            }
        )
    return rows
