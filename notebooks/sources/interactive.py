# %% [markdown]
# # Interactive: key, agents, run, results
#
# This notebook is one app for running the agent team by hand and looking at what came out. Run the cells
# from the top; the app's parts are explained below, in the order you use them.
#
# - **Agents**: enable or disable each agent, add instructions, override its model or max tokens
#   (0 keeps the role's default).
# - **Run**: describe what the team should build and press Run. The run goes in a background thread;
#   each agent's row and the spend update live; **Stop** cancels it (the run folder is checkpointed as
#   *interrupted* and can be resumed with `orchestrator-kit resume RUN_DIR`).
# - **gate**: *human* (or *model+human*) stops the run at the design gate; the panel shows the documents under
#   review, the model's proposal, and Approve / Revise (with reasons) / Edit (the chosen artifact's text). Your
#   decision is recorded in the run folder and the run continues in the same panel. **pause at budget** makes
#   a run that would pass its budget wait for a higher cap instead of failing.
# - **Results**: the artifacts (Markdown shown rendered), the token and cost tables, and the figures of the
#   finished run. A new run clears them until it ends.
#
# Without a key, keep mode *simulated*: the whole workflow runs at $0 and shows the would-be cost.

# %% tags=["nbval-ignore-output"]
from orchestrator_kit.notebook_params import output_path
from orchestrator_kit.ui import App

app = App(output_dir=output_path("runs"))
app

# %% [markdown]
# ## Your API key
#
# The next cell opens a password prompt below it (Jupyter's own, as `getpass` gives). Type the key and press
# Enter; press Enter alone to stay without one. The key goes into this kernel's environment
# (`ANTHROPIC_API_KEY`) and nowhere else: it is never held by a widget, so saving the notebook, with or
# without its widget state, cannot save it. Entering a key switches the app's mode from simulated to auto.
# If a key is already in the environment or a `.env` file, the cell says so (never the key) and does not ask;
# `app.key.ask(force=True)` replaces it, the app's **Forget key** button removes it.

# %% tags=["nbval-ignore-output"]
app.key.ask()

# %% [markdown]
# ## After a run
#
# `app.run_panel.result` is the `RunResult` (`.table()` for tokens and dollars per agent, `.run_dir` for the
# run folder), and `app.results.runs` holds the loaded DataFrames for your own analysis.
