"""Record and replay completions, keyed by the request's canonical hash.

A recording is JSONL: ``{"layout", "hash", "request", "completion"}`` per line. Every run folder keeps
one (``responses.jsonl``), so any finished run can be replayed: ``ReplayBackend("runs/<id>")``. A run
folder writes each long text of its lines once and refers to it afterwards (store/response_texts.py);
:class:`RecordingBackend` writes every line in full. Both are read back as full records.
A miss is an error that shows how the request differs from the nearest recorded one.
"""

from __future__ import annotations

import asyncio
import difflib
import json
import threading
from collections import defaultdict, deque
from pathlib import Path
from typing import Any

from ..errors import ConfigError, ReplayMiss
from ..store.run_folder import read_responses
from .backend import Backend, DeltaCallback
from .types import Completion, LLMRequest, Usage

# The request layout of the prompts (``agents.prompt_builder.PROMPT_LAYOUT``) this version records.
# Lines without ``layout`` come from layout 1 (before the act call continued the plan conversation).
RECORDING_LAYOUT = 2


def recording_record(request: LLMRequest, completion: Completion) -> dict[str, Any]:
    return {
        "layout": RECORDING_LAYOUT,
        "hash": request.request_hash(),
        "request": request.canonical_data(),  # the same data as the canonical JSON, not decoded again
        "completion": completion.json_data(),
    }


def _recording_path(source: Path | str) -> Path:
    p = Path(source)
    if p.is_dir():
        p = p / "responses.jsonl"
    if not p.is_file():
        raise ConfigError(f"no recording at {str(p)!r}; pass a run folder or a .jsonl recording")
    return p


def _not_a_recording(source: Path, why: str) -> str:
    return (
        f"{str(source)!r} is not a recording ({why}): pass a run folder that made calls, its "
        "responses.jsonl, or a file written with record_to (CLI: --record-to)"
    )


class RecordingBackend:
    """Wraps any backend and appends every completion to a JSONL file."""

    def __init__(self, inner: Backend, path: Path | str) -> None:
        self.inner = inner
        self.path = Path(path)
        try:  # a path that cannot take the lines is refused now, not after the first (paid) answer
            with open(self.path, "a", encoding="utf-8"):
                pass
        except OSError as exc:
            raise ConfigError(
                f"cannot record to {str(self.path)!r} (record_to; CLI: --record-to): {exc.strerror}; "
                "pass a .jsonl file path in an existing, writable folder"
            ) from None
        self.mode = inner.mode
        self._lock = threading.Lock()

    async def complete(self, request: LLMRequest, *, on_delta: DeltaCallback | None = None) -> Completion:
        completion = await self.inner.complete(request, on_delta=on_delta)
        line = json.dumps(recording_record(request, completion), ensure_ascii=False)
        await asyncio.to_thread(self._append, line)  # file I/O off the event loop
        return completion

    def _append(self, line: str) -> None:
        with self._lock, open(self.path, "a", encoding="utf-8") as f:
            f.write(line + "\n")

    async def aclose(self) -> None:
        aclose = getattr(self.inner, "aclose", None)
        if aclose is not None:
            await aclose()


class ReplayBackend:
    """Serves recorded completions at $0; a request never recorded raises ReplayMiss."""

    mode = "replay"

    def __init__(self, source: Path | str) -> None:
        self.source = _recording_path(source)
        self._by_hash: dict[str, deque[Completion]] = defaultdict(deque)
        self._requests: dict[str, dict[str, Any]] = {}
        records = read_responses(self.source)  # full records; a torn last line is skipped
        if not records:
            raise ConfigError(_not_a_recording(self.source, "it holds no recorded answer"))
        for n, rec in enumerate(records, 1):
            if not (type(rec.get("hash")) is str and type(rec.get("completion")) is dict):
                raise ConfigError(_not_a_recording(self.source, f"record {n} has no request hash and answer"))
            if rec.get("layout", 1) != RECORDING_LAYOUT:
                raise ConfigError(
                    f"the recording {str(self.source)!r} was made with prompt layout {rec.get('layout', 1)}; "
                    f"this version builds layout {RECORDING_LAYOUT} requests, so none would match. Replay "
                    "it with the orchestrator_kit version that recorded it, or record it again."
                )
            self._by_hash[rec["hash"]].append(Completion.model_validate(rec["completion"]))
            self._requests.setdefault(rec["hash"], rec["request"])
        self._served: dict[str, Completion] = {}

    def __repr__(self) -> str:
        return f"ReplayBackend({str(self.source)!r}, {len(self._requests)} recorded requests)"

    async def complete(self, request: LLMRequest, *, on_delta: DeltaCallback | None = None) -> Completion:
        h = request.request_hash()
        queue = self._by_hash.get(h)
        if queue:
            rec = queue.popleft()
            self._served[h] = rec
        elif h in self._served:  # asked more often than recorded: serve the last answer again
            rec = self._served[h]
        else:
            raise ReplayMiss(self._miss_message(request), attempts=[])
        if on_delta is not None:
            on_delta(rec.text)
        usage = Usage(**{**rec.usage.model_dump(), "estimated": rec.usage.estimated})
        return rec.model_copy(update={"mode": "replay", "usage": usage, "latency_s": 0.0})

    def _miss_message(self, request: LLMRequest) -> str:
        wanted = json.loads(request.canonical_json())
        label = f"{request.labels.agent or '?'}/{request.labels.step or '?'}"
        if not self._requests:
            return f"replay miss for {label}: the recording {str(self.source)!r} is empty"
        wanted_lines = json.dumps(wanted, indent=1, sort_keys=True).splitlines()

        def similarity(rec: dict[str, Any]) -> float:
            return difflib.SequenceMatcher(
                None, json.dumps(rec, sort_keys=True), json.dumps(wanted, sort_keys=True), autojunk=False
            ).quick_ratio()

        nearest = max(self._requests.values(), key=similarity)
        diff = difflib.unified_diff(
            json.dumps(nearest, indent=1, sort_keys=True).splitlines(),
            wanted_lines,
            "nearest recorded",
            "this request",
            n=1,
            lineterm="",
        )
        shown = "\n".join(list(diff)[:40])
        return (
            f"replay miss for {label}: no recorded completion for request {request.request_hash()[:12]} "
            f"in {str(self.source)!r}. Difference from the nearest recorded request:\n{shown}"
        )
