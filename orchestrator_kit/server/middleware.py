"""ASGI middleware of the API server:

- ``HostCheck``: refuses (403) a request whose ``Host``, or ``Origin`` when present, is not a loopback name
  or one of ``--allowed-hosts``: a web page that rebinds its own DNS name to 127.0.0.1 cannot drive the API;
- ``BodyLimit``: 413 for a body over the limit, 408 for a body that does not arrive in time (a client that
  sends a few bytes and stalls does not hold a connection for minutes);
- ``HeadAsGet``: HEAD answered like GET, without the body (RFC 9110 9.3.2), an event stream included.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import time
from collections.abc import Iterable
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..errors import OrchestratorError


async def _send_json(send: Send, status: int, detail: str) -> None:
    body = json.dumps({"detail": detail}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def is_loopback(host: str) -> bool:
    """``localhost`` (and ``*.localhost``), 127.0.0.0/8 and ::1, with or without IPv6 brackets."""
    name = host.strip().strip("[]").lower().rstrip(".")
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def host_of(value: str) -> str:
    """The host name of a ``Host`` header value (``name``, ``name:port``, ``[v6]:port``), lower case."""
    value = value.strip().lower()
    if value.startswith("["):
        return value[1 : value.find("]")] if "]" in value else value
    return value.rsplit(":", 1)[0] if value.count(":") == 1 else value


class HostCheck:
    """403 unless the Host (and Origin, when sent) names this machine's loopback or an allowed host.
    ``allowed`` may hold ``*`` (any host: only behind a proxy that checks Host itself)."""

    def __init__(self, app: ASGIApp, allowed: Iterable[str] = ()) -> None:
        self.app = app
        self.allowed = {host_of(h) if h != "*" else "*" for h in allowed if h.strip()}

    def ok(self, host: str) -> bool:
        return "*" in self.allowed or is_loopback(host) or host in self.allowed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        headers = dict(scope.get("headers") or [])
        host = host_of(headers.get(b"host", b"").decode("latin-1"))
        origin = headers.get(b"origin")
        problem = None
        if not self.ok(host):
            problem = f"Host {host[:100]!r}"
        elif origin is not None:
            origin_host = urlsplit(origin.decode("latin-1")).hostname or ""
            if not self.ok(origin_host):
                problem = f"Origin {origin.decode('latin-1')[:100]!r}"
        if problem is None:
            return await self.app(scope, receive, send)
        if scope["type"] == "websocket":
            return await send({"type": "websocket.close", "code": 1008})
        await _send_json(
            send,
            403,
            f"request refused: {problem} is not this server's name (only loopback names are accepted, "
            "which keeps web pages from driving the API); start the server with --allowed-hosts NAME "
            "to accept another name",
        )


class _Refused(OrchestratorError):
    """Raised into the app to abort reading a body already answered with 413/408; BodyLimit drops it."""


class BodyLimit:
    """413 for a request body over ``max_bytes``: at once by Content-Length, else as chunks arrive;
    408 when the whole body has not arrived ``timeout_s`` seconds after the app started reading it.
    The error is sent from here; whatever the app answers after the aborted read is dropped."""

    def __init__(self, app: ASGIApp, max_bytes: int, timeout_s: float = 30.0) -> None:
        self.app, self.max_bytes, self.timeout_s = app, max_bytes, timeout_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        length = dict(scope.get("headers") or []).get(b"content-length", b"")
        if length.isdigit() and int(length) > self.max_bytes:
            return await _send_json(send, 413, self._too_large())
        seen, rejected, complete = 0, False, False
        deadline: float | None = None

        async def reject(status: int, detail: str) -> None:
            nonlocal rejected
            rejected = True
            await _send_json(send, status, detail)
            raise _Refused

        async def limited_receive() -> Message:
            nonlocal seen, complete, deadline
            if complete:  # the body is in; what follows is the wait for a disconnect
                return await receive()
            if deadline is None:
                deadline = time.monotonic() + self.timeout_s
            try:
                message = await asyncio.wait_for(receive(), max(0.0, deadline - time.monotonic()))
            except TimeoutError:
                await reject(
                    408,
                    f"request body not received within {self.timeout_s:g} s; send the whole body at once",
                )
                raise  # pragma: no cover - reject raised
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                complete = not message.get("more_body", False)
                if seen > self.max_bytes and not rejected:
                    await reject(413, self._too_large())
            else:
                complete = True
            return message

        async def guarded_send(message: Message) -> None:
            if not rejected:
                await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except Exception:
            if not rejected:
                raise

    def _too_large(self) -> str:
        return f"request body too large: the limit is {self.max_bytes:,} bytes"


class _HeadDone(OrchestratorError):
    """Raised into the app once a HEAD answer's status and headers are sent; HeadAsGet drops it."""


class HeadAsGet:
    """HEAD served by the GET route: the same status and headers (Content-Length included), no body.
    The app stops once its headers are sent, so HEAD on an event stream does not wait for the run."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            return await self.app(scope, receive, send)
        sent = False

        async def head_send(message: Message) -> None:
            nonlocal sent
            if sent:
                raise _HeadDone
            if message["type"] == "http.response.start":
                await send(message)
                await send({"type": "http.response.body", "body": b"", "more_body": False})
                sent = True

        try:
            await self.app({**scope, "method": "GET"}, receive, head_send)
        except Exception:
            if not sent:
                raise


__all__ = ["BodyLimit", "HeadAsGet", "HostCheck", "host_of", "is_loopback"]
