"""The optional HTTP API server over the same engine, run folders and key handling as the rest.

``pip install 'orchestrator-kit[server]'``, then ``orchestrator-kit serve`` or
``python scripts/run_api_server.py``. ``create_app(settings)`` builds the FastAPI app (see ``app.py``
for the endpoints); ``serve(...)`` runs it on uvicorn, bound to 127.0.0.1 by default.
FastAPI, uvicorn and cryptography load on first use of these names.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_exports

_LAZY = {
    "create_app": "orchestrator_kit.server.app",
    "ServerSettings": "orchestrator_kit.server.app",
    "serve": "orchestrator_kit.server.main",
    "main": "orchestrator_kit.server.main",
}
__all__ = ["ServerSettings", "create_app", "main", "serve"]

if TYPE_CHECKING:  # pragma: no cover
    from .app import ServerSettings, create_app
    from .main import main, serve


__getattr__ = lazy_exports(__name__, _LAZY)
