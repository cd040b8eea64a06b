"""The README's main job: the workflow notebook through papermill in simulated mode ($0, no key needed or
used), then the HTML cost report over its run folder. Prints where everything landed. Kernels are started by
``orchestrator_kit.kernels`` (IPC transport, shut down without an interrupt: no alarming kernel log lines);
the notebook's kernel is started first (``orchestrator_kit.warm_kernels``), so that it boots while papermill
is imported.

    python scripts/main_job.py [--out out]

    OUT/workflow.ipynb                                      the executed notebook (figures embedded)
    OUT/runs/<run_id>/                                      the run folder (manifest, calls.jsonl, artifacts/, ...)
    OUT/runs/<run_id>/tables/*.parquet|csv, figures/*.png   the notebook's tables and figures
    OUT/report.html                                         the cost report: self-contained HTML, no code

Relative paths are taken from the folder you run it in. Running it again adds a run; the report covers all.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default="out", help="output folder (default: out)")
    out = Path(p.parse_args().out).resolve()
    for name in [n for n in os.environ if n.startswith("ANTHROPIC_")]:
        del os.environ[name]  # simulated mode: the kernel gets no key at all

    from orchestrator_kit.notebook_params import notebook_path
    from orchestrator_kit.warm_kernels import notebook_kernel_name, start_kernel

    out.mkdir(parents=True, exist_ok=True)
    template = notebook_path("workflow.ipynb")
    # The kernel boots and imports on the other core while this process imports papermill.
    km = start_kernel(notebook_kernel_name(template), cwd=out)

    from orchestrator_kit.kernels import execute_notebook
    from orchestrator_kit.report.html import build_report

    notebook = out / "workflow.ipynb"
    runs = out / "runs"
    before = {p.name for p in runs.iterdir()} if runs.is_dir() else set()
    print(f"running {template.name} through papermill (simulated mode) ...", flush=True)
    execute_notebook(
        template, notebook, cwd=out, km=km, parameters={"mode": "simulated", "output_dir": str(runs)}
    )
    (run_dir,) = [p for p in runs.iterdir() if p.is_dir() and p.name not in before]
    print("building the cost report ...", flush=True)
    report = build_report(runs, out / "report.html")
    print()
    print(f"executed notebook: {notebook}")
    print(f"run folder:        {run_dir}")
    print(
        f"tables:            {run_dir / 'tables'} ({len(list((run_dir / 'tables').iterdir()))} files: Parquet and CSV)"
    )
    print(f"figures:           {run_dir / 'figures'} ({len(list((run_dir / 'figures').iterdir()))} PNG)")
    print(f"report:            {report}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
