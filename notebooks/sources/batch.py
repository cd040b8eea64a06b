# %% [markdown]
# # Sweep: a grid of workflow runs, every cell at once
#
# This notebook runs every cell of a grid (requests x models x settings x repeats) at once in this kernel's
# driver: one shared backend, one limit on calls in flight and one whole-sweep budget for all cells. Each
# cell writes a run folder under `<sweep>/runs/`; as cells finish, papermill renders each cell's workflow
# notebook from its run folder (`<sweep>/notebooks/<cell>.ipynb`, no model call) on local worker processes,
# or on a Dask cluster (`dask`). A failed cell is recorded and the others go on; `sweep.json` indexes the
# cells.
#
# The same from a shell: `orchestrator-kit batch notebooks/grid.yaml -o out/sweep`; continue an interrupted
# sweep with `orchestrator-kit resume out/sweep`. Compare the runs afterwards with the cost report:
# `orchestrator-kit report out/sweep/runs -o out/sweep/report.html`.

# %% [markdown]
# ## Parameters
#
# Relative paths are taken from the kernel's folder: the notebook's own folder in Jupyter, the caller's
# folder under the papermill CLI (so pass `--cwd notebooks`, or `-p grid_path notebooks/grid.yaml`).
# `output_dir` is taken from `ORCHESTRATOR_KIT_OUTPUT_ROOT` instead when that variable is set.

# %% tags=["parameters"]
grid_path: str = "grid.yaml"  # the grid file: requests x models x settings x repeats
output_dir: str = ""  # the sweep folder; empty: a new folder under out/sweeps
render: bool = True  # render each cell's workflow notebook from its run folder (papermill)
dask: str = ""  # a Dask scheduler address, or local; empty: local worker processes
backend: str = ""  # real mode: anthropic, or batches (Message Batches, half price); empty: the grid's

# %% [markdown]
# ## The grid
#
# How many cells the grid makes and in which mode they run. Check this before a real-mode sweep: every cell
# is one full workflow run.

# %%
from orchestrator_kit.sweep import load_grid

grid = load_grid(grid_path)
print(
    f"{len(grid.requests)} request(s) x {len(grid.models)} model(s) x {len(grid.settings)} setting(s) "
    f"x {grid.repeats} repeat(s), mode {grid.mode}"
)

# %% [markdown]
# ## Run the sweep
#
# The progress widget counts the cells done and failed, the calls and the spend against the sweep's
# budget; the summary line names the sweep folder.

# %% tags=["nbval-ignore-output"]
from IPython.display import display

from orchestrator_kit import run_sweep
from orchestrator_kit.notebook_params import output_path
from orchestrator_kit.store.run_folder import new_run_id
from orchestrator_kit.ui import SweepProgressWidget

sweep_dir = output_path(output_dir or f"out/sweeps/{new_run_id()}")
progress = SweepProgressWidget()
display(progress)
result = run_sweep(
    grid,
    sweep_dir,
    render=render,
    dask=dask or None,
    backend=backend or None,
    progress=False,
    subscribers=[progress],
)
print(result)

# %% [markdown]
# One row per cell: its status, model and settings, its cost, the reviewer's score, and whether its
# notebook was rendered.

# %% tags=["nbval-ignore-output"]
result.table()[["cell_id", "status", "model", "settings", "cost_usd", "review_score", "render"]]

# %% [markdown]
# ## Reviewer score against cost
#
# Each point is one run: look for the cheapest setting that still scores well.

# %% tags=["nbval-ignore-output"]
from orchestrator_kit.report import figures, load_runs, tables

scores = tables.score_vs_cost(load_runs(result.runs_dir).runs)
figures.show(figures.score_vs_cost(scores))
