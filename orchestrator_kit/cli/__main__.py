"""``python -m orchestrator_kit.cli``: the same command as ``orchestrator-kit``."""

from . import main

raise SystemExit(main())
