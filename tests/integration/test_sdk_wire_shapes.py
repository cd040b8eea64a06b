"""What real Messages API servers send that our own fake does not: new block types, extra fields, unknown
stop reasons, errors inside streams, batch results as raw JSONL. The real SDK against ``raw_api.RawApi``
(a server of its own, not orchestrator_kit.testing) on 127.0.0.1. Warnings are errors here (pyproject)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from raw_api import RawApi, Reply, message, text_events

from orchestrator_kit.errors import BackendError
from orchestrator_kit.llm.anthropic_backend import AnthropicBackend
from orchestrator_kit.llm.batches import BatchesBackend
from orchestrator_kit.llm.retry import RetryConfig
from orchestrator_kit.llm.types import Completion, LLMRequest, Message, RequestLabels, Usage

KEY = "sk-ant-test-not-a-key"
FAST = RetryConfig(max_attempts=2, initial_delay=0.01, max_delay=0.05, jitter=False)
REQUEST = LLMRequest(
    model="claude-sonnet-5-5",
    messages=(Message(role="user", content="hi"),),
    max_tokens=100,
    labels=RequestLabels(run_id="run-1"),
)
NEW_BLOCKS = [
    {"type": "thinking", "thinking": "hmm", "signature": "sig"},
    {"type": "redacted_thinking", "data": "opaque"},
    {"type": "server_tool_use", "id": "srvtoolu_1", "name": "web_search", "input": {"query": "x"}},
    {"type": "text", "text": "hello", "citations": None},
    {"type": "brand_new_block", "payload": {"x": 1}},
]
RICH_USAGE = {
    "input_tokens": 10,
    "output_tokens": 5,
    "cache_creation_input_tokens": 300,
    "cache_read_input_tokens": 7,
    "cache_creation": {"ephemeral_5m_input_tokens": 100, "ephemeral_1h_input_tokens": 200},
    "server_tool_use": {"web_search_requests": 1},
    "service_tier": "batch",
    "brand_new_usage_field": {"y": 2},
}
RICH_TOKENS = Usage(
    input_tokens=10,
    output_tokens=5,
    cache_write_5m_tokens=100,
    cache_write_1h_tokens=200,
    cache_read_tokens=7,
)

pytestmark = pytest.mark.usefixtures("anthropic_env")


def complete(api: RawApi, *, stream: bool = False) -> Completion:
    async def go() -> Completion:
        backend = AnthropicBackend(KEY, base_url=api.base_url, retry=FAST, timeout=5)
        try:
            return await backend.complete(REQUEST, on_delta=(lambda text: None) if stream else None)
        finally:
            await backend.aclose()

    return asyncio.run(go())


# -- direct calls: a paid answer is never lost from the error's attempts (the ledger's wasted lines) ----


def test_unknown_stop_reason_fails_clearly_and_keeps_the_paid_tokens() -> None:
    with RawApi() as api:
        api.replies.append(Reply(body=message([{"type": "text", "text": "x"}], "brand_new_stop", RICH_USAGE)))
        with pytest.raises(BackendError) as info:
            complete(api)
    assert "brand_new_stop" in str(info.value)
    (paid,) = info.value.attempts
    assert Usage(**paid["usage"]) == RICH_TOKENS


def test_unknown_stop_reason_in_a_stream_keeps_the_paid_tokens() -> None:
    with RawApi() as api:
        api.replies.append(
            Reply(events=text_events("x", stop_reason="brand_new_stop", usage={"output_tokens": 9}))
        )
        with pytest.raises(BackendError) as info:
            complete(api, stream=True)
    (paid,) = info.value.attempts
    assert (paid["usage"]["input_tokens"], paid["usage"]["output_tokens"]) == (10, 9)


def test_a_200_without_stop_reason_keeps_the_tokens_it_reported() -> None:
    with RawApi() as api:
        api.replies.extend([Reply(body=message([{"type": "text", "text": "x"}], None))] * 2)
        with pytest.raises(BackendError) as info:
            complete(api)
    assert [a["usage"]["input_tokens"] for a in info.value.attempts] == [10, 10]


def test_a_non_transient_error_inside_a_stream_keeps_the_tokens_reported_before_it() -> None:
    events = text_events("abc", stop_reason=None)
    events.append(("error", {"type": "error", "error": {"type": "invalid_request_error", "message": "bad"}}))
    with RawApi() as api:
        api.replies.append(Reply(events=events))
        with pytest.raises(BackendError) as info:
            complete(api, stream=True)
    assert "the stream reported invalid_request_error: bad" in str(info.value)
    (failed,) = info.value.attempts
    assert failed["usage"]["input_tokens"] == 10
    assert len(api.seen) == 1


def test_new_block_types_and_fields_are_read_with_their_cache_breakdown() -> None:
    with RawApi() as api:
        api.replies.append(
            Reply(body=message(NEW_BLOCKS, "end_turn", RICH_USAGE, container=None, extra_top=[1]))
        )
        result = complete(api)
    assert (result.text, result.usage) == ("hello", RICH_TOKENS)


# -- Message Batches: results read as the API sent them ---------------------------------------------------


def batch(status: str, ended: bool = False) -> dict[str, Any]:
    return {
        "id": "msgbatch_raw_1",
        "type": "message_batch",
        "processing_status": status,
        "request_counts": {
            "processing": 0 if ended else 1,
            "succeeded": 1 if ended else 0,
            "errored": 0,
            "canceled": 0,
            "expired": 0,
        },
        "created_at": "2026-12-02T16:00:00Z",
        "expires_at": "2026-12-03T16:00:00Z",
        "ended_at": "2026-12-02T16:05:00Z" if ended else None,
        "cancel_initiated_at": None,
        "archived_at": None,
        "results_url": "/v1/messages/batches/msgbatch_raw_1/results" if ended else None,
    }


def run_batch(result_for: Any, journal: Path, *, fetches: int = 1) -> Completion:
    """One request through a batch: created, polled (in_progress, canceling, ended), its results fetched
    (``fetches`` times: a retried fetch retrieves the batch again, then its results)."""
    custom_ids: list[str] = []

    def create(body: Any) -> Reply:
        custom_ids.extend(r["custom_id"] for r in body["requests"])
        return Reply(body=batch("in_progress"))

    def results(body: Any) -> Reply:
        lines = [{"custom_id": "not-ours", "result": {"type": "expired"}}, result_for(custom_ids[0])]
        data = "".join(json.dumps(line) + "\n" for line in lines).encode()
        return Reply(body=data, headers={"Content-Type": "application/binary"})

    with RawApi() as api:
        ended = Reply(body=batch("ended", ended=True))
        api.replies.extend([create, Reply(body=batch("canceling")), ended, *[ended, results] * fetches])

        async def go() -> Completion:
            backend = BatchesBackend(
                KEY,
                base_url=api.base_url,
                retry=FAST,
                journal=journal,
                active_runs=lambda: 1,
                poll_initial_s=0.01,
                poll_max_s=0.02,
            )
            try:
                return await asyncio.wait_for(backend.complete(REQUEST), 60)  # a hang fails, bounded
            finally:
                await backend.aclose(force=True)

        return asyncio.run(go())


def test_batch_result_with_new_block_types_and_fields_is_read_like_a_direct_answer(tmp_path: Path) -> None:
    line: dict[str, Any] = {}

    def succeeded(cid: str) -> dict[str, Any]:
        answer = message(NEW_BLOCKS, "end_turn", RICH_USAGE, extra_top=[1])
        line.update({"custom_id": cid, "result": {"type": "succeeded", "message": answer}})
        return line

    result = run_batch(succeeded, tmp_path / "batches.jsonl")
    assert (result.text, result.usage, result.batch_id) == ("hello", RICH_TOKENS, "msgbatch_raw_1")
    saved = (tmp_path / "batches.results" / "msgbatch_raw_1.jsonl").read_text().splitlines()
    assert json.loads(saved[1]) == line  # the API's own line, kept whole


def test_batch_result_with_an_unknown_stop_reason_fails_clearly_and_keeps_the_paid_tokens(
    tmp_path: Path,
) -> None:
    def succeeded(cid: str) -> dict[str, Any]:
        answer = message([{"type": "text", "text": "x"}], "brand_new_stop", RICH_USAGE)
        return {"custom_id": cid, "result": {"type": "succeeded", "message": answer}}

    with pytest.raises(BackendError) as info:
        run_batch(succeeded, tmp_path / "batches.jsonl")
    assert "brand_new_stop" in str(info.value)
    (paid,) = info.value.attempts
    assert Usage(**paid["usage"]) == RICH_TOKENS and paid["batch_id"] == "msgbatch_raw_1"


@pytest.mark.parametrize("content", [[{"type": "text", "text": None}], [{"type": "text"}], "not a list"])
def test_malformed_content_is_retried_then_fails_clearly_keeping_the_tokens(content: Any) -> None:
    with RawApi() as api:
        api.replies.extend([Reply(body=message(content))] * 2)
        with pytest.raises(BackendError) as info:
            complete(api)
    assert "not a complete message" in str(info.value)
    assert [a["usage"]["input_tokens"] for a in info.value.attempts] == [10, 10]


def test_malformed_batch_message_fails_clearly_keeping_the_tokens(tmp_path: Path) -> None:
    def succeeded(cid: str) -> dict[str, Any]:
        answer = message([{"type": "text", "text": None}], "end_turn", RICH_USAGE)
        return {"custom_id": cid, "result": {"type": "succeeded", "message": answer}}

    with pytest.raises(BackendError) as info:
        run_batch(succeeded, tmp_path / "batches.jsonl")
    assert "malformed message" in str(info.value)
    (paid,) = info.value.attempts
    assert Usage(**paid["usage"]) == RICH_TOKENS


def test_batch_line_succeeded_without_a_message_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(BackendError) as info:
        run_batch(lambda cid: {"custom_id": cid, "result": {"type": "succeeded"}}, tmp_path / "batches.jsonl")
    assert "succeeded but sent no message" in str(info.value)


def batch_failure(api: RawApi, tmp_path: Path) -> pytest.ExceptionInfo[BackendError]:
    """One request through a batch on ``api``'s scripted replies, which must fail it."""

    async def go() -> Completion:
        backend = BatchesBackend(
            KEY,
            base_url=api.base_url,
            retry=FAST,
            journal=tmp_path / "batches.jsonl",
            active_runs=lambda: 1,
            poll_initial_s=0.01,
        )
        try:
            return await backend.complete(REQUEST)
        finally:
            await backend.aclose(force=True)

    with pytest.raises(BackendError) as info:
        asyncio.run(go())
    return info


def test_an_ended_batch_without_results_url_is_a_clear_error_naming_the_batch(tmp_path: Path) -> None:
    ended_without_url = {**batch("ended", ended=True), "results_url": None}
    with RawApi() as api:
        api.replies.extend([Reply(body=batch("in_progress"))] + [Reply(body=ended_without_url)] * 2)
        info = batch_failure(api, tmp_path)
    assert "msgbatch_raw_1" in str(info.value) and "results_url" in str(info.value)


@pytest.mark.parametrize("bad", [[1, 2], "text", {"custom_id": "x", "result": "succeeded"}])
def test_a_results_line_that_is_not_a_result_object_fails_every_waiter_clearly(
    tmp_path: Path, bad: Any
) -> None:
    """Never a hang: the poller used to die on such a line, leaving its waiters waiting forever."""
    with pytest.raises(BackendError) as info:
        run_batch(lambda cid: bad, tmp_path / "batches.jsonl", fetches=FAST.max_attempts)
    assert "msgbatch_raw_1" in str(info.value) and "not a result" in str(info.value)


@pytest.mark.parametrize(
    ("status", "kind", "hint", "not_hint"),
    [
        (404, "not_found_error", "does not know this batch", "check the key"),
        (500, "api_error", "resume", "check the key"),
        (401, "authentication_error", "check", "does not know this batch"),
    ],
)
def test_a_batch_that_cannot_be_followed_says_why_and_how_many_attempts(
    tmp_path: Path, status: int, kind: str, hint: str, not_hint: str
) -> None:
    error = {"type": "error", "error": {"type": kind, "message": f"{kind} from the raw server"}}
    with RawApi() as api:  # created, then every retrieve fails
        api.replies.extend([Reply(body=batch("in_progress"))] + [Reply(status=status, body=error)] * 4)
        info = batch_failure(api, tmp_path)
    text = str(info.value)
    assert "msgbatch_raw_1" in text and hint in text and not_hint not in text
    assert "after 0 attempts" not in text
    assert KEY not in text
