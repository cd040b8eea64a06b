"""The notebooks as code: each notebooks/NAME.ipynb is written from its percent-format sources/NAME.py by
scripts/sync_notebooks.py; jupytext pairs them, the pairs agree, an edit made on one side only is caught, the
notebooks read as documents, and the README's nbval run leaves nothing in the source tree."""

from __future__ import annotations

import importlib.util
import re
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import nbformat
import pytest
from nbhelpers import NOTEBOOKS, REPO, readme_nbval_command
from subprocesses import clean_env

from orchestrator_kit.notebook_params import OUTPUT_ROOT_VAR, output_path

NAMES = ("workflow", "cost_report", "batch", "interactive")
SOURCES = NOTEBOOKS / "sources"


def _sync_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("sync_notebooks", REPO / "scripts" / "sync_notebooks.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


sync = _sync_script()


def test_every_notebook_has_its_percent_script() -> None:
    assert sync.pairs() == [(SOURCES / f"{n}.py", NOTEBOOKS / f"{n}.ipynb") for n in sorted(NAMES)]
    assert sorted(p.stem for p in NOTEBOOKS.glob("*.ipynb")) == sorted(NAMES)
    assert not (REPO / "scripts" / "build_notebooks.py").exists()


def test_the_package_folder_holds_no_module_but_its_init() -> None:
    """notebooks/ is the package orchestrator_kit.notebooks: a .py there would be built into the wheel as an
    importable module (a notebook's code run on import). The sources live in notebooks/sources/."""
    assert sorted(p.name for p in NOTEBOOKS.glob("*.py")) == ["__init__.py"]


@pytest.mark.parametrize("name", NAMES)
def test_jupytext_pairs_each_notebook_with_its_source(name: str) -> None:
    """The pairing JupyterLab saves by (notebooks/jupytext.toml, found as jupytext finds it), both ways."""
    from jupytext.config import find_jupytext_configuration_file, load_jupytext_configuration_file
    from jupytext.paired_paths import paired_paths

    found = find_jupytext_configuration_file(str(SOURCES))
    assert found == str(NOTEBOOKS / "jupytext.toml")
    config = load_jupytext_configuration_file(found)
    pair = [str(NOTEBOOKS / f"{name}.ipynb"), str(SOURCES / f"{name}.py")]
    for path in pair:
        formats = config.default_formats(path)
        fmt = "ipynb" if path.endswith(".ipynb") else "sources//py:percent"
        assert [p for p, _ in paired_paths(path, fmt, formats)] == pair


@pytest.mark.parametrize("name", NAMES)
def test_each_pair_agrees(name: str) -> None:
    assert sync.disagreements(SOURCES / f"{name}.py", NOTEBOOKS / f"{name}.ipynb") == []


def test_the_check_command_passes() -> None:
    assert sync.main(["--check"]) == 0


def _copy_pair(name: str, tmp_path: Path) -> tuple[Path, Path]:
    py, ipynb = tmp_path / f"{name}.py", tmp_path / f"{name}.ipynb"
    shutil.copy(SOURCES / py.name, py)
    shutil.copy(NOTEBOOKS / ipynb.name, ipynb)
    return py, ipynb


def test_an_edit_made_in_jupyter_is_caught(tmp_path: Path) -> None:
    """Jupyter without jupytext saves only the .ipynb: the check names the cell that no longer matches."""
    py, ipynb = _copy_pair("workflow", tmp_path)
    assert sync.disagreements(py, ipynb) == []
    nb = nbformat.read(ipynb, as_version=4)
    index = next(i for i, c in enumerate(nb.cells) if c.cell_type == "code" and "params.run()" in c.source)
    nb.cells[index].source = "result = params.run()  # edited in Jupyter"
    nbformat.write(nb, ipynb)
    problems = sync.disagreements(py, ipynb)
    assert len(problems) == 1 and f"cell {index} differs" in problems[0], problems


def test_an_unsynced_script_edit_and_a_lost_tag_are_caught(tmp_path: Path) -> None:
    py, ipynb = _copy_pair("batch", tmp_path)
    text = py.read_text(encoding="utf-8")
    py.write_text(text.replace('# %% tags=["parameters"]', "# %%", 1), encoding="utf-8")
    assert any("differs" in p for p in sync.disagreements(py, ipynb))
    py.write_text(text + '\n# %%\nprint("new")\n', encoding="utf-8")
    assert any("cells" in p for p in sync.disagreements(py, ipynb))


def test_a_checked_cell_without_stored_outputs_is_caught(tmp_path: Path) -> None:
    """nbval skips a cell saved without an execution count: a cell it should compare must have one."""
    py, ipynb = _copy_pair("workflow", tmp_path)
    nb = nbformat.read(ipynb, as_version=4)
    index = next(i for i, c in enumerate(nb.cells) if c.cell_type == "code" and c.execution_count)
    nb.cells[index].execution_count = None
    nbformat.write(nb, ipynb)
    assert any(f"cell {index}: its outputs are not stored" in p for p in sync.disagreements(py, ipynb))


@pytest.mark.parametrize("name", NAMES)
def test_notebooks_read_as_documents(name: str) -> None:
    """Each section says what it does; how to test belongs in the README, not in the notebooks."""
    nb = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    markdown = [c.source for c in nb.cells if c.cell_type == "markdown"]
    for source in markdown:
        lines = [line for line in source.splitlines() if line.strip()]
        assert len(lines) > 1 or not lines[0].startswith("#"), f"{name}: a heading alone: {source!r}"
        assert not re.search(r"nbval|pytest", source), f"{name}: testing instructions in the notebook"
    assert nb.cells[0].cell_type == "markdown"
    # The parameters cell keeps papermill's tag and one parameter per line (ruff format is off there).
    params = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(params) == (0 if name == "interactive" else 1)


def test_output_path_uses_the_output_root_only_for_relative_paths(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    assert output_path("runs") == Path("runs")
    monkeypatch.setenv(OUTPUT_ROOT_VAR, str(tmp_path))
    assert output_path("out/batch") == tmp_path / "out" / "batch"
    assert output_path(tmp_path / "elsewhere") == tmp_path / "elsewhere"


@pytest.mark.slow
def test_the_readme_nbval_run_leaves_nothing_in_the_source_tree(tmp_path: Path) -> None:
    """The README's nbval command over notebooks/*.ipynb (run from the checkout, as the README does) writes
    its runs under a temporary output root, removed at the end: notebooks/ gains no runs/ nor out/."""
    readme_env, args = readme_nbval_command()
    before = sorted(p.name for p in NOTEBOOKS.iterdir())
    (tmp_path / "tmp").mkdir()
    env = clean_env()
    env.pop(OUTPUT_ROOT_VAR, None)
    done = subprocess.run(
        [sys.executable, "-m", "pytest", *args, *[f"notebooks/{n}.ipynb" for n in NAMES]],
        cwd=REPO,
        env={**env, **readme_env, "TMPDIR": str(tmp_path / "tmp")},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert sorted(p.name for p in NOTEBOOKS.iterdir()) == before
    assert not (NOTEBOOKS / "runs").exists() and not (NOTEBOOKS / "out").exists()
    assert list((tmp_path / "tmp").iterdir()) == []  # the temporary output root is gone too
