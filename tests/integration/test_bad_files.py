"""Files users point the toolkit at that are not what it needs: a replay source that is not a recording, a
run folder whose documents were damaged by hand, a .env file that cannot be read. Each is a ConfigError
naming the file and the fix (CLI: exit 2, no traceback), never an AttributeError, JSONDecodeError or
UnicodeDecodeError, and a key line that python-dotenv cannot read is not passed over in silence."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

import orchestrator_kit as ok
from orchestrator_kit.cli import main
from orchestrator_kit.errors import ConfigError, DamagedRun
from orchestrator_kit.llm.keys import resolve_api_key

REQUEST = "A CLI that converts CSV files to JSON"


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("finished")
    result = ok.run_workflow(REQUEST, mode="simulated", agents=["architect"], output_dir=str(root))
    return result.run_dir


def _cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(list(args))
    return code, capsys.readouterr().err


# -- replay from something that is not a recording --------------------------------------------------


@pytest.mark.parametrize("name", ["calls.jsonl", "manifest.json", "summary.json", "notes.txt", "empty.jsonl"])
def test_replay_from_a_file_that_is_not_a_recording(
    finished_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    source = tmp_path / name
    if name == "notes.txt":
        source.write_text("some notes\nnot json\n")
    elif name == "empty.jsonl":
        source.write_text("")
    else:
        shutil.copy(finished_run / name, source)
    with pytest.raises(ConfigError) as info:
        ok.run_workflow(REQUEST, mode="replay", replay_from=source, output_dir=str(tmp_path / "runs"))
    message = str(info.value)
    assert str(source) in message and "responses.jsonl" in message, message
    assert "layout" not in message  # not a recording of another version: not a recording at all
    code, err = _cli(capsys, "run", REQUEST, "--mode", "replay", "--replay-from", str(source), "-o", "r")
    assert code == 2 and "responses.jsonl" in err and "Traceback" not in err
    assert not (tmp_path / "runs").exists() and not (tmp_path / "r").exists()


# -- resume of a run folder whose documents were damaged -------------------------------------------


@pytest.mark.parametrize(
    "doc, damage, words",
    [
        ("manifest.json", "{not json", "manifest.json"),
        ("manifest.json", "[1, 2]", "manifest.json"),
        ("manifest.json", "\udcff", "manifest.json"),
        ("state.json", "{not json", "state.json"),
        ("state.json", "[1, 2]", "state.json"),
    ],
)
def test_resume_of_a_damaged_run_folder_names_the_file(
    finished_run: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    doc: str,
    damage: str,
    words: str,
) -> None:
    run = tmp_path / finished_run.name
    shutil.copytree(finished_run, run)
    (run / doc).write_bytes(damage.encode("utf-8", "surrogateescape"))
    with pytest.raises(DamagedRun) as info:
        ok.resume(run)
    assert words in str(info.value) and "damaged" in str(info.value)
    code, err = _cli(capsys, "resume", str(run))
    assert code == 2 and words in err and "Traceback" not in err
    code, err = _cli(capsys, "decide", str(run), "approve")
    assert code == 2 and words in err and "Traceback" not in err


# -- .env files --------------------------------------------------------------------------------------


def test_a_utf16_env_file_is_named_with_the_fix(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """PowerShell's ``echo ANTHROPIC_API_KEY=... > .env`` writes UTF-16 with a byte-order mark."""
    (tmp_path / ".env").write_bytes("ANTHROPIC_API_KEY=sk-ant-test-not-a-key\n".encode("utf-16"))
    with pytest.raises(ConfigError) as info:
        resolve_api_key(env={})
    message = str(info.value)
    assert str(tmp_path / ".env") in message and "UTF-8" in message and "sk-ant-test" not in message
    code, err = _cli(capsys, "run", REQUEST, "-q", "--agents", "architect", "-o", str(tmp_path / "runs"))
    assert code == 2 and "UTF-8" in err and "Traceback" not in err


@pytest.mark.parametrize(
    "text",
    ['ANTHROPIC_API_KEY="sk-ant-test-not-a-key\n', "ANTHROPIC_API_KEY\n", "export ANTHROPIC_API_KEY\n"],
)
def test_a_key_line_dotenv_cannot_read_warns_naming_the_file(tmp_path: Path, text: str) -> None:
    (tmp_path / ".env").write_text(text)
    with pytest.warns(UserWarning, match="could not be read") as caught:
        assert resolve_api_key(env={}) is None
    assert all("sk-ant-test" not in str(w.message) for w in caught)
    assert any(str(tmp_path / ".env") in str(w.message) for w in caught)


def test_a_readable_key_line_does_not_warn(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("# a comment naming ANTHROPIC_API_KEY\nOTHER=1\n")
    info = resolve_api_key(env={})
    assert info is None
    (tmp_path / ".env").write_text("export ANTHROPIC_API_KEY=sk-ant-test-not-a-key\n")
    info = resolve_api_key(env={})
    assert info is not None and info.source == "dotenv"


def test_json_of_the_run_is_untouched_by_a_refused_resume(finished_run: Path) -> None:
    assert json.loads((finished_run / "state.json").read_text())["status"] == "completed"
