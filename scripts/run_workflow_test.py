#!/usr/bin/env python
"""The guide's quick test: run the full workflow once and print what it produced and cost.

python scripts/run_workflow_test.py              # simulated mode, $0
python scripts/run_workflow_test.py --real-llm   # real Claude: needs ANTHROPIC_API_KEY
                                                 # (ANTHROPIC_BASE_URL is honoured, e.g. a fake server)
"""

from __future__ import annotations

import argparse

from orchestrator_kit.cli import report_error
from orchestrator_kit.engine.engine import run_workflow
from orchestrator_kit.errors import OrchestratorError
from orchestrator_kit.llm.pricing import DEFAULT_MODEL


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--real-llm", action="store_true", help="call Claude (mode real) instead of simulating")
    p.add_argument(
        "--request",
        default="Build a command-line tool that converts CSV files to JSON, "
        "validates each row and prints a summary report",
    )
    p.add_argument("--model", default=DEFAULT_MODEL)
    p.add_argument("--budget", type=float, default=None, help="dollar cap for the run")
    p.add_argument("-o", "--output", default="runs")
    a = p.parse_args(argv)
    try:
        result = run_workflow(
            a.request,
            project_name="workflow-test",
            mode="real" if a.real_llm else "simulated",
            model=a.model,
            budget_usd=a.budget,
            output_dir=a.output,
        )
    except OrchestratorError as exc:
        return report_error(exc, prog="run_workflow_test")
    print(result.table())
    print(f"review score: {result.review_score}")
    print(f"run folder: {result.run_dir}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
