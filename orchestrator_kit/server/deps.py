"""Request dependencies shared by the routers: the caller, the server's parts, a project or run the
caller owns (another user's is a 404, exactly like a missing one)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request, status
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from ..store.run_folder import redact
from .auth import Authenticator
from .db import Database
from .failures import quoted
from .runs import RunManager
from .secrets import KeyVault
from .settings import ServerSettings

_URL_TOKENS = {"token", "access_token", "api_key", "key", "auth"}  # where a client may try a URL token
_bearer = HTTPBearer(auto_error=False, description="the token printed at start, or one from --users-file")


def current_user(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)] = None
) -> str:
    """The caller's user id; 401 without a valid bearer token (unless the server runs --no-auth)."""
    auth: Authenticator = request.app.state.auth
    user = auth.user_for(None if credentials is None else f"Bearer {credentials.credentials}")
    if user is None:
        in_url = credentials is None and any(k.lower() in _URL_TOKENS for k in request.query_params)
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            (
                "a token in the URL is not accepted (URLs end up in logs and histories): "
                if in_url
                else "missing or wrong bearer token: "
            )
            + "send the header 'Authorization: Bearer <token>' (the token is printed when the server starts)",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return user


def _query_aliases(dependant: Dependant) -> set[str]:
    names = {p.alias for p in dependant.query_params}
    for sub in dependant.dependencies:
        names |= _query_aliases(sub)
    return names


def _query_names(route: APIRoute) -> frozenset[str]:
    """The query parameters ``route`` (its endpoint and their dependencies) declares."""
    return frozenset(_query_aliases(route.dependant))


def checked_user(request: Request, user: Annotated[str, Depends(current_user)]) -> str:
    """The caller (``current_user``), once the request's query parameters are ones its route takes: an
    unknown one is a 400 naming it, never silently ignored (the API has no paging: lists return every
    item). Only names are shown, never values (a value may be a token)."""
    route = request.scope.get("route")
    accepted = _query_names(route) if isinstance(route, APIRoute) else frozenset()
    unknown = sorted({k for k in request.query_params if k not in accepted})
    if unknown and isinstance(route, APIRoute):
        names = ", ".join(redact(quoted(k, 40)) for k in unknown[:5])
        more = f" and {len(unknown) - 5} more" if len(unknown) > 5 else ""
        takes = (
            f"takes only: {', '.join(sorted(accepted))}"
            if accepted
            else "takes no query parameters (lists return every item: the API has no paging)"
        )
        plural = "s" if len(unknown) > 1 else ""
        raise HTTPException(
            400, f"unknown query parameter{plural} {names}{more}: {request.method} {route.path} {takes}"
        )
    return user


def _auth(request: Request) -> Authenticator:
    return request.app.state.auth  # type: ignore[no-any-return]


def _db(request: Request) -> Database:
    return request.app.state.db  # type: ignore[no-any-return]


def _runs(request: Request) -> RunManager:
    return request.app.state.runs  # type: ignore[no-any-return]


def _vault(request: Request) -> KeyVault:
    return request.app.state.vault  # type: ignore[no-any-return]


def _settings(request: Request) -> ServerSettings:
    return request.app.state.settings  # type: ignore[no-any-return]


User = Annotated[str, Depends(checked_user)]
Auth = Annotated[Authenticator, Depends(_auth)]
DB = Annotated[Database, Depends(_db)]
Runs = Annotated[RunManager, Depends(_runs)]
Vault = Annotated[KeyVault, Depends(_vault)]
Settings = Annotated[ServerSettings, Depends(_settings)]


def project_of(db: Database, user: str, project_id: str) -> dict[str, Any]:
    """The caller's project, or 404."""
    project = db.get_project(user, project_id)
    if project is None:
        raise HTTPException(404, f"project {quoted(project_id)} not found")
    return project


def run_of(db: Database, user: str, project_id: str, run_id: str) -> dict[str, Any]:
    """The caller's run's index row, or 404."""
    project_of(db, user, project_id)
    row = db.get_run(user, project_id, run_id)
    if row is None:
        raise HTTPException(404, f"run {quoted(run_id)} not found in project {quoted(project_id)}")
    return row


__all__ = [
    "DB",
    "Auth",
    "Runs",
    "Settings",
    "User",
    "Vault",
    "checked_user",
    "current_user",
    "project_of",
    "run_of",
]
