"""Kernels started by our code (orchestrator_kit.kernels): IPC transport, no interrupt at shutdown, and so no
kernel log line that reads like a failure in the output of the batch and the main job. Kernels started by
nbval (the README's command) get the IPC transport too, from the kernel provisioner ``okit-ipc``."""

from __future__ import annotations

import asyncio
import importlib.metadata
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from jupyter_client.manager import AsyncKernelManager
from jupyter_client.provisioning import KernelProvisionerFactory
from nbhelpers import REPO, readme_nbval_command
from subprocesses import clean_env

from orchestrator_kit.kernels import IpcProvisioner, QuietKernelManager

ALARMS = ("Kernel is running over TCP without encryption", "KeyboardInterrupt caught in kernel")
# Run in the kernel: a SIGINT (jupyter_client's interrupt) leaves a file behind instead of raising (ipykernel
# restores its own SIGINT handler after each message unless its post-handler hook is skipped).
TRAP = (
    "import signal, pathlib\n"
    "get_ipython().kernel.post_handler_hook = lambda: None\n"
    "signal.signal(signal.SIGINT, lambda *a: pathlib.Path({path!r}).touch())"
)


async def _run_and_shut_down(manager: AsyncKernelManager, code: str) -> None:
    await manager.start_kernel()
    client = manager.client()
    client.start_channels()
    try:
        await client.wait_for_ready(timeout=60)
        reply = await client.execute_interactive(code, timeout=60)
        assert reply["content"]["status"] == "ok"
    finally:
        client.stop_channels()
        await manager.shutdown_kernel()


@pytest.mark.slow
@pytest.mark.parametrize(
    ("manager_class", "interrupted"), [(AsyncKernelManager, True), (QuietKernelManager, False)]
)
def test_shutdown_without_an_interrupt(tmp_path: Path, manager_class: type, interrupted: bool) -> None:
    """jupyter_client interrupts a kernel before shutting it down (ipykernel then logs a KeyboardInterrupt);
    ours sends the shutdown request alone. The first case shows the probe works."""
    marker = tmp_path / "sigint"
    manager = manager_class(kernel_name="python3")
    asyncio.run(_run_and_shut_down(manager, TRAP.format(path=str(marker))))
    assert marker.exists() is interrupted


@pytest.mark.slow
def test_the_kernel_talks_over_private_ipc_sockets_that_are_removed() -> None:
    manager = QuietKernelManager(kernel_name="python3")
    assert manager.transport == "ipc"
    folder = Path(manager.ip).parent
    assert folder.is_dir() and (folder.stat().st_mode & 0o077) == 0  # only this user
    asyncio.run(_run_and_shut_down(manager, "x = 1"))
    assert not folder.exists()


@pytest.mark.slow
def test_a_batch_prints_no_alarming_kernel_lines(tmp_path: Path) -> None:
    grid = tmp_path / "grid.yaml"
    grid.write_text(
        "mode: simulated\nrequests: [A CLI that converts CSV files to JSON]\nmodels: [claude-haiku-5-5]\n"
        "settings:\n  - {agents: [architect], write_outputs: false}\n",
        encoding="utf-8",
    )
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "orchestrator_kit",
            "batch",
            str(grid),
            "-o",
            str(tmp_path / "out"),
        ],
        cwd=tmp_path,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 completed, 0 not; 1 notebooks rendered" in done.stdout  # a kernel rendered its notebook
    for alarm in ALARMS:
        assert alarm not in done.stdout + done.stderr


def test_main_job_and_report_use_the_quiet_kernels() -> None:
    """The main job's run (and its report) go through orchestrator_kit.kernels; test_main_job_script in
    test_workflow_notebook.py checks its output holds no alarming line."""
    assert (
        "from orchestrator_kit.kernels import execute_notebook"
        in (REPO / "scripts" / "main_job.py").read_text()
    )


def test_the_ipc_provisioner_is_registered_for_jupyter_client() -> None:
    found = importlib.metadata.entry_points(group="jupyter_client.kernel_provisioners", name="okit-ipc")
    assert found, "okit-ipc is not registered: reinstall the package (pip install -e .) to register it"
    (entry,) = found
    assert entry.load() is IpcProvisioner


@pytest.mark.slow
def test_the_ipc_provisioner_gives_a_plain_kernel_manager_private_sockets_that_are_removed() -> None:
    """A jupyter_client KernelManager as nbval makes it (its own class, TCP by default), with the provisioner
    found as jupyter_client finds it (entry point): IPC sockets in a 0700 folder, gone after the shutdown."""
    manager = AsyncKernelManager(kernel_name="python3")
    spec = manager.kernel_spec
    assert spec is not None
    spec.metadata["kernel_provisioner"] = {"provisioner_name": "okit-ipc"}
    manager.provisioner = KernelProvisionerFactory.instance().create_provisioner_instance(
        "okit-test", spec, parent=manager
    )
    assert isinstance(manager.provisioner, IpcProvisioner) and manager.transport == "tcp"
    seen: list[Path] = []

    async def run() -> None:
        await manager.start_kernel()
        seen.append(Path(manager.ip).parent)
        assert manager.transport == "ipc" and manager.get_connection_info()["transport"] == "ipc"
        assert (seen[0].stat().st_mode & 0o077) == 0  # only this user
        client = manager.client()
        client.start_channels()
        try:
            await client.wait_for_ready(timeout=60)
            assert sorted(p.name.split("-")[0] for p in seen[0].iterdir()) == ["k"] * 5  # the 5 channels
            reply = await client.execute_interactive("x = 1", timeout=60)
            assert reply["content"]["status"] == "ok"
        finally:
            client.stop_channels()
            await manager.shutdown_kernel()

    asyncio.run(run())
    assert not seen[0].exists()


@pytest.mark.slow
def test_the_readme_nbval_command_runs_its_kernels_over_ipc(tmp_path: Path) -> None:
    """The README's nbval command (its environment and options) on a notebook whose stored output is the
    kernel's transport: nbval passes only if the kernel it started talks over IPC, and leaves no socket."""
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell(
        "from ipykernel.kernelapp import IPKernelApp\nIPKernelApp.instance().transport"
    )
    cell.execution_count = 1
    cell.outputs = [nbformat.v4.new_output("execute_result", {"text/plain": "'ipc'"}, execution_count=1)]
    nb.cells = [cell]
    nbformat.write(nb, tmp_path / "transport.ipynb")
    readme_env, args = readme_nbval_command()
    args = [str(REPO / a) if (REPO / a).is_file() else a for a in args]  # the sanitize file, run from here
    assert readme_env == {"JUPYTER_DEFAULT_PROVISIONER_NAME": "okit-ipc"}
    (tmp_path / "tmp").mkdir()
    done = subprocess.run(
        [sys.executable, "-m", "pytest", *args, "transport.ipynb"],
        cwd=tmp_path,
        env={**clean_env(), **readme_env, "TMPDIR": str(tmp_path / "tmp")},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "1 passed" in done.stdout
    assert list((tmp_path / "tmp").iterdir()) == []  # the sockets' folder is removed
