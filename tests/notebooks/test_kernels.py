"""Kernels started by our code (orchestrator_kit.kernels): IPC transport, no interrupt at shutdown, and so no
kernel log line that reads like a failure in the output of the batch and the main job."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest
from jupyter_client.manager import AsyncKernelManager
from nbhelpers import REPO
from subprocesses import clean_env

from orchestrator_kit.kernels import QuietKernelManager

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
