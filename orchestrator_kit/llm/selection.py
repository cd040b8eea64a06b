"""Which backend a run talks to: ``select_backend`` is the one place that decides.

Chosen explicitly, never by silent fallback. mode "auto": real (anthropic) when a key is found
(argument, ANTHROPIC_API_KEY, .env), else simulated; "real" without a key is an error before any work;
"replay" needs a recording; any other registered backend name (llm/registry.py) picks that backend.
"""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypedDict, Unpack

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


class BackendOptions(TypedDict, total=False):
    """What a run passes for its backend besides ``mode``: the one list of these keywords, typed once.
    ``WorkflowEngine(**options)`` (and so ``run_workflow``) hands them to :func:`select_backend` as they are."""

    backend: Backend | None
    api_key: str | SecretStr | None
    key_source: str | None
    client: anthropic.AsyncAnthropic | None
    base_url: str | None
    replay_from: str | Path | None
    record_to: str | Path | None
    retry: RetryConfig | None
    simulated_options: Mapping[str, Any] | None
    backend_options: Mapping[str, Any] | None
    timeout: float | None


class SelectOptions(BackendOptions, total=False):
    """:class:`BackendOptions` plus what only direct callers of :func:`select_backend` set."""

    provider: str
    env: Mapping[str, str] | None
    dotenv_path: str | Path | None
    real_backend: str
    real_options: Mapping[str, Any] | None


def check_keywords(options: Mapping[str, object], allowed: type, where: str) -> None:
    """A TypeError, as Python raises it, for a keyword that ``allowed`` (a TypedDict) does not list."""
    unknown = sorted(set(options) - set(allowed.__annotations__))  # a TypedDict's keys, inherited ones too
    if unknown:
        raise TypeError(f"{where} got an unexpected keyword argument {unknown[0]!r}")


def check_timeout(value: object) -> float:
    """Seconds per attempt of a real call: a finite number above 0 (numpy's floats too), else ConfigError."""
    try:
        seconds = None if isinstance(value, bool | str) else float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        seconds = None
    if seconds is None or not (math.isfinite(seconds) and seconds > 0):
        raise ConfigError(
            f"timeout must be a number of seconds above 0 per attempt of a model call, got {value!r}; "
            "e.g. timeout=120 (CLI: --timeout 120), or leave it out for the default"
        )
    return seconds


def select_backend(mode: str = "auto", **options: Unpack[SelectOptions]) -> BackendChoice:
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

    The keywords are typed once, in :class:`SelectOptions`. Returns the backend with its mode and where
    its key came from (never the key).
    """
    check_keywords(options, SelectOptions, "select_backend()")
    provider = options.get("provider", "anthropic")
    if provider not in PROVIDERS:
        raise ConfigError(
            f"unknown llm_provider {provider!r}; the supported provider is {', '.join(map(repr, PROVIDERS))}"
        )
    real_backend = options.get("real_backend", "anthropic")
    if real_backend not in REAL_BACKENDS:
        raise ConfigError(
            f"unknown real backend {real_backend!r}; choose one of: {', '.join(map(repr, REAL_BACKENDS))}"
        )
    simulated = dict(options.get("simulated_options") or {})
    backend, replay_from = options.get("backend"), options.get("replay_from")
    if replay_from is not None and backend is None and mode != "replay":  # it would be silently unused
        raise ConfigError(
            f"replay_from is read only in mode 'replay', and the mode is {mode!r}: pass mode='replay' "
            "(CLI: --mode replay) to serve the recording, or leave replay_from out"
        )
    if (timeout := options.get("timeout")) is not None:
        options["timeout"] = check_timeout(timeout)
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
        choice = BackendChoice(create_backend("simulated", **simulated), "simulated")
    elif mode in ("auto", "real"):
        choice = _real_or_simulated(mode, options, real_backend, simulated)
    else:
        others = [n for n in backend_names() if n not in BUILTIN_BACKENDS]
        if mode not in others:
            raise ConfigError(f"unknown mode {mode!r}; choose one of: {', '.join([*MODES, *others])}")
        created = create_backend(mode, **dict(options.get("backend_options") or {}))
        choice = BackendChoice(created, created.mode)
    if (record_to := options.get("record_to")) is not None:
        from .replay import RecordingBackend

        choice = BackendChoice(RecordingBackend(choice.backend, record_to), choice.mode, choice.key_source)
    return choice


def _real_or_simulated(
    mode: str, options: SelectOptions, name: str, simulated: dict[str, Any]
) -> BackendChoice:
    from .keys import check_key_format, lookup_api_key

    shared: dict[str, Any] = {
        "retry": options.get("retry"),
        "timeout": options.get("timeout"),
        **dict(options.get("real_options") or {}),
    }
    if (client := options.get("client")) is not None:
        return BackendChoice(
            create_backend(name, client=client, key_source="client", **shared), "real", "client"
        )
    env = options.get("env")
    lookup = lookup_api_key(
        options.get("api_key"), env=os.environ if env is None else env, dotenv_path=options.get("dotenv_path")
    )
    key = lookup.key
    if key is None:
        if mode == "real":
            raise ConfigError(
                f"mode 'real' needs an Anthropic API key, and {lookup.no_key_reason()}: set "
                "ANTHROPIC_API_KEY, add it to a .env file, or pass api_key=...; use mode 'simulated' "
                "to run without one"
            )
        return BackendChoice(create_backend("simulated", **simulated), "simulated")
    problem = check_key_format(key.value.get_secret_value())
    if problem:
        warnings.warn(problem, UserWarning, stacklevel=3)
    key_source = options.get("key_source")
    source = key_source if key_source is not None and key.source == "argument" else key.source
    backend = create_backend(
        name, api_key=key.value, base_url=options.get("base_url"), key_source=source, **shared
    )
    return BackendChoice(backend, "real", source)
