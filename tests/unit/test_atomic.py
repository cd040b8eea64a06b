"""The one atomic-write helper (store/atomic.py): modes, failure leaves the old file, and no other module
of the package replaces files by hand."""

from __future__ import annotations

import ast
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from orchestrator_kit.store.atomic import write_bytes_atomic, write_text_atomic

PACKAGE = Path(__file__).resolve().parents[2] / "orchestrator_kit"
HELPER = PACKAGE / "store" / "atomic.py"


@pytest.fixture
def umask_022() -> Iterator[None]:
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def _mode(p: Path) -> int:
    return stat.S_IMODE(p.stat().st_mode)


def test_private_files_are_the_owners_only(tmp_path: Path, umask_022: None) -> None:
    target = tmp_path / "state.json"
    write_text_atomic(target, "{}\n", private=True)
    assert _mode(target) == 0o600
    write_text_atomic(target, "{}\n", private=True)  # replacing keeps it private
    assert _mode(target) == 0o600


def test_shared_files_follow_the_umask(tmp_path: Path, umask_022: None) -> None:
    target = tmp_path / "report.html"
    write_text_atomic(target, "<p>hi</p>")
    assert _mode(target) == 0o644


def test_text_is_written_verbatim_as_utf8(tmp_path: Path) -> None:
    target = tmp_path / "a.csv"
    write_text_atomic(target, "a,b\r\nü,2\n")
    assert target.read_bytes() == "a,b\r\nü,2\n".encode()
    write_bytes_atomic(target, b"\x89PNG")
    assert target.read_bytes() == b"\x89PNG"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".a.csv")] == []  # no temp left


def test_a_failed_rename_leaves_no_temp_file(tmp_path: Path) -> None:
    target = tmp_path / "busy"
    target.mkdir()
    (target / "keep").write_text("x")  # a non-empty folder cannot be replaced by a file
    with pytest.raises(OSError):
        write_bytes_atomic(target, b"new")
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".busy")] == []
    assert (target / "keep").read_text() == "x"


def _hand_made_replacements(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            name = f"{node.value.id}.{node.attr}"
            if name in {"os.replace", "os.rename", "tempfile.mkstemp", "tempfile.NamedTemporaryFile"}:
                found.append(f"{path.relative_to(PACKAGE)}:{node.lineno} {name}")
    return found


def test_no_module_but_the_helper_replaces_files_by_hand() -> None:
    found = [f for p in sorted(PACKAGE.rglob("*.py")) if p != HELPER for f in _hand_made_replacements(p)]
    assert not found, f"use orchestrator_kit.store.atomic instead: {found}"
    assert _hand_made_replacements(HELPER)  # the scan sees the helper's own os.replace
