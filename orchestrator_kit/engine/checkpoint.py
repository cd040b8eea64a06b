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
    return {
        "status": status,
        "steps": dict(steps),
        "project_state": _project_document(project),
        "error": error,
        "updated_at": datetime.now(UTC).isoformat(timespec="milliseconds"),
    }


def _project_document(project: ProjectState) -> dict[str, Any]:
    """``project.model_dump(mode="json")`` without the artifacts' contents. Contents are never copied
    into a checkpoint (a checkpoint follows every agent): the artifacts' other fields are taken as they
    are (str and bool, what their JSON dump is), the rest is dumped without them, in field order."""
    artifacts: dict[str, list[dict[str, Any]]] = {}
    for agent, arts in project.artifacts.items():
        metas = []
        for art in arts:
            if type(art) is not Artifact:  # a subclass dumps as an Artifact: the slow way, the same result
                return _dumped_without_contents(project)
            meta = art.__dict__.copy()
            del meta["content"]
            metas.append(meta)
        artifacts[agent] = metas
    rest = project.model_dump(mode="json", exclude=_ARTIFACTS)
    return {k: artifacts if k == "artifacts" else rest[k] for k in _PROJECT_FIELDS}


def _dumped_without_contents(project: ProjectState) -> dict[str, Any]:
    data = project.model_dump(mode="json")
    for arts in data["artifacts"].values():
        for art in arts:
            del art["content"]
    return data


_ARTIFACTS = {"artifacts"}
_PROJECT_FIELDS = tuple(ProjectState.model_fields)


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
