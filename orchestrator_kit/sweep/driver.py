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
from typing import Any, TypedDict, Unpack

from .._sync import run_sync
from ..errors import ConfigError
from ..llm.selection import BackendChoice, check_keywords
from ..store.run_folder import new_run_id
from .backend import build_sweep_backend
from .folder import CellRecord, SweepFolder
from .grid import Cell, Grid, expand, load_grid, parse_grid
from .progress import SweepSubscriber, TqdmProgress
from .result import SweepResult
from .runner import SweepDriver, first_call_worst_case


class SweepOptions(TypedDict, total=False):
    """The keywords ``run_sweep`` and ``resume_sweep`` both take, typed once (a misspelt one is a TypeError,
    and an error in mypy). Each is optional:

    - ``render`` / ``dask`` / ``budget_usd`` / ``evaluate``: override the grid's (None: the grid's own);
      ``dask``: a scheduler address (tcp://HOST:PORT) or "local"; ``budget_usd``: the whole sweep's cap (a
      resume may raise it);
    - ``progress``: a tqdm bar (default True); ``subscribers``: callables given every sweep event;
    - ``api_key``, ``client``, ``base_url``, ``retry``: for the real backend, as ``select_backend`` takes them;
    - ``timeout``: seconds per attempt of each real call (None: the backend's default; not kept in the sweep
      folder: give it again on each resume).
    """

    render: bool | None
    dask: str | None
    budget_usd: float | None
    evaluate: bool | None
    progress: bool
    subscribers: Iterable[SweepSubscriber]
    api_key: Any
    client: Any
    base_url: str | None
    retry: Any
    timeout: float | None


class NewSweepOptions(SweepOptions, total=False):
    """:class:`SweepOptions` plus what only a new sweep sets (a resumed one keeps its grid's): ``backend``
    (anthropic | batches) and the pacing ``rpm`` / ``itpm`` / ``otpm``, overriding the grid's."""

    backend: str | None
    rpm: int | None
    itpm: int | None
    otpm: int | None


def _subscribers(options: SweepOptions) -> list[SweepSubscriber]:
    subs = list(options.get("subscribers", ()))
    if options.get("progress", True):
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
    grid: str | Path | Grid | dict[str, Any], output_dir: str | Path, **options: Unpack[NewSweepOptions]
) -> SweepResult:
    """Run every cell of ``grid`` (GRID.yaml path, Grid or dict) at once in this process; returns a
    SweepResult. The keywords (``render``, ``dask``, ``budget_usd``, ``evaluate``, ``progress``,
    ``subscribers``, ``api_key``, ``client``, ``base_url``, ``retry``, ``timeout``, and ``backend`` /
    ``rpm`` / ``itpm`` / ``otpm``) are typed once, in :class:`NewSweepOptions`. Bad input raises ConfigError
    before any call; a failed cell is recorded and the others go on."""
    check_keywords(options, NewSweepOptions, "run_sweep()")
    if isinstance(grid, Grid):
        g = grid
    elif isinstance(grid, dict):
        g = parse_grid(grid)
    else:
        g = load_grid(grid)
    if (budget_usd := options.get("budget_usd")) is not None:
        g = g.model_copy(update={"budget_usd": budget_usd})
    overrides = {k: v for k in ("backend", "rpm", "itpm", "otpm") if (v := options.get(k))}
    if overrides:  # validated as the grid file is
        g = parse_grid({**g.model_dump(mode="json"), **overrides})
    out = Path(output_dir).expanduser().resolve()
    if (out / "sweep.json").exists():
        raise ConfigError(f"{out} already holds a sweep; continue it with: orchestrator-kit resume {out}")
    active = _ActiveCells()
    choice = _backend(g, out, active, options)
    cells = expand(g, choice.mode)
    records = [
        CellRecord(
            c.cell_id, f"{new_run_id()}-{c.cell_id}", c.request, c.project_name, c.model, c.settings, c.repeat
        )
        for c in cells
    ]
    probe = SweepFolder(out, {}, choice.mode, {r.cell_id: r for r in records})
    driver = _driver(probe, cells, choice, g, options, preflight=True)
    try:
        driver.folder = SweepFolder.create(out, g.model_dump(mode="json"), choice.mode, records)
    except BaseException:
        if driver.executor is not None:
            driver.executor.shutdown(wait=False)
        raise
    active.driver = driver
    return _drive(driver)


def resume_sweep(sweep_dir: str | Path, **options: Unpack[SweepOptions]) -> SweepResult:
    """Continue a sweep folder: completed cells are skipped (rendered if they were not), the others
    resume from their run folders without repaying any call. The keywords are typed once, in
    :class:`SweepOptions` (those of ``run_sweep`` but the grid's backend and pacing, which a sweep keeps);
    ``budget_usd`` may raise the cap; ``timeout`` is not kept: give it again on each resume."""
    check_keywords(options, SweepOptions, "resume_sweep()")
    folder = SweepFolder.open(Path(sweep_dir).expanduser().resolve())
    g = parse_grid(folder.grid, str(folder.path / "sweep.json"))
    if (budget_usd := options.get("budget_usd")) is not None:
        g = g.model_copy(update={"budget_usd": budget_usd})
        folder.grid = g.model_dump(mode="json")
        folder.save()
    g_mode = g.model_copy(update={"mode": folder.mode})  # the mode the sweep ran in, not "auto" again
    active = _ActiveCells()
    choice = _backend(g_mode, folder.path, active, options)
    cells = expand(g, choice.mode)
    if sorted(c.cell_id for c in cells) != sorted(folder.cells):
        raise ConfigError(f"{folder.path}/sweep.json: its cells do not match its grid; the index was edited")
    driver = _driver(folder, cells, choice, g, options, preflight=False)
    active.driver = driver
    return _drive(driver)


def _backend(g: Grid, out: Path, active: _ActiveCells, options: SweepOptions) -> BackendChoice:
    """The sweep's one shared backend, from its grid and the real backend's keywords of ``options``."""
    return build_sweep_backend(
        g,
        out,
        active_runs=active,
        api_key=options.get("api_key"),
        client=options.get("client"),
        base_url=options.get("base_url"),
        retry=options.get("retry"),
        timeout=options.get("timeout"),
    )


def _driver(
    folder: SweepFolder,
    cells: list[Cell],
    choice: BackendChoice,
    g: Grid,
    options: SweepOptions,
    *,
    preflight: bool,
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
        subscribers=_subscribers(options),
        gates={"gate": g.gate, "on_budget": g.on_budget},
    )
    if preflight:
        driver.preflight()
    render = options.get("render")
    driver.render = g.render if render is None else render
    driver.evaluate = _evaluating(g, options.get("evaluate"), choice.mode)
    driver.allow_model_code = g.allow_model_code
    driver.executor = _executor(g, render, options.get("dask"), driver.evaluate)
    return driver


class _ActiveCells:
    """``active_runs()`` for the backend: the number of cells running now."""

    driver: SweepDriver | None = None

    def __call__(self) -> int:
        return 0 if self.driver is None else self.driver.running


def _dec(value: float | None) -> Decimal | None:
    return None if value is None else Decimal(str(value))


__all__ = [  # SweepDriver, first_call_worst_case: runner.py
    "NewSweepOptions",
    "SweepDriver",
    "SweepOptions",
    "first_call_worst_case",
    "resume_sweep",
    "run_sweep",
]  # the first two: runner.py
