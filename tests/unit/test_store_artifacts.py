"""Run folders: artifact paths (unsafe names and agent folders refused, symbolic links leading out of the
run folder refused, folders made once and again when removed) and artifact bytes."""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

import pytest

from orchestrator_kit.errors import ConfigError
from orchestrator_kit.store.run_folder import RunFolder


def _tree(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*")}


# -- artifact paths --------------------------------------------------------------------------------

UNSAFE_NAMES = [
    "../../x",
    "../x.md",
    "/etc/passwd",
    "a/../../b",
    "a/./b",
    "",
    ".",
    "..",
    "./x",
    "a//b",
    "..\\..\\x",
    "C:\\evil.txt",
    ".hidden",
    "a/.hidden",
    "x" * 121,
    "dir/",
    "with space.md",
    "nul\x00.md",
]


@pytest.mark.parametrize("name", UNSAFE_NAMES)
def test_unsafe_artifact_names_are_refused_and_nothing_is_written(
    tmp_path: Path, folder: RunFolder, name: str
) -> None:
    before = _tree(tmp_path)
    with pytest.raises(ConfigError):
        folder.write_artifact("developer", name, "pwned")
    assert _tree(tmp_path) == before
    assert "pwned" not in Path("/etc/passwd").read_text(errors="replace")


@pytest.mark.parametrize("agent", ["..", ".", "", "../runs", "a/b"])
def test_unsafe_agent_folders_are_refused(tmp_path: Path, folder: RunFolder, agent: str) -> None:
    before = _tree(tmp_path)
    with pytest.raises(ConfigError):
        folder.write_artifact(agent, "x.md", "pwned")
    assert _tree(tmp_path) == before


def test_unsafe_agent_folders_are_refused_after_safe_ones(tmp_path: Path, folder: RunFolder) -> None:
    folder.write_artifact("qa", "x.md", "ok")
    before = _tree(tmp_path)
    for agent in ["", ".", "..", "qa/..", "../qa"]:
        with pytest.raises(ConfigError):
            folder.write_artifact(agent, "x.md", "pwned")
    assert _tree(tmp_path) == before


def test_symlink_out_of_the_folder_is_refused(tmp_path: Path, folder: RunFolder) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (folder.path / "artifacts" / "evil").symlink_to(outside, target_is_directory=True)
    with pytest.raises(ConfigError, match="escapes"):
        folder.write_artifact("evil", "x.md", "pwned")
    assert list(outside.iterdir()) == []


def test_each_artifact_folder_is_made_once(folder: RunFolder, monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[str] = []
    real_mkdir = os.mkdir

    def spy(path: str, *args: int) -> None:
        made.append(os.path.relpath(path, folder.path))
        real_mkdir(path, *args)

    monkeypatch.setattr(os, "mkdir", spy)
    for name in ["a.py", "src/b.py", "src/c.py", "src/deep/d.py", "e.md"]:
        folder.write_artifact("developer", name, name)
    assert made == ["artifacts/developer", "artifacts/developer/src", "artifacts/developer/src/deep"]
    assert (folder.path / "artifacts/developer/src/deep/d.py").read_text() == "src/deep/d.py"
    assert stat.S_IMODE((folder.path / "artifacts/developer/src").stat().st_mode) == 0o700


@pytest.mark.parametrize("kind", ["file", "dangling link"])
def test_a_folder_name_taken_before_the_first_write_is_not_written_through(
    tmp_path: Path, folder: RunFolder, kind: str
) -> None:
    """A folder new to the writer is made first and looked at only when it exists: what exists there
    (a file, a link to nowhere outside) is refused as before."""
    taken = folder.path / "artifacts" / "qa"
    if kind == "file":
        taken.write_text("keep")
    else:
        taken.symlink_to(tmp_path / "nowhere", target_is_directory=True)
    with pytest.raises((FileExistsError, ConfigError)):
        folder.write_artifact("qa", "report.md", "pwned")
    assert not (tmp_path / "nowhere").exists()
    if kind == "file":
        assert taken.read_text() == "keep"


@pytest.mark.parametrize("where", ["evil", "developer/pkg"])
def test_a_symlinked_folder_is_refused_after_other_folders_were_made(
    tmp_path: Path, folder: RunFolder, where: str
) -> None:
    folder.write_artifact("qa", "report.md", "ok")  # this writer knows artifacts/ and qa/ now
    folder.write_artifact("developer", "main.py", "ok")
    outside = tmp_path / "outside"
    outside.mkdir()
    (folder.path / "artifacts" / where).symlink_to(outside, target_is_directory=True)
    agent, _, sub = where.partition("/")
    with pytest.raises(ConfigError, match="escapes"):
        folder.write_artifact(agent, f"{sub}/x.md" if sub else "x.md", "pwned")
    assert list(outside.iterdir()) == []


def test_a_new_writer_checks_the_folders_again(tmp_path: Path, folder: RunFolder) -> None:
    folder.write_artifact("developer", "main.py", "v1")
    outside = tmp_path / "outside"
    shutil.move(folder.path / "artifacts" / "developer", outside)
    (folder.path / "artifacts" / "developer").symlink_to(outside, target_is_directory=True)
    with pytest.raises(ConfigError, match="escapes"):
        RunFolder.open(folder.path).write_artifact("developer", "main.py", "pwned")  # e.g. resume
    assert (outside / "main.py").read_text() == "v1"


@pytest.mark.parametrize("removed", ["artifacts/qa", "artifacts"])
def test_a_folder_removed_behind_the_writer_is_made_again(folder: RunFolder, removed: str) -> None:
    folder.write_artifact("qa", "one.md", "1")
    shutil.rmtree(folder.path / removed)
    assert folder.write_artifact("qa", "two.md", "2") == "artifacts/qa/two.md"
    assert (folder.path / "artifacts" / "qa" / "two.md").read_text() == "2"


def test_a_symlink_planted_where_a_removed_folder_was_is_refused(tmp_path: Path, folder: RunFolder) -> None:
    folder.write_artifact("qa", "one.md", "1")
    shutil.rmtree(folder.path / "artifacts" / "qa")
    outside = tmp_path / "outside"
    outside.mkdir()
    (folder.path / "artifacts" / "qa").symlink_to(outside, target_is_directory=True)
    with pytest.raises(ConfigError, match="escapes"):
        folder.write_artifact("qa", "two.md", "pwned")
    assert list(outside.iterdir()) == []


def test_an_artifacts_folder_swapped_for_a_link_is_refused(tmp_path: Path, folder: RunFolder) -> None:
    folder.write_artifact("qa", "one.md", "1")
    outside = tmp_path / "outside"
    shutil.move(folder.path / "artifacts", outside)
    (folder.path / "artifacts").symlink_to(outside, target_is_directory=True)
    with pytest.raises(ConfigError, match="escapes"):
        folder.write_artifact("qa", "two.md", "pwned")
    assert sorted(p.name for p in (outside / "qa").iterdir()) == ["one.md"]


def test_a_symlink_inside_the_artifacts_folder_is_followed(folder: RunFolder) -> None:
    folder.write_artifact("developer", "main.py", "v1")
    (folder.path / "artifacts" / "alias").symlink_to(folder.path / "artifacts" / "developer")
    assert folder.write_artifact("alias", "extra.py", "v2") == "artifacts/alias/extra.py"
    assert (folder.path / "artifacts" / "developer" / "extra.py").read_text() == "v2"


def test_an_artifact_that_is_a_symlink_is_replaced_not_followed(tmp_path: Path, folder: RunFolder) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("keep")
    folder.write_artifact("qa", "report.md", "v1")
    link = folder.path / "artifacts" / "qa" / "report.md"
    link.unlink()
    link.symlink_to(secret)
    folder.write_artifact("qa", "report.md", "v2")
    assert secret.read_text() == "keep"
    assert not link.is_symlink() and link.read_text() == "v2"


def test_a_relative_run_folder_follows_the_working_directory(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    os.chdir(tmp_path / "a")  # the autouse fixture restores the working directory
    rel_folder = RunFolder.create("runs", {})
    rel_folder.write_artifact("qa", "one.md", "1")
    shutil.copytree(tmp_path / "a" / "runs", tmp_path / "b" / "runs")
    shutil.rmtree(tmp_path / "b" / "runs" / rel_folder.run_id / "artifacts")
    os.chdir(tmp_path / "b")
    rel_folder.write_artifact("qa", "two.md", "2")  # its folders are made again under the new directory
    assert (tmp_path / "b" / "runs" / rel_folder.run_id / "artifacts" / "qa" / "two.md").read_text() == "2"
    assert not (tmp_path / "a" / "runs" / rel_folder.run_id / "artifacts" / "qa" / "two.md").exists()


def test_safe_nested_artifact_is_written_inside(folder: RunFolder) -> None:
    rel = folder.write_artifact("developer", "pkg/sub/mod_1.py", "print('hi')\n")
    assert rel == "artifacts/developer/pkg/sub/mod_1.py"
    assert (folder.path / rel).read_text() == "print('hi')\n"
    assert folder.artifact_files() == [folder.path / rel]


def test_artifact_write_from_a_relative_run_folder(tmp_path: Path) -> None:
    os.chdir(tmp_path)  # the autouse fixture restores the working directory
    rel_folder = RunFolder.create("runs", {})
    assert not rel_folder.path.is_absolute()
    assert rel_folder.write_artifact("qa", "qa_report.md", "ok") == "artifacts/qa/qa_report.md"
    assert (tmp_path / "runs" / rel_folder.run_id / "artifacts" / "qa" / "qa_report.md").read_text() == "ok"


def test_artifact_newlines_are_kept_byte_for_byte(folder: RunFolder) -> None:
    content = "a\r\nb\nc\r"
    rel = folder.write_artifact("qa", "crlf.txt", content)
    assert (folder.path / rel).read_bytes() == content.encode()
