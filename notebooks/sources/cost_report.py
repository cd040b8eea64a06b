# %% [markdown] tags=["remove-from-report"]
# # Cost report
#
# Which model and settings give the best work per dollar, and where does the money go? This notebook reads
# run folders (one run, a folder of runs, or a sweep's runs) and answers with a headline strip, dollars by
# token kind per agent and phase, quality next to cost with the cost/quality frontier, the pre-run estimate
# against the actual cost, caching savings and wasted spend. Unknown costs (a model without a price) show as
# "unknown", never as $0.
#
# `orchestrator-kit report RUNS_DIR -o report.html` runs this notebook with papermill and exports it as
# self-contained HTML without code (and without this cell).

# %% tags=["parameters"]
runs_dir: str = "runs"  # a folder of run folders, or one run folder
title: str = ""  # the report's heading; empty: made from the runs (project or sweep, dates)

# %% tags=["nbval-ignore-output"]
from IPython.display import HTML, Markdown, display

from orchestrator_kit.notebook_params import output_path
from orchestrator_kit.report import export, figures, load_runs, tables
from orchestrator_kit.report.present import headline, html_table, report_title

runs = load_runs(output_path(runs_dir), missing_ok=True)
tabs = export.standard_tables(runs)
figs = export.standard_figures(runs, tabs)
display(Markdown(f"# {title or report_title(runs)}\n\n{runs.describe()}. {export.basis_note(runs)}"))

# %% [markdown]
# The headline: how many runs, what they cost (billed, or would-be for simulated runs), the median cost per
# run with its range, what prompt caching saved, what was wasted, and what did not finish.

# %% tags=["nbval-ignore-output"]
display(HTML(headline(runs)))

# %% [markdown]
# ## Where the money went
#
# Dollars, not only tokens: each bar is an agent (then a phase), split by token kind. Output tokens cost
# several times input tokens; cache writes cost more than input once, and cache reads a tenth of it.

# %% tags=["nbval-ignore-output"]
figures.show(figs["money_by_agent"])
figures.show(figs["money_by_phase"])
money = ["cost_usd", "input_usd", "output_usd", "cache_write_5m_usd", "cache_write_1h_usd", "cache_read_usd"]
display(HTML(html_table(tables.with_total(tabs["money_by_agent"]), ["agent", *money], total_label="total")))

# %% [markdown]
# ## Quality per dollar
#
# Each model (and grid setting) with its median cost per run and mean quality; the bars show the spread
# across repeats (lowest to highest cost, quality ± one standard deviation). Quality is the mean of the
# measures a run has, each on 0-1: its own tests passed, its code imports, completeness, and the reviewer's
# score / 10 (`orchestrator-kit evaluate` measures the first three). Ringed groups are on the frontier: no
# other group is at least as good for less money.

# %% tags=["nbval-ignore-output"]
figures.show(figs["quality_vs_cost"])
quality_columns = [
    "model",
    "cost_median_usd",
    "runs",
    "cost_low_usd",
    "cost_high_usd",
    "quality",
    "pass_rate",
    "executable_share",
    "completeness",
    "review_score",
    "frontier",
]
settings = tabs["quality_by_model"].get("setting")
if settings is not None and settings.fillna("").astype(str).str.len().gt(0).any():
    quality_columns.insert(1, "setting")
display(HTML(html_table(tabs["quality_by_model"], quality_columns)))

# %% [markdown]
# ## Runs
#
# One row per run, cost first. A run that failed or was interrupted still counts what it spent; hover over
# a run to see its full id.

# %% tags=["nbval-ignore-output"]
run_columns = ["run_id", "cost_usd", "model", "status", "calls", "input_tokens", "output_tokens"]
run_columns += ["wasted_usd", "cache_savings_usd", "review_score", "truncated_artifacts"]
if runs.runs["mode"].nunique() > 1:  # only what varies earns a column: the page stays 1,400 px wide
    run_columns.insert(4, "mode")
if (runs.runs["human_decisions"] > 0).any():
    run_columns.append("human_decisions")
display(HTML(html_table(tabs["runs"], run_columns)))

# %% [markdown]
# ## Cost by model and phase
#
# The same money summed per model and per phase, with each one's share of the total.

# %% tags=["nbval-ignore-output"]
share = ["cost_usd", "share_pct", "calls", "input_tokens", "output_tokens", "cache_read_tokens"]
display(HTML(html_table(tabs["cost_by_model"], ["model", *share])))
display(HTML(html_table(tabs["cost_by_phase"], ["phase", *share])))

# %% [markdown]
# ## Tokens by kind
#
# The token counts behind the dollars, per agent.

# %% tags=["nbval-ignore-output"]
figures.show(figs["tokens_by_kind"])

# %% [markdown]
# ## Estimate vs actual
#
# The cost estimated before each run (its range and expected value) against what the run cost.

# %% tags=["nbval-ignore-output"]
figures.show(figs["estimate_vs_actual"])
display(Markdown(export.estimate_note(runs)))
estimate_columns = [
    "run_id",
    "actual_usd",
    "estimate_low_usd",
    "estimate_usd",
    "estimate_high_usd",
    "error_pct",
    "within_range",
]
display(HTML(html_table(tabs["estimate_vs_actual"], estimate_columns)))

# %% [markdown]
# ## Caching savings and wasted spend
#
# What prompt caching saved (cache reads at a tenth of the input price, less the write premium), and spend
# that bought nothing: failed attempts that were retried and answers that had to be asked again.

# %% tags=["nbval-ignore-output"]
cache_columns = [
    "agent",
    "cache_savings_usd",
    "cost_usd",
    "cost_without_cache_usd",
    "savings_pct",
    "cache_read_tokens",
]
display(HTML(html_table(tables.with_total(tabs["cache_savings"]), cache_columns, total_label="total")))
waste_columns = ["agent", "wasted_usd", "cost_usd", "wasted_pct", "failed_attempts", "reasks"]
display(HTML(html_table(tables.with_total(tabs["wasted_spend"]), waste_columns, total_label="total")))

# %% [markdown]
# ## Spend over the calls
#
# The running total over the calls of each run: steps show the expensive calls.

# %% tags=["nbval-ignore-output"]
figures.show(figs["cumulative_spend"])
