"""scripts/check, the one check command: runs its steps in order, stops at the first failing one and names
it; the README's test command (what CI runs) calls it and then runs exactly the tests it left out."""

from __future__ import annotations

import itertools
import os
import re
import shlex
import stat
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CHECK = ROOT / "scripts" / "check"
STEPS = ["-m ruff format --check .", "-m ruff check .", "-m mypy", "-m pytest -q -m not slow and not browser"]


def _fake_python(tmp_path: Path, fail_on: str | None) -> tuple[Path, Path]:
    """An interpreter stand-in that logs each command line and fails (exit 7) on the one given."""
    log = tmp_path / "calls.log"
    fake = tmp_path / "python"
    fail = f'case "$*" in *{shlex.quote(fail_on)}*) exit 7;; esac\n' if fail_on else ""
    fake.write_text(f'#!/usr/bin/env bash\necho "$*" >> {shlex.quote(str(log))}\n{fail}exit 0\n')
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    return fake, log


def _run(fake: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHON": str(fake)}
    return subprocess.run([str(CHECK)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)


def test_check_is_executable_and_runs_every_step_in_order(tmp_path: Path) -> None:
    assert os.access(CHECK, os.X_OK)
    fake, log = _fake_python(tmp_path, fail_on=None)
    out = _run(fake)
    assert out.returncode == 0, out.stderr
    assert log.read_text().splitlines() == STEPS
    assert "all steps passed" in out.stdout


def test_check_stops_at_the_first_failing_step_and_names_it(tmp_path: Path) -> None:
    fake, log = _fake_python(tmp_path, fail_on="ruff check")
    out = _run(fake)
    assert out.returncode == 7
    assert "FAILED at 'ruff check'" in out.stderr
    assert log.read_text().splitlines() == STEPS[:2]  # neither mypy nor the tests ran


def _markers(expr: str) -> set[tuple[bool, bool]]:
    """The (slow, browser) combinations a pytest -m expression selects."""
    selected = set()
    for slow, browser in itertools.product([False, True], repeat=2):
        if eval(expr, {}, {"slow": slow, "browser": browser}):  # a marker expression is Python syntax
            selected.add((slow, browser))
    return selected


def test_the_readme_test_command_runs_check_then_exactly_the_remaining_tests() -> None:
    readme = (ROOT / "README.md").read_text()
    command = readme.split("<!-- quickstart:test -->", 1)[1].split("```bash\n", 1)[1].split("```", 1)[0]
    parts = [p.strip() for p in command.strip().split("&&")]
    check_at = parts.index("scripts/check")
    rest = [p for p in parts[check_at + 1 :] if "pytest" in p and "--nbval" not in p]
    assert len(rest) == 1, rest
    (rest_expr,) = re.findall(r"-m '([^']+)'", rest[0])
    (fast_expr,) = re.findall(r'pytest -q -m "([^"]+)"', CHECK.read_text())
    fast, slow = _markers(fast_expr), _markers(rest_expr)
    assert not fast & slow, "a test would run twice"
    assert fast | slow == set(itertools.product([False, True], repeat=2)), "a test would never run"
    assert any("--nbval" in p for p in parts[check_at + 1 :])  # and the notebooks under nbval
