"""The ``orchestrator-kit`` command, run as a real subprocess (``python -m orchestrator_kit``)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from documented import AGENT_ORDER
from subprocesses import clean_env, run_cli

from orchestrator_kit import __version__
from orchestrator_kit.agents.roles import ROLE_IDS

REQUEST = "Build a CLI that converts CSV to JSON"


cli = run_cli


def _run_folders(root: Path) -> list[Path]:
    """Anything under ``root`` that looks like a run folder (started or finished)."""
    if not root.exists():
        return []
    return [p.parent for p in root.rglob("manifest.json")] + [p.parent for p in root.rglob("summary.json")]


# -- run -------------------------------------------------------------------------------------------


def test_run_prints_the_per_agent_table_and_the_folder(tmp_path: Path) -> None:
    proc = cli("run", REQUEST, "--mode", "simulated", "-o", str(tmp_path / "out"), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].split()[:2] == ["agent", "artifacts"]
    rows = {ln.split()[0]: ln.split() for ln in lines[2:] if ln.split() and ln.split()[0] in ROLE_IDS}
    assert list(rows) == AGENT_ORDER
    assert rows["developer"][1:3] == ["2", "2"] and rows["qa"][1:3] == ["1", "2"]
    total = next(ln.split() for ln in lines if ln.startswith("total"))
    assert total[1:3] == ["9", "16"]
    assert any("mode: simulated" in ln and "estimate" in ln for ln in lines)
    folder = Path(lines[-1].removeprefix("run folder: "))
    assert lines[-1].startswith("run folder: ") and folder.parent == tmp_path / "out"
    assert json.loads((folder / "summary.json").read_text())["status"] == "completed"
    assert "running 8 agents in simulated mode" in proc.stderr
    assert proc.stderr.count("  done  ") == 8


@pytest.mark.usefixtures("no_key_anywhere")
def test_run_defaults_to_simulated_without_a_key_and_to_runs_here(tmp_path: Path) -> None:
    proc = cli("run", REQUEST, "-q", "--agents", "architect,developer", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "mode: simulated" in proc.stdout
    (folder,) = (tmp_path / "runs").iterdir()
    assert proc.stdout.splitlines()[-1].endswith(folder.name)
    assert sorted(p.name for p in (folder / "artifacts").iterdir()) == ["architect", "developer"]
    assert proc.stderr == ""  # --quiet


def test_failed_run_exits_1_and_says_how_to_resume(tmp_path: Path) -> None:
    proc = cli(
        "run", REQUEST, "--mode", "simulated", "--budget", "0.05", "-o", str(tmp_path / "out"), cwd=tmp_path
    )
    assert proc.returncode == 1
    assert "budget exceeded" in proc.stderr and "orchestrator-kit resume" in proc.stderr
    (folder,) = (tmp_path / "out").iterdir()
    resumed = cli("resume", str(folder), "--budget", "5", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert resumed.stdout.splitlines()[-1] == f"run folder: {folder}"
    assert json.loads((folder / "state.json").read_text())["status"] == "completed"


# -- estimate, runs, version -----------------------------------------------------------------------


def test_estimate_table(tmp_path: Path) -> None:
    proc = cli("estimate", REQUEST, "--agents", "architect,developer", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    first = [ln.split()[0] for ln in proc.stdout.splitlines() if ln.strip()]
    assert first[0] == "agent" and "architect" in first and "developer" in first and "qa" not in first
    assert first[-1] == "total" and "$" in proc.stdout
    assert not list(tmp_path.glob("runs"))  # an estimate runs nothing


def test_estimate_json_has_a_range(tmp_path: Path) -> None:
    proc = cli("estimate", REQUEST, "--json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert [r["agent"] for r in data["agents"]] == AGENT_ORDER
    from decimal import Decimal

    low, expected, high = (Decimal(data[k]) for k in ("total_low", "total_expected", "total_high"))
    assert 0 < low <= expected <= high


def test_runs_lists_run_folders(tmp_path: Path) -> None:
    assert "no runs in" in cli("runs", str(tmp_path / "out"), cwd=tmp_path).stdout
    done = cli(
        "run",
        REQUEST,
        "--mode",
        "simulated",
        "-q",
        "--agents",
        "architect",
        "-o",
        str(tmp_path / "out"),
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    folder = Path(done.stdout.splitlines()[-1].removeprefix("run folder: "))
    listed = cli("runs", str(tmp_path / "out"), cwd=tmp_path)
    assert listed.returncode == 0
    row = next(ln for ln in listed.stdout.splitlines() if ln.startswith(folder.name))
    assert "completed" in row and "simulated" in row and "1/1" in row
    rows = json.loads(cli("runs", str(tmp_path / "out"), "--json", cwd=tmp_path).stdout)
    assert [(r["run_id"], r["status"]) for r in rows] == [(folder.name, "completed")]


def test_version(tmp_path: Path) -> None:
    proc = cli("--version", cwd=tmp_path)
    assert proc.returncode == 0 and proc.stdout.strip() == f"orchestrator-kit {__version__}"


def test_console_script_is_installed(tmp_path: Path) -> None:
    exe = shutil.which("orchestrator-kit", path=str(Path(sys.executable).parent))
    assert exe is not None, f"no orchestrator-kit in {Path(sys.executable).parent}"
    proc = subprocess.run(
        [exe, "--version"], cwd=tmp_path, env=clean_env(), capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0 and __version__ in proc.stdout


# -- bad input: exit 2, a message that names the fix, nothing that looks like a run -----------------

BAD_RUNS = {
    "empty request": (["run", "", "--mode", "simulated"], "describe what the team should build"),
    "whitespace request": (["run", "  \t ", "--mode", "simulated"], "describe what the team should build"),
    "unknown agent": (
        ["run", REQUEST, "--mode", "simulated", "--agents", "architect,wizard"],
        "valid agents are: architect, data, consensus",
    ),
    "no agents": (["run", REQUEST, "--mode", "simulated", "--agents", ","], "at least one agent"),
    "unknown model": (
        ["run", REQUEST, "--mode", "simulated", "--model", "claude-nope-9"],
        "--allow-unknown-model",
    ),
    "zero budget": (["run", REQUEST, "--mode", "simulated", "--budget", "0"], "--budget 0.50"),
    "negative budget": (["run", REQUEST, "--mode", "simulated", "--budget", "-1"], "--budget 0.50"),
    "zero token budget": (
        ["run", REQUEST, "--mode", "simulated", "--budget-tokens", "0"],
        "positive integer",
    ),
    "zero concurrency": (["run", REQUEST, "--mode", "simulated", "--max-concurrency", "0"], "at least 1"),
    "zero rounds": (["run", REQUEST, "--mode", "simulated", "--max-rounds", "0"], "--max-rounds 3"),
    "duplicate agents": (
        ["run", REQUEST, "--mode", "simulated", "--agents", "qa,architect,qa"],
        "list each agent once",
    ),
    "real mode without a key": (["run", REQUEST, "--mode", "real"], "ANTHROPIC_API_KEY"),
    "replay without a recording": (["run", REQUEST, "--mode", "replay"], "--replay-from"),
    "unknown mode": (["run", REQUEST, "--mode", "fancy"], "choose from"),
}


@pytest.fixture(scope="module")
def bad_run_results(
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, tuple[Path, subprocess.CompletedProcess[str]]]:
    """Every bad-input case, each in its own folder, run as parallel subprocesses (start-up is the cost)."""
    root = tmp_path_factory.mktemp("bad-input")
    procs = {}
    for n, (case, (args, _)) in enumerate(BAD_RUNS.items()):
        cwd = root / f"case{n}"
        cwd.mkdir()
        procs[case] = (
            cwd,
            subprocess.Popen(
                [sys.executable, "-m", "orchestrator_kit", *args, "-o", str(cwd / "out")],
                cwd=cwd,
                env=clean_env(),
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            ),
        )
    results = {}
    for case, (cwd, proc) in procs.items():
        out, err = proc.communicate(timeout=60)
        results[case] = (cwd, subprocess.CompletedProcess(proc.args, proc.returncode, out, err))
    return results


@pytest.mark.usefixtures("no_key_anywhere")
@pytest.mark.parametrize("case", list(BAD_RUNS))
def test_bad_run_input_exits_2_naming_the_fix(
    case: str, bad_run_results: dict[str, tuple[Path, subprocess.CompletedProcess[str]]]
) -> None:
    _, fix = BAD_RUNS[case]
    cwd, proc = bad_run_results[case]
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    assert fix in proc.stderr
    assert "Traceback" not in proc.stderr
    assert "run folder:" not in proc.stdout
    assert _run_folders(cwd) == []


def test_output_folder_that_is_a_file(tmp_path: Path) -> None:
    target = tmp_path / "taken"
    target.write_text("not a folder")
    proc = cli("run", REQUEST, "--mode", "simulated", "-o", str(target), cwd=tmp_path)
    assert proc.returncode == 2
    assert "is a file" in proc.stderr and "--output" in proc.stderr
    assert target.read_text() == "not a folder"
    assert _run_folders(tmp_path) == []


@pytest.mark.parametrize("sub", ["", "runs"])
def test_output_folder_not_writable(tmp_path: Path, sub: str) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        if os.access(locked, os.W_OK):
            pytest.skip("permissions are not enforced for this user (root): a 0o500 folder is still writable")
        out = locked / sub if sub else locked
        proc = cli("run", REQUEST, "--mode", "simulated", "-o", str(out), cwd=tmp_path)
        assert proc.returncode == 2
        assert "choose another" in proc.stderr
        assert _run_folders(tmp_path) == []
    finally:
        locked.chmod(0o700)


def test_output_folder_that_cannot_be_created_even_by_root(tmp_path: Path) -> None:
    """/proc refuses new folders for every user, root included: the not-writable case root can see."""
    proc = cli("run", REQUEST, "--mode", "simulated", "-o", "/proc/orchestrator-kit-runs", cwd=tmp_path)
    assert proc.returncode == 2
    assert "cannot create output folder" in proc.stderr and "choose another" in proc.stderr


@pytest.mark.parametrize("kind", ["empty folder", "missing folder", "file"])
def test_resume_of_something_that_is_not_a_run(tmp_path: Path, kind: str) -> None:
    target = tmp_path / "target"
    if kind == "empty folder":
        target.mkdir()
    elif kind == "file":
        target.write_text("{}")
    proc = cli("resume", str(target), cwd=tmp_path)
    assert proc.returncode == 2
    assert "runs/<run_id>" in proc.stderr and "Traceback" not in proc.stderr
    assert _run_folders(tmp_path) == []


def test_unknown_command_and_missing_request_exit_2(tmp_path: Path) -> None:
    assert cli("frobnicate", cwd=tmp_path).returncode == 2
    missing = cli("run", cwd=tmp_path)
    assert missing.returncode == 2 and "request" in missing.stderr
