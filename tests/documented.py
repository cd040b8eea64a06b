"""What the README documents, written out once for the tests that check it (imported by name from any test
folder: tests/ has no packages; its conftest puts this folder on the path)."""

from __future__ import annotations

# The default workflow's agents, in the order they run (as the README lists them).
AGENT_ORDER = ["architect", "data", "consensus", "developer", "qa", "documentarian", "reviewer", "steward"]
