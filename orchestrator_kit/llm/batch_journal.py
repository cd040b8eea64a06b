"""The journal of Message Batches: which batch holds which request, written before polling starts.

One JSON object a line (e.g. ``SWEEP_DIR/batches.jsonl``), appended and flushed to disk:

- ``{"event": "submitted", "batch_id", "custom_ids": {custom_id: request_hash}, "t"}``: written as soon as
  the API has accepted the batch, before the first poll. A resumed process re-attaches to it instead of
  resubmitting any of its requests.
- ``{"event": "ended", "batch_id", "counts", "t"}``: its results were saved next to the journal
  (``batches.results/<batch_id>.jsonl``, the API's own JSONL lines), so a paid answer survives a crash.
- ``{"event": "delivered", "custom_ids": [...], "t"}``: answers handed to a workflow (the run folder now
  holds them); a request asked again later gets a new custom_id instead of a second copy of the old answer.
- ``{"event": "cancel_requested", "batch_id", "t"}``.

The one window not covered: a crash after the API accepted a batch and before its ``submitted`` line was
written (a few milliseconds); its requests are then submitted again on resume.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..store.atomic import write_text_atomic


@dataclass
class JournaledBatch:
    batch_id: str
    custom_ids: dict[str, str]  # custom_id -> request hash
    ended: bool = False
    cancel_requested: bool = False


@dataclass
class BatchJournal:
    """Reads a journal once, then appends to it. ``path=None`` keeps everything in memory only."""

    path: Path | None
    batches: dict[str, JournaledBatch] = field(default_factory=dict)
    delivered: set[str] = field(default_factory=set)
    by_custom_id: dict[str, str] = field(default_factory=dict)  # custom_id -> batch_id

    @classmethod
    def open(cls, path: str | Path | None) -> BatchJournal:
        journal = cls(None if path is None else Path(path))
        if journal.path is not None and journal.path.exists():
            lines = journal.path.read_text(encoding="utf-8").splitlines()
            for number, line in enumerate(lines, 1):
                if not line.strip():
                    continue
                try:
                    journal._apply(json.loads(line))
                except (ValueError, KeyError, TypeError) as exc:
                    if number == len(lines):
                        break  # a last line cut short by a crash: everything before it stands
                    raise ConfigError(
                        f"{journal.path} line {number} is not a batch journal entry ({exc}); "
                        "restore the file or point journal= at a new one"
                    ) from exc
        return journal

    @property
    def results_dir(self) -> Path | None:
        return None if self.path is None else self.path.with_suffix(".results")

    def in_flight(self) -> list[str]:
        """Batches submitted whose results have not been saved yet."""
        return [b.batch_id for b in self.batches.values() if not b.ended]

    # -- writing -------------------------------------------------------------------------------------

    def submitted(self, batch_id: str, custom_ids: dict[str, str]) -> None:
        self._append({"event": "submitted", "batch_id": batch_id, "custom_ids": custom_ids})

    def ended(self, batch_id: str, results: list[dict[str, Any]], counts: dict[str, int]) -> None:
        """Save the batch's result lines, then mark it ended."""
        if self.results_dir is not None:
            self.results_dir.mkdir(parents=True, exist_ok=True)
            target = self.results_dir / f"{batch_id}.jsonl"
            write_text_atomic(target, "".join(json.dumps(r) + "\n" for r in results))
        self._append({"event": "ended", "batch_id": batch_id, "counts": counts})

    def mark_delivered(self, custom_ids: list[str]) -> None:
        if custom_ids:
            self._append({"event": "delivered", "custom_ids": custom_ids})

    def cancel_requested(self, batch_id: str) -> None:
        self._append({"event": "cancel_requested", "batch_id": batch_id})

    def saved_results(self, batch_id: str) -> list[dict[str, Any]] | None:
        """The result lines saved for an ended batch, or None when there are none on disk."""
        if self.results_dir is None:
            return None
        target = self.results_dir / f"{batch_id}.jsonl"
        if not target.exists():
            return None
        return [json.loads(line) for line in target.read_text(encoding="utf-8").splitlines() if line]

    # -- internals -----------------------------------------------------------------------------------

    def _append(self, entry: dict[str, Any]) -> None:
        entry = {**entry, "t": round(time.time(), 3)}
        self._apply(entry)
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(entry) + "\n")
            fh.flush()
            os.fsync(fh.fileno())

    def _apply(self, entry: dict[str, Any]) -> None:
        event = entry["event"]
        if event == "submitted":
            batch = JournaledBatch(entry["batch_id"], dict(entry["custom_ids"]))
            self.batches[batch.batch_id] = batch
            for cid in batch.custom_ids:
                self.by_custom_id[cid] = batch.batch_id
        elif event == "ended":
            self.batches[entry["batch_id"]].ended = True
        elif event == "delivered":
            self.delivered.update(entry["custom_ids"])
        elif event == "cancel_requested":
            self.batches[entry["batch_id"]].cancel_requested = True
        else:
            raise ValueError(f"unknown event {event!r}")
