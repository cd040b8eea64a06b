"""Kernels started ahead of their notebook, so that papermill does not wait for a kernel to boot and import.

    from orchestrator_kit.warm_kernels import KernelPool, start_kernel
    km = start_kernel("python3", cwd=folder)          # returns at once; the kernel boots and imports meanwhile
    ... import papermill, prepare the parameters ...
    execute_notebook(template, out, cwd=folder, km=km)  # orchestrator_kit.kernels: papermill on that kernel

    pool = KernelPool()                                 # a long-lived worker (sweep rendering)
    execute_notebook(template, out, cwd=folder, km=pool.take("python3", folder))  # the next one is starting
    pool.close()

Each notebook still gets a fresh kernel process of its own (nothing carries over from one notebook to the
next); it was only started earlier. A kernel that is this interpreter's ipykernel imports the notebooks'
heavy modules (``NOTEBOOK_IMPORTS``) before it reports ready (``orchestrator_kit.kernel_launcher``), and the
notebook's namespace stays empty. A kernel is :class:`~orchestrator_kit.kernels.QuietKernelManager`'s: IPC
sockets, shut down without an interrupt, by papermill at the end of its notebook.
"""

from __future__ import annotations

import json
import os
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

from traitlets import Unicode

from .kernel_launcher import PRELOAD_ENV
from .kernels import QuietKernelManager, shutdown

# What the workflow, cost-report and batch notebooks import: pandas, matplotlib, pyarrow (Parquet) and ours.
NOTEBOOK_IMPORTS = (
    "pandas",
    "pyarrow",
    "matplotlib.figure",
    "matplotlib.backends.backend_agg",
    "IPython.display",
    "orchestrator_kit.notebook_params",
    "orchestrator_kit.report.export",
    "orchestrator_kit.report.present",
    "pandas.io.formats.style",
    "orchestrator_kit.evaluate.text",
)


class PreloadKernelManager(QuietKernelManager):
    """A :class:`QuietKernelManager` whose kernel, when it is this interpreter's ipykernel, imports
    ``preload`` (comma-separated module names) before it starts."""

    preload = Unicode("", help="modules the kernel imports before it starts, comma-separated")

    def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
        cmd = super().format_kernel_cmd(extra_arguments)
        if self.preload and cmd[1:3] == ["-m", "ipykernel_launcher"] and _is_this_python(cmd[0]):
            cmd[1:3] = ["-m", "orchestrator_kit.kernel_launcher"]
        return cmd


def _is_this_python(executable: str) -> bool:
    try:
        return Path(executable).resolve() == Path(sys.executable).resolve()
    except OSError:
        return False


def notebook_kernel_name(template: str | Path) -> str:
    """The kernel a notebook asks for (``metadata.kernelspec.name``), read without nbformat (whose import is
    what a pre-started kernel overlaps with); ``python3`` when it names none, as papermill."""
    meta = json.loads(Path(template).read_text(encoding="utf-8")).get("metadata", {})
    return str(meta.get("kernelspec", {}).get("name") or "python3")


def start_kernel(
    kernel_name: str = "python3",
    *,
    cwd: str | Path | None = None,
    preload: Sequence[str] = NOTEBOOK_IMPORTS,
) -> PreloadKernelManager:
    """Start a kernel in ``cwd`` now and return its manager at once (the kernel boots meanwhile); pass it to
    ``orchestrator_kit.kernels.execute_notebook(..., km=)``, which shuts it down at the end."""
    from jupyter_core.utils import run_sync

    km = PreloadKernelManager(kernel_name=kernel_name, preload=",".join(preload))
    env = {**os.environ, PRELOAD_ENV: km.preload}  # read (and removed) by kernel_launcher only
    run_sync(km.start_kernel)(cwd=str(Path(cwd or ".").resolve()), env=env)
    return km


class KernelPool:
    """One spare kernel, started ahead: ``take`` hands over a kernel started earlier (or a new one) and starts
    the next one, for a long-lived worker that executes many notebooks in one folder. Thread-safe."""

    def __init__(self, preload: Sequence[str] = NOTEBOOK_IMPORTS) -> None:
        self.preload = tuple(preload)
        self._spare: tuple[tuple[str, str, int], PreloadKernelManager] | None = None
        self._lock = threading.Lock()

    def take(self, kernel_name: str, cwd: str | Path, *, spare: bool = True) -> PreloadKernelManager:
        """A started kernel of ``kernel_name`` in ``cwd`` (with this process's environment), for one
        notebook; the caller's ``execute_notebook(..., km=)`` shuts it down. ``spare``: start the next one
        now (false when no other notebook is expected)."""
        folder = str(Path(cwd).resolve())
        key = (kernel_name, folder, hash(frozenset(os.environ.items())))
        with self._lock:
            ready, self._spare = self._spare, None
            if ready is not None and (ready[0] != key or not _alive(ready[1])):
                shutdown(ready[1])  # another kernel, folder or environment, or a spare that died: not used
                ready = None
            km = ready[1] if ready is not None else self._start(kernel_name, folder)
            if spare:
                self._spare = (key, self._start(kernel_name, folder))
            return km

    def _start(self, kernel_name: str, folder: str) -> PreloadKernelManager:
        return start_kernel(kernel_name, cwd=folder, preload=self.preload)

    def close(self) -> None:
        """Shut the spare kernel down."""
        with self._lock:
            spare, self._spare = self._spare, None
        if spare is not None:
            shutdown(spare[1])


def _alive(km: QuietKernelManager) -> bool:
    from jupyter_core.utils import run_sync

    return bool(run_sync(km.is_alive)())


__all__ = [
    "NOTEBOOK_IMPORTS",
    "KernelPool",
    "PreloadKernelManager",
    "notebook_kernel_name",
    "shutdown",
    "start_kernel",
]
