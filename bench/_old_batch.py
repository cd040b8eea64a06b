"""The per-kernel batch of orchestrator-kit before sweeps (orchestrator_kit/batch.py at 6de4a46), kept ONLY
for bench/bench_sweep.py to measure against: one papermill kernel per grid cell, N worker processes.

Batch runs: a grid (requests x models x settings) of workflow-notebook executions through papermill.

A grid file (YAML)::

    mode: simulated                  # optional, default simulated
    base: {max_concurrency: 2}       # optional: parameters for every cell
    requests:                        # text, or {request: ..., project_name: ...}
      - Build a CLI that converts CSV to JSON
    models: [claude-sonnet-5-5, claude-haiku-5-5]   # optional, default: the default model
    settings:                        # optional, default [{}]: each a dict of workflow-notebook parameters
      - {}
      - {budget_usd: 0.5, max_rounds: 1}

``run_grid(grid, out)`` runs every cell in worker processes (one papermill execution each) and writes
``out/notebooks/<cell_id>.ipynb``, one run folder per cell under ``out/runs/``, and
``out/batch_summary.csv``. A failed cell is reported with its id, parameters and error; the others go on.
Keys never travel as parameters: kernels inherit ``ANTHROPIC_API_KEY`` from this process's environment.
"""

from __future__ import annotations

import csv
import json
import multiprocessing
import time
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from orchestrator_kit.errors import ConfigError
from orchestrator_kit.notebook_params import (
    PARAMS_BY_NAME,
    WORKFLOW_PARAMS,
    notebook_path,
    validate_workflow_params,
)

if TYPE_CHECKING:
    import pandas as pd

GRID_KEYS = ("requests", "models", "settings", "base", "mode")
# Parameters the grid's axes or run_grid set; base/settings may not.
_RESERVED = {
    "request": "requests",
    "project_name": "requests",
    "model": "models",
    "output_dir": "run_grid",
    "run_id": "run_grid",
}


@dataclass(frozen=True)
class GridCell:
    cell_id: str
    request: str
    project_name: str
    model: str
    settings: dict[str, Any]
    parameters: dict[str, Any]  # every workflow-notebook parameter except output_dir and run_id

    def describe(self) -> str:
        s = json.dumps(self.settings, sort_keys=True) if self.settings else "{}"
        return f"{self.model} | {self.project_name}: {self.request[:50]} | settings {s}"


@dataclass
class CellResult:
    cell_id: str
    status: str  # ok | failed
    request: str
    project_name: str
    model: str
    settings: str  # JSON
    run_id: str = ""
    run_status: str = ""
    cost_usd: str = ""
    cost_basis: str = ""
    total_tokens: int | None = None
    review_score: float | None = None
    duration_s: float = 0.0
    notebook: str = ""
    run_dir: str = ""
    error_type: str = ""
    error_message: str = ""


@dataclass
class BatchResult:
    output_dir: Path
    cells: list[CellResult] = field(default_factory=list)
    duration_s: float = 0.0

    @property
    def summary_csv(self) -> Path:
        return self.output_dir / "batch_summary.csv"

    @property
    def runs_dir(self) -> Path:
        return self.output_dir / "runs"

    @property
    def ok(self) -> list[CellResult]:
        return [c for c in self.cells if c.status == "ok"]

    @property
    def failed(self) -> list[CellResult]:
        return [c for c in self.cells if c.status != "ok"]

    def table(self) -> pd.DataFrame:
        import pandas as pd

        return pd.DataFrame([asdict(c) for c in self.cells], columns=[f.name for f in fields(CellResult)])

    def __str__(self) -> str:
        lines = [
            f"{len(self.cells)} cells in {self.duration_s:.1f} s: {len(self.ok)} ok, {len(self.failed)} failed"
        ]
        for c in self.failed:
            lines.append(
                f"  failed {c.cell_id} ({c.model}, settings {c.settings}): {c.error_type}: "
                f"{c.error_message.splitlines()[0] if c.error_message else ''}"
            )
        lines.append(f"notebooks: {self.output_dir / 'notebooks'}")
        lines.append(f"run folders: {self.runs_dir}")
        lines.append(f"summary: {self.summary_csv}")
        return "\n".join(lines)


# ---------------------------------------------------------------- the grid file


def _nonempty_list(doc: dict[str, Any], key: str, default: list[Any] | None, where: str) -> list[Any]:
    if key not in doc:
        if default is None:
            raise ConfigError(f"{where}: '{key}' is missing; list at least one")
        return default
    value = doc[key]
    if not isinstance(value, list):
        raise ConfigError(f"{where}: '{key}' must be a list, got {type(value).__name__}")
    if not value:
        raise ConfigError(f"{where}: '{key}' is an empty list; list at least one (or leave the key out)")
    return value


def _check_parameters(params: Any, where: str) -> dict[str, Any]:
    if params is None:
        return {}
    if not isinstance(params, dict):
        raise ConfigError(f"{where} must be a mapping of workflow parameters, got {type(params).__name__}")
    for name in params:
        if name in _RESERVED:
            raise ConfigError(f"{where}: '{name}' is set by the grid's {_RESERVED[name]}, not here")
        if name not in PARAMS_BY_NAME:
            known = ", ".join(p.name for p in WORKFLOW_PARAMS if p.name not in _RESERVED)
            raise ConfigError(f"{where}: unknown parameter '{name}'; workflow parameters are: {known}")
    return dict(params)


def _request(entry: Any, where: str) -> tuple[str, str]:
    if isinstance(entry, str):
        return entry, "Untitled project"
    if isinstance(entry, dict) and isinstance(entry.get("request"), str):
        extra = set(entry) - {"request", "project_name"}
        if extra:
            raise ConfigError(
                f"{where}: unknown key(s) {', '.join(sorted(extra))}; use request and project_name"
            )
        return entry["request"], str(entry.get("project_name") or "Untitled project")
    raise ConfigError(f"{where} must be text or a mapping with 'request' (and optionally 'project_name')")


def load_grid(path: str | Path) -> list[GridCell]:
    """Read and check a grid file; every cell's parameters are validated as the notebook would."""
    import yaml

    from orchestrator_kit.llm.pricing import DEFAULT_MODEL

    p = Path(path).expanduser()
    where = str(p)
    if not p.is_file():
        raise ConfigError(f"grid file {where!r} not found")
    try:
        doc = yaml.safe_load(p.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(f"{where}: not valid YAML ({exc})") from None
    if not isinstance(doc, dict):
        raise ConfigError(f"{where}: expected a mapping with requests, models, settings")
    unknown = sorted(set(doc) - set(GRID_KEYS))
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(unknown)}; a grid has: {', '.join(GRID_KEYS)}")
    requests = [
        _request(r, f"{where}: requests[{i}]")
        for i, r in enumerate(_nonempty_list(doc, "requests", None, where))
    ]
    models = _nonempty_list(doc, "models", [DEFAULT_MODEL], where)
    for i, m in enumerate(models):
        if not isinstance(m, str):
            raise ConfigError(f"{where}: models[{i}] must be a model id (text), got {m!r}")
    settings = [
        _check_parameters(s, f"{where}: settings[{i}]")
        for i, s in enumerate(_nonempty_list(doc, "settings", [{}], where))
    ]
    base = _check_parameters(doc.get("base"), f"{where}: base")
    if "mode" in doc:
        base["mode"] = doc["mode"]
    base.setdefault("mode", "simulated")
    cells = []
    for ri, (request, project) in enumerate(requests):
        for mi, model in enumerate(models):
            for si, s in enumerate(settings):
                cell_id = f"r{ri:02d}-m{mi:02d}-s{si:02d}"
                params = {**base, **s, "request": request, "project_name": project, "model": model}
                try:
                    checked = validate_workflow_params(params).as_dict()
                except (TypeError, ConfigError) as exc:
                    raise ConfigError(
                        f"{where}: cell {cell_id} (requests[{ri}], models[{mi}], settings[{si}]): {exc}"
                    ) from None
                for name in ("output_dir", "run_id"):
                    checked.pop(name)
                cells.append(GridCell(cell_id, request, project, model, s, checked))
    return cells


# ---------------------------------------------------------------- running


def _run_cell(job: dict[str, Any]) -> dict[str, Any]:
    """One grid cell, in a worker process: papermill, then the run folder's summary."""
    from papermill.exceptions import PapermillExecutionError

    from orchestrator_kit.store.run_folder import redact

    started = time.perf_counter()
    out: dict[str, Any] = {"status": "ok", "error_type": "", "error_message": ""}
    try:
        import papermill as pm

        pm.execute_notebook(
            job["template"],
            job["notebook"],
            parameters=job["parameters"],
            cwd=job["cwd"],
            kernel_name=job["kernel_name"],
            progress_bar=False,
            log_output=False,
            store_widget_state=False,
            execution_timeout=job["timeout"],
        )
    except PapermillExecutionError as exc:
        out.update(status="failed", error_type=exc.ename, error_message=redact(str(exc.evalue)))
    except Exception as exc:  # a kernel that died, a missing kernel: reported, the batch goes on
        out.update(status="failed", error_type=type(exc).__name__, error_message=redact(str(exc)))
    out["duration_s"] = round(time.perf_counter() - started, 3)
    summary_path = Path(job["run_dir"]) / "summary.json"
    if summary_path.is_file():
        summary = json.loads(summary_path.read_text(encoding="utf-8"))
        totals = summary.get("totals") or {}
        out.update(
            run_status=summary.get("status", ""),
            cost_usd=totals.get("cost_usd") or "",
            cost_basis=totals.get("cost_basis", ""),
            total_tokens=totals.get("total_tokens"),
            review_score=summary.get("review_score"),
        )
    return out


def _write_summary(result: BatchResult) -> None:
    import os

    tmp = result.summary_csv.with_name(f".{result.summary_csv.name}.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=[f.name for f in fields(CellResult)])
        writer.writeheader()
        for c in result.cells:
            writer.writerow(asdict(c))
    os.replace(tmp, result.summary_csv)


def run_grid(
    grid_path: str | Path,
    output_dir: str | Path,
    *,
    workers: int = 2,
    progress: bool = True,
    kernel_name: str | None = None,
    timeout: int | None = None,
    call_timeout: float | None = None,
) -> BatchResult:
    """Run every cell of the grid through the workflow notebook, ``workers`` papermill processes at a time.
    ``timeout``: seconds per notebook cell (None: no limit). ``call_timeout``: seconds per attempt of
    a real model call in every cell (the ``timeout_s`` parameter; None: the grid's or the default)."""
    from tqdm import tqdm

    from orchestrator_kit.store.run_folder import check_output_root, new_run_id

    if not isinstance(workers, int) or isinstance(workers, bool) or workers < 1:
        raise ConfigError(f"workers must be an int >= 1, got {workers!r}")
    cells = load_grid(grid_path)
    out = check_output_root(Path(output_dir)).resolve()
    (out / "notebooks").mkdir(exist_ok=True)
    runs = check_output_root(out / "runs")
    template = str(notebook_path("workflow.ipynb"))
    result = BatchResult(out)
    started = time.perf_counter()
    jobs = {}
    for cell in cells:
        run_id = f"{new_run_id()}-{cell.cell_id}"
        jobs[cell.cell_id] = {
            "template": template,
            "notebook": str(out / "notebooks" / f"{cell.cell_id}.ipynb"),
            "parameters": {
                **cell.parameters,
                **({} if call_timeout is None else {"timeout_s": float(call_timeout)}),
                "output_dir": str(runs),
                "run_id": run_id,
            },
            "cwd": str(out),
            "kernel_name": kernel_name,
            "timeout": timeout,
            "run_dir": str(runs / run_id),
        }
    ctx = multiprocessing.get_context("spawn")  # no fork of a process that may hold threads (tqdm, kernels)
    with (
        ProcessPoolExecutor(max_workers=min(workers, len(cells)), mp_context=ctx) as pool,
        tqdm(total=len(cells), desc="grid cells", unit="cell", disable=not progress) as bar,
    ):
        futures: dict[Future[dict[str, Any]], GridCell] = {
            pool.submit(_run_cell, jobs[c.cell_id]): c for c in cells
        }
        try:
            _collect(futures, jobs, result, bar)
        except (
            BaseException
        ):  # Ctrl-C: cells not started yet are dropped; running ones end with their kernels
            pool.shutdown(wait=False, cancel_futures=True)
            raise
    result.cells.sort(key=lambda c: c.cell_id)
    result.duration_s = round(time.perf_counter() - started, 3)
    _write_summary(result)
    return result


def _collect(
    futures: dict[Future[dict[str, Any]], GridCell],
    jobs: dict[str, dict[str, Any]],
    result: BatchResult,
    bar: Any,
) -> None:
    for fut in as_completed(futures):
        cell = futures[fut]
        job = jobs[cell.cell_id]
        try:
            outcome = fut.result()
        except Exception as exc:  # the worker process died
            outcome = {"status": "failed", "error_type": type(exc).__name__, "error_message": str(exc)}
        result.cells.append(
            CellResult(
                cell_id=cell.cell_id,
                request=cell.request,
                project_name=cell.project_name,
                model=cell.model,
                settings=json.dumps(cell.settings, sort_keys=True),
                run_id=job["parameters"]["run_id"],
                notebook=job["notebook"],
                run_dir=job["run_dir"] if Path(job["run_dir"]).is_dir() else "",
                **outcome,
            )
        )
        bar.update(1)
        bar.set_postfix(failed=len(result.failed))


__all__ = ["GRID_KEYS", "BatchResult", "CellResult", "GridCell", "load_grid", "run_grid"]
