"""The registry of backends: name -> factory(**options) -> Backend.

The built-in ones (``simulated``, ``anthropic``, ``batches``, ``replay``), any registered with ``register_backend``,
and any another installed package declares under the entry point group ``orchestrator_kit.backends``::

    [project.entry-points."orchestrator_kit.backends"]
    echo = "my_package.echo:EchoBackend"

``select_backend`` (llm/selection.py) is the one place that decides which backend a run talks to; it
creates it here. A module of its own, apart from the Backend protocol, so that the backends (which
import the protocol) and the registry (which imports the backends) form no cycle.
"""

from __future__ import annotations

from importlib.metadata import EntryPoint, entry_points
from typing import Any, cast

from ..errors import ConfigError
from .backend import Backend, BackendFactory

ENTRY_POINT_GROUP = "orchestrator_kit.backends"


def _simulated(**options: Any) -> Backend:
    from .simulated import SimulatedBackend

    return SimulatedBackend(**options)


def _anthropic(**options: Any) -> Backend:
    from .anthropic_backend import AnthropicBackend

    return AnthropicBackend(**options)


def _batches(**options: Any) -> Backend:
    from .batches import BatchesBackend

    return BatchesBackend(**options)


def _replay(**options: Any) -> Backend:
    from .replay import ReplayBackend

    return ReplayBackend(**options)


BUILTIN_BACKENDS: dict[str, BackendFactory] = {
    "simulated": _simulated,
    "anthropic": _anthropic,
    "batches": _batches,
    "replay": _replay,
}
_REGISTRY: dict[str, BackendFactory] = dict(BUILTIN_BACKENDS)


def register_backend(name: str, factory: BackendFactory) -> None:
    """Make ``factory(**options) -> Backend`` available as ``name`` (``mode=name`` picks it)."""
    if not name or not name.isidentifier():
        raise ConfigError(f"a backend name must be an identifier, got {name!r}")
    _REGISTRY[name] = factory


def _entry_points() -> dict[str, EntryPoint]:
    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}


def backend_names() -> list[str]:
    """Every backend that can be created: built in, registered, or declared by an installed package."""
    return sorted({*_REGISTRY, *_entry_points()})


def backend_factory(name: str) -> BackendFactory:
    """The factory registered as ``name``; an entry point is loaded on first use."""
    if name in _REGISTRY:
        return _REGISTRY[name]
    ep = _entry_points().get(name)
    if ep is None:
        raise ConfigError(f"unknown backend {name!r}; choose one of: {', '.join(backend_names())}")
    try:
        loaded: object = ep.load()
    except Exception as exc:  # any import error of a third-party package: name it, keep the cause
        dist = ep.dist.name if ep.dist is not None else "an installed package"
        raise ConfigError(
            f"backend {name!r} (entry point {ep.value!r} of {dist}) could not be loaded: "
            f"{type(exc).__name__}: {exc}; fix or uninstall that package"
        ) from exc
    if not callable(loaded):
        raise ConfigError(f"backend {name!r} (entry point {ep.value!r}) is not callable")
    factory = cast("BackendFactory", loaded)  # a callable; that it returns a Backend is the plugin's promise
    _REGISTRY[name] = factory
    return factory


def create_backend(name: str, **options: Any) -> Backend:
    """A new backend ``name`` built with ``options``; refuses anything that is not a Backend."""
    backend = backend_factory(name)(**options)
    if not isinstance(backend, Backend):
        raise ConfigError(
            f"backend {name!r} returned {type(backend).__name__}, which has no 'mode' attribute and "
            "'async complete(request, *, on_delta=None)' method"
        )
    return backend
