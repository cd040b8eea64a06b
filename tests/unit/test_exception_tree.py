"""The exception tree is complete: every exception class defined anywhere in the package derives from
``OrchestratorError`` and every warning from ``OrchestratorWarning``.

Every module file is read (AST: each class at any depth, also inside functions) and, when it defines a
class, imported so that each class's bases are resolved by Python, not guessed from names.
"""

from __future__ import annotations

import ast
import builtins
import importlib
from pathlib import Path

import pytest

from orchestrator_kit.errors import OrchestratorError, OrchestratorWarning

PACKAGE = Path(__file__).resolve().parents[2] / "orchestrator_kit"


def _module_name(path: Path) -> str:
    parts = ["orchestrator_kit", *path.relative_to(PACKAGE).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


FILES = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _resolve(expr: ast.expr, namespace: dict[str, object]) -> object:
    """The object a base-class expression names (``Name`` or ``a.b.C``) in ``namespace``."""
    if isinstance(expr, ast.Name):
        return namespace[expr.id] if expr.id in namespace else getattr(builtins, expr.id, None)
    if isinstance(expr, ast.Attribute):
        return getattr(_resolve(expr.value, namespace), expr.attr, None)
    return None  # Generic[T] and the like: not an exception base


def outside_the_tree(tree: ast.AST, namespace: dict[str, object], where: str) -> list[str]:
    """Classes in ``tree`` with an exception base while deriving from neither base of the tree.

    A class defined inside a function is judged by its bases (resolved in the module's namespace, or
    among the classes already seen in the module); a base that cannot be resolved is reported too, so
    nothing slips through unseen."""
    found: list[str] = []
    local: dict[str, object] = dict(namespace)
    for node in ast.walk(tree):
        if not isinstance(node, ast.ClassDef):
            continue
        bases = [_resolve(b, local) for b in node.bases]
        unresolved = [ast.unparse(b) for b, r in zip(node.bases, bases, strict=True) if r is None]
        exc_bases = [b for b in bases if isinstance(b, type) and issubclass(b, BaseException)]
        if (
            unresolved
            and not exc_bases
            and any(x.endswith(("Error", "Exception", "Warning")) for x in unresolved)
        ):
            found.append(f"{where}:{node.lineno} {node.name}: base {unresolved} cannot be resolved")
            continue
        if not exc_bases:
            continue
        defined = namespace.get(node.name)
        if isinstance(defined, type) and defined.__module__ == namespace.get("__name__"):
            candidates: list[type] = [defined]
        else:  # nested in a function: judge by the bases
            candidates = exc_bases
        if not any(issubclass(c, (OrchestratorError, OrchestratorWarning)) for c in candidates):
            found.append(
                f"{where}:{node.lineno} {node.name}({', '.join(ast.unparse(b) for b in node.bases)})"
            )
    return found


def test_every_exception_class_of_the_package_is_in_the_tree() -> None:
    found: list[str] = []
    checked = 0
    for name, path in FILES.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        if not any(isinstance(n, ast.ClassDef) for n in ast.walk(tree)):
            continue  # nothing to check (e.g. __main__, which runs the CLI when imported)
        module = importlib.import_module(name)
        found += outside_the_tree(tree, vars(module), str(path.relative_to(PACKAGE)))
        checked += 1
    assert checked > 50  # the walk reached the whole package
    assert not found, (
        "exception classes outside the tree: derive them from orchestrator_kit.errors.OrchestratorError "
        f"(warnings from OrchestratorWarning) and add them to the diagram in errors.py: {found}"
    )


SAMPLE = """
class Fine(OrchestratorError):
    pass

class Loose(ValueError):
    pass

class Noisy(UserWarning):
    pass

class NotAnError:
    pass

def f():
    class Hidden(RuntimeError):
        pass
    class Nested(Fine):
        pass
"""


def test_the_scan_finds_classes_outside_the_tree_at_any_depth() -> None:
    namespace: dict[str, object] = {"__name__": "sample", "OrchestratorError": OrchestratorError}
    exec(compile(SAMPLE, "sample", "exec"), namespace)
    found = outside_the_tree(ast.parse(SAMPLE), namespace, "sample")
    assert [f.split()[1].split("(")[0] for f in found] == ["Loose", "Noisy", "Hidden"]


@pytest.mark.parametrize(
    ("old_home", "name"),
    [
        ("orchestrator_kit.server.failures", "Conflict"),
        ("orchestrator_kit.server.failures", "DamagedRun"),
        ("orchestrator_kit.server.failures", "TooManyQueued"),
        ("orchestrator_kit.server.secrets", "UnreadableSecret"),
        ("orchestrator_kit.llm.retry", "IncompleteResponse"),
    ],
)
def test_moved_exceptions_keep_their_import_paths(old_home: str, name: str) -> None:
    from orchestrator_kit import errors

    assert getattr(importlib.import_module(old_home), name) is getattr(errors, name)
