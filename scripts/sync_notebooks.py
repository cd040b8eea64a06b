"""Write each notebooks/NAME.ipynb from its paired percent-format notebooks/sources/NAME.py, or check that they agree.

    python scripts/sync_notebooks.py            # after editing a .py: rewrite its .ipynb, refresh stored outputs
    python scripts/sync_notebooks.py --check    # exit 1 naming every pair that disagrees (a test runs this)

The ``.py`` files are the source: linted by ruff and reviewed like code. They live in ``notebooks/sources/``,
not next to the notebooks: ``notebooks/`` is the package ``orchestrator_kit.notebooks`` (its data: the
``.ipynb`` and ``grid.yaml``), and a ``.py`` there would ship in the wheel as an importable module.
``notebooks/jupytext.toml`` pairs them (``ipynb,sources//py:percent``), so JupyterLab with jupytext installed
saves both files of a pair; an edit made in Jupyter without jupytext changes only the ``.ipynb`` and
``--check`` names it.

Stored outputs: nbval compares the outputs saved in the ``.ipynb``. They are stored exactly for the code
cells without the ``parameters`` or ``nbval-ignore-output`` tag (deterministic text), by executing the
notebook in a scratch folder; every other code cell is saved without outputs.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import Any

import jupytext
import nbformat

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
SOURCES = NOTEBOOKS / "sources"
UNCHECKED_TAGS = {"parameters", "nbval-ignore-output"}
METADATA = {
    "kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"},
    "language_info": {"name": "python"},
}


def pairs(sources: Path = SOURCES) -> list[tuple[Path, Path]]:
    """(``.py``, ``.ipynb``) for every percent-format script in ``sources``: its notebook is in the folder
    above (the pairing of ``notebooks/jupytext.toml``)."""
    return [
        (py, py.parent.parent / f"{py.stem}.ipynb")
        for py in sorted(sources.glob("*.py"))
        if py.read_text(encoding="utf-8").startswith("# %%")
    ]


def checked(cell: Any) -> bool:
    """True for a code cell whose outputs are stored for nbval to compare."""
    return cell.cell_type == "code" and not UNCHECKED_TAGS & set(cell.metadata.get("tags", []))


def _cells(nb: Any) -> list[tuple[str, str, list[str]]]:
    return [(c.cell_type, c.source, list(c.metadata.get("tags", []))) for c in nb.cells]


def disagreements(py: Path, ipynb: Path) -> list[str]:
    """What differs between a pair (empty when they agree): cells, sources, tags, stored outputs."""
    if not ipynb.is_file():
        return [f"{ipynb.name} is missing: run python scripts/sync_notebooks.py"]
    source = jupytext.read(py)
    saved = nbformat.read(ipynb, as_version=4)
    problems = []
    want, have = _cells(source), _cells(saved)
    if len(want) != len(have):
        problems.append(f"{py.name} has {len(want)} cells, {ipynb.name} has {len(have)}")
    for i, (a, b) in enumerate(zip(want, have, strict=False)):
        if a != b:
            problems.append(f"cell {i} differs ({a[0]}, starting {a[1][:40]!r} in {py.name})")
    for i, cell in enumerate(saved.cells):
        if cell.cell_type != "code":
            continue
        if checked(cell) and not cell.execution_count:
            problems.append(f"{ipynb.name} cell {i}: its outputs are not stored (nbval would skip it)")
        if not checked(cell) and (cell.outputs or cell.execution_count):
            problems.append(f"{ipynb.name} cell {i}: stored outputs on a cell tagged {UNCHECKED_TAGS}")
    fix = f"edit {py.parent.name}/{py.name}, then sync"
    return [f"{ipynb.relative_to(ipynb.parents[1])}: {p}; fix: {fix}" for p in problems]


def build(py: Path, folder: Path = NOTEBOOKS) -> nbformat.NotebookNode:
    """The notebook of ``py`` with deterministic cell ids and stored outputs of its checked cells, executed
    with the data files (``*.yaml``) of ``folder``, where the notebook lives."""
    nb = jupytext.read(py)
    nb.metadata = dict(METADATA)
    for i, cell in enumerate(nb.cells):
        cell.id = f"{py.stem}-{i:02d}"
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    if any(checked(c) for c in nb.cells):
        _store_checked_outputs(nb, folder)
    nbformat.validate(nb)
    return nb


def _store_checked_outputs(nb: nbformat.NotebookNode, folder: Path) -> None:
    from nbclient import NotebookClient

    from orchestrator_kit.kernels import kernel_options

    with tempfile.TemporaryDirectory() as tmp:
        for extra in folder.glob("*.yaml"):
            (Path(tmp) / extra.name).write_bytes(extra.read_bytes())
        run = nbformat.from_dict(nb)
        NotebookClient(
            run,
            timeout=600,
            kernel_name="python3",
            resources={"metadata": {"path": tmp}},
            store_widget_state=False,
            **kernel_options(),
        ).execute()
    count = 0
    for cell, done in zip(nb.cells, run.cells, strict=True):
        if checked(cell):
            count += 1
            cell.execution_count = count
            cell.outputs = [o for o in done.outputs if o.get("name") != "stderr"]
            for o in cell.outputs:
                if "execution_count" in o:
                    o["execution_count"] = count


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only check that every pair agrees")
    parser.add_argument("names", nargs="*", help="notebook names (default: all), e.g. workflow")
    args = parser.parse_args(argv)
    selected = [p for p in pairs() if not args.names or p[0].stem in args.names]
    if args.check:
        problems = [p for py, ipynb in selected for p in disagreements(py, ipynb)]
        print(*problems, sep="\n", file=sys.stderr)
        return 1 if problems else 0
    for py, ipynb in selected:
        nbformat.write(build(py, ipynb.parent), ipynb)
        print(f"wrote {ipynb.relative_to(ROOT)} from {py.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
