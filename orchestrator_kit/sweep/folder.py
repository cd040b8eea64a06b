"""The sweep folder: an index of the sweep's run folders, rewritten atomically as cells progress.

SWEEP_DIR/
  sweep.json            kind, grid, resolved mode, and per cell: run id, status, error, render status,
                        evaluation status and headline quality (imports, tests passed, completeness)
  runs/<run_id>/        one run folder per cell (the source of truth of each run)
  notebooks/<cell>.ipynb  each cell's workflow notebook, executed by papermill against its run folder
  sweep_summary.csv     one row per cell, written when the sweep ends
"""

from __future__ import annotations

import csv
import io
import json
import threading
import time
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..store.atomic import write_text_atomic
from ..store.run_folder import redact, write_json_atomic

KIND = "orchestrator-kit sweep"
INDEX = "sweep.json"
SUMMARY = "sweep_summary.csv"
# Cell statuses: pending -> running -> completed | failed | budget_exceeded | interrupted, or
# awaiting_approval | awaiting_budget (a human gate: decide on the run folder, then resume the sweep).
FINISHED = "completed"
SAVE_EVERY_S = 0.5


@dataclass
class CellRecord:
    """One row of the index."""

    cell_id: str
    run_id: str
    request: str
    project_name: str
    model: str
    settings: dict[str, Any]
    repeat: int
    status: str = "pending"
    error_type: str = ""
    error_message: str = ""
    cost_usd: str = ""
    cost_basis: str = ""
    total_tokens: int | None = None
    review_score: float | None = None
    calls: int = 0
    render: str = "pending"  # pending | rendered | failed | skipped
    render_error: str = ""
    notebook: str = ""
    evaluation: str = "pending"  # pending | evaluated | failed | skipped
    evaluation_error: str = ""
    imports_ok: bool | None = None  # from evaluation.json, for the summary CSV; None: not applicable
    tests_passed: int | None = None
    tests_collected: int | None = None
    completeness: float | None = None


@dataclass
class SweepFolder:
    path: Path
    grid: dict[str, Any]
    mode: str
    cells: dict[str, CellRecord] = field(default_factory=dict)
    created_at: str = ""
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _docs: dict[str, dict[str, Any]] = field(default_factory=dict, repr=False)
    _dirty: set[str] = field(default_factory=set, repr=False)
    _saved_at: float = field(default=0.0, repr=False)

    @property
    def runs_dir(self) -> Path:
        return self.path / "runs"

    @property
    def notebooks_dir(self) -> Path:
        return self.path / "notebooks"

    def run_dir(self, cell_id: str) -> Path:
        return self.runs_dir / self.cells[cell_id].run_id

    @property
    def sweep_id(self) -> str:
        """A short stable id of this sweep (its folder and creation time)."""
        import hashlib

        return hashlib.sha256(f"{self.path.resolve()}|{self.created_at}".encode()).hexdigest()[:10]

    @classmethod
    def create(cls, path: Path, grid: dict[str, Any], mode: str, cells: list[CellRecord]) -> SweepFolder:
        if (path / INDEX).exists():
            raise ConfigError(
                f"{path} already holds a sweep; continue it with: orchestrator-kit resume {path} "
                "(or choose another -o folder)"
            )
        path.mkdir(parents=True, exist_ok=True)
        (path / "runs").mkdir(exist_ok=True)
        (path / "notebooks").mkdir(exist_ok=True)
        created = datetime.now(UTC).isoformat(timespec="seconds")
        folder = cls(path, grid, mode, {c.cell_id: c for c in cells}, created)
        folder.save()
        return folder

    @classmethod
    def open(cls, path: str | Path) -> SweepFolder:
        """A sweep folder; anything else is a ConfigError that says what the folder is not."""
        p = Path(path).expanduser()
        index = p / INDEX
        if not index.is_file():
            raise ConfigError(
                f"{p} is not a sweep folder (no {INDEX}); a sweep folder is what "
                "'orchestrator-kit batch GRID.yaml -o SWEEP_DIR' writes"
            )
        try:
            doc = json.loads(index.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise ConfigError(f"{index} is not a readable sweep index ({exc})") from None
        if not isinstance(doc, dict) or doc.get("kind") != KIND:
            raise ConfigError(f"{index} is not a sweep index (its 'kind' is not {KIND!r})")
        names = {f.name for f in fields(CellRecord)}
        cells = {
            cid: CellRecord(**{k: v for k, v in c.items() if k in names}) for cid, c in doc["cells"].items()
        }
        return cls(p, doc["grid"], doc["mode"], cells, doc.get("created_at", ""))

    def save(self) -> None:
        """Rewrite sweep.json (temp file + rename: a killed driver leaves the last whole index)."""
        with self._lock:
            for cid, rec in self.cells.items():
                if cid in self._dirty or cid not in self._docs:
                    self._docs[cid] = asdict(rec)
            self._dirty.clear()
            doc = {
                "schema": 1,
                "kind": KIND,
                "created_at": self.created_at,
                "updated_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "mode": self.mode,
                "grid": self.grid,
                "counts": self.counts(),
                "cells": {cid: self._docs[cid] for cid in self.cells},
            }
            # the C encoder: rewritten often
            write_json_atomic(self.path / INDEX, doc, pretty=False)
            self._saved_at = time.monotonic()

    def update(self, cell_id: str, *, save_now: bool = False, **values: Any) -> None:
        """Change a cell's record. The index is rewritten at most every SAVE_EVERY_S seconds (``flush``
        writes what is left; the driver flushes periodically and at the end), or at once with
        ``save_now``: rewriting all cells on every change would make a big sweep quadratic. A stale
        index is safe: resume re-checks every cell that is not recorded as completed."""
        rec = self.cells[cell_id]
        for k, v in values.items():
            setattr(rec, k, redact(v) if isinstance(v, str) else v)
        with self._lock:
            self._dirty.add(cell_id)
        if save_now or time.monotonic() - self._saved_at >= SAVE_EVERY_S:
            self.save()

    def flush(self) -> None:
        if self._dirty:
            self.save()

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for c in self.cells.values():
            out[c.status] = out.get(c.status, 0) + 1
        return out

    def write_summary(self) -> Path:
        path = self.path / SUMMARY
        buf = io.StringIO(newline="")
        writer = csv.DictWriter(buf, fieldnames=[x.name for x in fields(CellRecord)])
        writer.writeheader()
        for c in sorted(self.cells.values(), key=lambda c: c.cell_id):
            writer.writerow({**asdict(c), "settings": json.dumps(c.settings, sort_keys=True)})
        write_text_atomic(path, buf.getvalue())
        return path


def is_sweep(path: str | Path) -> bool:
    return (Path(path).expanduser() / INDEX).is_file()


__all__ = ["FINISHED", "INDEX", "KIND", "CellRecord", "SweepFolder", "is_sweep"]
