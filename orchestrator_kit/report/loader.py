"""Run folders -> pandas DataFrames: ``load_runs(root)`` returns ``Runs(calls, artifacts, runs)``.

``root`` is a folder of run folders (``runs/``) or one run folder. Only files are read; nothing is
written. Every frame has its columns even when there are no runs. A half-finished run (checkpoint
"running"/"failed"/"interrupted", no summary.json) is loaded too: its totals come from calls.jsonl,
whose torn last line, if any, is skipped.

Money: ``cost_usd`` and friends are floats for tables and plots (NaN = unknown, never 0); the
ledger's exact Decimal strings are kept in ``*_exact`` columns.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from ..errors import NotARunError
from ..records import TOKEN_KINDS, CallRecord, RunSummary, RunTotals
from ..store.run_folder import MANIFEST, SUMMARY, RunFolder

if TYPE_CHECKING:
    import pandas as pd

# column -> dtype. "str" is pandas' string dtype (NaN for missing).
CALL_COLUMNS: dict[str, str] = {
    "run_id": "str",
    "mode": "str",
    "ts": "str",
    "t": "float64",
    "agent": "str",
    "phase": "str",
    "step": "str",
    "model": "str",
    "status": "str",
    "attempt": "int64",
    **dict.fromkeys(TOKEN_KINDS, "int64"),
    "total_tokens": "int64",
    "estimated": "bool",
    "max_tokens": "float64",
    "cost_usd": "float64",
    "cost_usd_exact": "str",
    "cost_basis": "str",
    "cost_known": "bool",
    "cache_savings_usd": "float64",
    "cache_savings_usd_exact": "str",
    "wasted": "bool",
    "wasted_usd": "float64",
    "latency_s": "float64",
    "request_hash": "str",
    "request_id": "str",
    "stop_reason": "str",
    "status_code": "float64",
    "error": "str",
    "batch_id": "str",  # the Message Batch that answered the call (priced at batch rates), else NA
}
ARTIFACT_COLUMNS: dict[str, str] = {
    "run_id": "str",
    "agent": "str",
    "filename": "str",
    "kind": "str",
    "chars": "int64",
    "lines": "int64",
    "truncated": "bool",
    "path": "str",
}
RUN_COLUMNS: dict[str, str] = {
    "run_id": "str",
    "status": "str",
    "mode": "str",
    "model": "str",
    "project_name": "str",
    "request": "str",
    "agents": "str",
    "sweep": "str",  # the sweep's name (its folder) when the run is a sweep's cell, else NA
    "setting": "str",  # the cell's grid settings in words ("max_rounds=1"); "" outside a sweep
    "started_at": "datetime64[us, UTC]",
    "finished_at": "datetime64[us, UTC]",
    "duration_s": "float64",
    "calls": "int64",
    "attempts": "int64",
    "failed_attempts": "int64",
    "reasks": "int64",
    **dict.fromkeys(TOKEN_KINDS, "int64"),
    "total_tokens": "int64",
    "cost_usd": "float64",
    "cost_usd_exact": "str",
    "cost_basis": "str",
    "wasted_usd": "float64",
    "cache_savings_usd": "float64",
    "review_score": "float64",
    "design_rounds": "Int64",
    "human_decisions": "int64",
    "waiting_s": "float64",
    "consensus_approved": "boolean",
    "artifacts": "int64",
    "truncated_artifacts": "int64",
    "repairs": "int64",  # notes of the parser's repairs of the agents' answers (summary.json's repair_notes)
    "budget_usd": "float64",
    "estimate_low_usd": "float64",
    "estimate_usd": "float64",
    "estimate_high_usd": "float64",
    "has_summary": "bool",
    "error": "str",
    "path": "str",
}
# one row per evaluated run (evaluation.json); code columns are NA when the run had no code to evaluate
EVALUATION_COLUMNS: dict[str, str] = {
    "run_id": "str",
    "mode": "str",
    "applicable": "bool",
    "imports_ok": "boolean",
    "tests_collected": "Int64",
    "tests_passed": "Int64",
    "tests_failed": "Int64",
    "tests_errors": "Int64",
    "pass_rate": "float64",
    "lines_of_code": "Int64",
    "test_lines": "Int64",
    "completeness": "float64",
    "truncated": "int64",
    "review_score": "float64",
    "design_rounds": "Int64",
    "stopped": "str",
    "network_isolated": "boolean",
    "evaluated_at": "datetime64[us, UTC]",
}
_KIND_BY_SUFFIX = {
    ".md": "markdown",
    ".py": "python",
    ".json": "json",
    ".yaml": "yaml",
    ".yml": "yaml",
    ".txt": "text",
    ".csv": "csv",
    ".toml": "toml",
    ".sh": "shell",
}


@dataclass
class Runs:
    """What a folder of runs holds, as three DataFrames (see the module docstring for columns)."""

    calls: pd.DataFrame
    artifacts: pd.DataFrame
    runs: pd.DataFrame
    root: Path
    evaluations: pd.DataFrame | None = None  # evaluation.json of each evaluated run (see EVALUATION_COLUMNS)
    skipped: list[str] = field(default_factory=list)  # folders that were not run folders, with why

    def __len__(self) -> int:
        return len(self.runs)

    @property
    def empty(self) -> bool:
        return len(self.runs) == 0

    def describe(self) -> str:
        """One line: how many runs, of which status and mode, and calls."""
        if self.empty:
            return f"no runs in {self.root}"
        status = sorted(self.runs["status"].value_counts().items(), key=lambda kv: (-kv[1], kv[0]))
        modes = ", ".join(sorted(self.runs["mode"].dropna().unique()))
        parts = ", ".join(f"{n} {s}" for s, n in status)
        return (
            f"{len(self.runs)} run{'s' if len(self.runs) != 1 else ''} ({parts}); "
            f"{len(self.calls)} ledger lines; mode: {modes or '?'}{self.truncation_note()}"
        )

    def truncation_note(self, shown: int = 5) -> str:
        """'' when no artifact was cut off at max_tokens; else "; TRUNCATED: ..." naming them."""
        cut = self.artifacts[self.artifacts["truncated"].astype(bool)]
        if cut.empty:
            return ""
        names = [f"{r.run_id} {r.agent}/{r.filename}" for r in cut.itertuples()]
        more = f" and {len(names) - shown} more" if len(names) > shown else ""
        return (
            f"; TRUNCATED: {len(names)} artifact{'s' if len(names) != 1 else ''} cut off at max_tokens, "
            f"content incomplete: {', '.join(names[:shown])}{more}"
        )

    def __repr__(self) -> str:
        return f"Runs({self.describe()})"


def _frame(rows: list[dict[str, Any]], schema: dict[str, str]) -> pd.DataFrame:
    import pandas as pd

    df = pd.DataFrame.from_records(rows, columns=list(schema))
    for col, dtype in schema.items():
        if dtype.startswith("datetime"):
            df[col] = pd.to_datetime(df[col], utc=True, errors="coerce", format="ISO8601").astype(
                pd.api.types.pandas_dtype(dtype)
            )
        elif dtype == "int64":
            df[col] = pd.to_numeric(df[col], errors="coerce").fillna(0).astype("int64")
        elif dtype in ("float64", "Int64"):
            df[col] = pd.to_numeric(df[col], errors="coerce").astype(pd.api.types.pandas_dtype(dtype))
        elif dtype == "boolean":
            df[col] = df[col].astype("boolean")
        elif dtype == "bool":
            df[col] = df[col].fillna(False).astype(bool) if len(df) else df[col].astype(bool)
        else:
            df[col] = df[col].astype(pd.api.types.pandas_dtype(dtype))
    return df


def _float(v: Any) -> float | None:
    if v in (None, ""):
        return None
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


def _call_row(line: CallRecord, run_id: str, mode: str) -> dict[str, Any]:
    row = {k: v for k, v in line.to_json().items() if k in CALL_COLUMNS}
    cost = _float(line.cost_usd)
    row.update(
        run_id=run_id,  # the folder is the run (a copied folder keeps its lines' old id)
        mode=line.mode or mode,
        total_tokens=line.total_tokens,
        cost_usd=cost,
        cost_usd_exact=row["cost_usd"],
        cost_known=line.cost_usd is not None or line.failed,
        cache_savings_usd=_float(line.cache_savings_usd),
        cache_savings_usd_exact=row["cache_savings_usd"],
        wasted_usd=(cost or 0.0) if line.wasted else 0.0,
    )
    return row


def _artifact_rows(folder: RunFolder, state: dict[str, Any]) -> list[dict[str, Any]]:
    listed: dict[tuple[str, str], dict[str, Any]] = {}
    for agent, arts in ((state.get("project_state") or {}).get("artifacts") or {}).items():
        for a in arts or []:
            listed[(agent, a.get("filename", ""))] = a
    base = folder.path / "artifacts"
    rows = []
    for path in folder.artifact_files():
        rel = path.relative_to(base).as_posix()
        agent, _, filename = rel.partition("/")
        meta = listed.get((agent, filename), {})
        text = path.read_text(encoding="utf-8", errors="replace")
        rows.append(
            {
                "run_id": folder.run_id,
                "agent": agent,
                "filename": filename,
                "kind": meta.get("kind") or _KIND_BY_SUFFIX.get(path.suffix.lower(), "text"),
                "chars": len(text),
                "lines": text.count("\n") + (1 if text and not text.endswith("\n") else 0),
                "truncated": bool(meta.get("truncated", False)),
                "path": str(path),
            }
        )
    return rows


def _estimate(manifest: dict[str, Any], summary: RunSummary | None) -> tuple[Any, Any, Any]:
    est = manifest.get("estimate")
    if isinstance(est, dict):
        return est.get("total_low"), est.get("total_expected"), est.get("total_high")
    return None, None if summary is None else summary.estimate_usd, None


def _duration(summary: RunSummary | None, lines: list[CallRecord], created: Any) -> float | None:
    if summary is not None and summary.duration_s is not None:
        return summary.duration_s
    stamps = [ln.t for ln in lines if ln.t]
    if not stamps or not created:
        return None
    try:
        start = datetime.fromisoformat(str(created)).timestamp()
    except ValueError:
        return None
    return round(max(stamps) - min(start, *stamps), 3)


def _run_row(
    folder: RunFolder,
    manifest: dict[str, Any],
    state: dict[str, Any],
    summary: RunSummary | None,
    lines: list[CallRecord],
    arts: list[dict[str, Any]],
) -> dict[str, Any]:
    t = RunTotals.of(lines)
    ps = state.get("project_state") or {}
    score = None if summary is None else summary.review_score
    if score is None:
        score = ((ps.get("scores") or {}).get("reviewer") or {}).get("value")
    approved = None if summary is None else summary.consensus_approved
    if approved is None and "consensus" in (ps.get("decisions") or {}):
        approved = ps["decisions"]["consensus"].get("approved")
    low, expected, high = _estimate(manifest, summary)
    error = (None if summary is None else summary.error) or state.get("error")
    given = manifest.get("sweep")
    sweep: dict[str, Any] = given if isinstance(given, dict) else {}
    return {
        "run_id": folder.run_id,
        "status": (None if summary is None else summary.status) or state.get("status") or "created",
        "mode": manifest.get("mode"),
        "model": manifest.get("model"),
        "project_name": manifest.get("project_name"),
        "request": manifest.get("request"),
        "agents": ",".join(manifest.get("agents") or []),
        "sweep": sweep.get("name"),
        "setting": str(sweep.get("setting") or ""),
        "started_at": (None if summary is None else summary.started_at) or manifest.get("created_at"),
        "finished_at": None if summary is None else summary.finished_at,
        "duration_s": _duration(summary, lines, manifest.get("created_at")),
        **{k: getattr(t, k) for k in ("calls", "attempts", "failed_attempts", "reasks", *TOKEN_KINDS)},
        "total_tokens": t.total_tokens,
        "cost_usd": _float(t.cost_usd),
        "cost_usd_exact": None if t.cost_usd is None else str(t.cost_usd),
        "cost_basis": t.cost_basis,
        "wasted_usd": _float(t.wasted_usd),
        "cache_savings_usd": _float(t.cache_savings_usd),
        "review_score": score,
        "design_rounds": ps.get("design_round") if summary is None else summary.design_rounds,
        "human_decisions": 0 if summary is None else summary.human_decisions,
        "waiting_s": None if summary is None else summary.waiting_s,
        "consensus_approved": approved,
        "artifacts": len(arts),
        "truncated_artifacts": sum(bool(a["truncated"]) for a in arts),
        "repairs": sum(len(v) for v in (ps.get("repairs") or {}).values() if isinstance(v, list)),
        "budget_usd": _float((manifest.get("budget") or {}).get("max_usd")),
        "estimate_low_usd": _float(low),
        "estimate_usd": _float(expected),
        "estimate_high_usd": _float(high),
        "has_summary": summary is not None,
        "error": None if not error else f"{error.get('type', 'Error')}: {error.get('message', '')}",
        "path": str(folder.path),
    }


def _read_json(path: Path) -> dict[str, Any]:
    import json

    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return doc if isinstance(doc, dict) else {}


def _read_state(folder: RunFolder) -> dict[str, Any]:
    """The run's checkpoint (the fold of its log while it is in flight), or {} if unreadable."""
    try:
        doc = folder.load_state()
    except (OSError, ValueError):
        return {}
    return doc if isinstance(doc, dict) else {}


def _read_summary(path: Path) -> RunSummary | None:
    """A run's summary, or None when it has none (unfinished) or it cannot be read: the totals then
    come from the ledger, which is the source of truth anyway."""
    doc = _read_json(path)
    if not doc:
        return None
    try:
        return RunSummary.model_validate(doc)
    except ValidationError:  # a damaged summary counts as none
        return None


def run_folders(root: str | Path, *, missing_ok: bool = False) -> list[Path]:
    """The run folders under ``root`` (or ``[root]`` when it is one), sorted by run id (= time).
    A missing ``root`` is an error, or no runs with ``missing_ok``."""
    p = Path(root).expanduser()
    if missing_ok and not p.exists():
        return []
    if not p.is_dir():
        raise NotARunError(f"{str(p)!r} is not a folder; pass a runs folder (e.g. runs/) or one run folder")
    if (p / MANIFEST).is_file():
        return [p]
    return sorted((c for c in p.iterdir() if c.is_dir() and (c / MANIFEST).is_file()), key=lambda c: c.name)


def load_runs(root: str | Path, *, missing_ok: bool = False) -> Runs:
    """Every run folder under ``root`` (or the one run folder ``root``) as DataFrames. A missing ``root``
    raises NotARunError, or gives no runs with ``missing_ok=True`` (a report opened before any run)."""
    call_rows: list[dict[str, Any]] = []
    art_rows: list[dict[str, Any]] = []
    run_rows: list[dict[str, Any]] = []
    eval_rows: list[dict[str, Any]] = []
    skipped: list[str] = []
    for path in run_folders(root, missing_ok=missing_ok):
        folder = RunFolder(path)
        manifest = _read_json(path / MANIFEST)
        if not manifest:
            skipped.append(f"{path.name}: unreadable {MANIFEST}")
            continue
        state = _read_state(folder)
        summary = _read_summary(path / SUMMARY)
        lines = folder.calls()
        mode = manifest.get("mode") or ""
        call_rows.extend(_call_row(ln, folder.run_id, mode) for ln in lines)
        arts = _artifact_rows(folder, state)
        art_rows.extend(arts)
        run_rows.append(_run_row(folder, manifest, state, summary, lines, arts))
        evaluation = _read_json(path / "evaluation.json")
        if evaluation:
            eval_rows.append(_evaluation_row(evaluation, folder.run_id))
    return Runs(
        calls=_frame(call_rows, CALL_COLUMNS),
        artifacts=_frame(art_rows, ARTIFACT_COLUMNS),
        runs=_frame(run_rows, RUN_COLUMNS),
        root=Path(root),
        evaluations=_frame(eval_rows, EVALUATION_COLUMNS),
        skipped=skipped,
    )


def _evaluation_row(e: dict[str, Any], run_id: str) -> dict[str, Any]:
    collected, passed = e.get("tests_collected"), e.get("tests_passed")
    return {
        **{k: e.get(k) for k in EVALUATION_COLUMNS},
        "run_id": run_id,  # the folder is the run (a copied folder keeps its file's old id)
        "pass_rate": (passed or 0) / collected if collected else None,
        "truncated": len(e.get("truncated") or []),
        "stopped": "; ".join(e.get("stopped") or []),
        "network_isolated": (e.get("isolation") or {}).get("network_isolated"),
    }


__all__ = [
    "ARTIFACT_COLUMNS",
    "CALL_COLUMNS",
    "EVALUATION_COLUMNS",
    "RUN_COLUMNS",
    "Runs",
    "load_runs",
    "run_folders",
]
