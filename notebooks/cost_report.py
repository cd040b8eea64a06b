# %% [markdown] tags=["remove-from-report"]
# # Cost report
#
# Where the money went across run folders: cost by agent, phase and model; tokens by kind; the pre-run
# estimate against the actual cost; what prompt caching saved; spend that bought nothing (failed attempts,
# re-asks); and the reviewer's score against the cost. Unknown costs (a model without a price) show as empty,
# never as $0.
#
# `orchestrator-kit report RUNS_DIR -o report.html` runs this notebook with papermill and exports it as
# self-contained HTML without code (and without this cell).

# %% tags=["parameters"]
runs_dir: str = "runs"  # a folder of run folders, or one run folder
title: str = "Cost report"  # the report's heading

# %% tags=["nbval-ignore-output"]
from IPython.display import Markdown, display

from orchestrator_kit.notebook_params import output_path
from orchestrator_kit.report import export, figures, load_runs, tables

runs = load_runs(output_path(runs_dir), missing_ok=True)
tabs = export.standard_tables(runs)
figs = export.standard_figures(runs, tabs)
display(Markdown(f"# {title}\n\n{runs.describe()}. {export.basis_note(runs)}"))

# %% [markdown]
# ## Runs
#
# One row per run: its status, mode, models, number of calls, tokens and cost. A run that failed or was
# interrupted still counts what it spent.

# %% tags=["nbval-ignore-output"]
tables.styled(tabs["runs"])

# %% [markdown]
# ## Cost by agent, phase and model
#
# Which agents, phases and models the money went to, summed over the runs. The share column says which few
# agents are worth tuning first.

# %% tags=["nbval-ignore-output"]
display(tables.styled(tables.with_total(tabs["cost_by_agent"])))
display(tables.styled(tabs["cost_by_phase"]))
display(tables.styled(tabs["cost_by_model"]))
figures.show(figs["cost_by_agent"])
figures.show(figs["cost_by_phase"])

# %% [markdown]
# ## Tokens by kind
#
# Input, output, cache-write and cache-read tokens per agent. Output tokens cost several times input tokens;
# cache reads cost a tenth of them.

# %% tags=["nbval-ignore-output"]
display(tables.styled(tables.with_total(tabs["tokens_by_kind"])))
figures.show(figs["tokens_by_kind"])

# %% [markdown]
# ## Estimate vs actual
#
# The cost estimated before each run against what it cost. A large gap means the estimate's assumptions
# (output length, rounds) do not fit these requests.

# %% tags=["nbval-ignore-output"]
display(tables.styled(tabs["estimate_vs_actual"]))
figures.show(figs["estimate_vs_actual"])

# %% [markdown]
# ## Caching savings
#
# What the cache reads would have cost at the full input price, against what they cost.

# %% tags=["nbval-ignore-output"]
tables.styled(tables.with_total(tabs["cache_savings"]))

# %% [markdown]
# ## Wasted spend
#
# Spend that bought nothing: failed attempts that were retried and answers that had to be asked again.

# %% tags=["nbval-ignore-output"]
tables.styled(tables.with_total(tabs["wasted_spend"]))

# %% [markdown]
# ## Reviewer score vs cost
#
# The reviewer's score of each run against its cost: a better score should be worth its price.

# %% tags=["nbval-ignore-output"]
scores = tables.score_vs_cost(runs.runs)
display(tables.styled(scores))
figures.show(figures.score_vs_cost(scores))

# %% [markdown]
# ## Spend over the calls
#
# The running total over the calls of each run: steps show the expensive calls.

# %% tags=["nbval-ignore-output"]
figures.show(figs["cumulative_spend"])
