"""Evaluations as a plain-text table (the CLI's view)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = ["evaluation_table"]


def _cell(e: dict[str, Any]) -> list[str]:
    if not e["applicable"]:
        code = ["n/a", "n/a", "n/a"]
    else:
        tests = (
            f"{e['tests_passed']}/{e['tests_collected']}" if e["tests_collected"] is not None else "not run"
        )
        code = ["yes" if e["imports_ok"] else "NO", tests, f"{e['lines_of_code']:,}"]
    score = e["review_score"]
    return [
        e["run_id"],
        e["mode"],
        *code,
        f"{e['completeness']:.0%}",
        "-" if score is None else f"{score:g}",
        "; ".join(e["stopped"]) or "-",
    ]


def evaluation_table(results: Sequence[dict[str, Any]]) -> str:
    """One line per run: imports, tests passed/collected, lines of code, completeness, reviewer score,
    and why the sandbox stopped code (if it did); failed evaluations say why."""
    head = ["run", "mode", "imports", "tests", "LOC", "complete", "review", "stopped"]
    rows = []
    for r in results:
        if "error" in r:
            rows.append([str(r["path"]), "-", "-", "-", "-", "-", "-", r["error"]])
        else:
            rows.append(_cell(r["evaluation"]))
    widths = [max(len(x) for x in col) for col in zip(head, *rows, strict=False)]
    widths[-1] = 0  # the last column runs free

    def line(cells: list[str]) -> str:
        return "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()

    isolation = next((r["evaluation"]["isolation"] for r in results if "evaluation" in r), None)
    foot = ""
    if isolation and isolation.get("note"):
        foot = f"\nsandbox: {isolation['note']}"
    return "\n".join([line(head), *(line(r) for r in rows)]) + foot
