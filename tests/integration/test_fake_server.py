"""The fake Messages API, exercised with the real SDK (sync client, SDK retries off) over loopback."""

from __future__ import annotations

import json
import socket
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import anthropic
import httpx2
import pytest

from orchestrator_kit.testing import FakeAnthropicServer, Fault

KEY = "sk-ant-test-not-a-real-key"
MODEL = "claude-haiku-4-5"
USER = [{"role": "user", "content": "Name three primes."}]

pytestmark = pytest.mark.usefixtures("anthropic_env")


@pytest.fixture
def client(fake_anthropic: FakeAnthropicServer) -> Iterator[anthropic.Anthropic]:
    with anthropic.Anthropic(api_key=KEY, base_url=fake_anthropic.base_url, max_retries=0, timeout=5.0) as c:
        yield c


def create(client: anthropic.Anthropic, **kwargs: Any) -> anthropic.types.Message:
    return client.messages.create(**{"model": MODEL, "max_tokens": 64, "messages": USER, **kwargs})


def raw_post(url: str, payload: Any, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
    data = json.dumps(payload).encode() if not isinstance(payload, bytes) else payload
    req = urllib.request.Request(
        url, data=data, method="POST", headers={"content-type": "application/json", **headers}
    )
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as err:
        with err:
            return err.code, dict(err.headers), err.read()


VERSION = {"anthropic-version": "2026-10-21"}
BODY = {"model": MODEL, "max_tokens": 64, "messages": USER}


# -- the happy path ---------------------------------------------------------------------------------


def test_create_is_deterministic_and_recorded(
    fake_anthropic: FakeAnthropicServer, client: anthropic.Anthropic
) -> None:
    first, second = create(client), create(client)
    assert first.content[0].type == "text"
    assert first.content[0].text == second.content[0].text
    assert first.stop_reason == "end_turn"
    assert first.usage.input_tokens > 0 and first.usage.output_tokens > 0
    assert first._request_id is not None and first._request_id.startswith("req_fake_")
    assert fake_anthropic.count() == 2
    recorded = fake_anthropic.requests[0]
    assert (recorded.method, recorded.path) == ("POST", "/v1/messages")
    assert recorded.headers["authorization"] == f"Bearer {KEY}"
    assert recorded.headers["anthropic-version"] == "2026-10-21"
    assert recorded.body == {"model": MODEL, "max_tokens": 64, "messages": USER}
    assert recorded.time > 0


def test_x_api_key_is_accepted(fake_anthropic: FakeAnthropicServer) -> None:
    status, _, body = raw_post(f"{fake_anthropic.base_url}/v1/messages", BODY, {"x-api-key": KEY, **VERSION})
    assert status == 200
    assert json.loads(body)["type"] == "message"


def test_missing_credentials_are_a_401(fake_anthropic: FakeAnthropicServer) -> None:
    status, _, body = raw_post(f"{fake_anthropic.base_url}/v1/messages", BODY, VERSION)
    assert status == 401
    assert json.loads(body)["error"]["type"] == "authentication_error"


def test_require_key_rejects_other_keys(
    fake_anthropic: FakeAnthropicServer, client: anthropic.Anthropic
) -> None:
    fake_anthropic.require_key = "sk-ant-test-the-only-good-key"
    with pytest.raises(anthropic.AuthenticationError) as info:
        create(client)
    assert info.value.type == "authentication_error"
    assert info.value.request_id is not None
    status, _, _ = raw_post(
        f"{fake_anthropic.base_url}/v1/messages",
        BODY,
        {"x-api-key": "sk-ant-test-the-only-good-key", **VERSION},
    )
    assert status == 200


def test_stream_sends_the_reference_event_sequence(fake_anthropic: FakeAnthropicServer) -> None:
    status, headers, body = raw_post(
        f"{fake_anthropic.base_url}/v1/messages", {**BODY, "stream": True}, {"x-api-key": KEY, **VERSION}
    )
    assert status == 200
    assert headers["Content-Type"].startswith("text/event-stream")
    frames = [f for f in body.decode().split("\n\n") if f]
    names = []
    for frame in frames:
        event_line, data_line = frame.split("\n")
        assert event_line.startswith("event: ") and data_line.startswith("data: ")
        names.append(event_line[len("event: ") :])
        assert json.loads(data_line[len("data: ") :])["type"] == names[-1]
    assert names[:2] == ["message_start", "content_block_start"]
    assert names[-3:] == ["content_block_stop", "message_delta", "message_stop"]
    assert set(names[2:-3]) == {"content_block_delta"} and len(names[2:-3]) >= 2


def test_sdk_stream_matches_the_json_reply(client: anthropic.Anthropic) -> None:
    expected = create(client).content[0].text
    with client.messages.stream(model=MODEL, max_tokens=64, messages=USER) as stream:
        parts = list(stream.text_stream)
        message = stream.get_final_message()
    assert "".join(parts) == expected and len(parts) > 1
    assert message.stop_reason == "end_turn"
    assert message.usage.output_tokens > 1


def test_responder_text_and_message_dict(
    fake_anthropic: FakeAnthropicServer, client: anthropic.Anthropic
) -> None:
    seen: list[dict[str, Any]] = []

    def responder(body: dict[str, Any]) -> str:
        seen.append(body)
        return '{"plan": ["a", "b"]}'

    fake_anthropic.responder = responder
    assert create(client).content[0].text == '{"plan": ["a", "b"]}'
    assert seen[0]["messages"] == USER

    fake_anthropic.responder = lambda body: {
        "content": [{"type": "tool_use", "id": "toolu_1", "name": "lookup", "input": {"q": "primes"}}],
        "stop_reason": "tool_use",
    }
    message = create(client)
    assert message.stop_reason == "tool_use"
    assert message.content[0].type == "tool_use" and message.content[0].input == {"q": "primes"}
    with client.messages.stream(model=MODEL, max_tokens=64, messages=USER) as stream:
        streamed = stream.get_final_message()
    assert streamed.content[0].type == "tool_use" and streamed.content[0].input == {"q": "primes"}


def test_a_failing_responder_is_a_visible_500(
    fake_anthropic: FakeAnthropicServer, client: anthropic.Anthropic
) -> None:
    def broken(body: dict[str, Any]) -> str:
        raise KeyError("plan")

    fake_anthropic.responder = broken
    with pytest.raises(anthropic.InternalServerError) as info:
        create(client)
    assert "KeyError" in (info.value.api_message or "")


def test_count_tokens(fake_anthropic: FakeAnthropicServer, client: anthropic.Anthropic) -> None:
    counted = client.messages.count_tokens(model=MODEL, messages=[{"role": "user", "content": "x" * 400}])
    assert counted.input_tokens == 100
    assert fake_anthropic.count("/v1/messages/count_tokens") == 1


def test_batches_create_retrieve_list_cancel_results(
    fake_anthropic: FakeAnthropicServer, client: anthropic.Anthropic
) -> None:
    requests = [
        {
            "custom_id": f"r{i}",
            "params": {"model": MODEL, "max_tokens": 16, "messages": [{"role": "user", "content": f"q{i}"}]},
        }
        for i in range(3)
    ]
    batch = client.messages.batches.create(requests=requests)  # type: ignore[arg-type]
    assert batch.processing_status == "ended"
    assert batch.request_counts.succeeded == 3
    assert batch.results_url is not None and batch.results_url.startswith("/v1/messages/batches/")
    assert client.messages.batches.retrieve(batch.id).id == batch.id
    assert [b.id for b in client.messages.batches.list(limit=5).data] == [batch.id]
    assert client.messages.batches.cancel(batch.id).processing_status == "ended"
    results = {r.custom_id: r.result for r in client.messages.batches.results(batch.id)}
    assert sorted(results) == ["r0", "r1", "r2"]
    assert all(r.type == "succeeded" for r in results.values())
    assert fake_anthropic.requests[-1].query == {}
    assert any(r.query == {"limit": "5"} for r in fake_anthropic.requests)


def test_unknown_batch_and_path_are_404(
    fake_anthropic: FakeAnthropicServer, client: anthropic.Anthropic
) -> None:
    with pytest.raises(anthropic.NotFoundError):
        client.messages.batches.retrieve("msgbatch_nope")
    status, _, body = raw_post(f"{fake_anthropic.base_url}/v1/complete", {}, {"x-api-key": KEY})
    assert status == 404 and json.loads(body)["error"]["type"] == "not_found_error"


def test_cache_write_then_read_with_ttl_buckets(client: anthropic.Anthropic) -> None:
    system = [
        {"type": "text", "text": "role " * 3400, "cache_control": {"type": "ephemeral", "ttl": "1h"}},
        {"type": "text", "text": "project " * 100, "cache_control": {"type": "ephemeral"}},
        {"type": "text", "text": "not cached"},
    ]  # Haiku 4.5 caches from 4,096 tokens: the first breakpoint's 4,250 pass it
    first = create(client, system=system).usage
    assert first.cache_creation is not None
    assert first.cache_creation.ephemeral_1h_input_tokens == 4250
    assert first.cache_creation.ephemeral_5m_input_tokens == 200
    assert first.cache_creation_input_tokens == 4450
    assert first.cache_read_input_tokens == 0
    second = create(client, system=system).usage
    assert second.cache_read_input_tokens == 4450
    assert second.cache_creation_input_tokens == 0
    assert second.input_tokens == first.input_tokens
    assert create(client, system=[{"type": "text", "text": "plain"}]).usage.cache_read_input_tokens is None


def test_prefixes_below_the_models_minimum_are_not_cached(client: anthropic.Anthropic) -> None:
    # 250 + 200 tokens: below Haiku 4.5's 4,096; the breakpoints are reported, but nothing is cached
    system = [
        {"type": "text", "text": "role " * 200, "cache_control": {"type": "ephemeral"}},
        {"type": "text", "text": "project " * 100, "cache_control": {"type": "ephemeral"}},
    ]
    for _ in range(2):
        usage = create(client, system=system).usage
        assert usage.cache_creation_input_tokens == 0 and usage.cache_read_input_tokens == 0
        assert usage.input_tokens >= 450


def test_more_than_four_breakpoints_are_refused(client: anthropic.Anthropic) -> None:
    marked = {"type": "text", "text": "x", "cache_control": {"type": "ephemeral"}}
    with pytest.raises(anthropic.BadRequestError) as info:
        create(client, system=[marked] * 5)
    assert "cache_control" in (info.value.api_message or "")


def test_strict_mode_rejects_sampling_parameters(client: anthropic.Anthropic) -> None:
    with pytest.raises(anthropic.BadRequestError) as info:
        create(client, extra_body={"temperature": 0.2})
    assert "temperature" in (info.value.api_message or "")


# -- faults -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "error_class", "error_type"),
    [
        (400, anthropic.BadRequestError, "invalid_request_error"),
        (401, anthropic.AuthenticationError, "authentication_error"),
        (403, anthropic.PermissionDeniedError, "permission_error"),
        (404, anthropic.NotFoundError, "not_found_error"),
        (413, anthropic.ContentTooLargeError, "request_too_large"),
        (422, anthropic.UnprocessableEntityError, "invalid_request_error"),
        (429, anthropic.RateLimitError, "rate_limit_error"),
        (500, anthropic.InternalServerError, "api_error"),
        (502, anthropic.InternalServerError, "api_error"),
        (503, anthropic.ServiceUnavailableError, "api_error"),
        (504, anthropic.GatewayTimeoutError, "api_error"),
        (529, anthropic.OverloadedError, "overloaded_error"),
    ],
)
def test_status_faults_have_the_api_error_shape(
    fake_anthropic: FakeAnthropicServer,
    client: anthropic.Anthropic,
    status: int,
    error_class: type[Exception],
    error_type: str,
) -> None:
    fake_anthropic.script(Fault.status(status))
    with pytest.raises(error_class) as info:
        create(client)
    assert info.value.status_code == status  # type: ignore[attr-defined]
    assert info.value.type == error_type  # type: ignore[attr-defined]
    assert info.value.body["request_id"].startswith("req_fake_")  # type: ignore[attr-defined]
    assert create(client).stop_reason == "end_turn"  # the fault was used up
    assert fake_anthropic.pending_faults == 0


def test_rate_limit_headers(client: anthropic.Anthropic, fake_anthropic: FakeAnthropicServer) -> None:
    fake_anthropic.script(Fault.status(429, retry_after_ms=10, retry_after=1))
    with pytest.raises(anthropic.RateLimitError) as info:
        create(client)
    assert info.value.response.headers["retry-after-ms"] == "10"
    assert info.value.response.headers["retry-after"] == "1"


def test_faults_are_used_in_order_by_matching_path(
    fake_anthropic: FakeAnthropicServer, client: anthropic.Anthropic
) -> None:
    fake_anthropic.script(Fault.status(500, path="/v1/messages/count_tokens"), Fault.truncate("cut"))
    assert create(client).stop_reason == "max_tokens"  # skips the count_tokens fault
    with pytest.raises(anthropic.InternalServerError):
        client.messages.count_tokens(model=MODEL, messages=USER)
    fake_anthropic.script(Fault.status(503, path=None))
    with pytest.raises(anthropic.ServiceUnavailableError):
        client.messages.count_tokens(model=MODEL, messages=USER)


def test_delay_beyond_the_client_timeout(fake_anthropic: FakeAnthropicServer) -> None:
    fake_anthropic.script(Fault.delay(1.0))
    with (
        anthropic.Anthropic(
            api_key=KEY, base_url=fake_anthropic.base_url, max_retries=0, timeout=0.1
        ) as fast,
        pytest.raises(anthropic.APITimeoutError),
    ):
        create(fast)


def test_fixed_latency_applies_to_every_request(fake_anthropic: FakeAnthropicServer) -> None:
    fake_anthropic.latency = 1.0
    with anthropic.Anthropic(
        api_key=KEY, base_url=fake_anthropic.base_url, max_retries=0, timeout=0.1
    ) as fast:
        with pytest.raises(anthropic.APITimeoutError):
            create(fast)
        with pytest.raises(anthropic.APITimeoutError):
            fast.messages.count_tokens(model=MODEL, messages=USER)


def test_drop_closes_without_a_response(
    fake_anthropic: FakeAnthropicServer, client: anthropic.Anthropic
) -> None:
    fake_anthropic.script(Fault.drop())
    with pytest.raises(anthropic.APIConnectionError) as info:
        create(client)
    assert not isinstance(info.value, anthropic.APITimeoutError)
    assert create(client).stop_reason == "end_turn"  # the server survived


def test_malformed_body(fake_anthropic: FakeAnthropicServer, client: anthropic.Anthropic) -> None:
    fake_anthropic.script(Fault.malformed())
    with pytest.raises(json.JSONDecodeError):
        create(client)


def test_truncate_and_refusal(fake_anthropic: FakeAnthropicServer, client: anthropic.Anthropic) -> None:
    fake_anthropic.script(Fault.truncate("half an ans"), Fault.refusal())
    truncated, refused = create(client), create(client)
    assert (truncated.stop_reason, truncated.content[0].text) == ("max_tokens", "half an ans")
    assert refused.stop_reason == "refusal"


def test_stream_drop_mid_body(fake_anthropic: FakeAnthropicServer, client: anthropic.Anthropic) -> None:
    fake_anthropic.script(Fault.stream_drop_after(2))
    parts: list[str] = []
    with (
        pytest.raises(httpx2.RemoteProtocolError),
        client.messages.stream(model=MODEL, max_tokens=64, messages=USER) as stream,
    ):
        parts.extend(stream.text_stream)
    assert len(parts) == 2


def test_stream_clean_end_leaves_no_stop_reason(
    fake_anthropic: FakeAnthropicServer, client: anthropic.Anthropic
) -> None:
    fake_anthropic.script(Fault.stream_drop_after(1, clean=True))
    with client.messages.stream(model=MODEL, max_tokens=64, messages=USER) as stream:
        message = stream.get_final_message()
    assert message.stop_reason is None  # the trap the backend must catch


def test_stream_error_event(fake_anthropic: FakeAnthropicServer, client: anthropic.Anthropic) -> None:
    fake_anthropic.script(Fault.stream_error(1, error_type="overloaded_error"))
    with (
        pytest.raises(anthropic.APIStatusError) as info,
        client.messages.stream(model=MODEL, max_tokens=64, messages=USER) as stream,
    ):
        stream.until_done()
    assert info.value.status_code == 200 and info.value.type == "overloaded_error"


def test_stream_drop_on_a_plain_request_drops_the_connection(
    fake_anthropic: FakeAnthropicServer, client: anthropic.Anthropic
) -> None:
    fake_anthropic.script(Fault.stream_drop_after(1))
    with pytest.raises(anthropic.APIConnectionError):
        create(client)


# -- lifecycle --------------------------------------------------------------------------------------


def test_stop_does_not_hang_on_a_delayed_request() -> None:
    server = FakeAnthropicServer().start()
    server.script(Fault.delay(30.0))
    errors: list[BaseException] = []

    def call() -> None:
        with anthropic.Anthropic(api_key=KEY, base_url=server.base_url, max_retries=0, timeout=10.0) as c:
            try:
                create(c)
            except BaseException as exc:
                errors.append(exc)

    worker = threading.Thread(target=call, daemon=True)
    worker.start()
    while server.count() == 0:
        worker.join(0.01)
    server.stop()  # wakes the delay and closes the connection
    worker.join(5.0)
    assert not worker.is_alive()
    assert errors and isinstance(errors[0], anthropic.APIConnectionError)
    with pytest.raises(RuntimeError):
        _ = server.base_url


def test_stopped_port_refuses_connections_and_restart_works() -> None:
    with FakeAnthropicServer() as server:
        url = server.base_url
        port = int(url.rsplit(":", 1)[1])
    with socket.socket() as sock, pytest.raises(OSError):
        sock.settimeout(1.0)
        sock.connect(("127.0.0.1", port))
    server.start()
    try:
        assert server.base_url.startswith("http://127.0.0.1:")
    finally:
        server.stop()
    server.stop()  # idempotent


def test_reset_forgets_everything(fake_anthropic: FakeAnthropicServer, client: anthropic.Anthropic) -> None:
    create(client)
    fake_anthropic.script(Fault.drop())
    fake_anthropic.reset()
    assert fake_anthropic.count(None) == 0 and fake_anthropic.pending_faults == 0
    assert "FakeAnthropicServer(http://127.0.0.1:" in repr(fake_anthropic)
