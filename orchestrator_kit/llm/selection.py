"""Which backend a run talks to, chosen explicitly, never by silent fallback.

mode "auto": real when a key is found (argument, ANTHROPIC_API_KEY, .env), else simulated;
mode "real" without a key is an error before any work; "replay" needs a recording.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from .backend import Backend

MODES = ("auto", "simulated", "real", "replay")


@dataclass(frozen=True)
class BackendChoice:
    backend: Backend
    mode: str  # simulated | real | replay
    key_source: str | None = None  # argument | environment | dotenv | client (never the key)

    def __repr__(self) -> str:
        return f"BackendChoice(mode={self.mode!r}, key_source={self.key_source!r})"


def select_backend(
    mode: str = "auto",
    *,
    api_key: Any = None,
    client: Any = None,
    base_url: str | None = None,
    replay_from: str | Path | None = None,
    record_to: str | Path | None = None,
    retry: Any = None,
    simulated_options: Mapping[str, Any] | None = None,
    env: Mapping[str, str] | None = None,
    dotenv_path: str | Path | None = None,
    timeout: float | None = None,
) -> BackendChoice:
    """``timeout``: seconds per attempt of a real call (None: ``DEFAULT_TIMEOUT_S``, or an injected
    client's own setting)."""
    if mode not in MODES:
        raise ConfigError(f"unknown mode {mode!r}; choose one of: {', '.join(MODES)}")
    env = os.environ if env is None else env
    choice: BackendChoice
    if mode == "replay":
        if replay_from is None:
            raise ConfigError(
                "mode 'replay' needs a recording: pass replay_from=<run folder or .jsonl> "
                "(CLI: --replay-from)"
            )
        from .replay import ReplayBackend

        choice = BackendChoice(ReplayBackend(replay_from), "replay")
    elif mode == "simulated":
        from .simulated import SimulatedBackend

        choice = BackendChoice(SimulatedBackend(**dict(simulated_options or {})), "simulated")
    else:
        choice = _real_or_simulated(
            mode,
            api_key=api_key,
            client=client,
            base_url=base_url,
            retry=retry,
            simulated_options=simulated_options,
            env=env,
            dotenv_path=dotenv_path,
            timeout=timeout,
        )
    if record_to is not None:
        from .replay import RecordingBackend

        choice = BackendChoice(RecordingBackend(choice.backend, record_to), choice.mode, choice.key_source)
    return choice


def _real_or_simulated(
    mode: str,
    *,
    api_key: Any,
    client: Any,
    base_url: str | None,
    retry: Any,
    simulated_options: Mapping[str, Any] | None,
    env: Mapping[str, str],
    dotenv_path: str | Path | None,
    timeout: float | None,
) -> BackendChoice:
    from .anthropic_backend import AnthropicBackend
    from .keys import check_key_format, lookup_api_key

    if client is not None:
        return BackendChoice(
            AnthropicBackend(client=client, retry=retry, key_source="client", timeout=timeout),
            "real",
            "client",
        )
    lookup = lookup_api_key(api_key, env=env, dotenv_path=dotenv_path)
    key = lookup.key
    if key is None:
        if mode == "real":
            raise ConfigError(
                f"mode 'real' needs an Anthropic API key, and {lookup.no_key_reason()}: set "
                "ANTHROPIC_API_KEY, add it to a .env file, or pass api_key=...; use mode 'simulated' "
                "to run without one"
            )
        from .simulated import SimulatedBackend

        return BackendChoice(SimulatedBackend(**dict(simulated_options or {})), "simulated")
    problem = check_key_format(key.value.get_secret_value())
    if problem:
        warnings.warn(problem, UserWarning, stacklevel=3)
    backend = AnthropicBackend(
        key.value, base_url=base_url, retry=retry, key_source=key.source, timeout=timeout
    )
    return BackendChoice(backend, "real", key.source)
