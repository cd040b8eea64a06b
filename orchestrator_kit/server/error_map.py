"""How errors become HTTP answers, every body made safe to show (``failures.public_text``: no key-shaped
text, paths relative to the data folder):

- an HTTPException: its status and detail, redacted (a path parameter may hold a pasted key);
- a validation error: 400 (not JSON) or 422, one clear sentence; inputs are never echoed, field names
  and locations are redacted; a body that is empty or not a JSON object is named as such (422), one not
  read as JSON for its Content-Type is a 415;
- a body FastAPI could not decode (not UTF-8, nested too deeply): 400 saying which;
- no such route: 404 naming the method and path; a method the route lacks: 405 naming the allowed ones;
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
from starlette.routing import Match

from ..errors import ConfigError, NotARunError
from ..store.run_folder import redact
from .failures import Conflict, TooManyQueued, clipped, public_text
from .index_sync import is_disk_full
from .secrets import UnreadableSecret

log = logging.getLogger("orchestrator_kit.server")


_JSON_KINDS = {list: "an array", str: "a string", int: "a number", float: "a number", bool: "true or false"}


def body_problem(error: dict[str, Any], content_type: str | None) -> tuple[int, str] | None:
    """Status and sentence for an error about the body as a whole: empty (422), not read as JSON for its
    Content-Type (415), JSON but not an object (422)."""
    if tuple(error.get("loc", ())) != ("body",):
        return None
    given = error.get("input")
    if error.get("type") == "missing":
        return 422, (
            "invalid request: the request body is empty; send a JSON object with the header "
            "'Content-Type: application/json'"
        )
    if isinstance(given, (bytes, bytearray)):  # FastAPI reads a body as JSON only for a JSON media type
        shown = redact(content_type.strip()[:80]) if content_type and content_type.strip() else "none"
        return 415, (
            f"the request body was not read as JSON because of its Content-Type ({shown}); send it "
            "with the header 'Content-Type: application/json'"
        )
    kind = "null" if given is None else _JSON_KINDS.get(type(given))
    if kind is not None:
        return 422, f"invalid request: the request body must be a JSON object ({{...}}), not {kind}"
    return None


def clear_errors(
    exc: RequestValidationError, content_type: str | None = None
) -> tuple[int, str, list[dict[str, Any]]]:
    """A status, a sentence and the errors without their inputs (an input may be an API key)."""
    errors = []
    for e in exc.errors():
        whole = body_problem(e, content_type)
        if whole is not None:
            return whole[0], whole[1], []
        loc = [redact(clipped(str(p))) for p in e.get("loc", ()) if p != "body"]  # a name may be any length
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


def http_detail(request: Request, exc: StarletteHTTPException) -> str:
    """The detail of an HTTPException; the framework's own (no route, wrong method, undecodable body)
    are said in full, told apart by where they come from, not by their text."""
    shown = clipped(request.url.path, 200)
    where = f"{request.method} {shown}"
    cause = exc.__cause__
    if exc.status_code == 400 and isinstance(cause, UnicodeDecodeError):
        return (
            f"the request body is not valid JSON: byte {cause.start} is not UTF-8 "
            "(JSON must be sent as UTF-8)"
        )
    if exc.status_code == 400 and isinstance(cause, RecursionError):
        return "the request body is not accepted: its JSON is nested too deeply"
    if exc.status_code == 400 and isinstance(cause, ValueError):  # e.g. a number of 5,000 digits
        return f"the request body could not be read as JSON ({type(cause).__name__})"
    if exc.status_code == 404 and "endpoint" not in request.scope:  # no route matched
        return f"no such endpoint: {where}; the API's endpoints are listed at /docs"
    if exc.status_code == 405:
        allowed = ", ".join(allowed_methods(request)) or (exc.headers or {}).get("Allow")
        said = f"; allowed: {allowed}" if allowed else ""
        return f"method {request.method} is not allowed on {shown}{said}"
    return str(exc.detail)


_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


def allowed_methods(request: Request) -> list[str]:
    """Every method some route serves at this path (Starlette's Allow names the first route's only);
    HEAD wherever GET is (middleware.HeadAsGet)."""
    methods = [
        m
        for m in _METHODS
        if any(r.matches({**request.scope, "method": m})[0] is Match.FULL for r in request.app.router.routes)
    ]
    return sorted([*methods, "HEAD"] if "GET" in methods else methods)


def _data_dir(request: Request) -> Path:
    return Path(request.app.state.data_dir)


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers on ``app``."""

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        code, detail, errors = clear_errors(exc, request.headers.get("content-type"))
        return JSONResponse({"detail": detail, "errors": errors}, status_code=code)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = public_text(http_detail(request, exc), _data_dir(request))  # a path may hold a key
        headers = dict(exc.headers or {})
        allowed = allowed_methods(request) if exc.status_code == 405 else []
        if allowed:  # none found inside a mount (the docs' files): its own Allow, if any, stays
            headers["Allow"] = ", ".join(allowed)
        return JSONResponse({"detail": detail}, status_code=exc.status_code, headers=headers)

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


__all__ = ["allowed_methods", "body_problem", "clear_errors", "http_detail", "install_error_handlers"]
