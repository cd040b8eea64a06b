"""Commands as documented, through the real entry point as a subprocess: every serve flag, --timeout,
--exact-budget, Ctrl-C naming the run folder, resume saying what it reused and paid, replay tables
saying nothing was billed."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from functools import partial
from pathlib import Path

import pytest
from subprocesses import clean_env, run_cli

from orchestrator_kit.testing import FakeAnthropicServer, Fault, simulated_responder

KEY = "sk-ant-test-fake"
REQUEST = "Build a CLI that converts CSV to JSON"


cli = partial(run_cli, timeout=90)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- serve ---------------------------------------------------------------------------------------


def test_serve_help_lists_every_flag(tmp_path):
    proc = cli("serve", "--help", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    for flag in (
        "--host",
        "--port",
        "--no-auth",
        "--users-file",
        "--data-dir",
        "--reload",
        "--anthropic-base-url",
        "--max-concurrent-runs",
        "--max-concurrent-calls",
        "--simulated-latency",
        "--timeout",
        "--max-body-bytes",
        "--log-level",
    ):
        assert flag in proc.stdout
    assert proc.stdout.startswith("usage: orchestrator-kit serve")


def _serve_until_up(args: list[str], port: int, cwd: Path, headers: dict[str, str] | None = None) -> str:
    proc = subprocess.Popen(
        [sys.executable, "-m", "orchestrator_kit", "serve", *args],
        cwd=cwd,
        env=clean_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                req = urllib.request.Request(f"http://127.0.0.1:{port}/projects", headers=headers or {})
                with urllib.request.urlopen(req, timeout=2) as r:
                    assert r.status == 200
                    return r.read().decode()
            except (OSError, urllib.error.URLError):
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError("server did not come up") from None
                time.sleep(0.2)
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()


def test_serve_with_the_documented_flags_answers(tmp_path):
    port = _free_port()
    body = _serve_until_up(
        [
            "--port",
            str(port),
            "--no-auth",
            "--host",
            "127.0.0.1",
            "--data-dir",
            str(tmp_path / "data"),
            "--max-concurrent-runs",
            "2",
            "--max-concurrent-calls",
            "2",
            "--simulated-latency",
            "0",
            "--timeout",
            "30",
            "--max-body-bytes",
            "100000",
            "--log-level",
            "warning",
            "--anthropic-base-url",
            "http://127.0.0.1:9",
        ],
        port,
        tmp_path,
    )
    assert json.loads(body) is not None


def test_serve_with_a_users_file(tmp_path):
    port = _free_port()
    users = tmp_path / "users.yaml"
    users.write_text("users: {alice: {token: alice-test-token}}\n")
    users.chmod(0o600)  # the server refuses a users file others can read
    body = _serve_until_up(
        ["--port", str(port), "--users-file", str(users), "--data-dir", str(tmp_path / "d")],
        port,
        tmp_path,
        headers={"Authorization": "Bearer alice-test-token"},
    )
    assert json.loads(body) is not None


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--no-auth", "--host", "0.0.0.0"], "loopback"),
        (["--timeout", "0"], "--timeout"),
        (["--port", "not-a-port"], "--port"),
        (["--bogus"], "unrecognized arguments: --bogus"),
    ],
)
def test_bad_serve_flags_exit_2_naming_the_problem(tmp_path, args, needle):
    proc = cli("serve", *args, "--data-dir", str(tmp_path / "d"), cwd=tmp_path)
    assert proc.returncode == 2 and needle in proc.stderr, proc.stderr


def test_other_commands_still_refuse_unknown_flags(tmp_path):
    proc = cli("run", REQUEST, "--port", "8000", cwd=tmp_path)
    assert proc.returncode == 2 and "unrecognized arguments: --port 8000" in proc.stderr


# -- run / resume / replay -----------------------------------------------------------------------


def test_timeout_flag_against_a_hung_server_fails_resumably(tmp_path):
    with FakeAnthropicServer(responder=simulated_responder()) as srv:
        srv.script(*[Fault.delay(3.0) for _ in range(3)])
        env = clean_env(ANTHROPIC_API_KEY=KEY, ANTHROPIC_BASE_URL=srv.base_url)
        proc = cli(
            "run", REQUEST, "--mode", "real", "--agents", "architect", "--timeout", "0.4", "-o", "runs",
            cwd=tmp_path, env=env,
        )  # fmt: skip
        assert proc.returncode == 1, proc.stderr
        assert "within 0.4 s per attempt, after 3 attempts" in proc.stderr
        (run,) = list((tmp_path / "runs").iterdir())
        assert f"orchestrator-kit resume runs/{run.name}" in proc.stderr
        assert srv.count() == 3
        resumed = cli("resume", str(run), "--timeout", "30", cwd=tmp_path, env=env)
        assert resumed.returncode == 0, resumed.stderr
        assert "reused 0 calls" in resumed.stderr and "made 2 calls (paid)" in resumed.stderr
        assert srv.count() == 5


# `python -m orchestrator_kit` with Ctrl-C handled as in a terminal: a command started in the background
# by a shell without job control (e.g. `bash .ci/run &`) inherits SIGINT ignored, and Python then
# installs no handler for it, so the signal this test sends would do nothing.
WITH_CTRL_C = (
    "import runpy, signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); "
    "sys.argv[0] = 'orchestrator-kit'; runpy.run_module('orchestrator_kit', run_name='__main__')"
)


def test_ctrl_c_names_the_run_folder_and_resume_counts_reused_and_paid_calls(tmp_path):
    with FakeAnthropicServer(responder=simulated_responder()) as srv:
        # the first call answers at once; the second waits (until the server stops), so the run is
        # certainly interrupted with it in flight, however slowly this test gets scheduled
        srv.script(Fault.delay(0.0), *[Fault.delay(120.0) for _ in range(3)])
        env = clean_env(ANTHROPIC_API_KEY=KEY, ANTHROPIC_BASE_URL=srv.base_url)
        proc = subprocess.Popen(
            [sys.executable, "-c", WITH_CTRL_C, "run", REQUEST, "--mode", "real", "-o", "runs",
             "--agents", "architect,developer", "--max-concurrency", "1"],
            cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while srv.count() < 2 and time.monotonic() < deadline:  # the second call is in flight
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        try:
            _, err = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()  # no child left behind to warn in a later test
            proc.communicate()
            raise AssertionError("the run went on after Ctrl-C") from None
        assert proc.returncode == 130, err
        (run,) = list((tmp_path / "runs").iterdir())
        assert f"orchestrator-kit resume runs/{run.name}" in err and "resume DIR" not in err
        lines = [json.loads(x) for x in (run / "calls.jsonl").read_text().splitlines() if x.strip()]
        paid_before = sum(1 for ln in lines if ln["status"] == "ok")
        assert 1 <= paid_before < 4
        srv.reset()  # the delays not taken
        resumed = cli("resume", str(run), cwd=tmp_path, env=env)
        assert resumed.returncode == 0, resumed.stderr
        assert f"reused {paid_before} call" in resumed.stderr
        assert f"made {4 - paid_before} calls (paid)" in resumed.stderr
        again = cli("resume", str(run), cwd=tmp_path, env=env)
        assert again.returncode == 0 and "already complete" in again.stderr
        assert "no calls made" in again.stderr


def test_exact_budget_flag_counts_tokens_first(tmp_path):
    with FakeAnthropicServer(responder=simulated_responder(), input_factor=3.0) as srv:
        env = clean_env(ANTHROPIC_API_KEY=KEY, ANTHROPIC_BASE_URL=srv.base_url)
        proc = cli(
            "run", REQUEST, "--mode", "real", "--agents", "architect", "--budget-tokens", "50000",
            "--exact-budget", "-o", "runs", cwd=tmp_path, env=env,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr
        assert srv.count("/v1/messages/count_tokens") == 2 == srv.count("/v1/messages")


def test_replay_table_says_nothing_was_billed(tmp_path):
    first = cli(
        "run", REQUEST, "--mode", "simulated", "--agents", "architect", "-q", "-o", "runs", cwd=tmp_path
    )
    assert first.returncode == 0, first.stderr
    assert "; $0 billed (would have cost $" in first.stdout
    source = first.stdout.splitlines()[-1].removeprefix("run folder: ")
    replay = cli("run", REQUEST, "--mode", "replay", "--replay-from", source, "--agents", "architect",
                 "-q", "-o", "replay", cwd=tmp_path)  # fmt: skip
    assert replay.returncode == 0, replay.stderr
    mode_line = next(ln for ln in replay.stdout.splitlines() if ln.startswith("mode: replay"))
    assert "$0 billed (would have cost $0." in mode_line
    assert "would-cost" in replay.stdout.splitlines()[0]
