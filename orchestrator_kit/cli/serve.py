"""``orchestrator-kit serve``: the HTTP API server, whose own parser reads every serve option."""

from __future__ import annotations

import argparse
from typing import Any

from .registry import command


@command("serve")
def _serve(a: argparse.Namespace) -> int:
    from ..server.main import main as serve_main

    return serve_main(a.server_args, prog="orchestrator-kit serve") or 0


def add_parsers(sub: Any) -> None:
    """The parser of ``serve`` (it takes no options of its own: see ``main``)."""
    # the server's own parser reads every serve option (unknown to this one): see main()
    sub.add_parser(
        "serve", help="start the HTTP API server (see: orchestrator-kit serve --help)", add_help=False
    )


__all__ = ["add_parsers"]
