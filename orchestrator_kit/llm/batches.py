"""The Message Batches backend: model calls queued and sent through ``client.messages.batches`` at 50%.

    backend = BatchesBackend(journal="sweep/batches.jsonl", active_runs=lambda: runs_not_finished)
    completion = await backend.complete(request)      # waits until its batch has ended

Many workflows share one instance (one event loop). A queued call waits until a batch is flushed:

- when every active workflow is waiting on the model: ``active_runs()`` (the number of workflows still
  running) is reached by the number of distinct runs (``request.labels.run_id``) with a call queued or
  in a batch not yet ended;
- or when ``max_batch_requests`` calls are queued, or the oldest has waited ``max_wait_s``.

Each batch is polled with exponential backoff (``poll_initial_s`` doubling up to ``poll_max_s``); results
are mapped back by ``custom_id``, which is derived from the run id, the request hash and the occurrence
of that request in the run, so a resumed process finds the same ids. Batch ids go to the journal
(``batch_journal.BatchJournal``) before polling starts: a new process with the same journal re-attaches to
batches still in flight and never resubmits a request that may still complete; ended batches' results
are saved beside it, so no paid answer is lost. ``cancel_inflight()`` cancels them instead.

A request that comes back ``errored`` (with a transient error type), ``expired`` or ``canceled`` is
retried in a later batch, up to ``RetryConfig.max_attempts`` attempts; every failed attempt is in
``Completion.failed_attempts`` (or the ``BackendError``'s ``attempts``), so the ledger records it as a
wasted attempt. Completions carry ``batch_id``; the ledger prices them at batch rates.

Source for the API: the SDK's ``resources/messages/batches.py`` and /work/shared/reference notes
(custom_id pattern ``^[a-zA-Z0-9_-]{1,64}$``, at most 100,000 requests a batch).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import itertools
import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import SecretStr

from ..errors import AuthError, BackendError, ConfigError
from .anthropic_backend import AnthropicBackend, build_params
from .backend import DeltaCallback
from .batch_journal import BatchJournal
from .batch_results import TRANSIENT_ERROR_TYPES as TRANSIENT_ERROR_TYPES
from .batch_results import Outcome
from .keys import KeyInfo
from .retry import IncompleteResponse, RetryConfig, retry_async
from .types import Attempt, Completion, LLMRequest

if TYPE_CHECKING:
    import anthropic

    from .ratelimit import RateLimiter

log = logging.getLogger(__name__)
T = TypeVar("T")
MAX_BATCH_REQUESTS = 100_000
_TICK_S = 0.05  # how often the flush condition is re-checked while calls are queued


_TRIES = "_orchestrator_kit_tries"  # set on an exception by _api_call: how many attempts it made


def _hint(error: BackendError) -> str:
    """What to do about a batch that could not be followed, by what the API said."""
    if isinstance(error, AuthError):
        return "check the key, then resume the run to follow the batch again"
    if error.status_code == 404:
        return (
            "the API does not know this batch: resume with the key (workspace) that made it, or, if it is "
            "gone, move the journal aside so that the requests it did not answer are submitted again"
        )
    return "resume the run later to follow it again, or cancel it with cancel_inflight() / --cancel-batches"


def custom_id_for(run_key: str, request_hash: str, occurrence: int) -> str:
    """The deterministic custom_id of the ``occurrence``-th asking of a request in a run."""
    digest = hashlib.sha256(f"{run_key}\n{request_hash}".encode()).hexdigest()[:48]
    return f"r{digest}-{occurrence}"


async def _retrieve(client: anthropic.AsyncAnthropic, *, batch_id: str) -> Any:
    return await client.messages.batches.retrieve(batch_id)


async def _cancel(client: anthropic.AsyncAnthropic, *, batch_id: str) -> Any:
    return await client.messages.batches.cancel(batch_id)


@dataclass
class _Queued:
    custom_id: str
    request_hash: str
    params: dict[str, Any]
    queued_at: float


class BatchesBackend:
    """``Backend`` over the Message Batches API. ``mode = "real"``; completions carry ``batch_id``.

    Key lookup, ``client``/``base_url``/``timeout`` and error mapping are those of ``AnthropicBackend``.
    ``journal``: the file batch ids are written to before polling (None: memory only, no resume).
    ``rate_limiter``: paces the batch endpoints' own HTTP calls (create, retrieve, results, cancel).
    """

    mode = "real"
    queues_calls = True  # calls wait in a queue, not in open HTTP requests (see the sweep driver)
    billed_as_batch = True  # budgets price worst cases at the batch discount

    def __init__(
        self,
        api_key: str | SecretStr | KeyInfo | None = None,
        *,
        client: anthropic.AsyncAnthropic | None = None,
        base_url: str | None = None,
        timeout: float | None = None,
        retry: RetryConfig | None = None,
        journal: str | Path | None = None,
        active_runs: Callable[[], int] | None = None,
        max_batch_requests: int = 10_000,
        max_wait_s: float = 60.0,
        poll_initial_s: float = 1.0,
        poll_max_s: float = 60.0,
        rate_limiter: RateLimiter | None = None,
        key_source: str = "argument",
    ) -> None:
        if not 1 <= max_batch_requests <= MAX_BATCH_REQUESTS:
            raise ConfigError(
                f"max_batch_requests must be between 1 and {MAX_BATCH_REQUESTS:,}, not {max_batch_requests}"
            )
        if max_wait_s <= 0 or poll_initial_s <= 0 or poll_max_s < poll_initial_s:
            raise ConfigError(
                "max_wait_s and poll_initial_s must be positive and poll_max_s at least poll_initial_s"
            )
        self._api = AnthropicBackend(
            api_key, client=client, base_url=base_url, timeout=timeout, retry=retry, key_source=key_source
        )
        self.retry = self._api.retry
        self.journal = BatchJournal.open(journal)
        self.active_runs = active_runs
        self.max_batch_requests = max_batch_requests
        self.max_wait_s = max_wait_s
        self.poll_initial_s = poll_initial_s
        self.poll_max_s = poll_max_s
        self.rate_limiter = rate_limiter
        self.stats = {"batches_created": 0, "requests_submitted": 0, "polls": 0, "reattached": 0}
        self._queue: list[_Queued] = []
        self._waiters: dict[str, asyncio.Future[Outcome]] = {}
        self._waiting_runs: dict[str, str] = {}  # custom_id -> run key, for queued and in-flight calls
        self._stored: dict[str, Outcome] = {}  # results nobody has asked for (yet)
        self._claimed: set[str] = set()
        self._pollers: dict[str, asyncio.Task[None]] = {}
        self._dispatcher: asyncio.Task[None] | None = None
        self._wakeup: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def __repr__(self) -> str:
        return (
            f"BatchesBackend(api={self._api!r}, journal={str(self.journal.path)!r}, "
            f"max_batch_requests={self.max_batch_requests}, max_wait_s={self.max_wait_s})"
        )

    @property
    def key_source(self) -> str:
        return self._api.key_source

    # -- the call ----------------------------------------------------------------------------------

    async def complete(self, request: LLMRequest, *, on_delta: DeltaCallback | None = None) -> Completion:
        """Queue ``request`` for a batch (or re-attach to the journaled batch holding it) and wait for
        its result, retrying errored / expired / canceled results in later batches."""
        self._bind_loop()
        started = time.monotonic()
        run_key = request.labels.run_id or "-"
        request_hash = request.request_hash()
        params = build_params(request)
        failed: list[Attempt] = []
        for number in itertools.count(1):
            custom_id = self._claim(run_key, request_hash)
            attempt_started = time.monotonic()
            outcome = await self._outcome_for(custom_id, request_hash, run_key, params)
            if outcome.kind == "succeeded":
                self.journal.mark_delivered([custom_id])
                completion = outcome.completion(request, failed, started)
                if on_delta is not None and completion.text:
                    on_delta(completion.text)
                return completion
            failed.append(
                Attempt(
                    number=number,
                    error=outcome.attempt_error(),
                    latency_s=round(time.monotonic() - attempt_started, 6),
                    batch_id=outcome.batch_id,
                )
            )
            attempts = [a.model_dump() for a in failed]
            if not outcome.retryable:
                raise BackendError(
                    f"Message Batch {outcome.batch_id} answered {outcome.error_type()}: "
                    f"{outcome.error_message()} (not retried)",
                    attempts=attempts,
                )
            if number >= self.retry.max_attempts:
                raise BackendError(
                    f"the request came back {outcome.kind} from Message Batch {outcome.batch_id} after "
                    f"{number} attempt{'s' if number != 1 else ''} (RetryConfig.max_attempts="
                    f"{self.retry.max_attempts}); resume the run to try again",
                    attempts=attempts,
                )
            log.info("batch request %s came back %s; retrying in a later batch", custom_id, outcome.kind)
        raise AssertionError("unreachable")  # pragma: no cover

    def _claim(self, run_key: str, request_hash: str) -> str:
        """The first custom_id of this request in this run not yet delivered nor claimed here."""
        for occurrence in itertools.count():
            cid = custom_id_for(run_key, request_hash, occurrence)
            if cid not in self._claimed and cid not in self.journal.delivered:
                self._claimed.add(cid)
                return cid
        raise AssertionError("unreachable")  # pragma: no cover

    async def _outcome_for(
        self, custom_id: str, request_hash: str, run_key: str, params: dict[str, Any]
    ) -> Outcome:
        stored = self._stored.pop(custom_id, None)
        if stored is not None:
            return stored
        assert self._loop is not None
        future: asyncio.Future[Outcome] = self._loop.create_future()
        self._waiters[custom_id] = future
        self._waiting_runs[custom_id] = run_key
        try:
            batch_id = self.journal.by_custom_id.get(custom_id)
            if batch_id is not None:  # submitted by an earlier process: re-attach, never resubmit
                self.stats["reattached"] += 1
                self._ensure_poller(batch_id)
            else:
                self._queue.append(_Queued(custom_id, request_hash, params, time.monotonic()))
                self._kick()
            return await future
        finally:
            self._waiters.pop(custom_id, None)
            self._waiting_runs.pop(custom_id, None)
            if not future.done():  # cancelled while queued: take it out of the next batch
                self._queue = [q for q in self._queue if q.custom_id != custom_id]

    # -- flushing ----------------------------------------------------------------------------------

    def _bind_loop(self) -> None:
        loop = asyncio.get_running_loop()
        if self._loop is loop:
            return
        busy = self._queue or self._waiters or any(not t.done() for t in self._pollers.values())
        if self._loop is not None and busy:
            raise RuntimeError(
                "a BatchesBackend serves one event loop at a time; this one is busy in another"
            )
        self._loop = loop
        self._wakeup = asyncio.Event()
        self._dispatcher = None
        self._pollers = {}

    def _kick(self) -> None:
        assert self._wakeup is not None and self._loop is not None
        self._wakeup.set()
        if self._dispatcher is None or self._dispatcher.done():
            self._dispatcher = self._loop.create_task(self._dispatch(), name="batches-dispatcher")

    def waiting_runs(self) -> int:
        """Distinct runs with a call queued or in a batch not yet ended."""
        return len(set(self._waiting_runs.values()))

    def _should_flush(self) -> bool:
        if not self._queue:
            return False
        if len(self._queue) >= self.max_batch_requests:
            return True
        if time.monotonic() - self._queue[0].queued_at >= self.max_wait_s:
            return True
        return self.active_runs is not None and self.waiting_runs() >= self.active_runs()

    async def _dispatch(self) -> None:
        assert self._wakeup is not None
        while self._queue:
            if self._should_flush():
                await self._flush()
                continue
            self._wakeup.clear()
            wait = min(_TICK_S, max(0.0, self.max_wait_s - (time.monotonic() - self._queue[0].queued_at)))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), timeout=wait)

    async def _flush(self) -> None:
        taken, self._queue = self._queue[: self.max_batch_requests], self._queue[self.max_batch_requests :]
        requests = [{"custom_id": q.custom_id, "params": q.params} for q in taken]
        try:
            batch = await self._api_call(lambda c: c.messages.batches.create(requests=requests))  # type: ignore[arg-type]
        except Exception as exc:  # noqa: BLE001 - every waiter of the batch gets the typed error
            for q in taken:
                self._fail(q.custom_id, exc)
            return
        # Journaled BEFORE polling starts: from here on a resumed process re-attaches instead of resubmitting.
        self.journal.submitted(batch.id, {q.custom_id: q.request_hash for q in taken})
        self.stats["batches_created"] += 1
        self.stats["requests_submitted"] += len(taken)
        log.info("submitted Message Batch %s with %d requests", batch.id, len(taken))
        self._ensure_poller(batch.id)

    # -- polling -----------------------------------------------------------------------------------

    def _ensure_poller(self, batch_id: str) -> None:
        task = self._pollers.get(batch_id)
        if task is not None and not task.done():
            return
        saved = self.journal.saved_results(batch_id) if self.journal.batches[batch_id].ended else None
        if saved is not None:
            self._deliver(batch_id, saved)
            return
        assert self._loop is not None
        self._pollers[batch_id] = self._loop.create_task(self._poll(batch_id), name=f"poll-{batch_id}")

    async def _poll(self, batch_id: str) -> None:
        delay = self.poll_initial_s
        try:
            while True:
                batch = await self._api_call(functools.partial(_retrieve, batch_id=batch_id))
                self.stats["polls"] += 1
                if batch.processing_status == "ended":
                    break
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.poll_max_s)

            async def fetch(c: anthropic.AsyncAnthropic) -> list[dict[str, Any]]:
                # The API's own lines, as sent: the SDK's typed lines would drop or garble what its
                # types do not know (a new content block type, a new field) when dumped again.
                async with c.messages.batches.with_streaming_response.results(batch_id) as response:
                    lines = [json.loads(line) async for line in response.iter_lines() if line.strip()]
                for line in lines:
                    if not (
                        isinstance(line, dict)
                        and isinstance(line.get("custom_id"), str)
                        and isinstance(line.get("result"), dict)
                    ):
                        raise IncompleteResponse(
                            f"its results hold a line that is not a result object: {str(line)[:80]}",
                            status_code=200,
                        )
                return lines

            lines = await self._api_call(fetch)
        except Exception as exc:  # noqa: BLE001 - every waiter of the batch gets the typed error
            for cid in self.journal.batches[batch_id].custom_ids:
                self._fail(cid, exc, batch_id=batch_id)
            return
        counts = batch.request_counts.model_dump() if batch.request_counts is not None else {}
        self.journal.ended(batch_id, lines, counts)
        self._deliver(batch_id, lines)

    def _deliver(self, batch_id: str, lines: list[dict[str, Any]]) -> None:
        seen = set()
        for line in lines:
            cid = str(line.get("custom_id"))
            seen.add(cid)
            outcome = Outcome(batch_id, line)
            future = self._waiters.get(cid)
            if future is not None and not future.done():
                future.set_result(outcome)
            elif cid not in self.journal.delivered:
                self._stored[cid] = outcome
        for cid in self.journal.batches[batch_id].custom_ids:
            future = self._waiters.get(cid)
            if cid not in seen and future is not None and not future.done():
                future.set_result(Outcome(batch_id))  # no result line: retried as "missing"

    def _fail(self, custom_id: str, exc: Exception, *, batch_id: str | None = None) -> None:
        future = self._waiters.get(custom_id)
        if future is None or future.done():
            return
        tries = getattr(exc, _TRIES, None)
        error = self._api._final_error(exc, [], self._api.client(), count=tries)  # the one error mapping
        if batch_id is not None and isinstance(error, BackendError):
            journal = self.journal.path or "memory"
            message = (
                f"Message Batch {batch_id} (journal {journal}) could not be followed: {error}; {_hint(error)}"
            )
            error = type(error)(message, attempts=error.attempts, status_code=error.status_code)
        elif isinstance(error, BackendError):  # one instance per waiter: callers add notes to it
            error = type(error)(str(error), attempts=error.attempts, status_code=error.status_code)
        future.set_exception(error)

    async def _api_call(self, fn: Callable[[anthropic.AsyncAnthropic], Awaitable[T]]) -> T:
        """One batch-endpoint call through the retry policy (and the rate limiter, if any)."""
        client = self._api.client()
        limiter = self.rate_limiter

        tries = 0

        async def once() -> T:
            nonlocal tries
            tries += 1
            if limiter is not None:
                await limiter.acquire(max_pause=self.retry.max_delay)
            try:
                result = await fn(client)
            except Exception as exc:
                if limiter is not None:
                    limiter.observe_error(exc)
                raise
            except BaseException:
                if limiter is not None:
                    limiter.abandon()
                raise
            if limiter is not None:
                limiter.observe(None)  # answered: the probe is over (these calls' headers are not read)
            return result

        try:
            return await retry_async(once, config=self.retry)
        except Exception as exc:
            setattr(exc, _TRIES, tries)  # read by _fail: the error says how many attempts were made
            raise

    # -- resume and cancel -------------------------------------------------------------------------

    def in_flight(self) -> list[str]:
        """Journaled batches whose results have not been saved yet."""
        return self.journal.in_flight()

    async def cancel_inflight(self, *, wait: bool = True) -> dict[str, dict[str, int]]:
        """Cancel every journaled batch still in flight. With ``wait``, poll them until they end and save
        their results: requests they had already answered are paid for and kept (a later resume uses
        them); the canceled rest is submitted again by whoever asks for it. Returns counts per batch."""
        self._bind_loop()
        ids = self.in_flight()
        for batch_id in ids:
            batch = await self._api_call(functools.partial(_retrieve, batch_id=batch_id))
            if batch.processing_status == "in_progress":
                await self._api_call(functools.partial(_cancel, batch_id=batch_id))
            self.journal.cancel_requested(batch_id)
        if wait:
            for batch_id in ids:
                self._ensure_poller(batch_id)
            await asyncio.gather(*(t for b, t in self._pollers.items() if b in ids))
        summary: dict[str, dict[str, int]] = {}
        for batch_id in ids:
            counts: dict[str, int] = {}
            for outcome in (self._stored.get(c) for c in self.journal.batches[batch_id].custom_ids):
                kind = outcome.kind if outcome is not None else "pending"
                counts[kind] = counts.get(kind, 0) + 1
            summary[batch_id] = counts
        return summary

    async def aclose(self, *, force: bool = False) -> None:
        """Close the SDK client when nothing is queued or in flight (a shared instance stays usable).
        ``force``: stop polling and close anyway (the journal keeps what a later process needs)."""
        busy = self._queue or self._waiters or any(not t.done() for t in self._pollers.values())
        if busy and not force:
            return
        tasks = [t for t in (self._dispatcher, *self._pollers.values()) if t is not None and not t.done()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self._api.aclose()
