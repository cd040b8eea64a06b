"""The server's settings, and the authenticator they call for."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from .auth import TOKEN_ENV, Authenticator, new_token


@dataclass
class ServerSettings:
    """Everything ``create_app`` needs; ``orchestrator-kit serve`` fills it from its options."""

    data_dir: Path = Path("server_data")
    no_auth: bool = False
    users_file: Path | None = None
    token: str | None = field(default=None, repr=False)  # the single user's token; generated when None
    anthropic_base_url: str | None = None  # None: the SDK default (or ANTHROPIC_BASE_URL)
    max_body_bytes: int = 1 << 20
    max_concurrent_runs: int = 8
    max_concurrent_calls: int = 4  # model calls in flight at once, shared by every user's runs
    simulated_latency_s: float = 0.0  # slows simulated calls down (demos); 0 = as fast as possible
    sse_heartbeat_s: float = 15.0
    allowed_hosts: tuple[str, ...] = ()  # Host/Origin names accepted besides loopback ones; "*": any
    max_queued_per_user: int = 20  # runs one user may have waiting; more get 429
    body_timeout_s: float = 30.0  # a request body must arrive within this (408 otherwise)
    call_timeout_s: float | None = None  # seconds per attempt of a real model call; None: 120 (the default)


def build_authenticator(settings: ServerSettings) -> tuple[Authenticator, str | None, bool]:
    """The authenticator, the single user's token (None without one) and whether the server generated
    it (only a generated token is printed at start: an operator's own token stays out of the terminal)."""
    if settings.no_auth:
        return Authenticator.without_auth(), None, False
    if settings.users_file is not None:
        return Authenticator.from_users_file(settings.users_file), None, False
    token = settings.token or os.environ.get(TOKEN_ENV, "").strip()
    generated = not token
    token = token or new_token()
    return Authenticator.single_token(token), token, generated


__all__ = ["ServerSettings", "build_authenticator"]
