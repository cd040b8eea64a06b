"""Notebook benchmarks (issue #4). Prints figures; asserts nothing.

    python bench/bench_notebooks.py [--repeat 3] [--report-runs 100] [--skip-batch]

1. The workflow notebook through papermill against the same cells called in-process (run, evaluation,
   tables displayed as HTML, figures rendered to PNG once, tables and figures written): median of --repeat,
   the ratios, and where the time goes (import, kernel start, run, evaluate, tables, figures, write, after).
   Cold: each run in a fresh interpreter (imports included): in-process; papermill's Python API with the
   kernel started by papermill; the same with the kernel started before papermill is imported (the main
   job); the papermill CLI. Warm: one long-lived process with everything imported, against papermill on a
   kernel the pool started while the previous notebook ran (a sweep's render worker).
2. A sweep of 8 grid cells (2 requests x 2 models x 2 settings) in one driver, without and with rendering.
3. The HTML cost report over 100 run folders (made quickly by in-process simulated runs): load_runs
   alone, then build_report (papermill + nbconvert).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REQUESTS = [
    "Build a command-line tool that converts CSV files to JSON",
    "Build a small REST API for todo items",
]
MODELS = ["claude-sonnet-5-5", "claude-haiku-5-5"]


def _median(fn: Callable[[int], object], repeat: int) -> tuple[float, list[float]]:
    times = []
    for i in range(repeat):
        t = time.perf_counter()
        fn(i)
        times.append(time.perf_counter() - t)
    return statistics.median(times), times


def _fmt(times: list[float]) -> str:
    return ", ".join(f"{t:.2f}" for t in times)


# -- section 1: one side of the comparison, timed step by step -------------------------------------------
# Steps, the same names on both sides: import (papermill on one side; pandas, matplotlib, ours on the
# other), kernel (start until the first cell runs), run, evaluate, tables, figures, write (tables and PNG
# files), after (the papermill side: the last save of the notebook and the kernel's shutdown).
STEPS = ("import", "kernel", "run", "evaluate", "tables", "figures", "write", "after")


class _Laps:
    def __init__(self) -> None:
        self.t = time.perf_counter()
        self.laps: dict[str, float] = {}

    def __call__(self, name: str) -> None:
        now = time.perf_counter()
        self.laps[name] = self.laps.get(name, 0.0) + now - self.t
        self.t = now


def in_process(output_dir: str) -> dict[str, float]:
    """The workflow notebook's cells, called in this process: what the notebook computes, displays
    (tables as HTML, figures as PNG) and writes, without a kernel or papermill."""
    lap = _Laps()
    import pandas.io.formats.style  # noqa: F401  (the kernel imports it to display a table)

    from orchestrator_kit.evaluate.text import evaluation_table
    from orchestrator_kit.notebook_params import validate_workflow_params
    from orchestrator_kit.report import export, load_runs, tables

    lap("import")
    params = validate_workflow_params({"output_dir": output_dir})
    result = params.run()
    str(result.table())
    lap("run")
    evaluation = params.evaluation(result)
    if evaluation is not None:
        str(evaluation_table([{"path": str(result.run_dir), "evaluation": evaluation}]))
    lap("evaluate")
    runs = load_runs(result.run_dir)
    tabs = export.standard_tables(runs)
    for table in (
        tabs["artifacts"].drop(columns="run_id"),
        tables.with_total(tabs["tokens_by_kind"]),
        tables.with_total(tabs["cost_by_agent"]),
        tabs["cost_by_phase"],
    ):
        tables.styled(table)._repr_html_()  # what the kernel sends for a displayed table
    lap("tables")
    figs = export.render_figures(export.standard_figures(runs, tabs))
    lap("figures")
    export.write_run_outputs(runs, result.run_dir, tabs=tabs, figs=figs)
    lap("write")
    return lap.laps


def _cell_step(source: str) -> str:
    for needle, step in (
        ("params.run()", "run"),
        ("result.table()", "run"),
        ("params.evaluation(", "evaluate"),
        ("figures.show(", "figures"),
        ("write_run_outputs(", "write"),
    ):
        if needle in source:
            return step
    return "tables" if "tables.styled(" in source else "run"  # parameters and the check: run


def notebook_laps(nb: Any, wall: float, imported: float) -> dict[str, float]:
    """The papermill side's steps, from papermill's timestamps in the executed notebook."""
    from datetime import datetime

    meta = nb.metadata.papermill
    cells = [c for c in nb.cells if c.cell_type == "code"]
    first = datetime.fromisoformat(cells[0].metadata.papermill.start_time)
    laps = {"import": imported}
    laps["kernel"] = (first - datetime.fromisoformat(meta["start_time"])).total_seconds()
    for cell in cells:
        step = _cell_step(cell.source)
        laps[step] = laps.get(step, 0.0) + cell.metadata.papermill.duration
    laps["after"] = wall - sum(laps.values())
    return laps


def via_papermill(output_dir: str, notebook: str, *, prestart: bool, km: Any = None) -> dict[str, float]:
    """The workflow notebook through papermill's Python API (``orchestrator_kit.kernels``). ``prestart``: the
    kernel is started before papermill is imported (as the main job does); ``km``: a kernel started earlier
    (a long-lived worker's spare)."""
    start = time.perf_counter()
    from orchestrator_kit.notebook_params import notebook_path

    template = notebook_path("workflow.ipynb")
    if prestart and km is None:
        from orchestrator_kit.warm_kernels import notebook_kernel_name, start_kernel

        km = start_kernel(notebook_kernel_name(template), cwd=Path(output_dir).parent)
    import papermill  # noqa: F401  (execute_notebook imports it lazily: count it here, not in its run)

    from orchestrator_kit.kernels import execute_notebook

    imported = time.perf_counter() - start
    nb = execute_notebook(
        template, notebook, parameters={"output_dir": output_dir}, cwd=Path(output_dir).parent, km=km
    )
    return notebook_laps(nb, time.perf_counter() - start, imported)


def _side(argv: list[str]) -> int:
    """``--side NAME OUTPUT_DIR NOTEBOOK``: one cold run in this fresh process; prints its laps as JSON."""
    name, output_dir, notebook = argv
    if name == "in-process":
        laps = in_process(output_dir)
    else:
        laps = via_papermill(output_dir, notebook, prestart=name == "papermill-prestarted")
    print(json.dumps(laps))
    return 0


def _cold(side: str, tmp: Path, i: int) -> tuple[float, dict[str, float]]:
    """One side in a fresh interpreter: wall time of the whole process, and its laps."""
    (tmp / side).mkdir(parents=True, exist_ok=True)
    t = time.perf_counter()
    done = subprocess.run(
        [
            sys.executable,
            __file__,
            "--side",
            side,
            str(tmp / side / "runs"),
            str(tmp / side / f"wf{i}.ipynb"),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    wall = time.perf_counter() - t
    laps = json.loads(done.stdout.strip().splitlines()[-1])
    laps["interpreter"] = wall - sum(laps.values())
    return wall, laps


def _cli(tmp: Path, i: int) -> tuple[float, dict[str, float]]:
    """The papermill command line, as the README shows it (a fresh process, papermill's own kernel)."""
    import nbformat

    from orchestrator_kit.notebook_params import notebook_path

    out = tmp / "cli" / f"wf{i}.ipynb"
    out.parent.mkdir(parents=True, exist_ok=True)
    papermill = str(Path(sys.executable).with_name("papermill"))
    t = time.perf_counter()
    subprocess.run(
        [
            papermill,
            str(notebook_path("workflow.ipynb")),
            str(out),
            "-p",
            "output_dir",
            str(out.parent / "runs"),
        ],
        cwd=out.parent,
        capture_output=True,
        check=True,
    )
    wall = time.perf_counter() - t
    laps = notebook_laps(nbformat.read(out, as_version=4), wall, 0.0)
    laps["import"] = laps.pop("after")  # interpreter, papermill's import and the last save: not separable
    return wall, laps


def _row(label: str, walls: list[float], laps: list[dict[str, float]]) -> str:
    keys = ("interpreter", *STEPS)
    mid = {k: statistics.median(lp.get(k, 0.0) for lp in laps) for k in keys}
    parts = " ".join(f"{k} {mid[k]:.2f}" for k in keys if any(k in lp for lp in laps))
    return f"   {label:44s} {statistics.median(walls):6.2f} s  [{_fmt(walls)}]\n      {parts}"


def bench_workflow(tmp: Path, repeat: int) -> None:
    print(f"1. workflow notebook (8 agents, simulated), median of {repeat}; steps in seconds (medians)")
    print("   cold: each run in a fresh interpreter, imports included")
    cold: dict[str, tuple[list[float], list[dict[str, float]]]] = {}
    for side in ("in-process", "papermill", "papermill-prestarted"):
        runs = [_cold(side, tmp, i) for i in range(repeat)]
        cold[side] = ([w for w, _ in runs], [lp for _, lp in runs])
    cli = [_cli(tmp, i) for i in range(repeat)]
    cold["cli"] = ([w for w, _ in cli], [lp for _, lp in cli])
    labels = {
        "in-process": "in-process, same cells",
        "papermill": "papermill API, kernel started by papermill",
        "papermill-prestarted": "papermill API, kernel started first (main job)",
        "cli": "papermill CLI (its own kernel; import = rest)",
    }
    for side, (walls, laps) in cold.items():
        print(_row(labels[side], walls, laps))
    base = statistics.median(cold["in-process"][0])
    for side in ("papermill", "papermill-prestarted", "cli"):
        ratio = statistics.median(cold[side][0]) / base
        print(f"   ratio {labels[side]} / in-process: {ratio:.2f}x")

    print("   warm: a long-lived process (papermill and pandas imported; the kernel pool's next kernel")
    print("   boots while the previous notebook runs, as in a sweep's render worker)")
    from orchestrator_kit.notebook_params import notebook_path
    from orchestrator_kit.warm_kernels import KernelPool, notebook_kernel_name

    kernel = notebook_kernel_name(notebook_path("workflow.ipynb"))
    folder = tmp / "warm"
    folder.mkdir()
    in_process(str(folder / "inproc"))  # warm-up: imports, fonts
    pool = KernelPool()
    try:
        via_papermill(
            str(folder / "runs"), str(folder / "warmup.ipynb"), prestart=True, km=pool.take(kernel, folder)
        )
        pm = []
        for i in range(repeat):
            km = pool.take(kernel, folder, spare=i < repeat - 1)
            t = time.perf_counter()
            laps = via_papermill(str(folder / "runs"), str(folder / f"wf{i}.ipynb"), prestart=True, km=km)
            pm.append((time.perf_counter() - t, laps))
    finally:
        pool.close()
    ip = []
    for _ in range(repeat):
        t = time.perf_counter()
        laps = in_process(str(folder / "inproc"))
        ip.append((time.perf_counter() - t, laps))
    print(_row("in-process, same cells", [w for w, _ in ip], [lp for _, lp in ip]))
    print(_row("papermill API on the pool's started kernel", [w for w, _ in pm], [lp for _, lp in pm]))
    ratio = statistics.median(w for w, _ in pm) / statistics.median(w for w, _ in ip)
    print(f"   ratio papermill / in-process, warm: {ratio:.2f}x")


def bench_batch(tmp: Path) -> None:
    from orchestrator_kit import run_sweep

    grid = {
        "requests": REQUESTS,
        "models": MODELS,
        "settings": [{}, {"max_rounds": 1}],
    }
    print(
        "2. sweep of 8 grid cells (2 requests x 2 models x 2 settings), one driver (bench_sweep.py: 200 cells)"
    )
    for render in (False, True):
        t = time.perf_counter()
        result = run_sweep(grid, tmp / f"sweep-{render}", render=render, progress=False)
        wall = time.perf_counter() - t
        print(
            f"   {'with' if render else 'without'} rendering: {wall:6.2f} s  ({len(result.ok)} completed, "
            f"{len(result.failed)} not)"
        )
    print(
        f"   (this machine: {os.cpu_count()} CPUs; rendering starts one kernel per cell in 2 worker processes)"
    )


def bench_report(tmp: Path, n: int) -> None:
    import orchestrator_kit as ok
    from orchestrator_kit.report import load_runs
    from orchestrator_kit.report.html import build_report

    runs = tmp / "many"
    t = time.perf_counter()
    for i in range(n):
        ok.run_workflow(REQUESTS[i % 2], output_dir=runs, mode="simulated", model=MODELS[(i // 2) % 2])
    made = time.perf_counter() - t
    t = time.perf_counter()
    loaded = load_runs(runs)
    load_s = time.perf_counter() - t
    t = time.perf_counter()
    html = build_report(runs, tmp / "report.html")
    report_s = time.perf_counter() - t
    print(
        f"3. cost report over {n} run folders ({len(loaded.calls)} ledger lines; made in {made:.1f} s in-process)"
    )
    print(f"   load_runs                        {load_s:6.2f} s")
    print(f"   build_report (papermill + HTML)  {report_s:6.2f} s   -> {html.stat().st_size / 1e6:.1f} MB")


def main() -> int:
    if sys.argv[1:2] == ["--side"]:
        return _side(sys.argv[2:])
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--report-runs", type=int, default=100)
    p.add_argument("--skip-batch", action="store_true")
    a = p.parse_args()
    for name in [n for n in os.environ if n.startswith("ANTHROPIC_")]:
        del os.environ[name]  # simulated runs only: no key near these benchmarks
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs")
    with tempfile.TemporaryDirectory(prefix="bench-notebooks-") as tmp:
        bench_workflow(Path(tmp), a.repeat)
        if not a.skip_batch:
            bench_batch(Path(tmp))
        bench_report(Path(tmp), a.report_runs)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
