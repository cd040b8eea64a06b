"""Kernels started by our own code (batch cells, the main job, the cost report): quiet and private.

    from orchestrator_kit.kernels import execute_notebook
    execute_notebook(template, out, parameters={...}, cwd=folder)     # papermill, kernel over IPC

``execute_notebook`` is ``papermill.execute_notebook`` with :class:`QuietKernelManager`: the kernel talks over
Unix sockets in a private temporary folder (IPC transport: nothing listens on a TCP port, and ipykernel's
"Kernel is running over TCP without encryption" warning has no cause), and at the end it is shut down with a
shutdown request alone: jupyter_client interrupts every kernel before shutting it down, which makes ipykernel
log ``ERROR | KeyboardInterrupt caught in kernel`` after a run that succeeded. ``kernel_options()`` gives the
same for nbclient. With ``km=`` (a kernel started ahead by ``orchestrator_kit.warm_kernels``), papermill runs
the notebook on that kernel (engine ``okit-started``) and shuts it down at the end.

Kernels started by other tools (nbval, JupyterLab) get the same IPC transport from the kernel provisioner
``okit-ipc`` (:class:`IpcProvisioner`, registered under jupyter_client's ``jupyter_client.kernel_provisioners``
entry point): name it in ``JUPYTER_DEFAULT_PROVISIONER_NAME``, as the README's nbval command does::

    JUPYTER_DEFAULT_PROVISIONER_NAME=okit-ipc python -m pytest --nbval --nbval-current-env notebooks/*.ipynb
"""

from __future__ import annotations

import functools
import shutil
import tempfile
from pathlib import Path
from typing import Any

from jupyter_client.manager import AsyncKernelManager
from jupyter_client.provisioning.local_provisioner import LocalProvisioner
from traitlets import default


class QuietKernelManager(AsyncKernelManager):
    """An ``AsyncKernelManager`` over IPC sockets in its own temporary folder, shut down without an
    interrupt."""

    _ipc_dir: str | None = None

    @default("transport")
    def _default_transport(self) -> str:
        return "ipc"

    @default("ip")
    def _default_ip(self) -> str:
        # The socket files are "<ip>-<port>": keep them in a folder only this user can read.
        self._ipc_dir = tempfile.mkdtemp(prefix="okit-kernel-")
        return str(Path(self._ipc_dir) / "k")

    async def _async_interrupt_kernel(self) -> None:
        if self.shutting_down:
            # The shutdown request goes over the control channel, which ipykernel serves even while busy;
            # a kernel that does not exit in time is killed by jupyter_client as before.
            return
        await super()._async_interrupt_kernel()

    async def _async_cleanup_resources(self, restart: bool = False) -> None:
        await super()._async_cleanup_resources(restart=restart)
        if not restart and self._ipc_dir:
            shutil.rmtree(self._ipc_dir, ignore_errors=True)
            self._ipc_dir = None


class IpcProvisioner(LocalProvisioner):
    """jupyter_client's local provisioner, with the kernel over IPC sockets in a private temporary folder
    (removed when the kernel is shut down) instead of TCP ports: for the kernels of tools that make their own
    ``KernelManager`` (nbval, JupyterLab). Entry point name: ``okit-ipc``."""

    _ipc_dir: str | None = None

    async def pre_launch(self, **kwargs: Any) -> dict[str, Any]:
        km = self.parent
        if km is not None and km.transport != "ipc":  # set once: a restart keeps this folder
            self._ipc_dir = tempfile.mkdtemp(prefix="okit-kernel-")
            km.transport = "ipc"
            km.ip = str(Path(self._ipc_dir) / "k")  # the socket files are "<ip>-<port>"
            km.cache_ports = False  # TCP ports only
        return await super().pre_launch(**kwargs)

    async def cleanup(self, restart: bool = False) -> None:
        await super().cleanup(restart=restart)
        if not restart and self._ipc_dir:
            shutil.rmtree(self._ipc_dir, ignore_errors=True)
            self._ipc_dir = None


def kernel_options() -> dict[str, Any]:
    """Keyword arguments for ``papermill.execute_notebook`` or ``nbclient.NotebookClient``."""
    return {"kernel_manager_class": QuietKernelManager}


def execute_notebook(
    template: str | Path,
    output: str | Path,
    *,
    parameters: dict[str, Any] | None = None,
    cwd: str | Path | None = None,
    km: QuietKernelManager | None = None,
    **kwargs: Any,
) -> Any:
    """``papermill.execute_notebook`` with a :class:`QuietKernelManager` kernel and quiet defaults (no progress
    bar, no cell output logged, no widget state stored, the output notebook written at the end or when a cell
    fails rather than after every cell); other keyword arguments go to papermill. ``km``: a
    kernel already started (in ``cwd``), used for this notebook and shut down at the end, even on failure."""
    import papermill as pm

    options: dict[str, Any] = {
        "progress_bar": False,
        "log_output": False,
        "store_widget_state": False,
        # Written once at the end (and when a cell fails), not after every cell: each save re-encodes the
        # whole notebook, figures included (about 50 saves for the workflow notebook).
        "request_save_on_cell_execute": False,
        **kernel_options(),
        **kwargs,
    }
    if km is not None:
        _register_started_engine()
        options.update(engine_name=STARTED_ENGINE, km=km)
        if options.get("kernel_name") is None:
            options["kernel_name"] = km.kernel_name
    try:
        return pm.execute_notebook(
            str(template),
            str(output),
            parameters=dict(parameters or {}),
            cwd=None if cwd is None else str(cwd),
            **options,
        )
    finally:
        if km is not None and km.has_kernel:  # papermill failed before the notebook ran
            shutdown(km)


def shutdown(km: QuietKernelManager) -> None:
    """Shut a kernel down now (a spare never used, or one left by a run that failed before it started)."""
    from jupyter_core.utils import run_sync

    if km.has_kernel:
        run_sync(km.shutdown_kernel)(now=True)
    else:
        run_sync(km.cleanup_resources)()


STARTED_ENGINE = "okit-started"


@functools.cache
def _register_started_engine() -> None:
    """papermill's nbclient engine on a kernel started beforehand (keyword ``km``), which it shuts down at
    the end like a kernel of its own (nbclient leaves a kernel it was given running)."""
    from papermill.clientwrap import PapermillNotebookClient
    from papermill.engines import NBClientEngine, papermill_engines
    from papermill.log import logger
    from papermill.utils import remove_args

    class StartedKernelEngine(NBClientEngine):  # type: ignore[misc]  # papermill has no types
        @classmethod
        def execute_managed_notebook(
            cls,
            nb_man: Any,
            kernel_name: str,
            *,
            log_output: bool = False,
            stdout_file: Any = None,
            stderr_file: Any = None,
            start_timeout: int = 60,
            execution_timeout: float | None = None,
            **kwargs: Any,
        ) -> Any:
            km = kwargs.pop("km")
            if km.kernel_name != kernel_name:
                raise ValueError(
                    f"the notebook runs on kernel {kernel_name!r} but the kernel started for it is "
                    f"{km.kernel_name!r}; start it with that kernel name"
                )
            kwargs = remove_args(["input_path", "timeout", "startup_timeout"], **kwargs)
            client = PapermillNotebookClient(
                nb_man,
                km=km,
                timeout=execution_timeout,
                startup_timeout=start_timeout,
                kernel_name=kernel_name,
                log=logger,
                log_output=log_output,
                stdout_file=stdout_file,
                stderr_file=stderr_file,
                **kwargs,
            )
            return client.execute(cleanup_kc=True)  # shut the kernel down, close the client's sockets

    papermill_engines.register(STARTED_ENGINE, StartedKernelEngine)


__all__ = ["IpcProvisioner", "QuietKernelManager", "execute_notebook", "kernel_options", "shutdown"]
