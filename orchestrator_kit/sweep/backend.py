"""The sweep's ONE backend, shared by every cell's engine (so one limiter, one rate-limit pacer and
one batch queue see every call), and the wrapper that keeps engines from closing it."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError
from ..llm.selection import BackendChoice, select_backend

if TYPE_CHECKING:
    from ..llm.backend import DeltaCallback
    from ..llm.types import Completion, LLMRequest
    from .grid import Grid


class SharedBackend:
    """Hands the sweep's backend to many engines. It has no ``aclose``: an engine whose run ends
    must not close the client other cells are still using; the driver closes ``inner`` at the end."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.mode: str = inner.mode

    def __repr__(self) -> str:
        return f"SharedBackend({self.inner!r})"

    async def complete(self, request: LLMRequest, *, on_delta: DeltaCallback | None = None) -> Completion:
        return await self.inner.complete(request, on_delta=on_delta)

    async def aclose_inner(self) -> None:
        aclose = getattr(self.inner, "aclose", None)
        if aclose is not None:
            await aclose()


def _optional(module: str, feature: str) -> ModuleType:
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name != module:
            raise
        raise ConfigError(
            f"{feature} is not available yet in this version ({module} is missing); leave it out of the grid"
        ) from None


def build_sweep_backend(
    grid: Grid,
    sweep_dir: Path,
    *,
    active_runs: Callable[[], int] = lambda: 0,
    api_key: Any = None,
    client: Any = None,
    base_url: str | None = None,
    retry: Any = None,
) -> BackendChoice:
    """The one backend of a sweep. simulated: a SimulatedBackend (rate caps do not apply at $0);
    real / auto: the Anthropic backend (``backend: anthropic``) or Message Batches (``backend:
    batches``, journal in ``sweep_dir/batches.jsonl``), paced by ``rpm/itpm/otpm`` when given.
    ``active_runs()``: how many cells are running now (the batch queue flushes when all wait)."""
    limits = {k: v for k, v in (("rpm", grid.rpm), ("itpm", grid.itpm), ("otpm", grid.otpm)) if v}
    if grid.mode == "simulated":
        if grid.backend == "batches":
            raise ConfigError(
                "backend 'batches' sends real calls through Message Batches; set mode: real "
                "(or leave backend out for a simulated sweep)"
            )
        return select_backend("simulated", simulated_options=grid.base.get("simulated_options"))
    choice = select_backend(grid.mode, api_key=api_key, client=client, base_url=base_url, retry=retry)
    if choice.mode != "real":  # auto without a key: simulated, said so in every table
        return choice
    rate_limiter = None
    if limits:
        ratelimit = _optional("orchestrator_kit.llm.ratelimit", "pacing by rpm/itpm/otpm")
        rate_limiter = ratelimit.RateLimiter(**limits)
    if grid.backend == "batches":
        batches = _optional("orchestrator_kit.llm.batches", "backend 'batches' (Message Batches)")
        raise ConfigError(  # the seam h10b wires: BatchesBackend(journal=..., active_runs=...)
            f"backend 'batches' is not wired into sweeps yet ({batches.__name__} exists; "
            f"journal would be {sweep_dir / 'batches.jsonl'}, {active_runs()} cells running)"
        )
    if rate_limiter is not None:
        raise ConfigError(  # the seam h10b wires: AnthropicBackend(..., rate_limiter=rate_limiter)
            "pacing by rpm/itpm/otpm is not wired into sweeps yet; leave rpm/itpm/otpm out of the grid"
        )
    return choice


__all__ = ["SharedBackend", "build_sweep_backend"]
