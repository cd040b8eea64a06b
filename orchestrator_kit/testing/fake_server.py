"""A fake Anthropic Messages API on 127.0.0.1, with scripted faults, for tests and CI.

Real HTTP (the real SDK talks to it over loopback), stdlib only::

    with FakeAnthropicServer() as srv:
        client = anthropic.AsyncAnthropic(api_key="sk-ant-test-x", base_url=srv.base_url, max_retries=0)
        srv.script(Fault.status(429, retry_after_ms=10))   # the next /v1/messages gets a 429
        ...
        assert srv.count("/v1/messages") == 2

Served: ``POST /v1/messages`` (JSON, or SSE when ``"stream": true``), ``POST /v1/messages/count_tokens``,
and message batches (``_batches.py``: create, retrieve, list, cancel, results streamed as JSONL from a
relative ``results_url``; a batch stays ``in_progress`` for ``batch_processing_s``, outcomes can be scripted
with ``srv.batches.script_outcomes(...)``). ``rate_limits=RateLimits(rpm=60)`` enforces per-minute limits on
``/v1/messages`` (``_ratelimits.py``: ratelimit headers, 429 + ``retry-after``; ``srv.rate_limited`` counts
the 429s). Request order: fixed latency, auth, the next matching scripted fault, validation (``strict``),
the rate limits, then the route.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from . import _wire
from ._batches import FakeBatches
from ._faults import Fault, RecordedRequest
from ._ratelimits import RateLimits, ServerRateLimiter

Responder = Callable[[dict[str, Any]], "str | dict[str, Any]"]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in separate writes: without this, keep-alive
    # requests wait ~40 ms for a delayed ACK on Linux
    server: _HTTPServer

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def setup(self) -> None:
        super().setup()
        self.server.fake._track(self.connection, add=True)

    def finish(self) -> None:
        try:
            super().finish()
        except OSError:
            pass
        finally:
            self.server.fake._track(self.connection, add=False)

    def handle(self) -> None:
        try:
            super().handle()
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError, TimeoutError, OSError):
            self.close_connection = True

    def do_GET(self) -> None:
        self.server.fake._dispatch(self)

    do_POST = do_PUT = do_DELETE = do_PATCH = do_GET

    # -- writing -----------------------------------------------------------------------------------

    def send_json(
        self,
        status: int,
        payload: Any,
        headers: dict[str, str] | None = None,
        raw: bytes | None = None,
        content_type: str = "application/json",
    ) -> None:
        data = raw if raw is not None else json.dumps(payload).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def start_chunked(
        self, headers: dict[str, str], content_type: str = "text/event-stream; charset=utf-8"
    ) -> None:
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()

    def write_chunk(self, data: bytes) -> None:
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))

    def end_chunked(self) -> None:
        self.wfile.write(b"0\r\n\r\n")

    def cut(self) -> None:
        """Close the connection now, whatever was (not) sent."""
        self.close_connection = True
        try:
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    fake: FakeAnthropicServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # client went away mid-response: expected with drops and timeouts


class FakeAnthropicServer:
    """A threaded HTTP server speaking the Messages API. Context manager, or ``start()``/``stop()``.

    ``require_key``: only this key is accepted (any other: 401 authentication_error).
    ``responder``: ``fn(body) -> str | message dict``; default a short deterministic reply.
    ``latency``: seconds added before every response (settable later as ``srv.latency``).
    ``rate_limits``: per-minute limits to enforce (None: none, and no ratelimit headers).
    ``batch_processing_s``: how long a new batch stays ``in_progress`` (settable later as
    ``srv.batches.processing_s``).
    ``input_factor``: bill (and count, at ``count_tokens``) this many times the input tokens our own
    estimator finds, e.g. 1.5 for a server that bills more than the toolkit estimated.
    ``strict``: reject what API version 2026-10-21 rejects (``temperature``/``top_p``/``top_k``, a missing
    ``anthropic-version`` header, missing ``model``/``max_tokens``/``messages``) with a 400.
    """

    def __init__(
        self,
        *,
        require_key: str | None = None,
        responder: Responder | None = None,
        latency: float = 0.0,
        input_factor: float = 1.0,
        strict: bool = True,
        host: str = "127.0.0.1",
        port: int = 0,
        rate_limits: RateLimits | None = None,
        batch_processing_s: float = 0.0,
    ) -> None:
        self.require_key = require_key
        self.responder: Responder | None = responder
        self.latency = latency
        self.input_factor = input_factor
        self.strict = strict
        self._host = host
        self._port = port
        self._lock = threading.Lock()
        self._requests: list[RecordedRequest] = []
        self._faults: deque[Fault] = deque()
        self.batches = FakeBatches(lambda params: self._build_message(params, None))
        self.batches.processing_s = batch_processing_s
        self.rate_limiter = None if rate_limits is None else ServerRateLimiter(rate_limits)
        self._serial = 0
        self._cache = _wire.PromptCache()
        self._connections: set[socket.socket] = set()
        self._stopping = threading.Event()
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------------------

    def start(self) -> FakeAnthropicServer:
        if self._httpd is not None:
            return self
        self._stopping.clear()
        httpd = _HTTPServer((self._host, self._port), _Handler)
        httpd.fake = self
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="fake-anthropic-server",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        httpd, thread = self._httpd, self._thread
        if httpd is None:
            return
        self._stopping.set()  # wakes delayed and latency waits
        httpd.shutdown()
        httpd.server_close()
        with self._lock:
            connections = list(self._connections)
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        if thread is not None:
            thread.join(timeout=2.0)
        self._httpd = None
        self._thread = None

    def __enter__(self) -> FakeAnthropicServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        if self._httpd is None:
            raise RuntimeError("the fake server is not running; use it as a context manager or call start()")
        return f"http://{self._host}:{self._httpd.server_address[1]}"

    def __repr__(self) -> str:
        where = self.base_url if self._httpd is not None else "stopped"
        return f"FakeAnthropicServer({where}, requests={len(self._requests)}, pending_faults={len(self._faults)})"

    # -- scripting and inspection --------------------------------------------------------------------

    def script(self, *faults: Fault) -> None:
        """Queue faults; each is used once, by the next request whose path matches it."""
        with self._lock:
            self._faults.extend(faults)

    @property
    def rate_limited(self) -> int:
        """How many 429s the enforced rate limits have sent."""
        return 0 if self.rate_limiter is None else self.rate_limiter.rejected

    @property
    def pending_faults(self) -> int:
        with self._lock:
            return len(self._faults)

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    def count(self, path: str | None = "/v1/messages", *, method: str | None = None) -> int:
        """How many requests arrived at ``path`` (``None``: any path), optionally of one method."""
        with self._lock:
            return sum(
                1
                for r in self._requests
                if (path is None or r.path == path) and (method is None or r.method == method)
            )

    def reset(self) -> None:
        """Forget requests, pending faults, batches and the prompt cache."""
        with self._lock:
            self._requests.clear()
            self._faults.clear()
        self.batches.reset()
        self._cache.clear()

    # -- internals -----------------------------------------------------------------------------------

    def _track(self, conn: socket.socket, *, add: bool) -> None:
        with self._lock:
            if add:
                self._connections.add(conn)
            else:
                self._connections.discard(conn)

    def _next_serial(self) -> int:
        with self._lock:
            self._serial += 1
            return self._serial

    def _take_fault(self, path: str) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.path is None or fault.path == path:
                    self._faults.remove(fault)
                    return fault
        return None

    def _dispatch(self, h: _Handler) -> None:
        length = int(h.headers.get("content-length") or 0)
        raw = h.rfile.read(length) if length > 0 else b""
        split = urlsplit(h.path)
        body: Any = None
        bad_json = False
        if raw:
            try:
                body = json.loads(raw)
            except ValueError:
                bad_json = True
        record = RecordedRequest(
            method=h.command,
            path=split.path,
            headers={k.lower(): v for k, v in h.headers.items()},
            body=body,
            time=time.time(),
            query=dict(parse_qsl(split.query)),
        )
        with self._lock:
            self._requests.append(record)
        request_id = f"req_fake_{self._next_serial():06d}"
        ids = {"request-id": request_id}

        if self.latency > 0 and self._stopping.wait(self.latency):
            return h.cut()
        if (denied := self._auth_error(record)) is not None:
            return h.send_json(401, _wire.error_body(401, request_id, denied), ids)

        fault = self._take_fault(split.path)
        if fault is not None:
            if fault.kind == "status":
                headers = {**ids, **dict(fault.headers)}
                payload = _wire.error_body(fault.status_code, request_id, fault.message, fault.error_type)
                return h.send_json(fault.status_code, payload, headers)
            if fault.kind == "drop":
                return h.cut()
            if fault.kind == "delay" and self._stopping.wait(fault.seconds):
                return h.cut()

        if bad_json:
            return h.send_json(
                400, _wire.error_body(400, request_id, "The request body is not valid JSON."), ids
            )
        route = self._route(record)
        if route is None:
            return h.send_json(
                404, _wire.error_body(404, request_id, f"Not found: {record.method} {record.path}"), ids
            )
        route(h, record, request_id, fault)

    def _auth_error(self, record: RecordedRequest) -> str | None:
        auth = record.headers.get("authorization", "")
        key = auth[7:].strip() if auth.lower().startswith("bearer ") else record.headers.get("x-api-key", "")
        if not key:
            return "Missing credentials: send Authorization: Bearer <key> or x-api-key."
        if self.require_key is not None and key != self.require_key:
            return "invalid x-api-key"
        return None

    def _route(
        self, r: RecordedRequest
    ) -> Callable[[_Handler, RecordedRequest, str, Fault | None], None] | None:
        parts = r.path.strip("/").split("/")
        if parts[:2] != ["v1", "messages"]:
            return None
        rest = parts[2:]
        if r.method == "POST" and rest == []:
            return self._messages
        if r.method == "POST" and rest == ["count_tokens"]:
            return self._count_tokens
        batch_routes = {("POST", 1), ("GET", 1), ("GET", 2), ("POST", 3, "cancel"), ("GET", 3, "results")}
        if rest[:1] == ["batches"] and ((r.method, len(rest), *rest[2:]) in batch_routes):
            return self._batch
        return None

    def _build_message(self, params: dict[str, Any], fault: Fault | None) -> dict[str, Any]:
        """The reply message for ``params``; raises whatever the responder raises."""
        stop_reason = "end_turn"
        if fault is not None and fault.kind in ("truncate", "refusal"):
            reply: Any = fault.text or ""
            stop_reason = "max_tokens" if fault.kind == "truncate" else "refusal"
        elif fault is not None and fault.kind == "reply":
            reply = fault.reply
        elif self.responder is not None:
            reply = self.responder(params)
        else:
            reply = _wire.default_reply(params)
        model = str(params.get("model", "claude-fake"))
        msg_id = f"msg_fake_{uuid.uuid4().hex[:20]}"
        if isinstance(reply, str):
            content = [{"type": "text", "text": reply}]
            usage = _wire.usage_for(params, reply, self._cache, input_factor=self.input_factor)
            return _wire.message_dict(
                msg_id=msg_id, model=model, content=content, stop_reason=stop_reason, usage=usage
            )
        if not isinstance(reply, dict):
            raise TypeError(f"the responder must return str or dict, not {type(reply).__name__}")
        message = _wire.message_dict(
            msg_id=msg_id, model=model, content=[], stop_reason=stop_reason, usage={}
        )
        message.update(reply)
        if not reply.get("usage"):
            message["usage"] = _wire.usage_for(
                params, _wire.reply_text(message), self._cache, input_factor=self.input_factor
            )
        return message

    # -- routes --------------------------------------------------------------------------------------

    def _messages(self, h: _Handler, r: RecordedRequest, request_id: str, fault: Fault | None) -> None:
        ids = {"request-id": request_id}
        if (problem := _wire.invalid_request(r.headers, r.body, strict=self.strict)) is not None:
            return h.send_json(400, _wire.error_body(400, request_id, problem), ids)
        if self.rate_limiter is not None:
            retry_after, limit_headers = self.rate_limiter.admit(r.body)
            ids.update(limit_headers)
            if retry_after > 0:
                ids["retry-after"] = f"{retry_after:g}"
                return h.send_json(429, _wire.error_body(429, request_id), ids)
        streaming = r.body.get("stream") is True
        kind = fault.kind if fault is not None else None
        if kind == "malformed":
            if streaming:
                h.start_chunked(ids)
                h.write_chunk(b'event: message_start\ndata: {"type": "message_start", "message": {\n\n')
                return h.end_chunked()
            return h.send_json(
                200, None, ids, raw=b'{"id": "msg_fake_broken", "type": "message", "content": ['
            )
        if kind == "stream_drop" and not streaming:
            return h.cut()
        try:
            message = self._build_message(r.body, fault)
        except Exception as exc:  # noqa: BLE001 - a bug in a user's responder: make it visible, not a hang
            text = f"fake server responder raised {type(exc).__name__}: {exc}"
            return h.send_json(500, _wire.error_body(500, request_id, text), ids)
        if self.rate_limiter is not None:
            used = int((message.get("usage") or {}).get("output_tokens") or 0)
            self.rate_limiter.settle_output(int(r.body.get("max_tokens") or 0), used)
        if not streaming:
            return h.send_json(200, message, ids)

        h.start_chunked(ids)
        deltas = 0
        for what, event in _wire.stream_events(message):
            if (
                what == "delta"
                and fault is not None
                and kind in ("stream_drop", "stream_error")
                and deltas >= fault.after_deltas
            ):
                if kind == "stream_error":
                    error = _wire.error_body(529, request_id, fault.message, fault.error_type)
                    h.write_chunk(_wire.sse("error", error))
                    return h.end_chunked()
                if fault.clean:
                    return h.end_chunked()
                return h.cut()
            h.write_chunk(event)
            deltas += what == "delta"
        h.end_chunked()

    def _count_tokens(self, h: _Handler, r: RecordedRequest, request_id: str, fault: Fault | None) -> None:
        if not isinstance(r.body, dict):
            return h.send_json(
                400, _wire.error_body(400, request_id, "The request body must be a JSON object.")
            )
        tokens = _wire.input_tokens_for(r.body, self.input_factor)
        h.send_json(200, {"input_tokens": tokens}, {"request-id": request_id})

    def _batch(self, h: _Handler, r: RecordedRequest, request_id: str, fault: Fault | None) -> None:
        """Every ``/v1/messages/batches`` route (see ``_batches.FakeBatches``)."""
        ids = {"request-id": request_id}
        parts = r.path.strip("/").split("/")[3:]
        if not parts:
            if r.method == "POST":
                return h.send_json(*self.batches.create(r.body, request_id), ids)
            try:
                limit = max(1, min(1000, int(r.query.get("limit", "20"))))
            except ValueError:
                return h.send_json(400, _wire.error_body(400, request_id, "limit: must be an integer"), ids)
            return h.send_json(200, self.batches.page(limit, r.query.get("after_id")), ids)
        batch = self.batches.cancel(parts[0]) if parts[1:] == ["cancel"] else self.batches.get(parts[0])
        if batch is None:
            return h.send_json(404, _wire.error_body(404, request_id, f"batch {parts[0]} not found"), ids)
        if parts[1:] != ["results"]:
            return h.send_json(200, batch, ids)
        lines = self.batches.result_lines(parts[0])
        if lines is None:
            text = "the batch has not ended yet; its results_url is set once it has"
            return h.send_json(400, _wire.error_body(400, request_id, text), ids)
        h.start_chunked(ids, content_type="application/binary")
        for line in lines:  # streamed line by line, as a large results file is
            h.write_chunk(line)
        h.end_chunked()
