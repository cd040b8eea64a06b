"""Write notebooks/*.ipynb from the cells below (the source of truth), then store the outputs nbval checks.

    python scripts/build_notebooks.py          # rewrite the notebooks and refresh their checked outputs

Each notebook is thin: a few lines a cell, calling the package. Outputs are stored only for cells
marked CHECK (deterministic text: nbval compares them); every other code cell is saved without
outputs or execution count and tagged ``nbval-ignore-output``, so nbval runs it (an exception fails)
but does not compare it, even after someone saves the notebook from Jupyter with outputs.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
CHECK = "check"  # marker: store this cell's outputs for nbval to compare
HOWTO = "howto"  # marker: a markdown cell about running the notebook, left out of the HTML report

NBVAL_NOTE = (
    "*Tests:* `pytest --nbval --nbval-current-env --nbval-sanitize-with tests/notebooks/nbval_sanitize.cfg "
    "notebooks/*.ipynb` re-runs this notebook and compares only the cells saved with outputs; cells tagged "
    "`nbval-ignore-output` (paths, timings, dollar figures that follow the prompt templates) just have to run."
)


def workflow_cells() -> list[tuple[str, str, str | None]]:
    from orchestrator_kit.notebook_params import parameters_source

    return [
        (
            "md",
            """# Workflow: one request, the agent team, and what it cost

Runs the team of agents over one project request, then tabulates the artifacts, the tokens by kind and the
cost per agent and phase, draws the figures, and writes tables (Parquet and CSV) and figures (PNG) into the
run folder under `tables/` and `figures/`.

Run it with papermill (simulated mode costs nothing):

```
papermill notebooks/workflow.ipynb out/workflow.ipynb -p mode simulated -p output_dir out/runs
papermill notebooks/workflow.ipynb out/w.ipynb -y 'agents: [architect, developer, reviewer]' -p budget_usd 0.5
```

With `run_dir` set to a finished run folder, the notebook loads that run instead of running it (no model
call, $0): sweeps render every cell's notebook this way (`orchestrator-kit batch`).

`papermill --help-notebook notebooks/workflow.ipynb` lists the parameters with their types and help.
The first code cell checks them: a wrong type stops the run with an error that names the parameter and the
type it expects. **The API key is never a parameter** (papermill writes parameters into the notebook):
real mode reads `ANTHROPIC_API_KEY` from the kernel's environment.

"""
            + NBVAL_NOTE,
            None,
        ),
        ("parameters", parameters_source(), None),
        (
            "code",
            """from orchestrator_kit.notebook_params import validate_workflow_params

params = validate_workflow_params(globals())
print(params.mode, params.model, f"{len(params.agents)} agents")""",
            CHECK,
        ),
        ("md", "## Run", None),
        ("code", "result = params.run()", None),
        (
            "code",
            """print(result.status, result.mode)
print(*sorted(f"{a.agent}/{a.filename}" for a in result.artifacts), sep="\\n")""",
            CHECK,
        ),
        ("code", 'print(result.table())\nprint("run folder:", result.run_dir)', None),
        ("md", "## Artifacts", None),
        (
            "code",
            """from orchestrator_kit.report import export, figures, load_runs, tables

runs = load_runs(result.run_dir)
tabs = export.standard_tables(runs)
tables.styled(tabs["artifacts"].drop(columns="run_id"))""",
            None,
        ),
        ("md", "## Tokens by kind", None),
        ("code", 'tables.styled(tables.with_total(tabs["tokens_by_kind"]))', None),
        ("md", "## Cost per agent and phase\n\nSimulated runs show the would-be cost at list prices.", None),
        ("code", 'tables.styled(tables.with_total(tabs["cost_by_agent"]))', None),
        ("code", 'tables.styled(tabs["cost_by_phase"])', None),
        ("md", "## Figures", None),
        (
            "code",
            """figs = export.standard_figures(runs, tabs)
for fig in figs.values():
    figures.show(fig)""",
            None,
        ),
        ("md", "## Files written into the run folder", None),
        (
            "code",
            """written = export.write_run_outputs(runs, result.run_dir, tabs=tabs, figs=figs) if params.write_outputs else []
print(*sorted(p.relative_to(result.run_dir).as_posix() for p in written), sep="\\n")""",
            CHECK,
        ),
    ]


def cost_report_cells() -> list[tuple[str, str, str | None]]:
    section = [
        ("Runs", 'tables.styled(tabs["runs"])'),
        (
            "Cost by agent, phase and model",
            """display(tables.styled(tables.with_total(tabs["cost_by_agent"])))
display(tables.styled(tabs["cost_by_phase"]))
display(tables.styled(tabs["cost_by_model"]))
figures.show(figs["cost_by_agent"])
figures.show(figs["cost_by_phase"])""",
        ),
        (
            "Tokens by kind",
            """display(tables.styled(tables.with_total(tabs["tokens_by_kind"])))
figures.show(figs["tokens_by_kind"])""",
        ),
        (
            "Estimate vs actual",
            """display(tables.styled(tabs["estimate_vs_actual"]))
figures.show(figs["estimate_vs_actual"])""",
        ),
        ("Caching savings", 'tables.styled(tables.with_total(tabs["cache_savings"]))'),
        ("Wasted spend", 'tables.styled(tables.with_total(tabs["wasted_spend"]))'),
        (
            "Reviewer score vs cost",
            """scores = tables.score_vs_cost(runs.runs)
display(tables.styled(scores))
figures.show(figures.score_vs_cost(scores))""",
        ),
        ("Spend over the calls", 'figures.show(figs["cumulative_spend"])'),
    ]
    cells: list[tuple[str, str, str | None]] = [
        (
            "md",
            """# Cost report

Where the money went across run folders: cost by agent, phase and model; tokens by kind; the pre-run
estimate against the actual cost; what prompt caching saved; spend that bought nothing (failed attempts,
re-asks); and the reviewer's score against the cost. Unknown costs (a model without a price) show as empty,
never as $0.

`orchestrator-kit report RUNS_DIR -o report.html` runs this notebook with papermill and exports it as
self-contained HTML without code (and without this cell).

"""
            + NBVAL_NOTE,
            HOWTO,
        ),
        (
            "parameters",
            """runs_dir: str = "runs"  # a folder of run folders, or one run folder
title: str = "Cost report"  # the report's heading""",
            None,
        ),
        (
            "code",
            """from IPython.display import Markdown, display

from orchestrator_kit.report import export, figures, load_runs, tables

runs = load_runs(runs_dir, missing_ok=True)
tabs = export.standard_tables(runs)
figs = export.standard_figures(runs, tabs)
display(Markdown(f"# {title}\\n\\n{runs.describe()}. {export.basis_note(runs)}"))""",
            None,
        ),
    ]
    for heading, code in section:
        cells += [("md", f"## {heading}", None), ("code", code, None)]
    return cells


def batch_cells() -> list[tuple[str, str, str | None]]:
    return [
        (
            "md",
            """# Sweep: a grid of workflow runs, every cell at once

Runs every cell of a grid (requests x models x settings x repeats) at once in this kernel's driver: one
shared backend, one limit on calls in flight and one whole-sweep budget for all cells. Each cell writes a
run folder under `<sweep>/runs/`; as cells finish, papermill renders each cell's workflow notebook from its
run folder (`<sweep>/notebooks/<cell>.ipynb`, no model call) on local worker processes, or on a Dask
cluster (`dask`). A failed cell is recorded and the others go on; `sweep.json` indexes the cells.
Relative paths are taken from the kernel's folder: the notebook's own folder in Jupyter and under nbval,
the caller's folder under the papermill CLI (so pass `--cwd notebooks`, or `-p grid_path notebooks/grid.yaml`).
The same from a shell: `orchestrator-kit batch notebooks/grid.yaml -o out/sweep`; continue an interrupted
sweep with `orchestrator-kit resume out/sweep`. Compare the runs afterwards with the cost report:
`orchestrator-kit report out/sweep/runs -o out/sweep/report.html`.

"""
            + NBVAL_NOTE,
            None,
        ),
        (
            "parameters",
            """grid_path: str = "grid.yaml"  # the grid file: requests x models x settings x repeats
output_dir: str = ""  # the sweep folder; empty: a new folder under out/sweeps
render: bool = True  # render each cell's workflow notebook from its run folder (papermill)
dask: str = ""  # a Dask scheduler address, or local; empty: local worker processes""",
            None,
        ),
        (
            "code",
            """from orchestrator_kit.sweep import load_grid

grid = load_grid(grid_path)
print(
    f"{len(grid.requests)} request(s) x {len(grid.models)} model(s) x {len(grid.settings)} setting(s) "
    f"x {grid.repeats} repeat(s), mode {grid.mode}"
)""",
            CHECK,
        ),
        (
            "code",
            """from pathlib import Path

from orchestrator_kit import run_sweep
from orchestrator_kit.store.run_folder import new_run_id
from orchestrator_kit.ui import SweepProgressWidget

sweep_dir = Path(output_dir or f"out/sweeps/{new_run_id()}")
progress = SweepProgressWidget()
display(progress)
result = run_sweep(grid, sweep_dir, render=render, dask=dask or None, progress=False, subscribers=[progress])
print(result)""",
            None,
        ),
        (
            "code",
            'result.table()[["cell_id", "status", "model", "settings", "cost_usd", "review_score", "render"]]',
            None,
        ),
        (
            "code",
            """from orchestrator_kit.report import figures, load_runs, tables

scores = tables.score_vs_cost(load_runs(result.runs_dir).runs)
figures.show(figures.score_vs_cost(scores))""",
            None,
        ),
    ]


def interactive_cells() -> list[tuple[str, str, str | None]]:
    return [
        (
            "md",
            """# Interactive: key, agents, run, results

1. **API key**: type it into the password field and press Enter. It is moved into this kernel's environment
   (`ANTHROPIC_API_KEY`) and the field is cleared at once, so it is never saved with the notebook or its widget
   state. If a key is already in the environment or a `.env` file, the widget says so (never the key itself).
   Without a key, choose mode *simulated*: the whole workflow runs at $0 and shows the would-be cost.
2. **Agents**: enable or disable each agent, add instructions, override its model or max tokens.
3. **Run**: the run goes in a background thread; progress and spend update live; **Stop** cancels it (the
   run folder is checkpointed as *interrupted* and can be resumed with `orchestrator-kit resume RUN_DIR`).
4. **Results**: browse the artifacts, the token and cost tables, and the figures.

"""
            + NBVAL_NOTE,
            None,
        ),
        (
            "code",
            """from orchestrator_kit.ui import App

app = App(output_dir="runs")
app""",
            None,
        ),
        (
            "md",
            "After a run: `app.run_panel.result` is the `RunResult` (`.table()`, `.run_dir`), "
            "and `app.results.runs` the loaded DataFrames.",
            None,
        ),
    ]


def build(name: str, cells: list[tuple[str, str, str | None]]) -> tuple[nbformat.NotebookNode, list[int]]:
    nb = new_notebook()
    nb.metadata = {
        "kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
    }
    checked = []
    for i, (kind, source, mark) in enumerate(cells):
        if kind == "md":
            nb.cells.append(new_markdown_cell(source))
            if mark == HOWTO:
                nb.cells[-1].metadata["tags"] = ["remove-from-report"]
            continue
        cell = new_code_cell(source)
        if kind == "parameters":
            cell.metadata["tags"] = ["parameters"]
        elif mark == CHECK:
            checked.append(i)
        else:
            cell.metadata["tags"] = ["nbval-ignore-output"]
        nb.cells.append(cell)
    for i, cell in enumerate(nb.cells):
        cell.id = f"{name}-{i:02d}"
    return nb, checked


def store_checked_outputs(nb: nbformat.NotebookNode, checked: list[int]) -> None:
    """Execute the notebook in a scratch copy of notebooks/ and keep the outputs of the checked cells only."""
    if not checked:
        return
    from nbclient import NotebookClient

    with tempfile.TemporaryDirectory() as tmp:
        for extra in NOTEBOOKS.glob("*.yaml"):
            (Path(tmp) / extra.name).write_bytes(extra.read_bytes())
        run = nbformat.from_dict(nb)
        NotebookClient(
            run,
            timeout=600,
            kernel_name="python3",
            resources={"metadata": {"path": tmp}},
            store_widget_state=False,
        ).execute()
    count = 0
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        if i in checked:
            count += 1
            cell.execution_count = count
            cell.outputs = [o for o in run.cells[i].outputs if o.get("name") != "stderr"]
            for o in cell.outputs:
                if "execution_count" in o:
                    o["execution_count"] = count


def main() -> int:
    sys.path.insert(0, str(ROOT))
    for name, cells in (
        ("workflow", workflow_cells()),
        ("cost_report", cost_report_cells()),
        ("batch", batch_cells()),
        ("interactive", interactive_cells()),
    ):
        nb, checked = build(name, cells)
        store_checked_outputs(nb, checked)
        nbformat.validate(nb)
        nbformat.write(nb, NOTEBOOKS / f"{name}.ipynb")
        print(f"wrote notebooks/{name}.ipynb ({len(checked)} checked cells)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
