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
    GET    /projects/{id}/runs/{run_id}/events       server-sent events (engine events; Last-Event-ID resumes,
                                                     or ?lastEventId= as EventSource polyfills send it)

Another user's project or run is a 404, exactly like a missing one. No other query parameter is taken: one
is refused (400) by name, never ignored (lists return every item; there is no paging).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI

from .. import __version__
from .db import DB_FILE, Database
from .docs import install_docs
from .error_map import install_error_handlers
from .logs import install_log_redaction
from .middleware import BodyLimit, HeadAsGet, HostCheck
from .permissions import make_private, private_dir
from .routers import events, projects
from .routers import runs as run_routes
from .runs import RunManager
from .secrets import KeyVault
from .settings import ServerSettings, build_authenticator

log = logging.getLogger("orchestrator_kit.server")


def create_app(settings: ServerSettings | None = None) -> FastAPI:
    """The FastAPI app over ``settings.data_dir``: index, key vault, run manager, routes, middleware."""
    settings = settings or ServerSettings()
    auth, token, generated = build_authenticator(settings)  # a bad users file fails before any write
    data_dir = Path(settings.data_dir).expanduser().resolve()
    private_dir(data_dir)
    if not auth.enabled:
        log.warning(
            "authentication is OFF (--no-auth): every request acts as the single user %r; "
            "serve on a loopback address only",
            auth.implicit_user,
        )
    vault = KeyVault.load(data_dir)  # refuses a key file others can read: checked before the fix-up
    make_private(data_dir)  # 0700 folders, 0600 files, whether or not they existed
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
        max_queued_per_user=settings.max_queued_per_user,
        call_timeout_s=settings.call_timeout_s,
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
        docs_url=None,  # served by docs.py from the packaged Swagger UI files, not from a CDN
        redoc_url=None,
    )
    app.add_middleware(HeadAsGet)
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes, timeout_s=settings.body_timeout_s)
    app.add_middleware(HostCheck, allowed=settings.allowed_hosts)  # added last: runs first
    app.state.settings, app.state.auth, app.state.token = settings, auth, token
    app.state.token_generated = generated
    app.state.db, app.state.runs, app.state.vault, app.state.data_dir = db, runs, vault, data_dir
    install_error_handlers(app)
    for router in (projects.router, run_routes.router, events.router):
        app.include_router(router)
    install_docs(app)
    install_log_redaction()
    return app


__all__ = ["ServerSettings", "build_authenticator", "create_app"]
