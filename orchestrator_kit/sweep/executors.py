"""Where a sweep's CPU work runs (notebook rendering; later code evaluation): a
``concurrent.futures.Executor`` for a spec.

    make_executor(None)               local worker processes (2), long-lived: each renders many notebooks
    make_executor("processes:4")      4 local worker processes
    make_executor("local")            a Dask LocalCluster on this machine (worker processes)
    make_executor("tcp://host:8786")  an existing Dask scheduler (run folders must be on a filesystem
                                      every worker sees)

Model calls never go here: they stay in the sweep's driver, under one limiter and one budget.
Shutting the executor down also closes any Dask client and local cluster it made.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from typing import Any

from ..errors import ConfigError

DEFAULT_WORKERS = 2
CONNECT_TIMEOUT_S = 10


class DaskExecutor(Executor):
    """``Client.get_executor()`` that also owns the client (and the LocalCluster, if it made one)."""

    def __init__(self, client: Any, cluster: Any = None) -> None:
        self.client = client
        self.cluster = cluster
        self._inner: Executor = client.get_executor(pure=False)

    def __repr__(self) -> str:
        return f"DaskExecutor(scheduler={self.client.scheduler.address!r})"

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        return self._inner.submit(fn, *args, **kwargs)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        try:
            self._inner.shutdown(wait=wait)
        finally:
            self.client.close()
            if self.cluster is not None:
                self.cluster.close()


def _dask(spec: str, workers: int, connect_timeout: float) -> DaskExecutor:
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise ConfigError(
            f"--dask {spec} needs dask.distributed: pip install 'orchestrator-kit[dask]'"
        ) from None
    if spec == "local":
        cluster = LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None
        )
        return DaskExecutor(Client(cluster), cluster)
    try:
        client = Client(spec, timeout=connect_timeout)
    except (OSError, TimeoutError, ValueError) as exc:
        raise ConfigError(
            f"Dask scheduler {spec!r} is unreachable ({type(exc).__name__}: {exc}); start one "
            "('dask scheduler', dask-jobqueue, dask-kubernetes, dask-gateway) or use --dask local"
        ) from None
    return DaskExecutor(client)


def make_executor(
    spec: str | None = None, *, workers: int = DEFAULT_WORKERS, connect_timeout: float = CONNECT_TIMEOUT_S
) -> Executor:
    """An executor for ``spec`` (see the module docstring). ``workers``: local processes, or the
    LocalCluster's worker processes for ``"local"``. ``connect_timeout``: seconds to reach a scheduler."""
    if workers < 1:
        raise ConfigError(f"workers must be >= 1, got {workers}")
    if spec is None or spec == "processes":
        return ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"))
    if spec.startswith("processes:"):
        n = spec.partition(":")[2]
        if not n.isdigit() or int(n) < 1:
            raise ConfigError(f"executor {spec!r}: write processes:N with N >= 1")
        return ProcessPoolExecutor(max_workers=int(n), mp_context=multiprocessing.get_context("spawn"))
    if not spec.strip():
        raise ConfigError("an empty Dask address; give tcp://HOST:PORT or 'local'")
    return _dask(spec, workers, connect_timeout)


__all__ = ["DaskExecutor", "make_executor"]
