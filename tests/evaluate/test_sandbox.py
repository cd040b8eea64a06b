"""The sandbox against hostile code: each misbehaviour is stopped and named; nothing outside is touched."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from orchestrator_kit.evaluate.sandbox import Limits, isolation_available, run_sandboxed

pytestmark = pytest.mark.slow
SMALL = Limits(cpu_s=2, wall_s=20.0, memory_bytes=512 << 20, file_bytes=1 << 20, processes=16)
needs_ns = pytest.mark.skipif(
    not isolation_available(), reason="this kernel refuses unprivileged user/mount/PID/network namespaces"
)


def _run(tmp_path: Path, code: str, limits: Limits = SMALL, **kw: object) -> object:
    work = tmp_path / "sbx"
    work.mkdir(exist_ok=True)
    (work / "m.py").write_text(code)
    return run_sandboxed(["python", "-I", "m.py"], work, limits=limits, **kw)  # type: ignore[arg-type]


def test_plain_code_runs_and_its_output_comes_back(tmp_path: Path) -> None:
    r = _run(tmp_path, "print('hello from the sandbox')")
    assert r.ok and r.reason == ""
    assert "hello from the sandbox" in r.stdout


def test_an_endless_loop_is_stopped_by_cpu_or_wall_limit(tmp_path: Path) -> None:
    r = _run(tmp_path, "while True:\n    pass", Limits(cpu_s=1, wall_s=15.0))
    assert not r.ok
    assert "CPU-time limit" in r.reason or "wall-clock timeout" in r.reason


def test_sleeping_forever_is_stopped_by_the_wall_clock(tmp_path: Path) -> None:
    r = _run(tmp_path, "import time\ntime.sleep(600)", Limits(wall_s=2.0))
    assert r.timed_out and r.returncode is None
    assert r.reason == "wall-clock timeout after 2 s"


def test_unbounded_allocation_hits_the_memory_limit(tmp_path: Path) -> None:
    r = _run(tmp_path, "blocks = []\nwhile True:\n    blocks.append(bytearray(64 << 20))")
    assert not r.ok and "memory limit" in r.reason


def test_a_huge_file_hits_the_file_size_limit(tmp_path: Path) -> None:
    r = _run(tmp_path, "with open('big', 'wb') as f:\n    f.write(b'0' * (8 << 20))")
    assert not r.ok and "file-size limit" in r.reason
    assert (tmp_path / "sbx" / "big").stat().st_size <= SMALL.file_bytes


def test_a_fork_bomb_is_ended_at_the_process_limit(tmp_path: Path) -> None:
    if not isolation_available() and os.geteuid() == 0:
        pytest.skip("as root without namespaces the process limit cannot be enforced (the result says so)")
    r = _run(tmp_path, "import os, time\nwhile True:\n    os.fork()\n    time.sleep(0.01)")
    assert not r.ok
    assert "process limit (16)" in r.reason


def test_the_environment_holds_no_secret(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test-fake-key")
    monkeypatch.setenv("ORCHESTRATOR_KIT_TOKEN", "fake-token-value")
    r = _run(tmp_path, "import os\nprint(sorted(os.environ.items()))")
    assert r.ok
    assert "sk-ant-test-fake-key" not in r.stdout and "fake-token-value" not in r.stdout
    assert "ANTHROPIC" not in r.stdout


@needs_ns
def test_sockets_find_no_network(tmp_path: Path) -> None:
    code = "import socket\nsocket.create_connection(('127.0.0.1', 9), timeout=3)"
    r = _run(tmp_path, code)
    assert not r.ok and r.reason == "network access blocked (no network in the sandbox)"
    assert r.isolation.network_isolated


@needs_ns
def test_files_outside_the_sandbox_stay_untouched(tmp_path: Path) -> None:
    victim = tmp_path / "users_file.txt"
    victim.write_text("precious")
    r = _run(tmp_path, f"open({str(victim)!r}, 'w').write('overwritten')")
    assert not r.ok and "read-only file system" in r.reason
    assert victim.read_text() == "precious"


def test_without_namespaces_the_result_says_so(tmp_path: Path) -> None:
    r = _run(tmp_path, "print(1)", isolate=False)
    assert r.ok
    assert not r.isolation.namespaces and not r.isolation.network_isolated
    assert "namespaces unavailable" in r.isolation.note
