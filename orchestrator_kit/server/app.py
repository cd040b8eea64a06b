"""The HTTP API: ``create_app(settings)`` builds a FastAPI app over the engine, run folders and the index.

Endpoints (all but ``/health`` need ``Authorization: Bearer <token>`` unless the server runs ``--no-auth``)::

    GET    /health                                   liveness, version (no auth)
    GET    /users/me                                 who the token belongs to
    POST   /users/me/provider-settings               {"llm_provider": "anthropic", "api_key": "...", "model"?}
    GET    /users/me/provider-settings               provider, model, masked key tail (never the key)
    DELETE /users/me/provider-settings               forget the stored key
    POST   /projects                                 {"project_name": "...", "request"?: "..."}
    GET    /projects                                 this user's projects
    GET    /projects/{id}                            a project and its runs
    POST   /projects/{id}/runs                       {"request"?, "agents"?, "model"?, "budget_usd"?, "mode"?}
    GET    /projects/{id}/runs                       the project's runs
    GET    /projects/{id}/runs/{run_id}              status, per-agent progress, tokens, cost
    POST   /projects/{id}/runs/{run_id}/resume       continue an interrupted/failed run {"budget_usd"?}
    GET    /projects/{id}/runs/{run_id}/artifacts    list
    GET    /projects/{id}/runs/{run_id}/artifacts/{agent}/{filename}
    GET    /projects/{id}/runs/{run_id}/events       server-sent events (engine events; Last-Event-ID resumes)

Another user's project or run is a 404, exactly like a missing one.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import warnings
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Header, HTTPException, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse, StreamingResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .. import __version__
from ..errors import ConfigError, NotARunError
from ..llm.keys import check_key_format, mask_key
from ..llm.pricing import check_model
from ..store.run_folder import redact
from .auth import TOKEN_ENV, Authenticator, new_token
from .db import DB_FILE, Database
from .runs import Conflict, RunManager
from .schemas import (
    ArtifactOut,
    ProjectDetail,
    ProjectIn,
    ProjectOut,
    ProviderSettingsIn,
    ProviderSettingsOut,
    ResumeIn,
    RunBrief,
    RunIn,
    RunOut,
)
from .secrets import KeyVault, UnreadableSecret

log = logging.getLogger("orchestrator_kit.server")
_MEDIA = {
    ".md": "text/markdown",
    ".py": "text/x-python",
    ".json": "application/json",
    ".html": "text/plain",
    ".csv": "text/csv",
    ".yaml": "text/yaml",
    ".yml": "text/yaml",
}


@dataclass
class ServerSettings:
    data_dir: Path = Path("server_data")
    no_auth: bool = False
    users_file: Path | None = None
    token: str | None = field(default=None, repr=False)  # the single user's token; generated when None
    anthropic_base_url: str | None = None  # None: the SDK default (or ANTHROPIC_BASE_URL)
    max_body_bytes: int = 1 << 20
    max_concurrent_runs: int = 8
    max_concurrent_calls: int = 4  # model calls in flight at once, shared by every user's runs
    simulated_latency_s: float = 0.0  # slows simulated calls down (demos); 0 = as fast as possible
    sse_heartbeat_s: float = 15.0


def build_authenticator(settings: ServerSettings) -> tuple[Authenticator, str | None]:
    """The authenticator, and the single user's token when the server made or read one (for the banner)."""
    if settings.no_auth:
        return Authenticator.without_auth(), None
    if settings.users_file is not None:
        return Authenticator.from_users_file(settings.users_file), None
    token = settings.token or os.environ.get(TOKEN_ENV, "").strip() or new_token()
    return Authenticator.single_token(token), token


def _clear_errors(exc: RequestValidationError) -> tuple[int, str, list[dict[str, Any]]]:
    """A status, a sentence and the errors without their inputs (an input may be an API key)."""
    errors = []
    for e in exc.errors():
        loc = [str(p) for p in e.get("loc", ()) if p != "body"]
        msg = str(e.get("msg", "invalid"))
        if e.get("type") == "json_invalid":
            detail = (e.get("ctx") or {}).get("error", "")
            return (
                400,
                f"the request body is not valid JSON ({detail} at position {loc[0] if loc else '?'})",
                [],
            )
        if e.get("type") == "extra_forbidden":
            msg = "unknown field"
        msg = redact(msg.removeprefix("Value error, "))
        errors.append({"field": ".".join(loc) or "body", "message": msg, "type": e.get("type")})
    text = "; ".join(f"{x['field']}: {x['message']}" for x in errors) or "invalid request"
    return 422, f"invalid request: {text}", errors


class _TooLarge(Exception):
    pass


class BodyLimit:
    """413 for a request body over ``max_bytes``: at once by Content-Length, else as chunks arrive.
    The 413 is sent from here; whatever the app answers after the aborted read is dropped."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def _reject(self, send: Send) -> None:
        body = json.dumps(
            {"detail": f"request body too large: the limit is {self.max_bytes:,} bytes"}
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        length = dict(scope.get("headers") or []).get(b"content-length", b"")
        if length.isdigit() and int(length) > self.max_bytes:
            return await self._reject(send)
        seen, rejected = 0, False

        async def limited_receive() -> Message:
            nonlocal seen, rejected
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes and not rejected:
                    rejected = True
                    await self._reject(send)
                    raise _TooLarge
            return message

        async def guarded_send(message: Message) -> None:
            if not rejected:
                await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except Exception:
            if not rejected:
                raise


_bearer = HTTPBearer(auto_error=False, description="the token printed at start, or one from --users-file")


def current_user(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)] = None
) -> str:
    """The caller's user id; 401 without a valid bearer token (unless the server runs --no-auth)."""
    auth: Authenticator = request.app.state.auth
    user = auth.user_for(None if credentials is None else f"Bearer {credentials.credentials}")
    if user is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "missing or wrong bearer token: send the header "
            "'Authorization: Bearer <token>' (the token is printed when the server starts)",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return user


User = Annotated[str, Depends(current_user)]


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        code, detail, errors = _clear_errors(exc)
        return JSONResponse({"detail": detail, "errors": errors}, status_code=code)

    @app.exception_handler(ConfigError)
    async def _config(request: Request, exc: ConfigError) -> JSONResponse:
        code = (
            409
            if isinstance(exc, (Conflict, UnreadableSecret))
            else 404
            if isinstance(exc, NotARunError)
            else 422
        )
        return JSONResponse({"detail": redact(str(exc))}, status_code=code)


def create_app(settings: ServerSettings | None = None) -> FastAPI:
    settings = settings or ServerSettings()
    auth, token = build_authenticator(settings)  # a bad users file fails before anything is written
    data_dir = Path(settings.data_dir).expanduser().resolve()
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    if not auth.enabled:
        log.warning(
            "authentication is OFF (--no-auth): every request acts as the single user %r; "
            "serve on a loopback address only",
            auth.implicit_user,
        )
    vault = KeyVault.load(data_dir)
    db = Database(data_dir / DB_FILE)
    for user in auth.users:
        db.ensure_user(user)
    runs = RunManager(
        db,
        vault,
        data_dir=data_dir,
        anthropic_base_url=settings.anthropic_base_url,
        max_concurrent_runs=settings.max_concurrent_runs,
        max_concurrent_calls=settings.max_concurrent_calls,
        simulated_latency_s=settings.simulated_latency_s,
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await runs.start()
        try:
            yield
        finally:
            await runs.close()
            db.close()

    app = FastAPI(
        title="orchestrator_kit API",
        version=__version__,
        lifespan=lifespan,
        description="Run a team of LLM agents over a project request; see runs, artifacts, tokens and cost.",
    )
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    app.state.settings, app.state.auth, app.state.token = settings, auth, token
    app.state.db, app.state.runs, app.state.vault, app.state.data_dir = db, runs, vault, data_dir
    _install_error_handlers(app)
    _add_routes(app, settings, auth, db, runs, vault)
    return app


def _add_routes(
    app: FastAPI,
    settings: ServerSettings,
    auth: Authenticator,
    db: Database,
    runs: RunManager,
    vault: KeyVault,
) -> None:
    def project_of(user: str, project_id: str) -> dict[str, Any]:
        project = db.get_project(user, project_id)
        if project is None:
            raise HTTPException(404, f"project {project_id!r} not found")
        return project

    def run_of(user: str, project_id: str, run_id: str) -> dict[str, Any]:
        project_of(user, project_id)
        row = db.get_run(user, project_id, run_id)
        if row is None:
            raise HTTPException(404, f"run {run_id!r} not found in project {project_id!r}")
        return row

    def project_out(p: dict[str, Any]) -> ProjectOut:
        return ProjectOut(
            id=p["id"],
            project_name=p["name"],
            request=p["request"],
            created_at=p["created_at"],
            run_count=p["run_count"],
        )

    @app.get("/health", tags=["server"])
    def health() -> dict[str, Any]:
        return {"status": "ok", "version": __version__, "auth": auth.enabled}

    @app.get("/users/me", tags=["users"])
    def me(user: User) -> dict[str, Any]:
        return {"user_id": user, "auth": auth.enabled}

    # -- provider settings ---------------------------------------------------------------------
    def settings_out(user: str, notes: list[str] | None = None) -> ProviderSettingsOut:
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

    @app.post("/users/me/provider-settings", tags=["users"], response_model=ProviderSettingsOut)
    def set_provider_settings(body: ProviderSettingsIn, user: User) -> ProviderSettingsOut:
        key = body.api_key.get_secret_value()
        if body.model is not None:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # a retiring model is allowed; its runs say so
                check_model(body.model)
        note = check_key_format(key)
        db.set_provider(user, body.llm_provider, body.model, vault.encrypt(key), mask_key(key))
        log.info("provider settings of user %s updated (key %s)", user, mask_key(key))
        return settings_out(user, [note] if note else [])

    @app.get("/users/me/provider-settings", tags=["users"], response_model=ProviderSettingsOut)
    def get_provider_settings(user: User) -> ProviderSettingsOut:
        return settings_out(user)

    @app.delete("/users/me/provider-settings", tags=["users"], status_code=204)
    def delete_provider_settings(user: User) -> None:
        db.delete_provider(user)

    # -- projects --------------------------------------------------------------------------------
    @app.post("/projects", tags=["projects"], status_code=201, response_model=ProjectOut)
    def create_project(body: ProjectIn, user: User) -> ProjectOut:
        project = db.create_project("prj_" + secrets.token_hex(8), user, body.project_name, body.request)
        return project_out(project)

    @app.get("/projects", tags=["projects"], response_model=list[ProjectOut])
    def list_projects(user: User) -> list[ProjectOut]:
        return [project_out(p) for p in db.list_projects(user)]

    @app.get("/projects/{project_id}", tags=["projects"], response_model=ProjectDetail)
    def get_project(project_id: str, user: User) -> ProjectDetail:
        p = project_of(user, project_id)
        briefs = [
            RunBrief(**{k: r[k] for k in RunBrief.model_fields}) for r in db.list_runs(user, project_id)
        ]
        return ProjectDetail(**project_out(p).model_dump(), runs=briefs)

    # -- runs ---------------------------------------------------------------------------------------
    @app.post("/projects/{project_id}/runs", tags=["runs"], status_code=202, response_model=RunOut)
    async def start_run(project_id: str, body: RunIn, user: User) -> RunOut:
        project = project_of(user, project_id)
        row, notes = runs.launch(user, project, body)
        return RunOut(**runs.describe(row), warnings=notes)

    @app.get("/projects/{project_id}/runs", tags=["runs"], response_model=list[RunBrief])
    def list_runs(project_id: str, user: User) -> list[RunBrief]:
        project_of(user, project_id)
        return [RunBrief(**{k: r[k] for k in RunBrief.model_fields}) for r in db.list_runs(user, project_id)]

    @app.get("/projects/{project_id}/runs/{run_id}", tags=["runs"], response_model=RunOut)
    def get_run(project_id: str, run_id: str, user: User) -> RunOut:
        return RunOut(**runs.describe(run_of(user, project_id, run_id)))

    @app.post(
        "/projects/{project_id}/runs/{run_id}/resume", tags=["runs"], status_code=202, response_model=RunOut
    )
    async def resume_run(project_id: str, run_id: str, user: User, body: ResumeIn | None = None) -> RunOut:
        row = run_of(user, project_id, run_id)
        fresh = runs.resume(
            user, project_of(user, project_id), row, None if body is None else body.budget_usd
        )
        return RunOut(**runs.describe(fresh))

    @app.get(
        "/projects/{project_id}/runs/{run_id}/artifacts", tags=["artifacts"], response_model=list[ArtifactOut]
    )
    def list_artifacts(project_id: str, run_id: str, user: User) -> list[ArtifactOut]:
        folder = runs.folder(run_of(user, project_id, run_id))
        if folder is None:
            return []
        base = folder.path / "artifacts"
        out = []
        for f in folder.artifact_files():
            rel = f.relative_to(base).as_posix()
            agent, _, filename = rel.partition("/")
            out.append(ArtifactOut(agent=agent, filename=filename, path=rel, bytes=f.stat().st_size))
        return out

    @app.get(
        "/projects/{project_id}/runs/{run_id}/artifacts/{artifact_path:path}",
        tags=["artifacts"],
        response_class=PlainTextResponse,
    )
    def get_artifact(project_id: str, run_id: str, artifact_path: str, user: User) -> PlainTextResponse:
        folder = runs.folder(run_of(user, project_id, run_id))
        agent, _, filename = artifact_path.partition("/")
        if not agent or not filename:
            raise HTTPException(400, "artifact path must be <agent>/<filename>, as listed by .../artifacts")
        try:
            path = folder.artifact_path(agent, filename) if folder is not None else None
        except ConfigError as exc:
            raise HTTPException(400, str(exc)) from None
        if path is None or not path.is_file():
            raise HTTPException(404, f"artifact {artifact_path!r} not found in run {run_id!r}")
        media = _MEDIA.get(path.suffix.lower(), "text/plain")
        return PlainTextResponse(
            path.read_text(encoding="utf-8", errors="replace"),
            media_type=media,
            headers={"X-Content-Type-Options": "nosniff"},
        )

    @app.get(
        "/projects/{project_id}/runs/{run_id}/events",
        tags=["runs"],
        response_class=StreamingResponse,
        responses={200: {"content": {"text/event-stream": {}}}},
    )
    async def run_events(
        project_id: str, run_id: str, user: User, last_event_id: Annotated[str | None, Header()] = None
    ) -> StreamingResponse:
        row = run_of(user, project_id, run_id)
        after = int(last_event_id) if last_event_id and last_event_id.isdigit() else 0

        async def body() -> AsyncIterator[str]:
            async for event in runs.events(row, after, heartbeat_s=settings.sse_heartbeat_s):
                if event is None:
                    yield ": keep-alive\n\n"
                    continue
                data = redact(json.dumps(event, default=str, ensure_ascii=False))
                yield f"id: {event['seq']}\nevent: {event['type']}\ndata: {data}\n\n"

        return StreamingResponse(
            body(),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )


__all__ = ["ServerSettings", "build_authenticator", "create_app"]
