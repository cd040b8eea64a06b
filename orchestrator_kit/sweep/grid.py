"""The grid file of a sweep (GRID.yaml), checked with pydantic, and its cells.

A grid::

    mode: simulated                  # simulated | real | auto (auto: real when a key is found)
    backend: anthropic               # real mode: anthropic (standard) | batches (Message Batches)
    requests:                        # text, or {request: ..., project_name: ...}
      - Build a CLI that converts CSV to JSON
    models: [claude-sonnet-5-5, claude-haiku-5-5]   # default: the default model
    settings:                        # each a dict of workflow parameters; default [{}]
      - {}
      - {budget_usd: 0.5, max_rounds: 1}
    base: {max_rounds: 2}            # workflow parameters for every cell
    repeats: 3                       # independent runs per cell
    budget_usd: 5.0                  # the whole sweep's cap, checked before every call of every cell
    gate: human                      # every cell stops at its gates (model | human | model+human)
    on_budget: pause                 # a cell over budget waits for more (fail | pause)
    max_concurrency: 32              # model calls in flight across ALL cells
    rpm: 50                          # optional caps on requests / input / output tokens per minute
    render: true                     # papermill renders each cell's workflow notebook from its run
    evaluate: auto                   # measure each completed cell's code (auto: simulated sweeps only)
    allow_model_code: false          # real sweeps: evaluating runs model-written code, so it is opt-in
    dask: null                       # a Dask scheduler address, or "local"; null: local processes

Cells = requests x models x settings x repeats; every cell's parameters are checked as the workflow
notebook checks them (``validate_workflow_params``), so a bad value is an error before any call.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ..errors import ConfigError
from ..notebook_params import PARAMS_BY_NAME, WORKFLOW_PARAMS, validate_workflow_params

# Workflow parameters the grid itself sets; base/settings may not.
RESERVED = {
    "request": "requests",
    "project_name": "requests",
    "model": "models",
    "mode": "mode",
    "max_concurrency": "max_concurrency (shared by every cell)",
    "replay_from": "sweep (a sweep does not replay)",
    "output_dir": "sweep (SWEEP_DIR/runs)",
    "run_id": "sweep (one per cell)",
    "run_dir": "sweep (rendering sets it)",
    "evaluate": "evaluate (the sweep evaluates each completed cell on its executor)",
}


class RequestSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    request: str
    project_name: str = "Untitled project"


class Grid(BaseModel):
    """A sweep's grid, as read from GRID.yaml (see the module docstring for every key)."""

    model_config = ConfigDict(extra="forbid")

    requests: list[str | RequestSpec] = Field(min_length=1)
    models: list[str] = Field(default_factory=lambda: [_default_model()], min_length=1)
    settings: list[dict[str, Any]] = Field(default_factory=lambda: [dict[str, Any]()], min_length=1)
    base: dict[str, Any] = Field(default_factory=dict)
    mode: Literal["simulated", "real", "auto"] = "simulated"
    backend: Literal["anthropic", "batches"] = "anthropic"
    repeats: int = Field(1, ge=1)
    budget_usd: float | None = Field(None, gt=0)
    gate: Literal["model", "human", "model+human"] | None = None  # every cell's gate policy
    on_budget: Literal["fail", "pause"] = "fail"  # pause: an over-budget cell waits for more
    max_concurrency: int = Field(32, ge=1)
    rpm: int | None = Field(None, gt=0)
    itpm: int | None = Field(None, gt=0)
    otpm: int | None = Field(None, gt=0)
    render: bool = True
    render_workers: int = Field(2, ge=1)
    evaluate: Literal["auto"] | bool = "auto"
    allow_model_code: bool = False
    dask: str | None = None

    @field_validator("requests")
    @classmethod
    def _requests_not_blank(cls, value: list[str | RequestSpec]) -> list[str | RequestSpec]:
        for i, r in enumerate(value):
            text = r if isinstance(r, str) else r.request
            if not text.strip():
                raise ValueError(f"requests[{i}] is empty; describe what the team should build")
        return value


def _default_model() -> str:
    from ..llm.pricing import DEFAULT_MODEL

    return DEFAULT_MODEL


@dataclass(frozen=True)
class Cell:
    """One run of the sweep: a (request, model, settings) combination and its repeat number."""

    cell_id: str
    request: str
    project_name: str
    model: str
    settings: dict[str, Any]
    repeat: int
    parameters: dict[str, Any]  # workflow parameters, checked; without output_dir and run_id

    def describe(self) -> str:
        s = json.dumps(self.settings, sort_keys=True) if self.settings else "{}"
        return (
            f"{self.model} | {self.project_name}: {self.request[:50]} | settings {s} | repeat {self.repeat}"
        )


def setting_label(settings: dict[str, Any]) -> str:
    """A short human label of a cell's grid settings, e.g. ``"max_rounds=1, budget_usd=0.5"``;
    ``"defaults"`` for the empty setting. Nested values are flattened (``developer.max_tokens=2048``)."""
    parts: list[str] = []

    def add(prefix: str, value: Any) -> None:
        if isinstance(value, dict) and value:
            for k, v in value.items():
                add(f"{prefix}.{k}" if prefix else str(k), v)
            return
        if isinstance(value, (list, tuple)):
            text = "+".join(str(v) for v in value)
        elif isinstance(value, float):
            text = f"{value:g}"
        else:
            text = str(value)
        parts.append(f"{prefix}={text if len(text) <= 40 else text[:39] + '…'}")

    for key, value in settings.items():
        add(str(key), value)
    return ", ".join(parts) or "defaults"


def _problem(exc: ValidationError, where: str) -> ConfigError:
    lines = []
    for e in exc.errors():
        loc = ".".join(str(x) for x in e["loc"])
        if e["type"] == "extra_forbidden" and len(e["loc"]) == 1:
            lines.append(f"unknown key '{loc}'; a grid has: {', '.join(Grid.model_fields)}")
        elif e["type"] == "too_short":
            lines.append(f"'{loc}' is an empty list; list at least one (or leave the key out)")
        elif e["type"] == "missing":
            lines.append(f"'{loc}' is missing; list at least one")
        else:
            lines.append(f"{loc}: {e['msg']}")
    return ConfigError(f"{where}: " + "; ".join(lines))


def parse_grid(doc: Any, where: str = "grid") -> Grid:
    """Check a grid document (the parsed YAML); a ConfigError names every problem."""
    if not isinstance(doc, dict):
        raise ConfigError(f"{where}: expected a mapping with requests, models, settings")
    try:
        grid = Grid.model_validate(doc)
    except ValidationError as exc:
        raise _problem(exc, where) from None
    _check_parameters(grid.base, f"{where}: base")
    for i, s in enumerate(grid.settings):
        _check_parameters(s, f"{where}: settings[{i}]")
    return grid


def load_grid(path: str | Path) -> Grid:
    """Read and check GRID.yaml."""
    import yaml

    p = Path(path).expanduser()
    if not p.is_file():
        raise ConfigError(f"grid file {str(p)!r} not found")
    try:
        doc = yaml.safe_load(p.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(f"{p}: not valid YAML ({exc})") from None
    return parse_grid(doc, str(p))


def _check_parameters(params: dict[str, Any], where: str) -> None:
    for name in params:
        if name in RESERVED:
            raise ConfigError(f"{where}: '{name}' is set by the grid's {RESERVED[name]}, not here")
        if name not in PARAMS_BY_NAME:
            known = ", ".join(p.name for p in WORKFLOW_PARAMS if p.name not in RESERVED)
            raise ConfigError(f"{where}: unknown parameter '{name}'; workflow parameters are: {known}")


def _width(n: int) -> int:
    return max(2, len(str(n - 1)))


def expand(grid: Grid, mode: str, where: str = "grid") -> list[Cell]:
    """Every cell of the grid, each checked as the workflow notebook would check it.
    ``mode``: the resolved mode (simulated | real) every cell records."""
    requests = [
        (r, "Untitled project") if isinstance(r, str) else (r.request, r.project_name) for r in grid.requests
    ]
    seen: dict[str, str] = {}
    for axis, values in (("requests", requests), ("models", grid.models), ("settings", grid.settings)):
        for i, v in enumerate(values):
            key = f"{axis}:{json.dumps(v, sort_keys=True)}"
            if key in seen:
                raise ConfigError(
                    f"{where}: duplicate cell: {axis}[{i}] repeats {seen[key]}; remove it "
                    "(use 'repeats: N' for independent runs of the same cell)"
                )
            seen[key] = f"{axis}[{i}]"
    wr, wm, ws, wk = (
        _width(len(requests)),
        _width(len(grid.models)),
        _width(len(grid.settings)),
        _width(grid.repeats),
    )
    cells = []
    for ri, (request, project) in enumerate(requests):
        for mi, model in enumerate(grid.models):
            for si, s in enumerate(grid.settings):
                base_id = f"r{ri:0{wr}d}-m{mi:0{wm}d}-s{si:0{ws}d}"
                params = {**grid.base, **s, "request": request, "project_name": project, "model": model}
                params["mode"] = mode
                params["max_concurrency"] = grid.max_concurrency
                try:
                    checked = validate_workflow_params(params).as_dict()
                except (TypeError, ConfigError) as exc:
                    raise ConfigError(
                        f"{where}: cell {base_id} (requests[{ri}], models[{mi}], settings[{si}]): {exc}"
                    ) from None
                for name in ("output_dir", "run_id", "run_dir", "replay_from"):
                    checked.pop(name, None)
                for k in range(grid.repeats):
                    cell_id = base_id if grid.repeats == 1 else f"{base_id}-n{k:0{wk}d}"
                    cells.append(Cell(cell_id, request, project, model, dict(s), k, checked))
    return cells


__all__ = ["RESERVED", "Cell", "Grid", "RequestSpec", "expand", "load_grid", "parse_grid", "setting_label"]
