"""Lazy public names for package ``__init__`` files, so importing a package stays fast."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any


def lazy_exports(package: str, table: Mapping[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` that imports ``table[name]`` (a module path, absolute or relative to
    ``package``) on first use of ``name`` and caches the value in the package."""

    def __getattr__(name: str) -> Any:
        try:
            target = table[name]
        except KeyError:
            raise AttributeError(f"module {package!r} has no attribute {name!r}") from None
        module = importlib.import_module(target if "." in target else f"{package}.{target}")
        value = getattr(module, name)
        setattr(sys.modules[package], name, value)
        return value

    return __getattr__
