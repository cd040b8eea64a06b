"""How errors become HTTP answers, every body made safe to show (``failures.public_text``: no key-shaped
text, paths relative to the data folder):

- an HTTPException: its status and detail, redacted (a path parameter may hold a pasted key);
- a validation error: 400 (not JSON) or 422, one clear sentence; inputs are never echoed, field names
  and locations are redacted;
- our ConfigError family: 404 not a run, 409 Conflict/DamagedRun/UnreadableSecret, 429 TooManyQueued
  (with Retry-After), else 422;
- a full disk (SQLite's SQLITE_FULL, ENOSPC): 507; another index error: 503 with Retry-After;
  another OSError: 500 naming it.
"""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..errors import ConfigError, NotARunError
from ..store.run_folder import redact
from .failures import Conflict, TooManyQueued, public_text
from .index_sync import is_disk_full
from .secrets import UnreadableSecret

log = logging.getLogger("orchestrator_kit.server")


def clear_errors(exc: RequestValidationError) -> tuple[int, str, list[dict[str, Any]]]:
    """A status, a sentence and the errors without their inputs (an input may be an API key)."""
    errors = []
    for e in exc.errors():
        loc = [redact(str(p)) for p in e.get("loc", ()) if p != "body"]
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


def _data_dir(request: Request) -> Path:
    return Path(request.app.state.data_dir)


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers on ``app``."""

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        code, detail, errors = clear_errors(exc)
        return JSONResponse({"detail": detail, "errors": errors}, status_code=code)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = public_text(str(exc.detail), _data_dir(request))  # a path parameter may hold a key
        return JSONResponse({"detail": detail}, status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(ConfigError)
    async def _config(request: Request, exc: ConfigError) -> JSONResponse:
        headers = {}
        if isinstance(exc, TooManyQueued):
            code, headers = 429, {"Retry-After": str(exc.retry_after_s)}
        elif isinstance(exc, (Conflict, UnreadableSecret)):
            code = 409
        elif isinstance(exc, NotARunError):
            code = 404
        else:
            code = 422
        return JSONResponse(
            {"detail": public_text(str(exc), _data_dir(request))}, status_code=code, headers=headers
        )

    @app.exception_handler(sqlite3.Error)
    @app.exception_handler(OSError)
    async def _storage(request: Request, exc: Exception) -> JSONResponse:
        what = public_text(f"{type(exc).__name__}: {exc}", _data_dir(request))
        log.error("%s %s failed: %s", request.method, request.url.path, what)
        if is_disk_full(exc):
            return JSONResponse(
                {
                    "detail": f"the server's disk is full ({what}); nothing was saved: free space in "
                    "the server's data folder, then retry"
                },
                status_code=507,
            )
        if isinstance(exc, sqlite3.Error):
            return JSONResponse(
                {"detail": f"the server's index is unavailable ({what}); retry shortly"},
                status_code=503,
                headers={"Retry-After": "5"},
            )
        return JSONResponse({"detail": f"the server could not read or write its files ({what})"}, 500)


__all__ = ["clear_errors", "install_error_handlers"]
