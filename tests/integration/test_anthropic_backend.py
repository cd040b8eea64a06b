"""AnthropicBackend: the real SDK against the fake server, one test per fault."""

from __future__ import annotations

import asyncio
import socket
from types import SimpleNamespace
from typing import Any

import anthropic
import pytest
from pydantic import SecretStr

from orchestrator_kit.errors import AuthError, BackendError, ConfigError, ConnectionFailed, RateLimited
from orchestrator_kit.llm.anthropic_backend import AnthropicBackend, build_params, usage_from_api
from orchestrator_kit.llm.backend import Backend
from orchestrator_kit.llm.keys import KeyInfo
from orchestrator_kit.llm.retry import RetryConfig
from orchestrator_kit.llm.types import Completion, LLMRequest, Message, SystemBlock, Usage
from orchestrator_kit.testing import FakeAnthropicServer, Fault

KEY = "sk-ant-test-not-a-real-key"
FAST = RetryConfig(initial_delay=0.01, max_delay=0.05)
REQUEST = LLMRequest(
    model="claude-haiku-4-5",
    system=(
        SystemBlock(text="You are the architect. " * 720, cache_ttl="1h"),  # above Haiku 4.5's 4,096
        SystemBlock(text="Project brief. " * 40, cache_ttl="5m"),
        SystemBlock(text="Today's task."),
    ),
    messages=(Message(role="user", content="Plan the data layer."),),
    max_tokens=256,
    stop_sequences=("</plan>",),
)

pytestmark = pytest.mark.usefixtures("anthropic_env")


def call(
    server: FakeAnthropicServer,
    request: LLMRequest = REQUEST,
    *,
    retry: RetryConfig = FAST,
    timeout: float = 5.0,
    on_delta: Any = None,
    **options: Any,
) -> Completion:
    """One complete() through a client pointed at the fake server (closed afterwards)."""

    async def go() -> Completion:
        async with anthropic.AsyncAnthropic(
            api_key=KEY, base_url=server.base_url, max_retries=0, timeout=timeout
        ) as client:
            backend = AnthropicBackend(client=client, retry=retry, **options)
            return await backend.complete(request, on_delta=on_delta)

    return asyncio.run(go())


def call_own_client(backend: AnthropicBackend, request: LLMRequest = REQUEST) -> Completion:
    """One complete() through the client the backend builds itself."""

    async def go() -> Completion:
        try:
            return await backend.complete(request)
        finally:
            await backend.aclose()

    return asyncio.run(go())


# -- success and the wire ---------------------------------------------------------------------------


def test_completion_fields(fake_anthropic: FakeAnthropicServer) -> None:
    result = call(fake_anthropic)
    assert isinstance(AnthropicBackend(KEY), Backend)
    assert result.text.startswith("Fake reply")
    assert result.stop_reason == "end_turn"
    assert (result.mode, result.model, result.attempts, result.failed_attempts) == (
        "real",
        REQUEST.model,
        1,
        (),
    )
    assert result.request_id is not None and result.request_id.startswith("req_fake_")
    assert result.usage.input_tokens > 0 and result.usage.output_tokens > 0
    assert result.usage.estimated is False
    assert result.latency_s > 0


def test_wire_request(fake_anthropic: FakeAnthropicServer) -> None:
    call(fake_anthropic)
    sent = fake_anthropic.requests[0]
    assert sent.headers["authorization"] == f"Bearer {KEY}"
    assert sent.headers["anthropic-version"] == "2026-10-21"
    assert not {"temperature", "top_p", "top_k", "stream"} & set(sent.body)
    assert sent.body["model"] == REQUEST.model and sent.body["max_tokens"] == 256
    assert sent.body["stop_sequences"] == ["</plan>"]
    assert sent.body["messages"] == [{"role": "user", "content": "Plan the data layer."}]
    assert [b.get("cache_control") for b in sent.body["system"]] == [
        {"type": "ephemeral", "ttl": "1h"},
        {"type": "ephemeral"},
        None,
    ]


def test_no_system_no_stop_sequences_are_left_out() -> None:
    params = build_params(LLMRequest(model="m", messages=(Message(role="user", content="hi"),), max_tokens=5))
    assert params == {"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]}


def test_cache_usage_lands_in_usage(fake_anthropic: FakeAnthropicServer) -> None:
    first, second = call(fake_anthropic), call(fake_anthropic)
    assert first.usage.cache_write_1h_tokens > 0 and first.usage.cache_write_5m_tokens > 0
    assert first.usage.cache_read_tokens == 0
    assert (
        second.usage.cache_read_tokens
        == first.usage.cache_write_1h_tokens + first.usage.cache_write_5m_tokens
    )
    assert second.usage.cache_write_1h_tokens == second.usage.cache_write_5m_tokens == 0


def test_the_fake_server_caches_nothing_below_the_models_minimum(fake_anthropic: FakeAnthropicServer) -> None:
    short = REQUEST.model_copy(
        update={"system": (SystemBlock(text="You are the architect. " * 40, cache_ttl="5m"),)}
    )
    for _ in range(2):  # Haiku 4.5 caches from 4,096 tokens; this prefix is about 230
        usage = call(fake_anthropic, short).usage
        assert usage.cache_write_5m_tokens == usage.cache_write_1h_tokens == usage.cache_read_tokens == 0
        assert usage.input_tokens > 200


def test_a_breakpoint_on_a_turn_caches_the_conversation(fake_anthropic: FakeAnthropicServer) -> None:
    first_turn = Message(role="user", content="Plan the data layer. " * 300, cache_ttl="5m")
    plan = REQUEST.model_copy(update={"model": "claude-sonnet-5", "system": (), "messages": (first_turn,)})
    act = plan.model_copy(
        update={
            "messages": (
                first_turn,
                Message(role="assistant", content="{}"),
                Message(role="user", content="Act."),
            )
        }
    )
    assert build_params(act)["messages"][0]["content"][0]["cache_control"] == {"type": "ephemeral"}
    written = call(fake_anthropic, plan).usage.cache_write_5m_tokens
    assert written > 1024
    assert call(fake_anthropic, act).usage.cache_read_tokens == written


@pytest.mark.parametrize(
    ("api_usage", "expected"),
    [
        (
            SimpleNamespace(
                input_tokens=10,
                output_tokens=5,
                cache_creation_input_tokens=100,
                cache_creation=None,
                cache_read_input_tokens=None,
            ),
            Usage(input_tokens=10, output_tokens=5, cache_write_5m_tokens=100),
        ),
        (
            SimpleNamespace(
                input_tokens=10,
                output_tokens=5,
                cache_creation_input_tokens=30,
                cache_read_input_tokens=7,
                cache_creation=SimpleNamespace(ephemeral_5m_input_tokens=10, ephemeral_1h_input_tokens=20),
            ),
            Usage(
                input_tokens=10,
                output_tokens=5,
                cache_write_5m_tokens=10,
                cache_write_1h_tokens=20,
                cache_read_tokens=7,
            ),
        ),
        (None, Usage()),
    ],
)
def test_usage_mapping(api_usage: Any, expected: Usage) -> None:
    assert usage_from_api(api_usage) == expected


# -- retried faults ---------------------------------------------------------------------------------


def test_429_with_retry_after_ms_then_success(fake_anthropic: FakeAnthropicServer) -> None:
    fake_anthropic.script(Fault.status(429, retry_after_ms=10))
    result = call(fake_anthropic)
    assert fake_anthropic.count() == 2
    assert result.attempts == 2
    failed = result.failed_attempts[0]
    assert (failed.number, failed.status_code, failed.error) == (1, 429, "RateLimitError")
    assert failed.retry_after_s == pytest.approx(0.01)


@pytest.mark.parametrize("status", [500, 502, 503, 504, 529])
def test_server_errors_are_retried(fake_anthropic: FakeAnthropicServer, status: int) -> None:
    fake_anthropic.script(Fault.status(status))
    result = call(fake_anthropic)
    assert fake_anthropic.count() == 2
    assert result.attempts == 2 and result.failed_attempts[0].status_code == status


def test_timeout_is_retried(fake_anthropic: FakeAnthropicServer) -> None:
    fake_anthropic.script(Fault.delay(1.0))
    result = call(fake_anthropic, timeout=0.2)
    assert result.attempts == 2
    assert result.failed_attempts[0].error == "APITimeoutError"


def test_dropped_connection_is_retried(fake_anthropic: FakeAnthropicServer) -> None:
    fake_anthropic.script(Fault.drop())
    result = call(fake_anthropic)
    assert fake_anthropic.count() == 2
    assert result.failed_attempts[0].error == "APIConnectionError"


def test_malformed_body_is_retried(fake_anthropic: FakeAnthropicServer) -> None:
    # Decision: a 200 whose body is not JSON is treated as a broken transfer and retried.
    fake_anthropic.script(Fault.malformed())
    result = call(fake_anthropic)
    assert result.attempts == 2 and result.failed_attempts[0].error == "IncompleteResponse"


def test_persistently_malformed_body_is_a_clear_error(fake_anthropic: FakeAnthropicServer) -> None:
    fake_anthropic.script(Fault.malformed(), Fault.malformed(), Fault.malformed())
    with pytest.raises(BackendError) as info:
        call(fake_anthropic)
    assert "not valid JSON" in str(info.value) and "3 attempts" in str(info.value)
    assert fake_anthropic.count() == 3 and len(info.value.attempts) == 3


# -- returned, not raised ---------------------------------------------------------------------------


def test_truncated_reply_is_returned_with_max_tokens(fake_anthropic: FakeAnthropicServer) -> None:
    fake_anthropic.script(Fault.truncate("half a pl"))
    result = call(fake_anthropic)
    assert (result.text, result.stop_reason, result.attempts) == ("half a pl", "max_tokens", 1)


def test_refusal_is_returned(fake_anthropic: FakeAnthropicServer) -> None:
    fake_anthropic.script(Fault.refusal("No."))
    result = call(fake_anthropic)
    assert (result.text, result.stop_reason) == ("No.", "refusal")
    assert fake_anthropic.count() == 1


# -- final failures ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "error_class"),
    [
        (400, BackendError),
        (401, AuthError),
        (403, AuthError),
        (404, BackendError),
        (413, BackendError),
        (422, BackendError),
    ],
)
def test_client_errors_are_never_retried(
    fake_anthropic: FakeAnthropicServer, status: int, error_class: type[BackendError]
) -> None:
    fake_anthropic.script(Fault.status(status, message="the fake says no"))
    with pytest.raises(error_class) as info:
        call(fake_anthropic)
    assert fake_anthropic.count() == 1
    assert info.value.status_code == status
    assert [a["status_code"] for a in info.value.attempts] == [status]
    assert isinstance(info.value.__cause__, anthropic.APIStatusError)
    if error_class is BackendError:
        assert "the fake says no" in str(info.value) and str(status) in str(info.value)


def test_retry_after_beyond_max_delay_fails_fast(fake_anthropic: FakeAnthropicServer) -> None:
    fake_anthropic.script(Fault.status(429, retry_after=120))
    with pytest.raises(RateLimited) as info:
        call(fake_anthropic)
    assert fake_anthropic.count() == 1
    assert "120 s" in str(info.value) and "0.05 s" in str(info.value)
    assert info.value.attempts[0]["retry_after_s"] == 120
    assert isinstance(info.value.__cause__, anthropic.RateLimitError)


def test_persistent_429_is_rate_limited_after_max_attempts(fake_anthropic: FakeAnthropicServer) -> None:
    fake_anthropic.script(*[Fault.status(429, retry_after_ms=10)] * 3)
    with pytest.raises(RateLimited) as info:
        call(fake_anthropic)
    assert fake_anthropic.count() == 3
    assert "after 3 attempts" in str(info.value) and "max_concurrency" in str(info.value)
    assert [a["number"] for a in info.value.attempts] == [1, 2, 3]
    assert info.value.status_code == 429
    assert isinstance(info.value.__cause__, anthropic.RateLimitError)


def test_rejected_key_names_its_source_never_the_key(fake_anthropic: FakeAnthropicServer) -> None:
    fake_anthropic.require_key = "sk-ant-test-some-other-key"
    backend = AnthropicBackend(
        KEY, base_url=fake_anthropic.base_url, retry=FAST, key_source="the password widget"
    )
    with pytest.raises(AuthError) as info:
        call_own_client(backend)
    message = str(info.value)
    assert "401 authentication_error" in message and "the password widget" in message
    assert "console.anthropic.com" in message
    assert KEY not in message and KEY not in repr(info.value.attempts)
    assert KEY not in repr(backend) and "…" in repr(backend)
    assert fake_anthropic.count() == 1


def test_key_from_the_environment_is_named_as_such(
    fake_anthropic: FakeAnthropicServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    monkeypatch.setenv("ANTHROPIC_BASE_URL", fake_anthropic.base_url)  # read by the SDK itself
    fake_anthropic.script(Fault.status(401))
    backend = AnthropicBackend(retry=FAST)
    with pytest.raises(AuthError) as info:
        call_own_client(backend)
    assert "environment variable ANTHROPIC_API_KEY" in str(info.value)


def test_keyinfo_is_accepted(fake_anthropic: FakeAnthropicServer) -> None:
    info = KeyInfo("dotenv", "/somewhere/.env", SecretStr(KEY))
    backend = AnthropicBackend(info, base_url=fake_anthropic.base_url, retry=FAST)
    assert "/somewhere/.env" in backend.key_source
    assert call_own_client(backend).stop_reason == "end_turn"


def test_without_any_key_construction_fails_with_the_fix(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match="ANTHROPIC_API_KEY"):
        AnthropicBackend()
    with pytest.raises(ConfigError, match="empty"):
        AnthropicBackend("  ")


def test_connection_refused_names_the_base_url() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    base_url = f"http://127.0.0.1:{port}"
    backend = AnthropicBackend(KEY, base_url=base_url, retry=FAST, timeout=2.0)
    with pytest.raises(ConnectionFailed) as info:
        call_own_client(backend)
    assert base_url in str(info.value) and "refused" in str(info.value)
    assert len(info.value.attempts) == FAST.max_attempts
    assert isinstance(info.value.__cause__, anthropic.APIConnectionError)


def test_own_client_works_across_event_loops(fake_anthropic: FakeAnthropicServer) -> None:
    backend = AnthropicBackend(KEY, base_url=fake_anthropic.base_url, retry=FAST)
    assert call_own_client(backend).text == call_own_client(backend).text
    assert fake_anthropic.count() == 2


# -- streaming --------------------------------------------------------------------------------------


def test_streaming_passes_parts_to_on_delta(fake_anthropic: FakeAnthropicServer) -> None:
    parts: list[str] = []
    result = call(fake_anthropic, on_delta=parts.append)
    assert len(parts) > 1 and "".join(parts) == result.text
    assert fake_anthropic.requests[0].body["stream"] is True
    assert result.stop_reason == "end_turn" and result.usage.output_tokens > 1


def test_large_max_tokens_streams_without_on_delta(fake_anthropic: FakeAnthropicServer) -> None:
    result = call(
        fake_anthropic,
        LLMRequest(
            model="claude-haiku-4-5", max_tokens=8000, messages=(Message(role="user", content="long"),)
        ),
    )
    assert fake_anthropic.requests[0].body["stream"] is True
    assert result.stop_reason == "end_turn"


def test_mid_stream_drop_is_retried(fake_anthropic: FakeAnthropicServer) -> None:
    fake_anthropic.script(Fault.stream_drop_after(2))
    parts: list[str] = []
    result = call(fake_anthropic, on_delta=parts.append)
    assert result.attempts == 2 and result.failed_attempts[0].error == "IncompleteResponse"
    assert result.failed_attempts[0].usage.input_tokens > 0  # billed before the drop
    assert "".join(parts).endswith(result.text)  # the retry streams the text again from its start


def test_stream_ending_without_stop_reason_is_never_success(fake_anthropic: FakeAnthropicServer) -> None:
    fake_anthropic.script(*[Fault.stream_drop_after(1, clean=True)] * 3)
    with pytest.raises(BackendError) as info:
        call(fake_anthropic, on_delta=lambda text: None)
    assert "without a stop_reason" in str(info.value)
    assert fake_anthropic.count() == 3


def test_unreadable_stream_is_retried(fake_anthropic: FakeAnthropicServer) -> None:
    fake_anthropic.script(Fault.malformed())
    result = call(fake_anthropic, on_delta=lambda text: None)
    assert result.attempts == 2 and result.failed_attempts[0].error == "IncompleteResponse"


def test_stream_error_event_is_retried(fake_anthropic: FakeAnthropicServer) -> None:
    fake_anthropic.script(Fault.stream_error(1, error_type="overloaded_error"))
    result = call(fake_anthropic, on_delta=lambda text: None)
    assert result.attempts == 2


def test_non_transient_stream_error_is_not_retried(fake_anthropic: FakeAnthropicServer) -> None:
    fake_anthropic.script(Fault.stream_error(1, error_type="invalid_request_error", message="bad block"))
    with pytest.raises(BackendError) as info:
        call(fake_anthropic, on_delta=lambda text: None)
    assert "invalid_request_error" in str(info.value) and "bad block" in str(info.value)
    assert fake_anthropic.count() == 1


def test_status_error_before_a_stream_is_retried(fake_anthropic: FakeAnthropicServer) -> None:
    fake_anthropic.script(Fault.status(529))
    assert call(fake_anthropic, on_delta=lambda text: None).attempts == 2


def test_on_delta_errors_propagate_unchanged(fake_anthropic: FakeAnthropicServer) -> None:
    def broken(text: str) -> None:
        raise ZeroDivisionError

    with pytest.raises(ZeroDivisionError):
        call(fake_anthropic, on_delta=broken)
    assert fake_anthropic.count() == 1
