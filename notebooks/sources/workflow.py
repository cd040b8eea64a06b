# %% [markdown]
# # Workflow: one request, the agent team, and what it cost
#
# This notebook runs the team of agents over one project request, then shows what came out (the artifacts),
# what it used (tokens by kind) and what it cost (per agent and per phase). It also writes the tables
# (Parquet and CSV) and the figures (PNG) into the run folder, under `tables/` and `figures/`.
#
# It is parameterized for papermill; simulated mode (the default) costs nothing:
#
# ```
# papermill notebooks/workflow.ipynb out/workflow.ipynb -p mode simulated -p output_dir out/runs
# papermill notebooks/workflow.ipynb out/w.ipynb -y 'agents: [architect, developer, reviewer]' -p budget_usd 0.5
# ```
#
# With `run_dir` set to a finished run folder, the notebook loads that run instead of running it (no model
# call, $0): sweeps render every cell's notebook this way (`orchestrator-kit batch`).
#
# `papermill --help-notebook notebooks/workflow.ipynb` lists the parameters with their types and help.
# **The API key is never a parameter** (papermill writes parameters into the notebook): real and auto mode
# read `ANTHROPIC_API_KEY` from the kernel's environment.

# %% [markdown]
# ## Parameters
#
# Each line is one parameter with its type and what it means; papermill replaces them with the values you
# pass. Relative folders are taken from the kernel's folder (or from `ORCHESTRATOR_KIT_OUTPUT_ROOT` when set).

# %% tags=["parameters"]
# Parameters (papermill: -p name value; lists and dicts with -y or -f). Never put an API key here.
# fmt: off
request: str = "Build a command-line tool that converts CSV files to JSON"  # what the team should build
project_name: str = "csv2json"  # names the project and the generated module
agents: list = ["architect", "data", "consensus", "developer", "qa", "documentarian", "reviewer", "steward"]  # which agents run; the workflow puts them in order
mode: str = "simulated"  # simulated | auto | real | replay; real and auto read the key from ANTHROPIC_API_KEY only
model: str = "claude-sonnet-5-5"  # model for every agent without its own
budget_usd: float = 0.0  # dollar cap for the run; 0 means no cap
budget_tokens: int = 0  # token cap for the run; 0 means no cap
exact_budget: bool = False  # real mode: count each prompt with the API before the budget check
max_concurrency: int = 4  # model calls in flight at once
max_rounds: int = 3  # design rounds the consensus gate may ask for
agent_settings: dict = {}  # per agent, e.g. {"qa": {"model": "claude-haiku-5-5", "max_tokens": 2048, "extra_instructions": "..."}}
simulated_options: dict = {}  # simulated mode only, e.g. {"consensus_rejections": 1}
replay_from: str = ""  # mode replay: a run folder or a recording .jsonl
output_dir: str = "runs"  # folder that receives the run folder (relative to the kernel's folder)
run_id: str = ""  # name of the run folder; empty: a new time-sorted id
allow_unknown_model: bool = False  # allow a model missing from the price table (its cost is unknown)
timeout_s: float = 120.0  # seconds per attempt of a real model call; retried when it expires
write_outputs: bool = True  # write tables (Parquet, CSV) and figures (PNG) into the run folder
evaluate: str = "auto"  # auto: sandboxed checks of simulated runs' code | yes: also code a model wrote | no
run_dir: str = ""  # a finished run folder to tabulate instead of running ($0; sweeps set it)
# fmt: on

# %% [markdown]
# ## Check the parameters
#
# A wrong type or an unknown agent stops the notebook here, with an error that names the parameter and what
# it expects, before any model call. The line printed is the mode, the model and how many agents will run.

# %%
from orchestrator_kit.notebook_params import validate_workflow_params

params = validate_workflow_params(globals())
print(params.mode, params.model, f"{len(params.agents)} agents")

# %% [markdown]
# ## Run the workflow
#
# The engine runs the agents phase by phase and checkpoints the run folder after each step, so a failed or
# interrupted run can be resumed with `orchestrator-kit resume RUN_DIR`. With `run_dir` set, this loads that
# finished run instead.

# %% tags=["nbval-ignore-output"]
result = params.run()

# %% [markdown]
# The status (`completed` when every step succeeded), the mode that really ran, and one line per artifact
# the agents wrote (`agent/file`).

# %%
print(result.status, result.mode)
print(*sorted(f"{a.agent}/{a.filename}" for a in result.artifacts), sep="\n")

# %% [markdown]
# Tokens and dollars per agent, and the run folder that holds the manifest, the call ledger and the artifacts.

# %% tags=["nbval-ignore-output"]
print(result.table())
print("run folder:", result.run_dir)

# %% [markdown]
# ## Quality
#
# What the run bought, measured: the developer's code is copied to a throwaway folder and run in a sandbox
# (limits, no secrets, no network where the machine allows it): does every module import, do its own tests
# pass, how many lines, and is every promised artifact there and not truncated, next to the reviewer's score.
# `evaluate` decides: `auto` measures simulated runs (their code comes from our templates), `yes` also runs
# code a model wrote, `no` skips this.

# %% tags=["nbval-ignore-output"]
from orchestrator_kit.evaluate.text import evaluation_table

evaluation = params.evaluation(result)
if evaluation is None:
    print(f"not evaluated (evaluate={params.evaluate!r}, mode {result.mode}); see the parameter above")
else:
    print(evaluation_table([{"path": str(result.run_dir), "evaluation": evaluation}]))

# %% [markdown]
# ## Artifacts
#
# Every file the agents produced: the agent that wrote it, its kind, and its size in characters and lines.

# %% tags=["nbval-ignore-output"]
from orchestrator_kit.report import export, figures, load_runs, tables

runs = load_runs(result.run_dir)
tabs = export.standard_tables(runs)
tables.styled(tabs["artifacts"].drop(columns="run_id"))

# %% [markdown]
# ## Tokens by kind
#
# Input, output, cache-write and cache-read tokens per agent. A large cache-read column means the shared
# prompt prefix was served from the prompt cache at a tenth of the input price.

# %% tags=["nbval-ignore-output"]
tables.styled(tables.with_total(tabs["tokens_by_kind"]))

# %% [markdown]
# ## Cost per agent and phase
#
# Where the dollars went. Simulated runs show the would-be cost at list prices; a model without a price shows
# an empty cost, never $0.

# %% tags=["nbval-ignore-output"]
tables.styled(tables.with_total(tabs["cost_by_agent"]))

# %% tags=["nbval-ignore-output"]
tables.styled(tabs["cost_by_phase"])

# %% [markdown]
# ## Figures
#
# The same figures as the tables above, plus the cumulative spend over the calls and the pre-run estimate
# against the actual cost.

# %% tags=["nbval-ignore-output"]
figs = export.render_figures(export.standard_figures(runs, tabs))  # PNG, rendered once: shown and written
for png in figs.values():
    figures.show(png)

# %% [markdown]
# ## Files written into the run folder
#
# The tables and figures above, saved next to the run's ledger so that they can be compared across runs
# (skipped when `write_outputs` is false).

# %%
written = export.write_run_outputs(runs, result.run_dir, tabs=tabs, figs=figs) if params.write_outputs else []
print(*sorted(p.relative_to(result.run_dir).as_posix() for p in written), sep="\n")
