"""Checkpoints: step status and the project state with artifact *metadata*; artifact contents live in
their files and are read back on resume. The run folder appends a checkpoint of a running run to its
checkpoint log and compacts the log to ``state.json`` when the run stops (``store/run_folder.py``)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from ..records import Artifact, ProjectState
from ..store.run_folder import RunFolder


def state_document(
    status: str, steps: dict[str, str], project: ProjectState, *, error: dict[str, Any] | None = None
) -> dict[str, Any]:
    # Contents are never copied into a checkpoint: dumped, then dropped (an ``exclude`` of them made
    # pydantic's dump twice as slow as dumping them, and a checkpoint follows every agent).
    data = project.model_dump(mode="json")
    for arts in data["artifacts"].values():
        for art in arts:
            del art["content"]
    return {
        "status": status,
        "steps": dict(steps),
        "project_state": data,
        "error": error,
        "updated_at": datetime.now(UTC).isoformat(timespec="milliseconds"),
    }


def load_project_state(folder: RunFolder, state: dict[str, Any], manifest: dict[str, Any]) -> ProjectState:
    data = dict(state.get("project_state") or {})
    if not data:
        return ProjectState(
            project_name=manifest.get("project_name", "Untitled project"),
            request=manifest.get("request") or "(unknown request)",
        )
    artifacts: dict[str, list[Artifact]] = {}
    for agent, arts in (data.pop("artifacts", None) or {}).items():
        loaded = []
        for meta in arts:
            path = folder.artifact_path(agent, meta["filename"])
            content = path.read_text(encoding="utf-8") if path.exists() else ""
            loaded.append(Artifact(**{**meta, "content": content}))
        artifacts[agent] = loaded
    return ProjectState(**data, artifacts=artifacts)


def save_checkpoint(
    folder: RunFolder,
    status: str,
    steps: dict[str, str],
    project: ProjectState,
    error: dict[str, Any] | None = None,
) -> None:
    folder.save_state(state_document(status, steps, project, error=error))
