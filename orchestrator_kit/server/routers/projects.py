"""Routes: health, who am I, provider settings (the stored key), projects."""

from __future__ import annotations

import logging
import secrets
import warnings
from typing import Any

from fastapi import APIRouter

from ... import __version__
from ...llm.keys import check_key_format, mask_key
from ...llm.pricing import check_model
from ..db import Database
from ..deps import DB, Auth, Runs, User, Vault, project_of
from ..run_setup import known_model
from ..schemas import (
    ProjectDetail,
    ProjectIn,
    ProjectOut,
    ProviderSettingsIn,
    ProviderSettingsOut,
    RunBrief,
)
from ..secrets import KeyVault, UnreadableSecret

log = logging.getLogger("orchestrator_kit.server")
router = APIRouter()


def project_out(p: dict[str, Any]) -> ProjectOut:
    return ProjectOut(
        id=p["id"],
        project_name=p["name"],
        request=p["request"],
        created_at=p["created_at"],
        run_count=p["run_count"],
    )


@router.get("/health", tags=["server"])
def health(auth: Auth) -> dict[str, Any]:
    return {"status": "ok", "version": __version__, "auth": auth.enabled}


@router.get("/users/me", tags=["users"])
def me(user: User, auth: Auth) -> dict[str, Any]:
    return {"user_id": user, "auth": auth.enabled}


# -- provider settings -----------------------------------------------------------------------------
def _settings_out(
    db: Database, vault: KeyVault, user: str, notes: list[str] | None = None
) -> ProviderSettingsOut:
    row = db.get_provider(user)
    if row is None:
        return ProviderSettingsOut(llm_provider=None, model=None, api_key_set=False, api_key_masked=None)
    readable = True
    try:
        vault.decrypt(row["key_blob"])
    except UnreadableSecret:
        readable = False
    return ProviderSettingsOut(
        llm_provider=row["llm_provider"],
        model=row["model"],
        api_key_set=True,
        api_key_masked=row["key_masked"],
        api_key_readable=readable,
        warnings=notes or [],
    )


@router.post("/users/me/provider-settings", tags=["users"], response_model=ProviderSettingsOut)
def set_provider_settings(body: ProviderSettingsIn, user: User, db: DB, vault: Vault) -> ProviderSettingsOut:
    key = body.api_key.get_secret_value()
    if body.model is not None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a retiring model is allowed; its runs say so
            check_model(known_model(body.model))
    note = check_key_format(key)
    db.set_provider(user, body.llm_provider, body.model, vault.encrypt(key), mask_key(key))
    log.info("provider settings of user %s updated (key %s)", user, mask_key(key))
    return _settings_out(db, vault, user, [note] if note else [])


@router.get("/users/me/provider-settings", tags=["users"], response_model=ProviderSettingsOut)
def get_provider_settings(user: User, db: DB, vault: Vault) -> ProviderSettingsOut:
    return _settings_out(db, vault, user)


@router.delete("/users/me/provider-settings", tags=["users"], status_code=204)
def delete_provider_settings(user: User, db: DB) -> None:
    db.delete_provider(user)


# -- projects --------------------------------------------------------------------------------------
@router.post("/projects", tags=["projects"], status_code=201, response_model=ProjectOut)
def create_project(body: ProjectIn, user: User, db: DB) -> ProjectOut:
    project = db.create_project("prj_" + secrets.token_hex(8), user, body.project_name, body.request)
    return project_out(project)


@router.get("/projects", tags=["projects"], response_model=list[ProjectOut])
def list_projects(user: User, db: DB) -> list[ProjectOut]:
    return [project_out(p) for p in db.list_projects(user)]


@router.get("/projects/{project_id}", tags=["projects"], response_model=ProjectDetail)
def get_project(project_id: str, user: User, db: DB, runs: Runs) -> ProjectDetail:
    p = project_of(db, user, project_id)
    briefs = [
        RunBrief(**{k: r[k] for k in RunBrief.model_fields})
        for r in map(runs.settle, db.list_runs(user, project_id))
    ]
    return ProjectDetail(**project_out(p).model_dump(), runs=briefs)


__all__ = ["router"]
