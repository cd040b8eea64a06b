"""Kernels started ahead of their notebook (orchestrator_kit.warm_kernels): papermill runs the notebook on
them and shuts them down; their heavy imports are done but the notebook's namespace is empty; a pool hands
over the kernel it started earlier and starts none in vain."""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
import psutil
import pytest
from jupyter_core.utils import run_sync
from papermill.exceptions import PapermillExecutionError

from orchestrator_kit.kernels import execute_notebook
from orchestrator_kit.warm_kernels import KernelPool, shutdown, start_kernel

pytestmark = pytest.mark.slow

PROBE = "import os, sys\nprint('pandas' in sys.modules, 'pandas' in dir(), os.getcwd(), os.environ.get('OKIT_PROBE'))"


def _notebook(path: Path, *sources: str) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "language": "python", "display_name": "Python 3"}
    nb.cells = [nbformat.v4.new_code_cell(src) for src in sources]
    nbformat.write(nb, path)
    return path


def _printed(nb: nbformat.NotebookNode, index: int = 0) -> str:
    return "".join(o.get("text", "") for o in nb.cells[index].outputs).strip()


def _gone(km: object) -> bool:
    return not km.has_kernel and not Path(km.ip).parent.exists()  # type: ignore[attr-defined]


@pytest.mark.parametrize(("preload", "imported"), [((), "False"), (("pandas",), "True")])
def test_a_started_kernel_has_imported_but_the_namespace_is_empty(
    tmp_path: Path, preload: tuple[str, ...], imported: str
) -> None:
    """The first case shows the probe works: without a preload the kernel has not imported pandas."""
    km = start_kernel("python3", cwd=tmp_path, preload=preload)
    nb = execute_notebook(
        _notebook(tmp_path / "in.ipynb", PROBE), tmp_path / "out.ipynb", cwd=tmp_path, km=km
    )
    assert _printed(nb) == f"{imported} False {tmp_path.resolve()} None"
    assert _gone(km)  # papermill shut it down and its IPC folder is removed


def test_a_failing_notebook_still_shuts_the_started_kernel_down(tmp_path: Path) -> None:
    km = start_kernel("python3", cwd=tmp_path, preload=())
    with pytest.raises(PapermillExecutionError, match="boom"):
        execute_notebook(
            _notebook(tmp_path / "in.ipynb", "raise ValueError('boom')"), tmp_path / "o.ipynb", km=km
        )
    assert _gone(km)


def test_a_kernel_of_another_name_is_refused_and_shut_down(tmp_path: Path) -> None:
    km = start_kernel("python3", cwd=tmp_path, preload=())
    with pytest.raises(ValueError, match="kernel 'other'"):
        execute_notebook(
            _notebook(tmp_path / "in.ipynb", "1"), tmp_path / "o.ipynb", km=km, kernel_name="other"
        )
    assert _gone(km)


def test_the_pool_hands_over_its_spare_and_starts_none_in_vain(tmp_path: Path, monkeypatch) -> None:
    pool = KernelPool(preload=())
    monkeypatch.setenv("OKIT_PROBE", "one")
    first = pool.take("python3", tmp_path)
    assert pool._spare is not None
    spare = pool._spare[1]
    assert pool.take("python3", tmp_path) is spare  # started ahead, handed over
    assert pool._spare is not None
    stale = pool._spare[1]
    monkeypatch.setenv("OKIT_PROBE", "two")  # the spare was started with another environment: not used
    fresh = pool.take("python3", tmp_path, spare=False)
    assert fresh is not stale and _gone(stale) and pool._spare is None  # no next notebook: no spare
    nb = execute_notebook(_notebook(tmp_path / "in.ipynb", PROBE), tmp_path / "o.ipynb", km=fresh)
    assert _printed(nb).endswith(" two")
    for km in (first, spare):
        execute_notebook(tmp_path / "in.ipynb", tmp_path / "o2.ipynb", km=km)
        assert _gone(km)
    shutdown(pool.take("python3", tmp_path))  # leaves a spare ...
    last = pool._spare[1] if pool._spare else None
    assert last is not None and run_sync(last.is_alive)()
    pool.close()  # ... which close shuts down
    assert _gone(last)


def _our_kernels() -> list[psutil.Process]:
    """Kernel processes started by this interpreter's pre-started kernels (other worktrees use other Pythons)."""
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        cmd = proc.info["cmdline"] or []
        if cmd[:3] == [sys.executable, "-m", "orchestrator_kit.kernel_launcher"]:
            found.append(proc)
    return found


def test_a_sweep_renders_on_started_kernels_and_leaves_none_running(tmp_path: Path, monkeypatch) -> None:
    """Render workers take their kernels from a pool; the last render starts no spare, and a worker's
    spare (if any) is shut down when the sweep ends: its IPC folder is removed (a kernel that only died
    with its worker would leave it)."""
    from orchestrator_kit import run_sweep

    ipc = tmp_path / "tmp"
    ipc.mkdir()
    monkeypatch.setenv("TMPDIR", str(ipc))  # the workers' (and so their kernels') temporary folders
    before = {p.pid for p in _our_kernels()}
    grid = {
        "mode": "simulated",
        "requests": ["A CLI that converts CSV files to JSON"],
        "models": ["claude-haiku-5-5"],
        "settings": [{"agents": ["architect"], "write_outputs": False}],
        "repeats": 3,
        "render_workers": 1,
    }
    result = run_sweep(grid, tmp_path / "sweep", render=True, progress=False)
    assert len(result.ok) == 3
    rendered = [
        nbformat.read(p, as_version=4) for p in sorted((tmp_path / "sweep" / "notebooks").glob("*.ipynb"))
    ]
    assert len(rendered) == 3 and all(not nb.metadata.papermill.exception for nb in rendered)
    assert {p.pid for p in _our_kernels()} <= before
    assert not list(ipc.glob("okit-kernel-*"))


def test_the_output_notebook_is_written_at_the_end_or_when_a_cell_fails(tmp_path: Path) -> None:
    """Not after every cell (each save re-encodes the whole notebook): a cell does not find it yet."""
    out = tmp_path / "o.ipynb"
    probe = f"import os\nprint(os.path.exists({str(out)!r}))"
    nb = execute_notebook(_notebook(tmp_path / "in.ipynb", probe), out, cwd=tmp_path)
    assert _printed(nb) == "False" and _printed(nbformat.read(out, as_version=4)) == "False"
    failing = _notebook(tmp_path / "bad.ipynb", probe, "raise ValueError('boom')", "print('never')")
    with pytest.raises(PapermillExecutionError):
        execute_notebook(failing, out, cwd=tmp_path)
    saved = nbformat.read(out, as_version=4)
    assert saved.metadata.papermill.exception and "boom" in str(saved.cells)
