"""The command registry: each command group's module registers its handlers here with ``@command``."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

Handler = Callable[[argparse.Namespace], int]
COMMANDS: dict[str, Handler] = {}


def command(name: str) -> Callable[[Handler], Handler]:
    """Register ``fn`` as the handler of ``orchestrator-kit NAME``."""

    def register(fn: Handler) -> Handler:
        COMMANDS[name] = fn
        return fn

    return register


def given(a: argparse.Namespace, names: dict[str, str]) -> dict[str, Any]:
    """The options given on the command line (not None), as ``{option: value}`` from ``{flag: option}``."""
    return {option: getattr(a, flag) for flag, option in names.items() if getattr(a, flag) is not None}


__all__ = ["COMMANDS", "Handler", "command", "given"]
