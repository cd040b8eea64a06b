"""Small modules, one job each (STYLE.md): no module of the package runs past 500 lines. A module that
grows past it is split along a seam (as server/runs.py was: run_setup.py builds a run's engine)."""

from __future__ import annotations

from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "orchestrator_kit"
MAX_LINES = 500


def test_no_module_is_over_500_lines() -> None:
    sizes = {
        str(p.relative_to(PACKAGE.parent)): len(p.read_text(encoding="utf-8").splitlines())
        for p in PACKAGE.rglob("*.py")
    }
    assert len(sizes) > 100  # the whole package was read
    assert {p: n for p, n in sizes.items() if n > MAX_LINES} == {}
