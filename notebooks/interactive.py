# %% [markdown]
# # Interactive: key, agents, run, results
#
# This notebook is one app for running the agent team by hand and looking at what came out. Run the cell
# below, then work through its four parts from top to bottom.
#
# 1. **API key**: type it into the password field and press Enter. It is moved into this kernel's environment
#    (`ANTHROPIC_API_KEY`) and the field is cleared at once. If a key is already in the environment or a
#    `.env` file, the app says so (never the key itself). Without a key, keep mode *simulated*: the whole
#    workflow runs at $0 and shows the would-be cost.
# 2. **Agents**: enable or disable each agent, add instructions, override its model or max tokens.
# 3. **Run**: describe what the team should build and press Run. The run goes in a background thread;
#    each agent's row and the spend update live; **Stop** cancels it (the run folder is checkpointed as
#    *interrupted* and can be resumed with `orchestrator-kit resume RUN_DIR`).
# 4. **Results**: browse the artifacts, the token and cost tables, and the figures of the finished run.

# %% tags=["nbval-ignore-output"]
from orchestrator_kit.notebook_params import output_path
from orchestrator_kit.ui import App

app = App(output_dir=output_path("runs"))
app

# %% [markdown]
# ## After a run
#
# `app.run_panel.result` is the `RunResult` (`.table()` for tokens and dollars per agent, `.run_dir` for the
# run folder), and `app.results.runs` holds the loaded DataFrames for your own analysis.
