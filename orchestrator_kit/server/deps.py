"""Request dependencies shared by the routers: the caller, the server's parts, a project or run the
caller owns (another user's is a 404, exactly like a missing one)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

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


User = Annotated[str, Depends(current_user)]
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


__all__ = ["DB", "Auth", "Runs", "Settings", "User", "Vault", "current_user", "project_of", "run_of"]
