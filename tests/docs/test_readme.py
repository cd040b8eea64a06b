"""Every shell command and Python snippet in the README runs here, as written, in simulated mode (no key)
in a scratch folder, with only the port changed. A block that cannot run in a test says so in the README
with ``<!-- readme-test: skip: REASON -->`` on the line before it; ``<!-- readme-test: serve ARGS -->``
starts ``orchestrator-kit serve ARGS`` on a free port for the block. The two quickstart blocks
(``<!-- quickstart:main -->``, ``<!-- quickstart:test -->``) install environments, so they are not re-run:
they are checked to be exactly what ``.ci/run`` and the main job run, installing only what each needs."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import tomllib
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
SHELL = {"bash", "sh", "shell", "console"}
FENCE = re.compile(r"^```(?P<lang>[\w-]*)[^\n]*\n(?P<body>.*?)^```[ \t]*$", re.M | re.S)
MARK = re.compile(r"<!--\s*(?P<kind>readme-test|quickstart)\s*:\s*(?P<arg>.*?)\s*-->\s*\Z", re.S)


@dataclass(frozen=True)
class Block:
    index: int
    lang: str
    body: str
    line: int
    marker: tuple[str, str] | None  # ("quickstart", "main") | ("readme-test", "skip: ...") | ...

    @property
    def runnable(self) -> bool:
        return self.lang in SHELL or self.lang == "python"

    @property
    def id(self) -> str:
        return f"line{self.line}-{self.lang}"


def readme_blocks(text: str | None = None) -> list[Block]:
    text = README.read_text() if text is None else text
    blocks, end = [], 0
    for i, m in enumerate(FENCE.finditer(text)):
        before = text[end : m.start()]
        mark = MARK.search(before.rstrip() + "\n" if before.strip() else "")
        marker = None
        if mark is not None and before[mark.end() :].strip() == "":
            marker = (mark["kind"], mark["arg"])
        blocks.append(Block(i, m["lang"].lower(), m["body"], text.count("\n", 0, m.start()) + 1, marker))
        end = m.end()
    return blocks


BLOCKS = readme_blocks()


def _runs(b: Block) -> bool:
    """Run in the test: no marker, or a ``readme-test: serve`` marker."""
    if not b.runnable:
        return False
    return b.marker is None or (b.marker[0] == "readme-test" and b.marker[1].startswith("serve"))


RUN = [b for b in BLOCKS if _runs(b)]


def test_every_command_and_snippet_is_run_or_says_why_not():
    for b in BLOCKS:
        if not b.runnable:
            assert b.marker is None, f"README line {b.line}: a marker on a block that is not bash or python"
            continue
        if b.marker is None:
            continue
        kind, arg = b.marker
        if kind == "quickstart":
            assert arg in ("main", "test"), f"README line {b.line}: unknown quickstart marker {arg!r}"
        else:
            assert arg.startswith(("skip:", "serve")), f"README line {b.line}: unknown marker {arg!r}"
            if arg.startswith("skip:"):
                assert arg.removeprefix("skip:").strip(), f"README line {b.line}: a skip needs its reason"
    assert len(RUN) >= 5  # the papermill command, both Python snippets, the CLI, the guide's curl


def test_the_marker_parser_sees_markers_only_right_above_a_block():
    text = "<!-- readme-test: skip: needs a real key -->\n\n```bash\necho a\n```\n\nprose\n```python\nx = 1\n```\n"
    a, b = readme_blocks(text)
    assert a.marker == ("readme-test", "skip: needs a real key") and b.marker is None


# -- the quickstart blocks --------------------------------------------------------------------------


def _quickstart(name: str) -> str:
    (block,) = [b for b in BLOCKS if b.marker == ("quickstart", name)]
    return block.body.strip()


def test_quickstart_test_is_exactly_what_ci_runs():
    script = (ROOT / ".ci" / "run").read_text()
    awk = re.search(r"awk '([^']*)' README\.md", script)
    assert awk is not None, ".ci/run no longer reads its command from the README with awk"
    extracted = subprocess.run(["awk", awk[1], str(README)], capture_output=True, text=True, check=True)
    assert extracted.stdout.strip() == _quickstart("test")
    assert "pip install -q -e '.[all]'" in _quickstart("test")  # tests need every extra
    assert "-m pytest" in _quickstart("test")


def test_quickstart_main_installs_only_the_notebook_extra():
    command = _quickstart("main")
    assert command == (
        "python3 -m venv .venv && .venv/bin/pip install -q -e '.[notebook]' && .venv/bin/python scripts/main_job.py"
    )
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    heavy = {d.split(">")[0].split("[")[0] for d in extras["dev"] + extras["server"]}
    assert not heavy & {d.split(">")[0] for d in extras["notebook"]}
    assert {"jupyterlab", "playwright", "fastapi"} <= heavy  # what the main job no longer installs
    assert (ROOT / "scripts" / "main_job.py").is_file()


# Top-level modules of the dev and server extras: the main job must run without any of them.
NOT_IN_NOTEBOOK_EXTRA = ["fastapi", "uvicorn", "cryptography", "pytest", "hypothesis", "nbval", "nbmake",
                         "jupyterlab", "playwright"]  # fmt: skip


@pytest.mark.slow
def test_main_job_runs_without_the_dev_and_server_extras(tmp_path):
    blocker = tmp_path / "block"
    blocker.mkdir()
    (blocker / "sitecustomize.py").write_text(  # None in sys.modules: "import x" fails, find_spec says absent
        f"import sys\nfor name in {NOT_IN_NOTEBOOK_EXTRA!r}:\n    sys.modules[name] = None\n"
    )
    env = _env()
    env["PYTHONPATH"] = str(blocker)
    proc = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "main_job.py"), "--out", str(tmp_path / "out")],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    assert (tmp_path / "out" / "report.html").is_file()


# -- running the blocks ---------------------------------------------------------------------------


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANTHROPIC_", "ORCHESTRATOR_KIT_"))}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return env


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _commands(body: str) -> list[str]:
    """The block's commands: continuation lines joined, blank and comment lines left out."""
    joined = re.sub(r"\\\n\s*", " ", body)
    return [ln for ln in joined.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]


class Server:
    """``orchestrator-kit serve ARGS`` on a free port, until stopped."""

    def __init__(self, args: str, cwd: Path, env: dict[str, str]) -> None:
        self.port = _free_port()
        argv = re.sub(r"--port\s+\d+", "", args).split()
        argv += ["--port", str(self.port), "--data-dir", str(cwd / "server_data")]
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "orchestrator_kit", "serve", *argv],
            cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/docs", timeout=2) as r:
                    assert r.status == 200
                    return
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    out = self.stop()
                    raise AssertionError(f"`orchestrator-kit serve {args}` did not come up:\n{out}") from None
                time.sleep(0.2)

    def stop(self) -> str:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        try:
            out, _ = self.proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            out, _ = self.proc.communicate()
        return out


@pytest.fixture
def sandbox(tmp_path: Path) -> Path:
    """A scratch folder that looks like the checkout to relative paths (notebooks/, scripts/)."""
    for name in ("notebooks", "scripts"):
        (tmp_path / name).symlink_to(ROOT / name)
    return tmp_path


def _run_shell(block: Block, cwd: Path, env: dict[str, str]) -> int:
    server = None
    if block.marker and block.marker[1].startswith("serve"):
        server = Server(block.marker[1].removeprefix("serve"), cwd, env)
    ran = 0
    try:
        for written in _commands(block.body):
            command = written.replace("<run_id>", "$(ls runs | tail -n 1)")
            if server is not None:
                command = re.sub(r"(localhost|127\.0\.0\.1):8000\b", rf"\1:{server.port}", command)
            if re.match(r"\s*orchestrator-kit serve\b", command):
                args = command.split("#")[0].strip().removeprefix("orchestrator-kit serve")
                Server(args, cwd, env).stop()  # it came up and answered
                ran += 1
                continue
            proc = subprocess.run(
                ["bash", "-euo", "pipefail", "-c", command],
                cwd=cwd, env=env, capture_output=True, text=True, timeout=900,
            )  # fmt: skip
            assert proc.returncode == 0, (
                f"README line {block.line}: `{command}` failed:\n{proc.stdout[-1500:]}\n{proc.stderr[-3000:]}"
            )
            if "curl" in command:
                assert '"detail"' not in proc.stdout, f"`{command}`: {proc.stdout}"
            ran += 1
    finally:
        if server is not None:
            server.stop()
    return ran


@pytest.mark.slow
@pytest.mark.parametrize("block", RUN, ids=[b.id for b in RUN])
def test_readme_block_runs(block: Block, sandbox: Path):
    env = _env()
    if block.lang == "python":
        script = sandbox / f"readme_block_{block.index}.py"
        script.write_text(block.body)
        proc = subprocess.run(
            [sys.executable, script.name], cwd=sandbox, env=env, capture_output=True, text=True, timeout=600
        )
        assert proc.returncode == 0, (
            f"README line {block.line}:\n{proc.stdout[-1500:]}\n{proc.stderr[-3000:]}"
        )
        assert proc.stdout.strip(), "a README snippet that prints nothing shows nothing"
    else:
        assert _run_shell(block, sandbox, env) == len(_commands(block.body))
