"""The response parser on file names and kinds: sanitize_filename, infer_kind."""

from __future__ import annotations

import pytest

from orchestrator_kit.agents.response_parser import (
    infer_kind,
    sanitize_filename,
)
from orchestrator_kit.errors import ParseError

# --- file names and kinds ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("src/app.py", "src/app.py"),
        ("../../x", "x"),
        ("/etc/passwd", "etc/passwd"),
        ("C:\\x", "x"),
        ("C:\\Users\\me\\notes.md", "Users/me/notes.md"),
        ("\\\\server\\share\\x.txt", "server/share/x.txt"),
        ("a/./b/../c.txt", "a/b/c.txt"),
        ("dir//x", "dir/x"),
        (".env", "env"),
        (".github/workflows/ci.yml", "github/workflows/ci.yml"),
        ("...hidden", "hidden"),
        ("CON", "CON_"),
        ("nul.txt", "nul_.txt"),
        ("docs/com1.md", "docs/com1_.md"),
        ("CONFIG.py", "CONFIG.py"),
        ("my file (1).md", "my_file__1_.md"),
        ("r\u00e9sum\u00e9.md", "r_sum_.md"),
        ("nul\x00byte", "nulbyte"),
        ("a/b/c/d/e/f/g.py", "a/b/c/d/g.py"),
        ("x" * 200 + ".py", "x" * 117 + ".py"),
    ],
)
def test_sanitize_filename(name: str, expected: str) -> None:
    assert sanitize_filename(name) == expected


@pytest.mark.parametrize("name", ["", "..", ".", "/", "../..", "...", "C:\\", "./../."])
def test_sanitize_filename_rejects_names_with_nothing_safe(name: str) -> None:
    with pytest.raises(ParseError, match="has no safe characters"):
        sanitize_filename(name)


@pytest.mark.parametrize(
    ("filename", "kind"),
    [
        ("a.py", "python"),
        ("a.md", "markdown"),
        ("a.json", "json"),
        ("a.yaml", "yaml"),
        ("a.yml", "yaml"),
        ("a.csv", "csv"),
        ("a.sql", "sql"),
        ("a.txt", "text"),
        ("a.toml", "toml"),
        ("a.ipynb", "notebook"),
        ("A.PY", "python"),
        ("Makefile", "text"),
        ("x.tar.gz", "text"),
        ("dir.py/file", "text"),
    ],
)
def test_infer_kind(filename: str, kind: str) -> None:
    assert infer_kind(filename) == kind
