"""Browser smoke tests: a real JupyterLab server on 127.0.0.1 and Debian's headless Chromium, driven by
Playwright's sync API.

Needs ``/usr/bin/chromium`` (``bash scripts/install_browser_deps.sh``) and the Python packages ``jupyterlab``
and ``playwright`` (the ``dev`` extra). Playwright's own browser download is never used: it fails on a closed
network, so Chromium is launched by path. Without any of these the tests skip with a reason saying so.

Everything is bounded and isolated: the server gets a random token, a free loopback port, a temporary copy
of ``notebooks/`` as its root, HOME and every Jupyter folder under ``tmp_path`` (settings that turn off the
news pop-up), and an environment with no ``ANTHROPIC_*`` variable. It is stopped by its PID (SIGTERM, then
SIGKILL after 10 s), and any kernel it leaves behind is ended by PID too.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("ORCHESTRATOR_KIT_CHROMIUM", "/usr/bin/chromium")
INSTALL_HINT = "run `bash scripts/install_browser_deps.sh` and `pip install -e '.[dev]'`"
# The flags this closed network needs (without the background-networking ones Chromium keeps dialling out).
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SERVER_START_TIMEOUT_S = 90.0  # a bound, not a measure: a busy 2-core machine needs more than 30 s
SERVER_STOP_TIMEOUT_S = 10.0


def pytest_configure(config: pytest.Config) -> None:
    # Harmless duplicate once pyproject.toml registers the marker too.
    config.addinivalue_line(
        "markers",
        "browser: drives JupyterLab in headless Chromium "
        "(needs scripts/install_browser_deps.sh and the dev extra)",
    )


# -- what is needed ------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def chromium_path() -> str:
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        pytest.skip(f"no Chromium at {CHROMIUM}: {INSTALL_HINT}")
    return CHROMIUM


@pytest.fixture(scope="session")
def playwright_sync() -> Any:
    try:
        from playwright import sync_api
    except ImportError:
        pytest.skip(f"playwright is not installed: {INSTALL_HINT}")
    return sync_api


@pytest.fixture(scope="session")
def jupyterlab_available() -> None:
    try:
        import jupyterlab  # noqa: F401
    except ImportError:
        pytest.skip(f"jupyterlab is not installed: {INSTALL_HINT}")


# -- the JupyterLab server -----------------------------------------------------------------------


def _free_loopback_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# Loopback only, whatever proxy variables say.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@dataclass
class LabServer:
    port: int
    token: str
    root: Path
    log_path: Path
    proc: subprocess.Popen[bytes]
    external_requests: list[str] = field(default_factory=list)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str) -> str:
        return f"{self.base_url}/{path.lstrip('/')}?token={self.token}"

    def api(self, path: str, timeout: float = 5.0) -> Any:
        req = urllib.request.Request(
            f"{self.base_url}/{path.lstrip('/')}", headers={"Authorization": f"token {self.token}"}
        )
        with _OPENER.open(req, timeout=timeout) as resp:
            return json.loads(resp.read().decode())

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return "(no server log)"
        return "\n".join(text.splitlines()[-lines:]).replace(self.token, "<token>")


def _write_settings(settings_dir: Path) -> None:
    """User settings: no news/update pop-up (it would also dial out); save widget state with the notebook
    so the test can check the saved state holds no key."""
    files = {
        "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
            "fetchNews": "false",
            "checkForUpdates": False,
        },
        "@jupyter-widgets/jupyterlab-manager/plugin.jupyterlab-settings": {"saveState": True},
    }
    for rel, content in files.items():
        path = settings_dir / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(content), encoding="utf-8")


def _server_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANTHROPIC_")}
    dirs = {
        "HOME": "home",
        "JUPYTER_CONFIG_DIR": "jupyter/config",
        "JUPYTER_DATA_DIR": "jupyter/data",
        "JUPYTER_RUNTIME_DIR": "jupyter/runtime",
        "JUPYTERLAB_SETTINGS_DIR": "jupyter/lab-settings",
        "JUPYTERLAB_WORKSPACES_DIR": "jupyter/lab-workspaces",
        "IPYTHONDIR": "home/.ipython",
        "MPLCONFIGDIR": "home/.matplotlib",
    }
    for var, rel in dirs.items():
        (tmp_path / rel).mkdir(parents=True, exist_ok=True)
        env[var] = str(tmp_path / rel)
    env["JUPYTER_PLATFORM_DIRS"] = "1"
    env["JUPYTER_DEFAULT_PROVISIONER_NAME"] = "okit-ipc"  # kernels over IPC sockets, as the README says
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    env.pop("MPLBACKEND", None)
    _write_settings(Path(env["JUPYTERLAB_SETTINGS_DIR"]))
    return env


def _stop(server: LabServer) -> None:
    """SIGTERM the server by PID (it shuts its kernels down), SIGKILL after 10 s; then end, by PID, any
    child (a kernel) still alive."""
    import psutil

    proc = server.proc
    try:
        children = psutil.Process(proc.pid).children(recursive=True)
    except psutil.Error:
        children = []
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(SERVER_STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(SERVER_STOP_TIMEOUT_S)
    _gone, alive = psutil.wait_procs(children, timeout=5)
    for child in alive:
        with contextlib.suppress(psutil.Error):
            child.kill()
    psutil.wait_procs(alive, timeout=5)


@pytest.fixture
def lab_server(tmp_path: Path, jupyterlab_available: None, no_key_anywhere: None) -> Iterator[LabServer]:
    """``jupyter lab`` on a free 127.0.0.1 port, serving a temporary copy of ``notebooks/``."""
    root = tmp_path / "notebooks"
    shutil.copytree(
        REPO / "notebooks",
        root,
        ignore=shutil.ignore_patterns("out", "runs", ".ipynb_checkpoints", "__pycache__"),
    )
    env = _server_env(tmp_path)
    port, token = _free_loopback_port(), secrets.token_hex(16)
    log_path = tmp_path / "jupyterlab.log"
    cmd = [
        sys.executable,
        "-m",
        "jupyterlab",
        "--ip",
        "127.0.0.1",
        "--port",
        str(port),
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        "--no-browser",
        f"--ServerApp.root_dir={root}",
        "--ServerApp.terminals_enabled=False",
        "--LabApp.extension_manager=readonly",
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:  # CI containers run as root
        cmd.append("--allow-root")
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            cmd, env=env, cwd=root, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT
        )
    server = LabServer(port=port, token=token, root=root, log_path=log_path, proc=proc)
    try:
        deadline = time.monotonic() + SERVER_START_TIMEOUT_S
        while True:
            if proc.poll() is not None:
                pytest.fail(
                    f"jupyter lab exited with {proc.returncode} before answering:\n{server.log_tail()}"
                )
            try:
                server.api("api/status", timeout=2)
                break
            except (urllib.error.URLError, ConnectionError, TimeoutError, ValueError):
                pass
            if time.monotonic() > deadline:
                pytest.fail(
                    f"jupyter lab did not answer on {server.base_url} within "
                    f"{SERVER_START_TIMEOUT_S:.0f} s:\n{server.log_tail()}"
                )
            time.sleep(0.2)
        yield server
    finally:
        _stop(server)


# -- the browser ---------------------------------------------------------------------------------

_CALL_FAILED = pytest.StashKey[bool]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """Remember whether the test body failed, so ``lab_page`` can leave a screenshot."""
    report = yield
    if report.when == "call":
        item.stash[_CALL_FAILED] = report.failed
    return report


_NOT_LOOPBACK = re.compile(r"^(https?|wss?)://(?!127\.0\.0\.1[:/])")


@pytest.fixture
def lab_page(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    chromium_path: str,
    playwright_sync: Any,
    lab_server: LabServer,
) -> Iterator[Any]:
    """A Playwright page in headless Debian Chromium with a fresh profile under ``tmp_path``. Requests to
    anything but 127.0.0.1 are aborted and listed in ``lab_server.external_requests``."""
    with playwright_sync.sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"),
            executable_path=chromium_path,
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1280, "height": 1600},
            timeout=30_000,
        )
        try:

            def block(route: Any) -> None:
                lab_server.external_requests.append(route.request.url)
                route.abort()

            context.route(_NOT_LOOPBACK, block)
            page = context.pages[0] if context.pages else context.new_page()
            page.set_default_timeout(30_000)
            yield page
            if request.node.stash.get(_CALL_FAILED, False):
                shot = tmp_path / "failure.png"
                try:
                    page.screenshot(path=str(shot), timeout=10_000)
                    print(f"screenshot of the failing page: {shot}\nserver log:\n{lab_server.log_tail()}")
                except Exception as exc:  # the page may be gone; the test's own error matters more
                    print(f"no failure screenshot: {type(exc).__name__}: {exc}")
        finally:
            context.close()


@pytest.fixture
def chromium_page(tmp_path: Path, chromium_path: str, playwright_sync: Any) -> Iterator[Any]:
    """A bare headless Chromium page, 1,400 x 900, for pages that need no JupyterLab (the HTML report).
    Every request off the machine is aborted and listed in ``page.external_requests``."""
    with playwright_sync.sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(tmp_path / "chromium-report-profile"),
            executable_path=chromium_path,
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1400, "height": 900},
            timeout=30_000,
        )
        try:
            external: list[str] = []

            def block(route: Any) -> None:
                external.append(route.request.url)
                route.abort()

            context.route(_NOT_LOOPBACK, block)
            page = context.pages[0] if context.pages else context.new_page()
            page.external_requests = external
            page.set_default_timeout(30_000)
            yield page
        finally:
            context.close()
