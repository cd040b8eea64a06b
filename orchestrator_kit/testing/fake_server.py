"""A fake Anthropic Messages API on 127.0.0.1, with scripted faults, for tests and CI.

Real HTTP (the real SDK talks to it over loopback), stdlib only::

    with FakeAnthropicServer() as srv:
        client = anthropic.AsyncAnthropic(api_key="sk-ant-test-x", base_url=srv.base_url, max_retries=0)
        srv.script(Fault.status(429, retry_after_ms=10))   # the next /v1/messages gets a 429
        ...
        assert srv.count("/v1/messages") == 2

Served: ``POST /v1/messages`` (JSON, or SSE when ``"stream": true``), ``POST /v1/messages/count_tokens``,
and message batches (create, retrieve, list, cancel, results at a relative ``results_url``; a batch ends
at once, each request answered by the responder). Request order: fixed latency, auth, the next matching
scripted fault, validation (``strict``), then the route.
"""

from __future__ import annotations

import json
import socket
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from . import _wire
from ._faults import Fault, RecordedRequest

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

    def start_chunked(self, headers: dict[str, str]) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
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
    ``strict``: reject what API version 2026-10-21 rejects (``temperature``/``top_p``/``top_k``, a missing
    ``anthropic-version`` header, missing ``model``/``max_tokens``/``messages``) with a 400.
    """

    def __init__(
        self,
        *,
        require_key: str | None = None,
        responder: Responder | None = None,
        latency: float = 0.0,
        strict: bool = True,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.require_key = require_key
        self.responder: Responder | None = responder
        self.latency = latency
        self.strict = strict
        self._host = host
        self._port = port
        self._lock = threading.Lock()
        self._requests: list[RecordedRequest] = []
        self._faults: deque[Fault] = deque()
        self._batches: dict[str, dict[str, Any]] = {}
        self._results: dict[str, bytes] = {}
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
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
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
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def __repr__(self) -> str:
        where = self.base_url if self._httpd is not None else "stopped"
        return f"FakeAnthropicServer({where}, requests={len(self._requests)}, pending_faults={len(self._faults)})"

    # -- scripting and inspection --------------------------------------------------------------------

    def script(self, *faults: Fault) -> None:
        """Queue faults; each is used once, by the next request whose path matches it."""
        with self._lock:
            self._faults.extend(faults)

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
            self._batches.clear()
            self._results.clear()
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
        if rest[:1] != ["batches"]:
            return None
        if r.method == "POST" and rest == ["batches"]:
            return self._batch_create
        if r.method == "GET" and rest == ["batches"]:
            return self._batch_list
        if r.method == "GET" and len(rest) == 2:
            return self._batch_get
        if r.method == "POST" and len(rest) == 3 and rest[2] == "cancel":
            return self._batch_cancel
        if r.method == "GET" and len(rest) == 3 and rest[2] == "results":
            return self._batch_results
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
            usage = _wire.usage_for(params, reply, self._cache)
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
            message["usage"] = _wire.usage_for(params, _wire.reply_text(message), self._cache)
        return message

    # -- routes --------------------------------------------------------------------------------------

    def _messages(self, h: _Handler, r: RecordedRequest, request_id: str, fault: Fault | None) -> None:
        ids = {"request-id": request_id}
        if (problem := _wire.invalid_request(r.headers, r.body, strict=self.strict)) is not None:
            return h.send_json(400, _wire.error_body(400, request_id, problem), ids)
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
        except Exception as exc:  # a bug in a user's responder: make it visible, not a hang
            text = f"fake server responder raised {type(exc).__name__}: {exc}"
            return h.send_json(500, _wire.error_body(500, request_id, text), ids)
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
        tokens = max(1, _wire.estimate_tokens(_wire.prompt_text(r.body)))
        h.send_json(200, {"input_tokens": tokens}, {"request-id": request_id})

    def _batch_create(self, h: _Handler, r: RecordedRequest, request_id: str, fault: Fault | None) -> None:
        requests = r.body.get("requests") if isinstance(r.body, dict) else None
        if not isinstance(requests, list) or not requests:
            return h.send_json(400, _wire.error_body(400, request_id, "requests: Field required"))
        lines: list[str] = []
        counts = {"processing": 0, "succeeded": 0, "errored": 0, "canceled": 0, "expired": 0}
        for item in requests:
            custom_id = item.get("custom_id") if isinstance(item, dict) else None
            params = item.get("params") if isinstance(item, dict) else None
            try:
                if not isinstance(params, dict):
                    raise ValueError("params: Field required")
                result: dict[str, Any] = {"type": "succeeded", "message": self._build_message(params, None)}
                counts["succeeded"] += 1
            except Exception as exc:
                result = {"type": "errored", "error": _wire.error_body(400, request_id, str(exc))}
                counts["errored"] += 1
            lines.append(json.dumps({"custom_id": custom_id, "result": result}))
        now = datetime.now(UTC)
        batch_id = f"msgbatch_fake_{uuid.uuid4().hex[:20]}"
        batch = {
            "id": batch_id,
            "type": "message_batch",
            "processing_status": "ended",
            "request_counts": counts,
            "created_at": _wire.iso(now),
            "ended_at": _wire.iso(now),
            "expires_at": _wire.iso(now + timedelta(hours=24)),
            "archived_at": None,
            "cancel_initiated_at": None,
            "results_url": f"/v1/messages/batches/{batch_id}/results",
        }
        with self._lock:
            self._batches[batch_id] = batch
            self._results[batch_id] = ("\n".join(lines) + "\n").encode("utf-8")
        h.send_json(200, batch, {"request-id": request_id})

    def _find_batch(self, h: _Handler, r: RecordedRequest, request_id: str) -> dict[str, Any] | None:
        batch_id = r.path.strip("/").split("/")[3]
        with self._lock:
            batch = self._batches.get(batch_id)
        if batch is None:
            h.send_json(
                404,
                _wire.error_body(404, request_id, f"batch {batch_id} not found"),
                {"request-id": request_id},
            )
        return batch

    def _batch_get(self, h: _Handler, r: RecordedRequest, request_id: str, fault: Fault | None) -> None:
        if (batch := self._find_batch(h, r, request_id)) is not None:
            h.send_json(200, batch, {"request-id": request_id})

    def _batch_cancel(self, h: _Handler, r: RecordedRequest, request_id: str, fault: Fault | None) -> None:
        # Fake batches have already ended, so cancelling changes nothing (as with the real API).
        self._batch_get(h, r, request_id, fault)

    def _batch_list(self, h: _Handler, r: RecordedRequest, request_id: str, fault: Fault | None) -> None:
        try:
            limit = max(1, min(1000, int(r.query.get("limit", "20"))))
        except ValueError:
            return h.send_json(400, _wire.error_body(400, request_id, "limit: must be an integer"))
        with self._lock:
            batches = list(reversed(self._batches.values()))
        page = batches[:limit]
        payload = {
            "data": page,
            "has_more": len(batches) > limit,
            "first_id": page[0]["id"] if page else None,
            "last_id": page[-1]["id"] if page else None,
        }
        h.send_json(200, payload, {"request-id": request_id})

    def _batch_results(self, h: _Handler, r: RecordedRequest, request_id: str, fault: Fault | None) -> None:
        if self._find_batch(h, r, request_id) is None:
            return
        with self._lock:
            data = self._results[r.path.strip("/").split("/")[3]]
        h.send_json(200, None, {"request-id": request_id}, raw=data, content_type="application/x-jsonl")
