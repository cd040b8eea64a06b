"""A scripted Messages API server of its own (not orchestrator_kit.testing): raw bytes, as an outside
test suite's fake would send them. stdlib only, 127.0.0.1, port 0, stopped by its context manager.

    with RawApi() as api:
        api.replies.append(Reply(body=message([...])))            # or a callable(body) -> Reply
        backend = AnthropicBackend(KEY, base_url=api.base_url)
"""

from __future__ import annotations

import json
import socket
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Reply:
    status: int = 200
    body: Any = None  # dict/list: JSON; bytes: as they are
    events: list[tuple[str, dict[str, Any]]] | None = None  # SSE events, chunked
    headers: dict[str, str] = field(default_factory=dict)
    cut_after: int | None = None  # close the socket after this many events


Script = Reply | Callable[[Any], Reply]


def message(
    content: list[dict[str, Any]],
    stop_reason: Any = "end_turn",
    usage: dict[str, Any] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    return {
        "id": "msg_raw_1",
        "type": "message",
        "role": "assistant",
        "model": "claude-sonnet-5-5",
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": usage or {"input_tokens": 10, "output_tokens": 5},
        **extra,
    }


def text_events(
    text: str, *, stop_reason: str | None = "end_turn", usage: dict[str, Any] | None = None
) -> list[tuple[str, dict[str, Any]]]:
    """message_start, one text block, message_delta (when ``stop_reason``) and message_stop."""
    start = message([], None, {"input_tokens": 10, "output_tokens": 1})
    events: list[tuple[str, dict[str, Any]]] = [
        ("message_start", {"type": "message_start", "message": start}),
        (
            "content_block_start",
            {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        ),
        (
            "content_block_delta",
            {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": text}},
        ),
        ("content_block_stop", {"type": "content_block_stop", "index": 0}),
    ]
    if stop_reason is not None:
        delta = {"stop_reason": stop_reason, "stop_sequence": None}
        events.append(
            (
                "message_delta",
                {"type": "message_delta", "delta": delta, "usage": usage or {"output_tokens": 5}},
            )
        )
        events.append(("message_stop", {"type": "message_stop"}))
    return events


class RawApi:
    def __init__(self) -> None:
        self.replies: deque[Script] = deque()
        self.seen: list[tuple[str, str, Any]] = []  # method, path, JSON body
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                n = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(n) if n else b""
                body = json.loads(raw) if raw else None
                api.seen.append((self.command, self.path, body))
                script = api.replies.popleft() if api.replies else Reply(500, {"error": "no reply scripted"})
                reply = script if isinstance(script, Reply) else script(body)
                try:
                    self._send(reply)
                except OSError:
                    self.close_connection = True

            do_POST = do_GET

            def _send(self, r: Reply) -> None:
                self.send_response(r.status)
                for name, value in r.headers.items():
                    self.send_header(name, value)
                if r.events is not None:
                    self.send_header("Content-Type", "text/event-stream")
                    self.send_header("Transfer-Encoding", "chunked")
                    self.end_headers()
                    for i, (name, data) in enumerate(r.events):
                        if r.cut_after is not None and i >= r.cut_after:
                            self.close_connection = True
                            self.wfile.flush()
                            self.connection.shutdown(socket.SHUT_RDWR)
                            return
                        chunk = f"event: {name}\ndata: {json.dumps(data)}\n\n".encode()
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                    self.wfile.write(b"0\r\n\r\n")
                    return
                data = r.body if isinstance(r.body, bytes) else json.dumps(r.body).encode()
                if not any(k.lower() == "content-type" for k in r.headers):
                    self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def __enter__(self) -> RawApi:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)
