"""The sweep driver: ``run_sweep`` and ``resume_sweep``, from a grid to a finished sweep folder.

They read the grid (and its overrides), build the shared backend and the executor, check what can be checked
before any call, and hand the cells to :class:`~orchestrator_kit.sweep.runner.SweepDriver`, which runs every
cell's workflow at once in one asyncio process. ``sweep.json`` is rewritten atomically as cells progress;
``resume_sweep`` skips completed cells and resumes the others from their run folders, serving every answer
already received from the run's own ``responses.jsonl`` (no call is paid twice).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from concurrent.futures import Executor
from decimal import Decimal
from pathlib import Path
from typing import Any

from .._sync import run_sync
from ..errors import ConfigError
from ..llm.selection import BackendChoice
from ..store.run_folder import new_run_id
from .backend import build_sweep_backend
from .folder import CellRecord, SweepFolder
from .grid import Cell, Grid, expand, load_grid, parse_grid
from .progress import SweepSubscriber, TqdmProgress
from .result import SweepResult
from .runner import SweepDriver, first_call_worst_case


def _subscribers(progress: bool, subscribers: Iterable[SweepSubscriber]) -> list[SweepSubscriber]:
    subs = list(subscribers)
    if progress:
        subs.insert(0, TqdmProgress())
    return subs


def _evaluating(grid: Grid, evaluate: bool | None, mode: str) -> bool:
    """Whether the sweep evaluates its cells: ``evaluate`` overrides the grid's; "auto" = simulated only.
    A real sweep runs model-written code only with ``allow_model_code``: asking without it is an error."""
    wanted = grid.evaluate if evaluate is None else evaluate
    if wanted == "auto":
        return mode == "simulated"
    if wanted and mode != "simulated" and not grid.allow_model_code:
        raise ConfigError(
            f"evaluating a {mode} sweep runs code a model wrote; that is opt-in: add 'allow_model_code: "
            "true' to the grid (it runs sandboxed, but no sandbox is perfect), or drop evaluate"
        )
    return bool(wanted)


def _executor(grid: Grid, render: bool | None, dask: str | None, evaluate: bool = False) -> Executor | None:
    from .executors import make_executor

    if not ((grid.render if render is None else render) or evaluate):
        return None
    spec = dask if dask is not None else grid.dask
    return make_executor(spec, workers=grid.render_workers)


def _drive(driver: SweepDriver) -> SweepResult:
    started = time.perf_counter()
    try:
        run_sync(driver.arun())
    except BaseException:  # Ctrl-C or a crash: renders not started are dropped (resume renders them)
        if driver.executor is not None:
            driver.executor.shutdown(wait=False, cancel_futures=True)
        raise
    if driver.executor is not None:
        driver.executor.shutdown(wait=True)
    return SweepResult.of(driver.folder, time.perf_counter() - started)


def run_sweep(
    grid: str | Path | Grid | dict[str, Any],
    output_dir: str | Path,
    *,
    render: bool | None = None,
    dask: str | None = None,
    budget_usd: float | None = None,
    evaluate: bool | None = None,
    progress: bool = True,
    subscribers: Iterable[SweepSubscriber] = (),
    api_key: Any = None,
    client: Any = None,
    base_url: str | None = None,
    retry: Any = None,
    timeout: float | None = None,
    backend: str | None = None,
    rpm: int | None = None,
    itpm: int | None = None,
    otpm: int | None = None,
) -> SweepResult:
    """Run every cell of ``grid`` (GRID.yaml path, Grid or dict) at once in this process; returns a
    SweepResult. ``render`` / ``dask`` / ``budget_usd`` / ``evaluate`` / ``backend`` (anthropic | batches) /
    ``rpm`` / ``itpm`` / ``otpm`` override the grid's; ``timeout``: seconds per attempt of each real call
    (None: the backend's default). Bad input raises ConfigError before any call; a failed cell is
    recorded and the others go on."""
    if isinstance(grid, Grid):
        g = grid
    elif isinstance(grid, dict):
        g = parse_grid(grid)
    else:
        g = load_grid(grid)
    if budget_usd is not None:
        g = g.model_copy(update={"budget_usd": budget_usd})
    overrides = {k: v for k, v in (("backend", backend), ("rpm", rpm), ("itpm", itpm), ("otpm", otpm)) if v}
    if overrides:  # validated as the grid file is
        g = parse_grid({**g.model_dump(mode="json"), **overrides})
    out = Path(output_dir).expanduser().resolve()
    if (out / "sweep.json").exists():
        raise ConfigError(f"{out} already holds a sweep; continue it with: orchestrator-kit resume {out}")
    active = _ActiveCells()
    choice = build_sweep_backend(
        g,
        out,
        active_runs=active,
        api_key=api_key,
        client=client,
        base_url=base_url,
        retry=retry,
        timeout=timeout,
    )
    cells = expand(g, choice.mode)
    records = [
        CellRecord(
            c.cell_id, f"{new_run_id()}-{c.cell_id}", c.request, c.project_name, c.model, c.settings, c.repeat
        )
        for c in cells
    ]
    probe = SweepFolder(out, {}, choice.mode, {r.cell_id: r for r in records})
    driver = _driver(
        probe,
        cells,
        choice,
        g,
        render=render,
        evaluate=evaluate,
        dask=dask,
        preflight=True,
        subscribers=_subscribers(progress, subscribers),
    )
    try:
        driver.folder = SweepFolder.create(out, g.model_dump(mode="json"), choice.mode, records)
    except BaseException:
        if driver.executor is not None:
            driver.executor.shutdown(wait=False)
        raise
    active.driver = driver
    return _drive(driver)


def resume_sweep(
    sweep_dir: str | Path,
    *,
    render: bool | None = None,
    dask: str | None = None,
    budget_usd: float | None = None,
    evaluate: bool | None = None,
    progress: bool = True,
    subscribers: Iterable[SweepSubscriber] = (),
    api_key: Any = None,
    client: Any = None,
    base_url: str | None = None,
    retry: Any = None,
    timeout: float | None = None,
) -> SweepResult:
    """Continue a sweep folder: completed cells are skipped (rendered if they were not), the others
    resume from their run folders without repaying any call. ``budget_usd`` may raise the cap;
    ``timeout``: seconds per attempt of each real call (not kept: give it again on each resume)."""
    folder = SweepFolder.open(Path(sweep_dir).expanduser().resolve())
    g = parse_grid(folder.grid, str(folder.path / "sweep.json"))
    if budget_usd is not None:
        g = g.model_copy(update={"budget_usd": budget_usd})
        folder.grid = g.model_dump(mode="json")
        folder.save()
    g_mode = g.model_copy(update={"mode": folder.mode})  # the mode the sweep ran in, not "auto" again
    active = _ActiveCells()
    choice = build_sweep_backend(
        g_mode,
        folder.path,
        active_runs=active,
        api_key=api_key,
        client=client,
        base_url=base_url,
        retry=retry,
        timeout=timeout,
    )
    cells = expand(g, choice.mode)
    if sorted(c.cell_id for c in cells) != sorted(folder.cells):
        raise ConfigError(f"{folder.path}/sweep.json: its cells do not match its grid; the index was edited")
    driver = _driver(
        folder,
        cells,
        choice,
        g,
        render=render,
        evaluate=evaluate,
        dask=dask,
        preflight=False,
        subscribers=_subscribers(progress, subscribers),
    )
    active.driver = driver
    return _drive(driver)


def _driver(
    folder: SweepFolder,
    cells: list[Cell],
    choice: BackendChoice,
    g: Grid,
    *,
    render: bool | None,
    evaluate: bool | None,
    dask: str | None,
    preflight: bool,
    subscribers: list[SweepSubscriber],
) -> SweepDriver:
    """The driver of a sweep's cells, configured from its grid and the overrides; raises ConfigError (or the
    executor's error: an unreachable Dask scheduler) before any call. ``preflight``: check that the budget
    covers every cell's first call (a new sweep; a resumed one has spent part of it)."""
    driver = SweepDriver(
        folder,
        cells,
        choice,
        budget_usd=_dec(g.budget_usd),
        max_concurrency=g.max_concurrency,
        executor=None,
        subscribers=subscribers,
        gates={"gate": g.gate, "on_budget": g.on_budget},
    )
    if preflight:
        driver.preflight()
    driver.render = g.render if render is None else render
    driver.evaluate = _evaluating(g, evaluate, choice.mode)
    driver.allow_model_code = g.allow_model_code
    driver.executor = _executor(g, render, dask, driver.evaluate)
    return driver


class _ActiveCells:
    """``active_runs()`` for the backend: the number of cells running now."""

    driver: SweepDriver | None = None

    def __call__(self) -> int:
        return 0 if self.driver is None else self.driver.running


def _dec(value: float | None) -> Decimal | None:
    return None if value is None else Decimal(str(value))


__all__ = ["SweepDriver", "first_call_worst_case", "resume_sweep", "run_sweep"]  # the first two: runner.py
