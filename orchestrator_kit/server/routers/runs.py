"""Routes: start, list, show and resume runs; list and read their artifacts."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException
from fastapi.responses import PlainTextResponse

from ...errors import ConfigError
from ...store.artifact_paths import MAX_DEPTH, MAX_SEGMENT
from ..deps import DB, Runs, User, project_of, run_of
from ..failures import quoted
from ..schemas import ArtifactOut, DecisionIn, ResumeIn, RunBrief, RunIn, RunOut

router = APIRouter()
_LONGEST = (MAX_DEPTH + 1) * (MAX_SEGMENT + 1)  # <agent>/<up to MAX_DEPTH segments>: no artifact is longer
_MEDIA = {
    ".md": "text/markdown",
    ".py": "text/x-python",
    ".json": "application/json",
    ".html": "text/plain",
    ".csv": "text/csv",
    ".yaml": "text/yaml",
    ".yml": "text/yaml",
}


@router.post("/projects/{project_id}/runs", tags=["runs"], status_code=202, response_model=RunOut)
async def start_run(project_id: str, body: RunIn, user: User, db: DB, runs: Runs) -> RunOut:
    project = project_of(db, user, project_id)
    row, notes = runs.launch(user, project, body)
    return RunOut(**runs.describe(row), warnings=notes)


@router.get("/projects/{project_id}/runs", tags=["runs"], response_model=list[RunBrief])
def list_runs(project_id: str, user: User, db: DB, runs: Runs) -> list[RunBrief]:
    project_of(db, user, project_id)
    return [
        RunBrief(**{k: r[k] for k in RunBrief.model_fields})
        for r in map(runs.settle, db.list_runs(user, project_id))
    ]


@router.get("/projects/{project_id}/runs/{run_id}", tags=["runs"], response_model=RunOut)
def get_run(project_id: str, run_id: str, user: User, db: DB, runs: Runs) -> RunOut:
    return RunOut(**runs.describe(run_of(db, user, project_id, run_id)))


@router.post(
    "/projects/{project_id}/runs/{run_id}/resume", tags=["runs"], status_code=202, response_model=RunOut
)
async def resume_run(
    *, project_id: str, run_id: str, user: User, db: DB, runs: Runs, body: ResumeIn | None = None
) -> RunOut:
    row = run_of(db, user, project_id, run_id)
    fresh = runs.resume(
        user, project_of(db, user, project_id), row, None if body is None else body.budget_usd
    )
    return RunOut(**runs.describe(fresh))


@router.post(
    "/projects/{project_id}/runs/{run_id}/decision", tags=["runs"], status_code=202, response_model=RunOut
)
async def decide_run(
    *, project_id: str, run_id: str, user: User, db: DB, runs: Runs, body: DecisionIn
) -> RunOut:
    """A person's decision on a run awaiting approval or budget; the run resumes (no paid call repeated)."""
    row = run_of(db, user, project_id, run_id)
    decision = body.model_dump()
    if decision["budget_usd"] is None:
        decision.pop("budget_usd")
    fresh = runs.decide(user, project_of(db, user, project_id), row, decision)
    return RunOut(**runs.describe(fresh))


@router.get(
    "/projects/{project_id}/runs/{run_id}/artifacts", tags=["artifacts"], response_model=list[ArtifactOut]
)
def list_artifacts(project_id: str, run_id: str, user: User, db: DB, runs: Runs) -> list[ArtifactOut]:
    folder = runs.folder(run_of(db, user, project_id, run_id))
    if folder is None:
        return []
    base = folder.path / "artifacts"
    inside = base.resolve()
    out = []
    for f in folder.artifact_files():
        if not f.resolve().is_relative_to(inside):  # a link out of the run: GET refuses it, so not listed
            continue
        rel = f.relative_to(base).as_posix()
        agent, _, filename = rel.partition("/")
        out.append(ArtifactOut(agent=agent, filename=filename, path=rel, bytes=f.stat().st_size))
    return out


@router.get(
    "/projects/{project_id}/runs/{run_id}/artifacts/{artifact_path:path}",
    tags=["artifacts"],
    response_class=PlainTextResponse,
)
def get_artifact(
    *, project_id: str, run_id: str, artifact_path: str, user: User, db: DB, runs: Runs
) -> PlainTextResponse:
    folder = runs.folder(run_of(db, user, project_id, run_id))
    if len(artifact_path) > _LONGEST:  # cannot be one (and the store's refusal would echo all of it)
        raise HTTPException(404, f"artifact {quoted(artifact_path)} not found in run {quoted(run_id)}")
    agent, _, filename = artifact_path.partition("/")
    if not agent or not filename:
        raise HTTPException(400, "artifact path must be <agent>/<filename>, as listed by .../artifacts")
    try:
        path = folder.artifact_path(agent, filename) if folder is not None else None
    except ConfigError as exc:
        raise HTTPException(400, str(exc)) from None
    if path is None or not path.is_file():
        raise HTTPException(404, f"artifact {quoted(artifact_path)} not found in run {quoted(run_id)}")
    media = _MEDIA.get(path.suffix.lower(), "text/plain")
    return PlainTextResponse(
        path.read_text(encoding="utf-8", errors="replace"),
        media_type=media,
        headers={"X-Content-Type-Options": "nosniff"},
    )


__all__ = ["router"]
