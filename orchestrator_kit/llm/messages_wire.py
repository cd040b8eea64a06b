"""The Messages API's shapes, both ways: request arguments from an ``LLMRequest``; the text, stop reason
and usage of an answer (a direct one, a stream's final message, a batch result), read leniently as the
SDK builds them (fields and block types it does not know are carried, not refused)."""

from __future__ import annotations

from typing import Any, get_args

from .types import LLMRequest, StopReason, Usage

_STOP_REASONS = frozenset(get_args(StopReason))


def _text_block(text: str, cache_ttl: str | None) -> dict[str, Any]:
    item: dict[str, Any] = {"type": "text", "text": text}
    if cache_ttl is not None:
        item["cache_control"] = {"type": "ephemeral", **({"ttl": "1h"} if cache_ttl == "1h" else {})}
    return item


def build_params(request: LLMRequest) -> dict[str, Any]:
    """The Messages API arguments for ``request`` (never temperature, top_p or top_k)."""
    params: dict[str, Any] = {
        "model": request.model,
        "max_tokens": request.max_tokens,
        "messages": [
            {"role": m.role, "content": m.content}
            if m.cache_ttl is None
            else {"role": m.role, "content": [_text_block(m.content, m.cache_ttl)]}
            for m in request.messages
        ],
    }
    if request.system:
        params["system"] = [_text_block(b.text, b.cache_ttl) for b in request.system]
    if request.stop_sequences:
        params["stop_sequences"] = list(request.stop_sequences)
    return params


def message_text(message: Any) -> str | None:
    """The text of a message's ``text`` blocks, joined; None when ``content`` is not a list of blocks
    or a text block has no string ``text`` (a malformed answer, not an empty one)."""
    content = message.content
    if content is None:
        return ""
    if not isinstance(content, list):
        return None
    parts = []
    for block in content:
        if getattr(block, "type", None) == "text":
            text = getattr(block, "text", None)
            if not isinstance(text, str):
                return None
            parts.append(text)
    return "".join(parts)


def usage_from_api(usage: Any) -> Usage:
    """Our Usage from the SDK's. Cache writes without the 5m/1h breakdown count as 5m."""
    if usage is None:
        return Usage()
    written = getattr(usage, "cache_creation_input_tokens", None) or 0
    breakdown = getattr(usage, "cache_creation", None)
    w5 = (getattr(breakdown, "ephemeral_5m_input_tokens", None) or 0) if breakdown is not None else 0
    w1 = (getattr(breakdown, "ephemeral_1h_input_tokens", None) or 0) if breakdown is not None else 0
    w5 += max(0, written - w5 - w1)  # no breakdown, or one that does not add up: the rest is 5m
    return Usage(
        input_tokens=getattr(usage, "input_tokens", None) or 0,
        output_tokens=getattr(usage, "output_tokens", None) or 0,
        cache_write_5m_tokens=w5,
        cache_write_1h_tokens=w1,
        cache_read_tokens=getattr(usage, "cache_read_input_tokens", None) or 0,
    )
