"""The checks of a run's plain options (model, concurrency, rounds, gate policy, output folder, on_budget, cache_ttl), made when the
engine is built: a bad value is a ConfigError naming the option and the fix before any run folder exists,
even where the workflow would not read it (a gate option with no gate among the chosen agents)."""

from __future__ import annotations

import operator
import os
from typing import Any

from ..errors import ConfigError
from .workflow import GATE_POLICIES


def whole_number(value: Any, name: str, example: str, *, minimum: int = 1) -> int:
    """``value`` as an int (numpy integers too) of at least ``minimum``, else a ConfigError."""
    try:
        number = None if isinstance(value, bool) else operator.index(value)
    except TypeError:
        number = None
    if number is None or number < minimum:
        raise ConfigError(
            f"{name} must be a whole number of at least {minimum}, got {value!r}; e.g. {example}"
        )
    return number


def check_run_options(
    model: Any,
    max_concurrency: Any,
    max_rounds: Any,
    gate_policy: Any,
    output_dir: Any,
    on_budget: Any,
    cache_ttl: Any,
) -> tuple[int, int | None]:
    """Refuse bad values; returns ``max_concurrency`` and ``max_rounds`` as ints."""
    if on_budget not in ("fail", "pause"):
        raise ConfigError(f"on_budget must be 'fail' or 'pause' (wait for a person), got {on_budget!r}")
    if cache_ttl not in ("5m", "1h", None):
        raise ConfigError(f"cache_ttl must be '5m', '1h' or None (no prompt caching), got {cache_ttl!r}")
    if not isinstance(model, str) or not model.strip():
        raise ConfigError(
            f"model must be a model id such as 'claude-sonnet-5-5' (CLI: --model), got {model!r}"
        )
    if gate_policy is not None and gate_policy not in GATE_POLICIES:
        raise ConfigError(f"unknown gate policy {gate_policy!r}; choose one of: {', '.join(GATE_POLICIES)}")
    if not isinstance(output_dir, str | os.PathLike) or not str(output_dir).strip():
        raise ConfigError(
            f"output_dir must be a folder path that receives the run folders (CLI: -o), got {output_dir!r}"
        )
    concurrency = whole_number(
        max_concurrency, "max_concurrency", "max_concurrency=4 (CLI: --max-concurrency 4)"
    )
    rounds = None if max_rounds is None else whole_number(max_rounds, "max_rounds", "--max-rounds 3")
    return concurrency, rounds


__all__ = ["check_run_options", "whole_number"]
