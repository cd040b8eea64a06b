"""What the fake Messages API puts on the wire: message and error bodies, SSE events, usage.

Pure functions of their arguments (the prompt-cache bookkeeping lives in ``llm.prompt_cache``),
so the server module only has to deal with sockets and scripting.
"""

from __future__ import annotations

import hashlib
import json
import math
from datetime import datetime
from typing import Any

from ..llm.pricing import min_cache_tokens
from ..llm.prompt_cache import MAX_BREAKPOINTS, breakpoint_count
from ..llm.prompt_cache import PromptCache as PromptCache

ERROR_TYPES: dict[int, str] = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    408: "timeout_error",
    409: "conflict_error",
    413: "request_too_large",
    422: "invalid_request_error",
    429: "rate_limit_error",
    500: "api_error",
    502: "api_error",
    503: "api_error",
    504: "api_error",
    529: "overloaded_error",
}

ERROR_MESSAGES: dict[str, str] = {
    "invalid_request_error": "There was an issue with the format or content of your request.",
    "authentication_error": "invalid x-api-key",
    "billing_error": "There is an issue with your billing.",
    "permission_error": "Your API key does not have permission to use the specified resource.",
    "not_found_error": "The requested resource could not be found.",
    "timeout_error": "The request timed out.",
    "conflict_error": "The request conflicts with another request.",
    "request_too_large": "Request exceeds the maximum allowed number of bytes.",
    "rate_limit_error": "This request would exceed your account's rate limit. Please try again later.",
    "api_error": "Internal server error",
    "overloaded_error": "Overloaded",
}

CHUNK_CHARS = 8  # characters of text per content_block_delta
API_VERSION = "2026-10-21"
SAMPLING_PARAMS = ("temperature", "top_p", "top_k")  # rejected from API_VERSION on


def estimate_tokens(text: str) -> int:
    """The fake's token count: about four characters a token, at least one for non-empty text."""
    return (len(text) + 3) // 4


def error_type_for(status: int) -> str:
    return ERROR_TYPES.get(status, "api_error" if status >= 500 else "invalid_request_error")


def error_body(
    status: int, request_id: str, message: str | None = None, error_type: str | None = None
) -> dict[str, Any]:
    etype = error_type or error_type_for(status)
    return {
        "type": "error",
        "error": {"type": etype, "message": message or ERROR_MESSAGES.get(etype, "error")},
        "request_id": request_id,
    }


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def invalid_request(headers: dict[str, str], body: Any, *, strict: bool) -> str | None:
    """Why a Messages request would get a 400, or None. ``strict`` adds the API version's own checks."""
    if not isinstance(body, dict):
        return "The request body must be a JSON object."
    if not strict:
        return None
    version = headers.get("anthropic-version")
    if not version:
        return "anthropic-version: header is required"
    if version >= API_VERSION:
        for name in SAMPLING_PARAMS:
            if name in body:
                return f"{name}: Extra inputs are not permitted (removed in API version {API_VERSION})"
    if not isinstance(body.get("model"), str) or not body["model"]:
        return "model: Field required"
    if not isinstance(body.get("max_tokens"), int) or body["max_tokens"] < 1:
        return "max_tokens: Field required (a positive integer)"
    if not isinstance(body.get("messages"), list) or not body["messages"]:
        return "messages: Field required (a non-empty list)"
    if breakpoint_count(body) > MAX_BREAKPOINTS:
        return f"A maximum of {MAX_BREAKPOINTS} blocks with cache_control may be provided."
    return None


def _content_text(content: Any) -> str:
    """Text of a message's ``content`` (a string or a list of blocks)."""
    if isinstance(content, str):
        return content
    parts: list[str] = []
    if isinstance(content, list):
        for block in content:
            if isinstance(block, dict):
                if isinstance(block.get("text"), str):
                    parts.append(block["text"])
                elif "input" in block:
                    parts.append(json.dumps(block["input"], sort_keys=True))
                elif isinstance(block.get("content"), (str, list)):
                    parts.append(_content_text(block["content"]))
    return "\n".join(parts)


def system_blocks(body: dict[str, Any]) -> list[dict[str, Any]]:
    system = body.get("system")
    if isinstance(system, str):
        return [{"type": "text", "text": system}]
    if isinstance(system, list):
        return [b for b in system if isinstance(b, dict)]
    return []


def prompt_text(body: dict[str, Any]) -> str:
    parts = [str(b.get("text", "")) for b in system_blocks(body)]
    for message in body.get("messages") or []:
        if isinstance(message, dict):
            parts.append(_content_text(message.get("content")))
    return "\n".join(parts)


def last_user_text(body: dict[str, Any]) -> str:
    for message in reversed(body.get("messages") or []):
        if isinstance(message, dict) and message.get("role") == "user":
            return _content_text(message.get("content"))
    return ""


def default_reply(body: dict[str, Any]) -> str:
    """The default responder: a short deterministic text that depends on the last user message."""
    prompt = " ".join(last_user_text(body).split())
    digest = hashlib.sha256(prompt.encode("utf-8")).hexdigest()[:8]
    excerpt = prompt[:48] + ("..." if len(prompt) > 48 else "")
    return f"Fake reply {digest} to: {excerpt}"


def input_tokens_for(body: dict[str, Any], factor: float = 1.0) -> int:
    """The input tokens billed for (and counted in) ``body``: the estimate times ``factor``, rounded up."""
    return max(1, math.ceil(estimate_tokens(prompt_text(body)) * factor))


def usage_for(
    body: dict[str, Any], output_text: str, cache: PromptCache | None, *, input_factor: float = 1.0
) -> dict[str, Any]:
    """A usage object: input from the prompt length (times ``input_factor``), minus whatever the cache
    wrote or read. Breakpoints whose prefix is below the model's minimum cacheable length cache nothing."""
    total_input = input_tokens_for(body, input_factor)
    usage: dict[str, Any] = {"output_tokens": max(1, estimate_tokens(output_text))}
    counts = {"write_5m": 0, "write_1h": 0, "read": 0}
    if cache is not None:
        minimum = min_cache_tokens(str(body.get("model", "")))
        counts = cache.account(body, count=estimate_tokens, min_tokens=minimum)
    cached = counts["write_5m"] + counts["write_1h"] + counts["read"]
    usage["input_tokens"] = max(0, total_input - cached)
    if breakpoint_count(body):
        usage["cache_creation_input_tokens"] = counts["write_5m"] + counts["write_1h"]
        usage["cache_read_input_tokens"] = counts["read"]
        usage["cache_creation"] = {
            "ephemeral_5m_input_tokens": counts["write_5m"],
            "ephemeral_1h_input_tokens": counts["write_1h"],
        }
    return usage


def message_dict(
    *,
    msg_id: str,
    model: str,
    content: list[dict[str, Any]],
    stop_reason: str | None,
    usage: dict[str, Any],
    stop_sequence: str | None = None,
) -> dict[str, Any]:
    return {
        "id": msg_id,
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": stop_sequence,
        "usage": usage,
    }


def reply_text(message: dict[str, Any]) -> str:
    return "".join(b.get("text", "") for b in message.get("content") or [] if isinstance(b, dict))


def sse(event: str, data: dict[str, Any]) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


def chunks(text: str, size: int = CHUNK_CHARS) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]


def stream_events(message: dict[str, Any]) -> list[tuple[str, bytes]]:
    """The SSE sequence for a finished message: ("delta" | "other", encoded event) pairs.

    message_start, then per content block content_block_start / deltas / content_block_stop,
    then message_delta (final stop_reason and cumulative usage) and message_stop.
    """
    usage = dict(message.get("usage") or {})
    start_usage = {k: v for k, v in usage.items() if k != "output_tokens"}
    start_usage["output_tokens"] = 1
    start = {**message, "content": [], "stop_reason": None, "stop_sequence": None, "usage": start_usage}
    events: list[tuple[str, bytes]] = [
        ("other", sse("message_start", {"type": "message_start", "message": start}))
    ]
    for index, block in enumerate(message.get("content") or []):
        if block.get("type") == "tool_use":
            opening = {**block, "input": {}}
            deltas = [
                {"type": "input_json_delta", "partial_json": part}
                for part in chunks(json.dumps(block.get("input", {})), 16)
            ]
        else:
            opening = {"type": "text", "text": ""}
            deltas = [{"type": "text_delta", "text": part} for part in chunks(str(block.get("text", "")))]
        events.append(
            (
                "other",
                sse(
                    "content_block_start",
                    {"type": "content_block_start", "index": index, "content_block": opening},
                ),
            )
        )
        for delta in deltas:
            events.append(
                (
                    "delta",
                    sse(
                        "content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta}
                    ),
                )
            )
        events.append(("other", sse("content_block_stop", {"type": "content_block_stop", "index": index})))
    events.append(
        (
            "other",
            sse(
                "message_delta",
                {
                    "type": "message_delta",
                    "delta": {
                        "stop_reason": message.get("stop_reason"),
                        "stop_sequence": message.get("stop_sequence"),
                    },
                    "usage": usage,
                },
            ),
        )
    )
    events.append(("other", sse("message_stop", {"type": "message_stop"})))
    return events
