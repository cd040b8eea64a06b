"""store.artifact_paths: the one authority on where an artifact lands, and the run folder agreeing with it.

The property tests feed arbitrary names (and lists of names) to the cleaner and the namer and check
that the run folder accepts every result, that it stays inside the folder, and that distinct inputs
never overwrite one another on disk.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from orchestrator_kit.errors import ConfigError
from orchestrator_kit.store.artifact_paths import (
    _FIXED_POINT,
    MAX_DEPTH,
    MAX_SEGMENT,
    ArtifactNamer,
    _made_safe,
    artifact_relpath,
    check_relpath,
    is_reserved_name,
)
from orchestrator_kit.store.run_folder import RunFolder

TRICKY = [
    "",
    ".",
    "..",
    "...",
    "CON",
    "con.py",
    "Con.tar.gz",
    "nul",
    "NUL.txt",
    "Aux",
    "com1",
    "COM0.md",
    "prn",
    "lpt9",
    "LPT1.log",
    "__init__.py",
    "_helpers.py",
    "__main__.py",
    "C:",
    "c:",
    "\\\\?\\C:",
    "\\\\server",
    "~",
    "$HOME",
    ".env",
    "a.",
    "a..",
    " x ",
    "x" * 130 + ".py",
    "y" * 200,
    "z." + "e" * 30,
    "\x00",
    "a\x1fb",
    "é",
    "名前.md",
    "a:b",
    "a*b?c",
    "-",
    "_",
]
SEPARATORS = ["/", "\\", "//", "\\\\", "/./", "/../"]

segments = st.one_of(st.sampled_from(TRICKY), st.text(max_size=24), st.from_regex(r"[A-Za-z0-9._-]{1,12}"))
names = st.one_of(
    st.text(max_size=80),
    st.builds(
        lambda prefix, parts, seps: prefix + "".join(p + s for p, s in zip(parts, seps, strict=False)),
        st.sampled_from(["", "/", "\\", "C:\\", "c:/", "\\\\server\\share\\", "\\\\?\\C:\\", "../", "./"]),
        st.lists(segments, min_size=1, max_size=8),
        st.lists(st.sampled_from(SEPARATORS), min_size=8, max_size=8),
    ),
)
TRIED: dict[str, int] = {"names": 0, "lists": 0, "names_in_lists": 0}


def _landing(name: str) -> str | None:
    try:
        return artifact_relpath(name)
    except ConfigError:
        return None


@settings(max_examples=1000, deadline=None)
@given(names)
def test_every_cleaned_name_is_accepted_by_the_folder_and_stays_inside(name: str) -> None:
    TRIED["names"] += 1
    clean = _landing(name)
    if clean is None:
        event("no safe characters: refused")
        with pytest.raises(ConfigError):
            check_relpath(name)
        return
    event("changed" if clean != name else "unchanged")
    assert artifact_relpath(clean) == clean  # a fixed point: the folder's check accepts it
    assert check_relpath(clean) == clean
    parts = clean.split("/")
    assert 1 <= len(parts) <= MAX_DEPTH
    for part in parts:
        assert part not in ("", ".", "..") and not part.startswith(".") and not part.endswith(".")
        assert len(part) <= MAX_SEGMENT and part.isascii() and part.isprintable()
        assert not is_reserved_name(part), part
    folder = RunFolder(Path("/nonexistent-run"))  # artifact_path only computes; nothing is written
    target = folder.artifact_path("developer", clean)
    assert target.is_relative_to(Path("/nonexistent-run/artifacts/developer").resolve())


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(names, min_size=1, max_size=12))
def test_distinct_inputs_never_overwrite_one_another(batch: list[str]) -> None:
    TRIED["lists"] += 1
    TRIED["names_in_lists"] += len(batch)
    namer = ArtifactNamer()
    placed = [(n, namer.place(n)) for n in batch if _landing(n) is not None]
    paths = [p for _, p in placed]
    assert len({p.casefold() for p in paths}) == len(paths)  # distinct even on case-folding disks
    with tempfile.TemporaryDirectory() as tmp:
        folder = RunFolder.create(tmp, {"test": True})
        for i, (_, path) in enumerate(placed):
            assert folder.write_artifact("developer", path, f"content {i}") == f"artifacts/developer/{path}"
        for i, (_, path) in enumerate(placed):
            assert folder.artifact_path("developer", path).read_text() == f"content {i}"
        assert len(folder.artifact_files()) == len(placed)


def test_property_tests_report_how_many_names_they_tried(capsys: pytest.CaptureFixture[str]) -> None:
    """Runs after the two property tests in this module (pytest keeps file order)."""
    if TRIED["names"]:
        with capsys.disabled():
            print(
                f"\nartifact name property tests: {TRIED['names']} single names, {TRIED['lists']} lists "
                f"({TRIED['names_in_lists']} names) tried"
            )
        assert TRIED["names"] >= 1000 and TRIED["lists"] >= 200


# -- the names real models write ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("pkg/__init__.py", "pkg/__init__.py"),
        ("_helpers.py", "_helpers.py"),
        ("src/app/main.py", "src/app/main.py"),
        ("__main__.py", "__main__.py"),
        ("con.py", "con_.py"),
        ("CON", "CON_"),
        ("Con.tar.gz", "Con_.tar.gz"),
        ("nul", "nul_"),
        ("Aux.md", "Aux_.md"),
        ("com1", "com1_"),
        ("COM0.txt", "COM0_.txt"),
        ("prn.py", "prn_.py"),
        ("lpt9", "lpt9_"),
        ("docs/com1/readme.md", "docs/com1_/readme.md"),
        ("CONFIG.py", "CONFIG.py"),
        ("console.py", "console.py"),
        ("../../x", "x"),
        ("/etc/passwd", "etc/passwd"),
        ("C:\\x", "x"),
        ("c:/Users/me/notes.md", "Users/me/notes.md"),
        ("\\\\server\\share\\x.txt", "server/share/x.txt"),
        ("\\\\?\\C:\\temp\\x.txt", "temp/x.txt"),
        ("a/./b/../c.txt", "a/b/c.txt"),
        ("dir//x", "dir/x"),
        (".env", "env"),
        (".github/workflows/ci.yml", "github/workflows/ci.yml"),
        ("notes.", "notes"),
        (" app.py ", "app.py"),  # spaces around a name: as models write them, as Windows drops them
        ("app.py. ", "app.py"),
        (" src / app.py", "src/app.py"),
        ("\u00a0docs\u3000/guide.md\t", "docs/guide.md"),
        ("my file .md", "my_file_.md"),
        ("my file (1).md", "my_file__1_.md"),
        ("tab\there.md", "tabhere.md"),
        ("nul\x00byte", "nulbyte"),
        ("a/b/c/d/e/f/g.py", "a/b/c/d/g.py"),
        ("x" * 200 + ".py", "x" * 117 + ".py"),
    ],
)
def test_artifact_relpath(name: str, expected: str) -> None:
    assert artifact_relpath(name) == expected
    assert check_relpath(expected) == expected


@pytest.mark.parametrize("name", ["", "..", ".", "/", "../..", "...", "C:\\", "./../.", "\x00\x01"])
def test_names_with_nothing_safe_are_refused(name: str) -> None:
    with pytest.raises(ConfigError, match="has no safe characters"):
        artifact_relpath(name)


@pytest.mark.parametrize("name", ["CON", "con", "Con.py", "nul.tar.gz", "COM9", "lpt0.md", "AUX "])
def test_reserved_names_in_any_case(name: str) -> None:
    assert is_reserved_name(name)


@pytest.mark.parametrize("name", ["CONFIG", "console.py", "com10", "lpt", "nulls.md", "_con"])
def test_names_that_only_look_reserved(name: str) -> None:
    assert not is_reserved_name(name)


@pytest.mark.parametrize(
    ("names", "expected"),
    [
        (["a.py", "a.py", "a.py"], ["a.py", "a-2.py", "a-3.py"]),
        (["README.md", "readme.md"], ["README.md", "readme-2.md"]),
        (["x.py", "../x.py"], ["x.py", "x-2.py"]),
        (["a b.md", "a_b.md"], ["a_b.md", "a_b-2.md"]),
        (["con.py", "con_.py"], ["con_.py", "con_-2.py"]),
        (["a", "a/b.py"], ["a", "a-2/b.py"]),  # a file where a folder is needed
        (["a/b.py", "a"], ["a/b.py", "a-2"]),  # a folder where a file is wanted
        (["a/b.py", "A/c.py"], ["a/b.py", "A/c.py"]),  # one folder, two files: no rename needed
        (["a.py", "a-2.py", "a.py"], ["a.py", "a-2.py", "a-3.py"]),
        (["x" * 120, "x" * 120], ["x" * 120, "x" * 118 + "-2"]),
    ],
)
def test_namer_disambiguates_deterministically(names: list[str], expected: list[str]) -> None:
    namer = ArtifactNamer()
    assert [namer.place(n) for n in names] == expected
    again = ArtifactNamer()
    assert [again.place(n) for n in names] == expected


@pytest.mark.parametrize(
    "name", ["_CON", "pkg/__init__.py", "con_.py", "src/app/main.py", "_helpers.py", "a-2.py"]
)
def test_the_folder_writes_cleaned_names(tmp_path: Path, name: str) -> None:
    folder = RunFolder.create(tmp_path, {"test": True})
    rel = folder.write_artifact("developer", name, "ok")
    assert (folder.path / rel).read_text() == "ok"


@pytest.mark.parametrize("name", ["CON", "con.py", "nul", "Aux.md", "lpt9", "a/CON/b.py", "x."])
def test_the_folder_refuses_uncleaned_names_and_says_what_they_would_become(
    tmp_path: Path, name: str
) -> None:
    folder = RunFolder.create(tmp_path, {"test": True})
    with pytest.raises(ConfigError, match=r"made safe it would be"):
        folder.write_artifact("developer", name, "pwned")


# -- the fast path: a name already safe is returned as it is, exactly when the rewrites would ------

_safe_segments = st.one_of(
    st.text(st.sampled_from("Aa0_-."), min_size=1, max_size=4),
    st.text(st.sampled_from("ab.-_"), min_size=MAX_SEGMENT - 2, max_size=MAX_SEGMENT + 2),
    st.sampled_from(["CON", "con.py", "nul.txt", "LPT9", "COM10", "lpt", ".x", "x.", "a..b", "__init__.py"]),
    st.sampled_from(
        ["cOm1", "Aux.tar.gz", "prn-", "NULL", "nul_", "coms", "ſon", "CO\u212a", "lpt0.", "con"]
    ),
)
_near_safe = st.lists(_safe_segments, min_size=0, max_size=MAX_DEPTH + 1).map("/".join)


@settings(max_examples=500, deadline=None)
@given(st.one_of(_near_safe, st.text(max_size=30), st.from_regex(r"[A-Za-z0-9._/\\-]{0,40}", fullmatch=True)))
def test_the_fast_path_agrees_with_the_rewrites(name: str) -> None:
    try:
        slow: str | None = _made_safe(name)
    except ConfigError:
        slow = None
    if slow is None:
        with pytest.raises(ConfigError):
            artifact_relpath(name)
    else:
        assert artifact_relpath(name) == slow
    event("fast path" if _FIXED_POINT.fullmatch(name) else "rewritten")
