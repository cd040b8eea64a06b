"""The layer order of /work/shared/DESIGN.md ("imports point down only"), checked over the AST of every
module of the package, and the number of import cycles (0).

Only imports that run count: those under ``if TYPE_CHECKING:`` are for the reader and mypy and import
nothing at run time (records.py uses one to type its gateway Protocol). Imports inside functions (lazy
imports) do run, so they count.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "orchestrator_kit"

# Bottom first. A module may import its own tier or a lower one, never a higher one. The first part of a
# module's name below the package decides its tier ("" is the package's own __init__).
LAYERS: list[set[str]] = [
    # records and helpers: import no tier (kernels: papermill's kernels; warm_kernels: started ahead)
    {"", "records", "money", "errors", "_lazy", "_sync", "kernels", "warm_kernels", "kernel_launcher"},
    {"store"},  # run folders
    {"llm"},  # the one backend seam
    {"agents"},
    {"engine"},
    {"evaluate"},
    {"sweep", "notebook_params", "api"},  # api: run_workflow plus evaluate=
    {"report", "batch"},  # pandas tables; batch grids tabulate their cells with pandas
    {"ui"},  # ipywidgets
    {"cli", "__main__", "server", "testing"},  # entry points and the test kit
]
TIER = {part: i for i, parts in enumerate(LAYERS) for part in parts}
IMPORT_NOTHING_OF_OURS = {"orchestrator_kit.records", "orchestrator_kit.money"}
TIER_OF = {"ipywidgets": TIER["ui"], "pandas": TIER["report"], "matplotlib": TIER["report"]}
# Known exceptions, each with its reason; the test fails when one is no longer needed, so the list shrinks.
HEAVY_EXCEPTIONS = {
    ("orchestrator_kit.sweep.result", "pandas"): "SweepResult.table(), a lazy import; belongs in report/",
}


def _module_name(path: Path) -> str:
    parts = ["orchestrator_kit", *path.relative_to(PACKAGE).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _is_package(name: str) -> bool:
    return MODULES[name].name == "__init__.py"


def _tier(name: str) -> int:
    first = name.split(".")[1] if "." in name else ""
    if first not in TIER:
        raise AssertionError(f"{name} is in no layer: add {first!r} to LAYERS in {__file__}")
    return TIER[first]


def _runtime_nodes(tree: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    """Import statements that run: everything but the bodies of ``if TYPE_CHECKING:``."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            yield from (n for child in node.orelse for n in _runtime_nodes(ast.Module([child], [])))
            continue
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        yield from _runtime_nodes(node)


def _imports(name: str) -> set[str]:
    """What ``name`` imports at run time: our modules by full name, other packages by top name."""
    tree = ast.parse(MODULES[name].read_text(encoding="utf-8"))
    base = name if _is_package(name) else name.rpartition(".")[0]
    out: set[str] = set()
    for node in _runtime_nodes(tree):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
            continue
        if node.level:
            anchor = base.rsplit(".", node.level - 1)[0] if node.level > 1 else base
            target = f"{anchor}.{node.module}" if node.module else anchor
        else:
            target = node.module or ""
        for alias in node.names:
            sub = f"{target}.{alias.name}"
            out.add(sub if sub in MODULES else target)  # `from pkg import module` imports the module
    return {n if n.startswith("orchestrator_kit") else n.split(".")[0] for n in out}


GRAPH = {name: {i for i in _imports(name) if i in MODULES} for name in MODULES}


def test_the_package_has_the_modules_this_test_reads() -> None:
    assert {
        "orchestrator_kit.records",
        "orchestrator_kit.engine.engine",
        "orchestrator_kit.llm.backend",
    } <= set(MODULES)
    assert "orchestrator_kit.llm.types" in GRAPH["orchestrator_kit.llm.backend"]  # the reader sees imports


@pytest.mark.parametrize("name", sorted(MODULES))
def test_imports_point_down_only(name: str) -> None:
    mine = _tier(name)
    upward = sorted(i for i in GRAPH[name] if _tier(i) > mine)
    assert not upward, f"{name} (layer {mine}) imports a higher layer: {upward}"


@pytest.mark.parametrize("name", sorted(IMPORT_NOTHING_OF_OURS))
def test_the_bottom_modules_import_nothing_of_ours(name: str) -> None:
    assert not GRAPH[name], f"{name} must import nothing of orchestrator_kit, imports {sorted(GRAPH[name])}"


@pytest.mark.parametrize("library", sorted(TIER_OF))
def test_heavy_libraries_only_at_their_layer_and_above(library: str) -> None:
    below = {n for n in MODULES if library in _imports(n) and _tier(n) < TIER_OF[library]}
    excused = {n for n, lib in HEAVY_EXCEPTIONS if lib == library}
    assert not below - excused, f"{library} imported below its layer by {sorted(below - excused)}"
    assert excused <= below, f"no longer needed in HEAVY_EXCEPTIONS: {sorted(excused - below)}"


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (or a module importing itself)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(v: str) -> None:  # Tarjan's algorithm
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1 or v in graph[v]:
                cycles.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return cycles


def test_the_cycle_counter_finds_a_cycle() -> None:
    assert import_cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert import_cycles({"a": {"b"}, "b": set()}) == []


def test_there_are_no_import_cycles() -> None:
    assert import_cycles(GRAPH) == []
