"""Which backend a run talks to: ``select_backend`` is the one place that decides.

Chosen explicitly, never by silent fallback. mode "auto": real (anthropic) when a key is found
(argument, ANTHROPIC_API_KEY, .env), else simulated; "real" without a key is an error before any work;
"replay" needs a recording; any other registered backend name (llm/registry.py) picks that backend.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import SecretStr

from ..errors import ConfigError
from .backend import Backend
from .registry import BUILTIN_BACKENDS, backend_names, create_backend

if TYPE_CHECKING:
    import anthropic

    from .retry import RetryConfig

MODES = ("auto", "simulated", "real", "replay")
PROVIDERS = ("anthropic",)
REAL_BACKENDS = ("anthropic", "batches")  # what serves real calls: the Messages API, or Message Batches


@dataclass(frozen=True)
class BackendChoice:
    backend: Backend
    mode: str  # simulated | real | replay | a registered backend's own mode
    key_source: str | None = None  # argument | environment | dotenv | client (never the key)

    def __repr__(self) -> str:
        return f"BackendChoice(mode={self.mode!r}, key_source={self.key_source!r})"

    def token_counter(self) -> Any:
        """The backend's exact token counter (``count_tokens``), looking through wrappers; or None."""
        backend: Any = self.backend
        while backend is not None:
            if callable(counter := getattr(backend, "count_tokens", None)):
                return counter
            backend = getattr(backend, "inner", None)
        return None


def select_backend(
    mode: str = "auto",
    *,
    backend: Backend | None = None,
    provider: str = "anthropic",
    api_key: str | SecretStr | None = None,
    key_source: str | None = None,
    client: anthropic.AsyncAnthropic | None = None,
    base_url: str | None = None,
    replay_from: str | Path | None = None,
    record_to: str | Path | None = None,
    retry: RetryConfig | None = None,
    simulated_options: Mapping[str, Any] | None = None,
    backend_options: Mapping[str, Any] | None = None,
    env: Mapping[str, str] | None = None,
    dotenv_path: str | Path | None = None,
    timeout: float | None = None,
    real_backend: str = "anthropic",
    real_options: Mapping[str, Any] | None = None,
) -> BackendChoice:
    """Decide which backend a run talks to and create it (through the registry, llm/registry.py).

    - ``backend``: use this one as it is (its ``mode`` attribute names the mode);
    - ``mode``: "auto" (real with a key, else simulated), "simulated", "real" (needs a key or a
      ``client``), "replay" (needs ``replay_from``), or the name of a registered backend, created with
      ``backend_options``;
    - ``api_key`` (with ``key_source``, where it came from, for error messages), ``client``, ``base_url``,
      ``retry``: for the real backend; ``env`` and ``dotenv_path`` say where else to look for a key;
    - ``record_to``: wrap the chosen backend so every completion is also recorded there.

    ``timeout``: seconds per attempt of a real call (None: ``DEFAULT_TIMEOUT_S``, or an injected
    client's own setting).

    ``real_backend``: what serves the calls when the choice is real: "anthropic" (the Messages API) or
    "batches" (Message Batches, 50% off, answers within 24 h); ``real_options``: further options of that
    backend, e.g. a shared ``rate_limiter``, or ``journal`` and ``active_runs`` for batches (a sweep's).
    They apply only when the choice is real: auto without a key still runs simulated.

    Returns the backend with its mode and where its key came from (never the key).
    """
    if provider not in PROVIDERS:
        raise ConfigError(
            f"unknown llm_provider {provider!r}; the supported provider is {', '.join(map(repr, PROVIDERS))}"
        )
    if real_backend not in REAL_BACKENDS:
        raise ConfigError(
            f"unknown real backend {real_backend!r}; choose one of: {', '.join(map(repr, REAL_BACKENDS))}"
        )
    choice: BackendChoice
    if backend is not None:
        choice = BackendChoice(backend, backend.mode)
    elif mode == "replay":
        if replay_from is None:
            raise ConfigError(
                "mode 'replay' needs a recording: pass replay_from=<run folder or .jsonl> "
                "(CLI: --replay-from)"
            )
        choice = BackendChoice(create_backend("replay", source=replay_from), "replay")
    elif mode == "simulated":
        choice = BackendChoice(create_backend("simulated", **dict(simulated_options or {})), "simulated")
    elif mode in ("auto", "real"):
        choice = _real_or_simulated(
            mode,
            api_key=api_key,
            key_source=key_source,
            client=client,
            base_url=base_url,
            retry=retry,
            simulated_options=simulated_options,
            env=os.environ if env is None else env,
            dotenv_path=dotenv_path,
            timeout=timeout,
            real=(real_backend, dict(real_options or {})),
        )
    else:
        others = [n for n in backend_names() if n not in BUILTIN_BACKENDS]
        if mode not in others:
            raise ConfigError(f"unknown mode {mode!r}; choose one of: {', '.join([*MODES, *others])}")
        created = create_backend(mode, **dict(backend_options or {}))
        choice = BackendChoice(created, created.mode)
    if record_to is not None:
        from .replay import RecordingBackend

        choice = BackendChoice(RecordingBackend(choice.backend, record_to), choice.mode, choice.key_source)
    return choice


def _real_or_simulated(
    mode: str,
    *,
    api_key: str | SecretStr | None,
    key_source: str | None,
    client: anthropic.AsyncAnthropic | None,
    base_url: str | None,
    retry: RetryConfig | None,
    simulated_options: Mapping[str, Any] | None,
    env: Mapping[str, str],
    dotenv_path: str | Path | None,
    timeout: float | None,
    real: tuple[str, dict[str, Any]],
) -> BackendChoice:
    from .keys import check_key_format, lookup_api_key

    name, options = real
    if client is not None:
        backend = create_backend(
            name, client=client, retry=retry, key_source="client", timeout=timeout, **options
        )
        return BackendChoice(backend, "real", "client")
    lookup = lookup_api_key(api_key, env=env, dotenv_path=dotenv_path)
    key = lookup.key
    if key is None:
        if mode == "real":
            raise ConfigError(
                f"mode 'real' needs an Anthropic API key, and {lookup.no_key_reason()}: set "
                "ANTHROPIC_API_KEY, add it to a .env file, or pass api_key=...; use mode 'simulated' "
                "to run without one"
            )
        return BackendChoice(create_backend("simulated", **dict(simulated_options or {})), "simulated")
    problem = check_key_format(key.value.get_secret_value())
    if problem:
        warnings.warn(problem, UserWarning, stacklevel=3)
    source = key_source if key_source is not None and key.source == "argument" else key.source
    backend = create_backend(
        name,
        api_key=key.value,
        base_url=base_url,
        retry=retry,
        key_source=source,
        timeout=timeout,
        **options,
    )
    return BackendChoice(backend, "real", source)
