"""The sweep's ONE backend, shared by every cell's engine (so one limiter, one rate-limit pacer and
one batch queue see every call), and the wrapper that keeps engines from closing it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from ..errors import ConfigError
from ..llm.selection import BackendChoice, select_backend

if TYPE_CHECKING:
    from ..llm.backend import Backend, DeltaCallback
    from ..llm.batches import BatchesBackend
    from ..llm.types import Completion, LLMRequest
    from .grid import Grid


class SharedBackend:
    """Hands the sweep's backend to many engines. It has no ``aclose``: an engine whose run ends
    must not close the client other cells are still using; the driver closes ``inner`` at the end."""

    def __init__(self, inner: Backend) -> None:
        self.inner = inner
        self.mode: str = inner.mode
        self.billed_as_batch: bool = bool(getattr(inner, "billed_as_batch", False))

    def __repr__(self) -> str:
        return f"SharedBackend({self.inner!r})"

    async def complete(self, request: LLMRequest, *, on_delta: DeltaCallback | None = None) -> Completion:
        return await self.inner.complete(request, on_delta=on_delta)

    async def aclose_inner(self) -> None:
        aclose = getattr(self.inner, "aclose", None)
        if aclose is not None:
            await aclose()


def build_sweep_backend(
    grid: Grid,
    sweep_dir: Path,
    *,
    active_runs: Callable[[], int] = lambda: 0,
    api_key: Any = None,
    client: Any = None,
    base_url: str | None = None,
    retry: Any = None,
    timeout: float | None = None,
) -> BackendChoice:
    """The one backend of a sweep. simulated: a SimulatedBackend (rate caps do not apply at $0);
    real / auto: the Anthropic backend (``backend: anthropic``), paced by ONE ``RateLimiter`` that reads
    the API's ratelimit headers (``rpm/itpm/otpm`` cap it further), or Message Batches (``backend:
    batches``, journal in ``sweep_dir/batches.jsonl``: a resumed sweep re-attaches to its batches).
    ``active_runs()``: how many cells are running now (the batch queue flushes when all wait)."""
    from ..llm.ratelimit import RateLimiter

    limits = {k: v for k, v in (("rpm", grid.rpm), ("itpm", grid.itpm), ("otpm", grid.otpm)) if v}
    if grid.mode == "simulated":
        if grid.backend == "batches":
            raise ConfigError(
                "backend 'batches' sends real calls through Message Batches; set mode: real "
                "(or leave backend out for a simulated sweep)"
            )
        return select_backend("simulated", simulated_options=grid.base.get("simulated_options"))
    if grid.backend == "batches" and limits:
        raise ConfigError(
            f"{'/'.join(limits)} pace the standard Messages API; a batches sweep sends its calls through "
            "Message Batches, which has limits of its own (paced from its 429s): leave them out"
        )
    if grid.backend == "batches":
        real_backend = "batches"
        real_options: dict[str, Any] = {
            "journal": batch_journal_path(sweep_dir),
            "active_runs": active_runs,
            "rate_limiter": RateLimiter(),  # the batch endpoints' own limits: learnt from their 429s
        }
    else:
        limiter = RateLimiter(rpm=limits.get("rpm"), itpm=limits.get("itpm"), otpm=limits.get("otpm"))
        real_backend, real_options = "anthropic", {"rate_limiter": limiter}
    # auto without a key: simulated (said so in every table); the real options then do not apply
    return select_backend(
        grid.mode,
        api_key=api_key,
        client=client,
        base_url=base_url,
        retry=retry,
        timeout=timeout,
        real_backend=real_backend,
        real_options=real_options,
    )


def batch_journal_path(sweep_dir: Path) -> Path:
    """Where a sweep journals its Message Batches (ids written before polling starts)."""
    return Path(sweep_dir) / "batches.jsonl"


def cancel_sweep_batches(
    sweep_dir: str | Path, *, api_key: Any = None, client: Any = None, base_url: str | None = None
) -> dict[str, dict[str, int]]:
    """Cancel the sweep's Message Batches still in flight, wait until they end and save their results
    (answers already paid for are kept: a later ``resume`` uses them and resubmits only the canceled
    rest). Returns, per batch, how many requests came back how."""
    from .._sync import run_sync
    from .folder import SweepFolder

    folder = SweepFolder.open(Path(sweep_dir).expanduser().resolve())
    journal = batch_journal_path(folder.path)
    if not journal.is_file():
        raise ConfigError(f"{folder.path} has no Message Batches journal ({journal.name}): nothing to cancel")
    chosen = select_backend(
        "real",
        api_key=api_key,
        client=client,
        base_url=base_url,
        real_backend="batches",
        real_options={"journal": journal},
    )
    backend = cast("BatchesBackend", chosen.backend)

    async def cancel() -> dict[str, dict[str, int]]:
        try:
            return await backend.cancel_inflight()
        finally:
            await backend.aclose()

    return run_sync(cancel())


__all__ = ["SharedBackend", "batch_journal_path", "build_sweep_backend", "cancel_sweep_batches"]
