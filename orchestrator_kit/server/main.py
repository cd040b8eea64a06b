"""Start the API server: ``serve(...)`` from Python, ``main(argv)`` for ``scripts/run_api_server.py`` and
``orchestrator-kit serve``. Exit codes: 0 stopped normally; 2 bad arguments or settings."""

from __future__ import annotations

import argparse
import copy
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..errors import ConfigError

SETTINGS_ENV = "ORCHESTRATOR_KIT_SERVER_SETTINGS"  # used only to hand settings to a --reload worker


def is_loopback(host: str) -> bool:
    """``localhost``, 127.0.0.0/8 or ::1 (IPv6 brackets allowed)."""
    from .middleware import is_loopback as loopback

    return loopback(host)


def bind_address(host: str) -> str:
    """The address to bind: IPv6 without its URL brackets (``[::1]`` -> ``::1``)."""
    return host.strip().removeprefix("[").removesuffix("]")


def check_bind(host: str, no_auth: bool) -> None:
    if no_auth and not is_loopback(host):
        raise ConfigError(
            f"--no-auth is refused on {host!r}: without authentication the server may only listen "
            "on a loopback address (127.0.0.1, ::1 or localhost); drop --no-auth to use tokens "
            "(--users-file for several users)"
        )


def log_config(level: str = "info") -> dict[str, Any]:
    """uvicorn's logging config, plus our own logger on the same handler; every handler redacts
    key-shaped text."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config.setdefault("filters", {})["redact"] = {"()": "orchestrator_kit.server.logs.RedactFilter"}
    for handler in config["handlers"].values():
        handler.setdefault("filters", []).append("redact")
    config["loggers"]["orchestrator_kit"] = {
        "handlers": ["default"],
        "level": level.upper(),
        "propagate": False,
    }
    return config


def banner(app: Any, host: str, port: int) -> str:
    shown = f"[{host}]" if ":" in host else host
    url = f"http://{shown}:{port}"
    auth, token = app.state.auth, app.state.token
    generated = getattr(app.state, "token_generated", False)
    lines = [f"orchestrator_kit API server on {url}  (docs: {url}/docs)", f"    data: {app.state.data_dir}"]
    if not auth.enabled:
        lines += [
            f"    WARNING: authentication is OFF (--no-auth): every local process acts as user "
            f"{auth.implicit_user!r}",
            f"    try: curl {url}/projects",
        ]
    elif token is not None and generated:
        lines += [f"    token: {token}", f"    try: curl -H 'Authorization: Bearer {token}' {url}/projects"]
    elif token is not None:
        lines += [
            "    token: the one you set (not shown)",
            f"    try: curl -H 'Authorization: Bearer <token>' {url}/projects",
        ]
    else:
        lines += [f"    users: {', '.join(auth.users)} (tokens from the users file)"]
    if not is_loopback(host):
        allowed = ", ".join(app.state.settings.allowed_hosts)
        lines.append(
            f"    requests must name a loopback host or: {allowed}"
            if allowed
            else "    requests must name a loopback host: add --allowed-hosts NAME for this machine's name"
        )
    return "\n".join(lines)


def make_server(
    app: Any,
    host: str = "127.0.0.1",
    port: int = 8000,
    *,
    print_banner: bool = False,
    log_level: str = "info",
    logging_config: dict[str, Any] | None = None,
    timeout_graceful_shutdown: int = 3,
) -> Any:
    """A ``uvicorn.Server`` for ``app`` that, on shutdown, first ends the app's event streams (then waits
    up to ``timeout_graceful_shutdown`` seconds for open requests before the app's own shutdown)."""
    import uvicorn

    class Server(uvicorn.Server):
        async def startup(self, sockets: Any = None) -> None:
            await super().startup(sockets=sockets)
            if print_banner and self.started and self.servers:
                bound = self.servers[0].sockets[0].getsockname()
                print(banner(app, host, bound[1]), flush=True)

        async def shutdown(self, sockets: Any = None) -> None:
            runs = getattr(app.state, "runs", None)
            if runs is not None and runs.closing is not None:
                runs.closing.set()  # SSE streams end now, so connections can close
            await super().shutdown(sockets=sockets)

    config = uvicorn.Config(
        app,
        host=bind_address(host),
        port=port,
        log_level=log_level,
        log_config=logging_config,
        timeout_graceful_shutdown=timeout_graceful_shutdown,
        lifespan="on",
        server_header=False,
    )
    return Server(config)


class BackgroundServer:
    """``app`` on uvicorn in a daemon thread (notebooks, tests, benchmarks). ``port=0`` picks a free port.

    with BackgroundServer(create_app(settings)) as srv:
        httpx.get(srv.url + "/health")
    """

    def __init__(
        self,
        app: Any,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        start_timeout: float = 15.0,
        stop_timeout: float = 15.0,
        **server_options: Any,
    ) -> None:
        import threading

        server_options.setdefault("log_level", "warning")
        self.app, self.host = app, bind_address(host)
        self.server = make_server(app, host, port, **server_options)
        self._thread = threading.Thread(target=self.server.run, name="orchestrator-kit-server", daemon=True)
        self._start_timeout, self._stop_timeout = start_timeout, stop_timeout
        self.port = 0

    @property
    def url(self) -> str:
        shown = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{shown}:{self.port}"

    def start(self) -> BackgroundServer:
        import time

        self._thread.start()
        deadline = time.monotonic() + self._start_timeout
        while not self.server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(
                    f"the API server did not start on {self.host} within {self._start_timeout} s"
                )
            time.sleep(0.01)
        self.port = self.server.servers[0].sockets[0].getsockname()[1]
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(self._stop_timeout)
        if self._thread.is_alive():  # pragma: no cover - a stuck shutdown
            raise RuntimeError(f"the API server did not stop within {self._stop_timeout} s")

    def __enter__(self) -> BackgroundServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def serve(
    host: str = "127.0.0.1",
    port: int = 8000,
    *,
    no_auth: bool = False,
    users_file: str | Path | None = None,
    data_dir: str | Path = "server_data",
    reload: bool = False,
    anthropic_base_url: str | None = None,
    max_concurrent_runs: int = 8,
    simulated_latency_s: float = 0.0,
    max_body_bytes: int = 1 << 20,
    log_level: str = "info",
    max_concurrent_calls: int = 4,
    allowed_hosts: Sequence[str] = (),
    max_queued_per_user: int = 20,
    body_timeout_s: float = 30.0,
    call_timeout_s: float | None = None,
) -> None:
    """Run the server until interrupted (Ctrl-C). Raises ConfigError for bad settings.
    ``call_timeout_s``: seconds per attempt of users' real model calls (None: 120)."""
    from .app import ServerSettings, create_app

    check_bind(host, no_auth)
    host = bind_address(host)
    settings = ServerSettings(
        data_dir=Path(data_dir),
        no_auth=no_auth,
        users_file=None if users_file is None else Path(users_file),
        anthropic_base_url=anthropic_base_url,
        max_concurrent_runs=max_concurrent_runs,
        simulated_latency_s=simulated_latency_s,
        max_body_bytes=max_body_bytes,
        max_concurrent_calls=max_concurrent_calls,
        allowed_hosts=_allowed(host, allowed_hosts),
        max_queued_per_user=max_queued_per_user,
        body_timeout_s=body_timeout_s,
        call_timeout_s=call_timeout_s,
    )
    if reload:
        _serve_with_reload(settings, host, port, log_level)
        return
    app = create_app(settings)
    make_server(
        app, host, port, print_banner=True, log_level=log_level, logging_config=log_config(log_level)
    ).run()


def _allowed(host: str, extra: Sequence[str]) -> tuple[str, ...]:
    """Host names accepted in requests besides loopback ones: ``extra``, and the bound address when it
    is one specific address (a wildcard such as 0.0.0.0 needs --allowed-hosts)."""
    names = [h.strip() for item in extra for h in item.split(",") if h.strip()]
    if host not in ("0.0.0.0", "::", "") and not is_loopback(host):
        names.append(host)
    return tuple(dict.fromkeys(names))


def _serve_with_reload(settings: Any, host: str, port: int, log_level: str) -> None:
    import uvicorn

    from .auth import TOKEN_ENV, new_token

    generated = not settings.no_auth and settings.users_file is None and not os.environ.get(TOKEN_ENV)
    if generated:
        os.environ[TOKEN_ENV] = new_token()  # the same token across reloads
    os.environ[SETTINGS_ENV] = json.dumps(
        {
            "data_dir": str(settings.data_dir),
            "no_auth": settings.no_auth,
            "users_file": None if settings.users_file is None else str(settings.users_file),
            "anthropic_base_url": settings.anthropic_base_url,
            "max_concurrent_runs": settings.max_concurrent_runs,
            "simulated_latency_s": settings.simulated_latency_s,
            "max_body_bytes": settings.max_body_bytes,
            "max_concurrent_calls": settings.max_concurrent_calls,
            "allowed_hosts": list(settings.allowed_hosts),
            "max_queued_per_user": settings.max_queued_per_user,
            "body_timeout_s": settings.body_timeout_s,
            "call_timeout_s": settings.call_timeout_s,
        }
    )
    if generated:
        print(
            f"orchestrator_kit API server (reload) on http://{host}:{port}\n    token: {os.environ[TOKEN_ENV]}",
            flush=True,
        )
    uvicorn.run(
        "orchestrator_kit.server.main:app_from_env",
        factory=True,
        reload=True,
        host=host,
        port=port,
        reload_dirs=[str(Path(__file__).resolve().parents[1])],
        log_level=log_level,
        log_config=log_config(log_level),
    )


def app_from_env() -> Any:
    """The app of a ``--reload`` worker, from the settings its parent put in the environment."""
    from .app import ServerSettings, create_app

    raw = json.loads(os.environ[SETTINGS_ENV])
    for key in ("data_dir", "users_file"):
        raw[key] = None if raw[key] is None else Path(raw[key])
    raw["allowed_hosts"] = tuple(raw.get("allowed_hosts") or ())
    return create_app(ServerSettings(**raw))


def build_parser(prog: str | None = None) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=prog,
        description="Start the orchestrator_kit HTTP API server (FastAPI on uvicorn; OpenAPI docs at /docs).",
    )
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    p.add_argument("--port", type=int, default=8000, help="port (default: 8000; 0 picks a free one)")
    p.add_argument(
        "--no-auth",
        action="store_true",
        help="no tokens: a single implicit user; refused unless --host is a loopback address",
    )
    p.add_argument(
        "--users-file", help="YAML/JSON mapping user ids to tokens (default: one user, token printed)"
    )
    p.add_argument(
        "--data-dir", default="server_data", help="index, key file and run folders (default: ./server_data)"
    )
    p.add_argument("--reload", action="store_true", help="restart on code changes (development)")
    p.add_argument(
        "--anthropic-base-url",
        default=None,
        help="Messages API base URL for users' real runs (default: the SDK's, or ANTHROPIC_BASE_URL)",
    )
    p.add_argument(
        "--max-concurrent-runs", type=int, default=8, help="runs at once; more wait queued (default: 8)"
    )
    p.add_argument(
        "--max-concurrent-calls",
        type=int,
        default=4,
        help="model calls in flight at once, across all runs (default: 4)",
    )
    p.add_argument(
        "--simulated-latency",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="delay each simulated call (demos); default 0",
    )
    p.add_argument(
        "--timeout",
        type=float,
        default=None,
        metavar="SECONDS",
        help="per attempt of a user's real model call, retried on expiry (default: 120)",
    )
    p.add_argument("--max-body-bytes", type=int, default=1 << 20, help="request body limit (default: 1 MiB)")
    p.add_argument(
        "--allowed-hosts",
        action="append",
        default=[],
        metavar="NAME[,NAME...]",
        help="Host/Origin names accepted besides loopback ones (this machine's name or address, a "
        "proxy's public name; '*' for any); requests naming other hosts get 403 (DNS rebinding)",
    )
    p.add_argument(
        "--max-queued-per-user",
        type=int,
        default=20,
        help="runs one user may have waiting to start; more get 429 with Retry-After (default: 20)",
    )
    p.add_argument(
        "--body-timeout",
        type=float,
        default=30.0,
        metavar="SECONDS",
        help="a request body must arrive within this, else 408 (default: 30)",
    )
    p.add_argument("--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"])
    return p


def main(argv: Sequence[str] | None = None, prog: str | None = None) -> int:
    args = build_parser(prog).parse_args(argv)
    try:
        if (
            min(
                args.max_concurrent_runs,
                args.max_concurrent_calls,
                args.max_body_bytes,
                args.max_queued_per_user,
            )
            < 1
            or args.simulated_latency < 0
            or args.body_timeout <= 0
            or (args.timeout is not None and not args.timeout > 0)
        ):
            raise ConfigError(
                "--max-concurrent-runs, --max-concurrent-calls, --max-body-bytes and "
                "--max-queued-per-user must be at least 1, --simulated-latency at least 0, "
                "--body-timeout and --timeout more than 0"
            )
        serve(
            args.host,
            args.port,
            no_auth=args.no_auth,
            users_file=args.users_file,
            data_dir=args.data_dir,
            reload=args.reload,
            anthropic_base_url=args.anthropic_base_url,
            max_concurrent_runs=args.max_concurrent_runs,
            simulated_latency_s=args.simulated_latency,
            max_body_bytes=args.max_body_bytes,
            log_level=args.log_level,
            max_concurrent_calls=args.max_concurrent_calls,
            allowed_hosts=args.allowed_hosts,
            max_queued_per_user=args.max_queued_per_user,
            body_timeout_s=args.body_timeout,
            call_timeout_s=args.timeout,
        )
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


__all__ = ["BackgroundServer", "build_parser", "check_bind", "is_loopback", "main", "make_server", "serve"]
