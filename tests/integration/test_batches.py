"""BatchesBackend: the real SDK against the fake server's Message Batches API on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from run_helpers import only_run, read_jsonl, read_state

from orchestrator_kit.engine import WorkflowEngine
from orchestrator_kit.errors import BackendError, ConfigError
from orchestrator_kit.llm.anthropic_backend import AnthropicBackend
from orchestrator_kit.llm.batches import BatchesBackend, custom_id_for
from orchestrator_kit.llm.retry import RetryConfig
from orchestrator_kit.llm.types import LLMRequest, Message, RequestLabels
from orchestrator_kit.testing import FakeAnthropicServer, simulated_responder

KEY = "sk-ant-test-fake"
AGENTS = ["architect", "developer", "reviewer"]
QUICK_RETRY = RetryConfig(max_attempts=3, initial_delay=0.01, max_delay=1.0, jitter=False)


def _backend(srv: FakeAnthropicServer, **kw: Any) -> BatchesBackend:
    """A backend that builds (and, once idle, closes) its own SDK client for the fake server."""
    options: dict[str, Any] = {"poll_initial_s": 0.02, "poll_max_s": 0.1, "retry": QUICK_RETRY}
    options.update(kw)
    return BatchesBackend(api_key=KEY, base_url=srv.base_url, **options)


def _request(i: int, run: str | None = None) -> LLMRequest:
    return LLMRequest(
        model="claude-sonnet-5-5",
        messages=(Message(role="user", content=f"question {i}"),),
        max_tokens=64,
        labels=RequestLabels(run_id=run or f"run{i}"),
    )


def _batch_creates(srv: FakeAnthropicServer) -> list[list[str]]:
    """The custom_ids of every batch the server was asked to create, in order."""
    return [
        [item["custom_id"] for item in r.body["requests"]]
        for r in srv.requests
        if r.method == "POST" and r.path == "/v1/messages/batches"
    ]


def test_flushes_one_batch_when_every_active_run_waits() -> None:
    async def scenario(srv: FakeAnthropicServer) -> list[int]:
        backend = _backend(srv, active_runs=lambda: 3, max_wait_s=60)
        seen: list[int] = []

        async def late(i: int) -> Any:
            await asyncio.sleep(0.15 * i)
            seen.append(len(_batch_creates(srv)))  # batches created before this run started waiting
            return await backend.complete(_request(i))

        done = await asyncio.gather(*(late(i) for i in range(3)))
        assert {c.batch_id for c in done} == {done[0].batch_id}
        await backend.aclose()
        return seen

    with FakeAnthropicServer() as srv:
        seen = asyncio.run(scenario(srv))
        assert seen == [0, 0, 0]  # nothing went out while a run was still working
        (only,) = _batch_creates(srv)
        assert len(only) == 3
        assert srv.count("/v1/messages") == 0  # no standard-price call


def test_size_and_time_limits_flush_without_all_runs_waiting() -> None:
    async def scenario(srv: FakeAnthropicServer) -> None:
        backend = _backend(srv, active_runs=lambda: 10, max_batch_requests=2, max_wait_s=0.2)
        await asyncio.gather(*(backend.complete(_request(i)) for i in range(3)))
        await backend.aclose()

    with FakeAnthropicServer() as srv:
        asyncio.run(scenario(srv))
        assert [len(b) for b in _batch_creates(srv)] == [2, 1]  # size limit, then the time limit


def test_mixed_results_are_retried_in_a_later_batch() -> None:
    async def scenario(srv: FakeAnthropicServer) -> list[Any]:
        backend = _backend(srv, active_runs=lambda: 5, max_wait_s=0.3)
        srv.batches.script_outcomes(
            "succeeded", "errored", "expired", "canceled", "errored:invalid_request_error"
        )
        try:
            return await asyncio.gather(
                *(backend.complete(_request(i)) for i in range(5)), return_exceptions=True
            )
        finally:
            await backend.aclose()

    with FakeAnthropicServer(batch_processing_s=0.1) as srv:
        ok, errored, expired, canceled, invalid = asyncio.run(scenario(srv))
        creates = _batch_creates(srv)
    first = ok.batch_id
    assert ok.attempts == 1 and not ok.failed_attempts
    for completion, error in (
        (errored, "BatchRequestErrored(api_error)"),
        (expired, "BatchRequestExpired"),
        (canceled, "BatchRequestCanceled"),
    ):
        assert completion.attempts == 2
        assert completion.batch_id not in (None, first)  # answered by a later batch
        (attempt,) = completion.failed_attempts
        assert (attempt.error, attempt.batch_id) == (error, first)
    assert isinstance(invalid, BackendError) and "invalid_request_error" in str(invalid)
    assert invalid.attempts[0]["batch_id"] == first  # not retried: one attempt
    assert [len(b) for b in creates] == [5, 3]


def test_retries_stop_at_max_attempts() -> None:
    async def scenario(srv: FakeAnthropicServer) -> None:
        backend = _backend(srv, max_wait_s=0.05, retry=RetryConfig(max_attempts=2, jitter=False))
        srv.batches.script_outcomes("expired", "expired")
        try:
            await backend.complete(_request(0))
        finally:
            await backend.aclose()

    with FakeAnthropicServer() as srv, pytest.raises(BackendError, match=r"expired .* after 2 attempts"):
        asyncio.run(scenario(srv))


def test_bad_settings_are_clear_errors() -> None:
    with pytest.raises(ConfigError, match="max_batch_requests"):
        BatchesBackend(api_key=KEY, max_batch_requests=0)
    with pytest.raises(ConfigError, match="poll_max_s"):
        BatchesBackend(api_key=KEY, poll_initial_s=2, poll_max_s=1)


def test_custom_ids_are_valid_and_deterministic() -> None:
    import re

    cid = custom_id_for("run-1", "a" * 64, 12)
    assert re.fullmatch(r"[a-zA-Z0-9_-]{1,64}", cid)
    assert cid == custom_id_for("run-1", "a" * 64, 12) != custom_id_for("run-2", "a" * 64, 12)


# -- whole workflows ---------------------------------------------------------------------------------


async def _sweep(backend_for: Any, root: Path, n: int) -> list[Any]:
    """n workflows at once in one event loop, one shared backend (what the sweep driver does)."""
    tasks: list[asyncio.Task[Any]] = []
    backend = backend_for(lambda: sum(not t.done() for t in tasks))
    for i in range(n):
        engine = WorkflowEngine(
            backend=backend, agents=AGENTS, output_dir=root, max_concurrency=32, budget_usd=5
        )
        tasks.append(asyncio.create_task(engine.arun(f"a CLI tool number {i}", run_id=f"cell{i}")))
    return await asyncio.gather(*tasks)


def _total_cost(root: Path) -> Decimal:
    return sum(
        (Decimal(line["cost_usd"]) for p in sorted(root.iterdir()) for line in read_jsonl(p / "calls.jsonl")),
        Decimal(0),
    )


def test_workflows_through_batches_cost_exactly_half(tmp_path: Path) -> None:
    with FakeAnthropicServer(responder=simulated_responder()) as srv:
        asyncio.run(
            _sweep(lambda _active: AnthropicBackend(KEY, base_url=srv.base_url), tmp_path / "standard", 3)
        )
    with FakeAnthropicServer(responder=simulated_responder()) as srv:
        results = asyncio.run(
            _sweep(lambda active: _backend(srv, active_runs=active, max_wait_s=30), tmp_path / "batches", 3)
        )
        creates = _batch_creates(srv)
        assert srv.count("/v1/messages") == 0
    assert all(r.status == "completed" for r in results)
    lines = [ln for p in (tmp_path / "batches").iterdir() for ln in read_jsonl(p / "calls.jsonl")]
    assert lines and all(ln["batch_id"] for ln in lines)
    from orchestrator_kit.report import load_runs

    calls = load_runs(tmp_path / "batches").calls
    assert calls["batch_id"].notna().all() and load_runs(tmp_path / "standard").calls["batch_id"].isna().all()
    # three workflows in lockstep: one batch per step of the (sequential) workflow, not one per call
    assert len(creates) == len(AGENTS) * 2 and all(len(b) == 3 for b in creates)
    standard, batched = _total_cost(tmp_path / "standard"), _total_cost(tmp_path / "batches")
    assert standard > 0
    assert batched == standard * Decimal("0.5")


def test_failed_batch_attempt_is_a_wasted_ledger_line(tmp_path: Path) -> None:
    with FakeAnthropicServer(responder=simulated_responder()) as srv:
        srv.batches.script_outcomes("errored:overloaded_error")
        asyncio.run(_sweep(lambda active: _backend(srv, active_runs=active), tmp_path, 1))
    lines = read_jsonl(only_run(tmp_path) / "calls.jsonl")
    failed = [ln for ln in lines if ln["status"] == "error"]
    assert len(failed) == 1 and failed[0]["wasted"] is True
    assert failed[0]["error"] == "BatchRequestErrored(overloaded_error)"
    assert failed[0]["batch_id"] and Decimal(failed[0]["cost_usd"]) == 0
    assert (
        failed[0]["request_hash"] == lines[1]["request_hash"]
        and lines[1]["batch_id"] != failed[0]["batch_id"]
    )


# -- crash, resume, cancel ---------------------------------------------------------------------------


def _journal(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


async def _start_and_crash(srv: FakeAnthropicServer, root: Path, journal: Path) -> None:
    """Start one workflow; cancel it (a crash) once its first batch id is journaled."""
    backend = _backend(srv, journal=journal, active_runs=lambda: 1)
    engine = WorkflowEngine(backend=backend, agents=AGENTS, output_dir=root, max_concurrency=8)
    task = asyncio.create_task(engine.arun("a CLI tool", run_id="cell0"))
    for _ in range(500):
        await asyncio.sleep(0.01)
        if journal.exists():  # noqa: ASYNC240 - a test polling a file
            break
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await backend.aclose(force=True)  # what the end of a killed process does to its sockets


def test_resume_reattaches_to_the_journaled_batch_and_never_resubmits(tmp_path: Path) -> None:
    journal = tmp_path / "sweep" / "batches.jsonl"
    root = tmp_path / "runs"
    with FakeAnthropicServer(responder=simulated_responder(), batch_processing_s=2.0) as srv:
        asyncio.run(_start_and_crash(srv, root, journal))
        srv.batches.processing_s = 0.0  # later batches end at once
        (submitted,) = _journal(journal)
        assert submitted["event"] == "submitted"
        (in_flight,) = submitted["custom_ids"]
        assert srv.batches.get(submitted["batch_id"])["processing_status"] == "in_progress"
        run_dir = only_run(root)
        assert read_state(run_dir)["status"] == "interrupted"

        async def resume() -> Any:
            backend = _backend(srv, journal=journal, active_runs=lambda: 1)
            assert backend.in_flight() == [submitted["batch_id"]]
            result = await WorkflowEngine.for_resume(run_dir, backend=backend).aresume(run_dir)
            assert backend.stats["reattached"] == 1
            return result

        result = asyncio.run(resume())
        creates = _batch_creates(srv)
    assert result.status == "completed"
    assert sum(ids.count(in_flight) for ids in creates) == 1  # submitted once, before the crash
    lines = read_jsonl(run_dir / "calls.jsonl")
    assert lines[0]["batch_id"] == submitted["batch_id"]
    events = [e["event"] for e in _journal(journal)]
    assert events.count("submitted") == len(creates) and events.count("ended") == len(creates)


def test_results_of_an_ended_batch_survive_the_crash(tmp_path: Path) -> None:
    """The batch ended while nobody was polling: a resume fetches its paid answer, pays nothing twice."""
    journal = tmp_path / "batches.jsonl"
    with FakeAnthropicServer(responder=simulated_responder(), batch_processing_s=0.3) as srv:
        asyncio.run(_start_and_crash(srv, tmp_path / "runs", journal))
        (submitted,) = _journal(journal)
        run_dir = only_run(tmp_path / "runs")
        import time

        time.sleep(0.4)  # the batch ends meanwhile
        backend = _backend(srv, journal=journal, active_runs=lambda: 1)
        result = WorkflowEngine.for_resume(run_dir, backend=backend).resume(run_dir)
        creates = _batch_creates(srv)
    assert result.status == "completed"
    assert sum(ids.count(next(iter(submitted["custom_ids"]))) for ids in creates) == 1
    assert (journal.with_suffix(".results") / f"{submitted['batch_id']}.jsonl").is_file()


def test_cancel_inflight_cancels_and_keeps_what_was_paid(tmp_path: Path) -> None:
    journal = tmp_path / "batches.jsonl"
    with FakeAnthropicServer(responder=simulated_responder(), batch_processing_s=30) as srv:
        asyncio.run(_start_and_crash(srv, tmp_path / "runs", journal))
        (submitted,) = _journal(journal)

        async def cancel() -> dict[str, dict[str, int]]:
            backend = _backend(srv, journal=journal)
            try:
                return await backend.cancel_inflight()
            finally:
                await backend.aclose()

        summary = asyncio.run(cancel())
        assert summary == {submitted["batch_id"]: {"canceled": 1}}
        assert srv.count(f"/v1/messages/batches/{submitted['batch_id']}/cancel") == 1
        assert srv.batches.get(submitted["batch_id"])["processing_status"] == "ended"
        assert [e["event"] for e in _journal(journal)] == ["submitted", "cancel_requested", "ended"]
        assert _backend(srv, journal=journal).in_flight() == []
        # a later resume resubmits the canceled request in a new batch and finishes
        srv.batches.processing_s = 0.0
        run_dir = only_run(tmp_path / "runs")
        backend = _backend(srv, journal=journal, active_runs=lambda: 1)
        result = WorkflowEngine.for_resume(run_dir, backend=backend).resume(run_dir)
    assert result.status == "completed"
    first = read_jsonl(run_dir / "calls.jsonl")[0]
    assert (first["status"], first["error"], first["batch_id"]) == (
        "error",
        "BatchRequestCanceled",
        submitted["batch_id"],
    )


# -- the fake server's batches ---------------------------------------------------------------------


def test_fake_batches_take_time_and_a_cancel_keeps_what_was_answered() -> None:
    import time

    import anthropic

    with FakeAnthropicServer(batch_processing_s=2.0) as srv:
        client = anthropic.Anthropic(api_key=KEY, base_url=srv.base_url, max_retries=0)
        params = {
            "model": "claude-sonnet-5-5",
            "max_tokens": 16,
            "messages": [{"role": "user", "content": "x"}],
        }
        batch = client.messages.batches.create(
            requests=[{"custom_id": "first", "params": params}, {"custom_id": "second", "params": params}]  # type: ignore[list-item,typeddict-item]
        )
        assert batch.processing_status == "in_progress" and batch.results_url is None
        assert batch.request_counts.processing == 2
        time.sleep(1.4)  # the first request is answered at 1.0 s, the second would be at 2.0 s
        assert client.messages.batches.cancel(batch.id).processing_status == "canceling"
        time.sleep(0.1)
        ended = client.messages.batches.retrieve(batch.id)
        assert ended.processing_status == "ended"
        assert (ended.request_counts.succeeded, ended.request_counts.canceled) == (1, 1)
        results = list(client.messages.batches.results(batch.id))
        assert [r.custom_id for r in results] == ["second", "first"]  # not in request order
        assert {r.custom_id: r.result.type for r in results} == {"first": "succeeded", "second": "canceled"}
        other = client.messages.batches.create(requests=[{"custom_id": "x", "params": params}])  # type: ignore[list-item,typeddict-item]
        page = client.messages.batches.list(limit=1)
        assert [b.id for b in page.data] == [other.id] and page.has_more
        assert [b.id for b in client.messages.batches.list(limit=1, after_id=other.id).data] == [batch.id]
        with pytest.raises(anthropic.BadRequestError, match="unique"):
            client.messages.batches.create(
                requests=[{"custom_id": "d", "params": params}, {"custom_id": "d", "params": params}]  # type: ignore[list-item,typeddict-item]
            )
        client.close()


def test_batch_endpoint_calls_go_through_the_rate_limiter() -> None:
    from orchestrator_kit.llm.ratelimit import RateLimiter

    limiter = RateLimiter()

    async def scenario(srv: FakeAnthropicServer) -> None:
        backend = _backend(srv, max_wait_s=0.05, rate_limiter=limiter)
        try:
            await asyncio.gather(*(backend.complete(_request(i)) for i in range(2)))
        finally:
            await backend.aclose()

    with FakeAnthropicServer(batch_processing_s=0.2) as srv:
        asyncio.run(asyncio.wait_for(scenario(srv), timeout=30))
        results = sum(r.path.endswith("/results") for r in srv.requests)
        assert results == 1
        # create, polls and results (which the SDK makes as a retrieve then a GET): each call admitted once
        assert limiter.stats["admitted"] == srv.count(None) - results


_CHILD = """
import asyncio, sys
from orchestrator_kit.engine import WorkflowEngine
from orchestrator_kit.llm.batches import BatchesBackend

base_url, journal, root = sys.argv[1:4]
backend = BatchesBackend("sk-ant-test-fake", base_url=base_url, journal=journal, active_runs=lambda: 1,
                         poll_initial_s=0.05, poll_max_s=0.1)
engine = WorkflowEngine(backend=backend, agents=["architect", "developer", "reviewer"], output_dir=root)
engine.run("a CLI tool", run_id="cell0")
"""


@pytest.mark.slow
def test_sigkill_after_the_batch_id_was_journaled_then_resume(tmp_path: Path) -> None:
    import subprocess
    import sys
    import time

    from subprocesses import clean_env

    journal, root = tmp_path / "batches.jsonl", tmp_path / "runs"
    with FakeAnthropicServer(responder=simulated_responder(), batch_processing_s=60) as srv:
        child = subprocess.Popen(
            [sys.executable, "-c", _CHILD, srv.base_url, str(journal), str(root)], env=clean_env()
        )
        try:
            deadline = time.monotonic() + 60
            while not journal.exists() and time.monotonic() < deadline and child.poll() is None:
                time.sleep(0.05)
            assert journal.exists(), "the child never journaled a batch"
        finally:
            child.kill()  # SIGKILL: no cleanup, no checkpoint of the interruption
            child.wait(timeout=10)
        (submitted,) = _journal(journal)
        (custom_id,) = submitted["custom_ids"]
        srv.batches.processing_s = 0.0  # the batches created from now on end at once
        run_dir = only_run(root)
        backend = _backend(srv, journal=journal, active_runs=lambda: 1)
        assert srv.batches.get(submitted["batch_id"])["processing_status"] == "in_progress"
        srv.batches.finish(submitted["batch_id"])  # it would run a minute more: end it now
        result = WorkflowEngine.for_resume(run_dir, backend=backend).resume(run_dir)
        creates = _batch_creates(srv)
    assert result.status == "completed"
    assert sum(ids.count(custom_id) for ids in creates) == 1  # never resubmitted under its id
    first = read_jsonl(run_dir / "calls.jsonl")[0]
    assert (first["status"], first["batch_id"]) == ("ok", submitted["batch_id"])  # re-attached, paid once


def test_an_engine_on_batches_checks_its_budget_at_batch_prices(tmp_path: Path) -> None:
    """A cap between the first call's batch and standard worst case: the engine on Message Batches
    makes the call; the same engine on the standard API refuses it before sending anything."""
    from types import SimpleNamespace

    from orchestrator_kit.errors import BudgetExceeded
    from orchestrator_kit.sweep.runner import first_call_worst_case

    cell = SimpleNamespace(project_name="Untitled project", request="a CLI tool")
    with FakeAnthropicServer(responder=simulated_responder()) as srv:
        standard = WorkflowEngine(backend=AnthropicBackend(KEY, base_url=srv.base_url), agents=["architect"])
        batched = WorkflowEngine(backend=_backend(srv, max_wait_s=0.05), agents=["architect"])
        high = first_call_worst_case(standard, cell)  # type: ignore[arg-type]
        low = first_call_worst_case(batched, cell)  # type: ignore[arg-type]
        assert high is not None and low is not None and low < high
        cap = (low + high) / 2
        with pytest.raises(BudgetExceeded):
            WorkflowEngine(
                backend=AnthropicBackend(KEY, base_url=srv.base_url),
                agents=["architect"],
                output_dir=tmp_path / "standard",
                budget_usd=cap,
            ).run("a CLI tool")
        assert srv.count("/v1/messages") == 0
        result = WorkflowEngine(
            backend=_backend(srv, max_wait_s=0.05),
            agents=["architect"],
            output_dir=tmp_path / "batches",
            budget_usd=cap,
        ).run("a CLI tool")
    assert len(result.calls) >= 1 and _batch_creates(srv)
