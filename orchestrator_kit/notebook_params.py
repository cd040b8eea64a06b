"""Parameters of the workflow notebook: one declared list, checked in the notebook's first code cell.

    params = validate_workflow_params(globals())   # TypeError / ConfigError naming the parameter
    result = params.run()

Under papermill a bad value stops the notebook there, and the PapermillExecutionError names the
parameter and the type it expects. The API key is never a parameter (papermill writes parameters
into the notebook in plain text): real mode reads it from ``ANTHROPIC_API_KEY`` in the kernel's
environment. A value shaped like a key is refused without being echoed.

``notebook_path(name)`` finds the packaged notebooks (``workflow.ipynb``, ``cost_report.ipynb``, ...).
"""

from __future__ import annotations

import importlib.resources
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .agents.roles import ROLE_IDS
from .errors import ConfigError

_TYPE_NAMES = {str: "str", int: "int", float: "float", bool: "bool", list: "list", dict: "dict"}


@dataclass(frozen=True)
class Param:
    name: str
    type: type
    default: Any
    help: str


# The workflow notebook's parameters cell lists exactly these, in this order (a test checks).
# Help texts hold no "=": papermill reads one "=" per line.
WORKFLOW_PARAMS: tuple[Param, ...] = (
    Param(
        "request",
        str,
        "Build a command-line tool that converts CSV files to JSON",
        "what the team should build",
    ),
    Param("project_name", str, "csv2json", "names the project and the generated module"),
    Param("agents", list, list(ROLE_IDS), "which agents run; the workflow puts them in order"),
    Param(
        "mode",
        str,
        "simulated",
        "simulated | auto | real | replay; real and auto read the key from ANTHROPIC_API_KEY only",
    ),
    Param("model", str, "claude-sonnet-5-5", "model for every agent without its own"),
    Param("budget_usd", float, 0.0, "dollar cap for the run; 0 means no cap"),
    Param("budget_tokens", int, 0, "token cap for the run; 0 means no cap"),
    Param("exact_budget", bool, False, "real mode: count each prompt with the API before the budget check"),
    Param("max_concurrency", int, 4, "model calls in flight at once"),
    Param("max_rounds", int, 3, "design rounds the consensus gate may ask for"),
    Param(
        "agent_settings",
        dict,
        {},
        'per agent, e.g. {"qa": {"model": "claude-haiku-5-5", "max_tokens": 2048, "extra_instructions": "..."}}',
    ),
    Param("simulated_options", dict, {}, 'simulated mode only, e.g. {"consensus_rejections": 1}'),
    Param("replay_from", str, "", "mode replay: a run folder or a recording .jsonl"),
    Param("output_dir", str, "runs", "folder that receives the run folder (relative to the kernel's folder)"),
    Param("run_id", str, "", "name of the run folder; empty: a new time-sorted id"),
    Param(
        "allow_unknown_model", bool, False, "allow a model missing from the price table (its cost is unknown)"
    ),
    Param("timeout_s", float, 120.0, "seconds per attempt of a real model call; retried when it expires"),
    Param("write_outputs", bool, True, "write tables (Parquet, CSV) and figures (PNG) into the run folder"),
    Param(
        "evaluate",
        str,
        "auto",
        "auto: sandboxed checks of simulated runs' code | yes: also code a model wrote | no",
    ),
    Param("run_dir", str, "", "a finished run folder to tabulate instead of running ($0; sweeps set it)"),
)
PARAMS_BY_NAME = {p.name: p for p in WORKFLOW_PARAMS}
MODES = ("simulated", "auto", "real", "replay")
EVALUATE = ("auto", "yes", "no")
OUTPUT_ROOT_VAR = "ORCHESTRATOR_KIT_OUTPUT_ROOT"


def _type_name(t: type) -> str:
    return _TYPE_NAMES.get(t, t.__name__)


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _looks_like_key(value: Any) -> bool:
    if isinstance(value, str):
        return "sk-ant-" in value
    if isinstance(value, Mapping):
        return any(_looks_like_key(k) or _looks_like_key(v) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return any(_looks_like_key(v) for v in value)
    return False


def _check_type(p: Param, value: Any) -> Any:
    ok = isinstance(value, p.type) and not (p.type in (int, float) and isinstance(value, bool))
    if p.type is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if not ok:
        hint = ""
        if p.type in (list, dict) and isinstance(value, str):
            hint = (
                f"; papermill's -p passes text, use -y '{p.name}: ...' or -f params.yaml for a "
                f"{_type_name(p.type)}"
            )
        raise TypeError(
            f"parameter {p.name!r} must be {_type_name(p.type)} ({p.help}), "
            f"got {type(value).__name__} {_shown(value)}{hint}"
        )
    return value


def _bad(name: str, message: str) -> ConfigError:
    return ConfigError(f"parameter {name!r}: {message}")


@dataclass(frozen=True)
class WorkflowParams:
    """Checked parameters of one workflow run (see WORKFLOW_PARAMS for each one's meaning)."""

    request: str
    project_name: str
    agents: list[str]
    mode: str
    model: str
    budget_usd: float
    budget_tokens: int
    exact_budget: bool
    max_concurrency: int
    max_rounds: int
    agent_settings: dict[str, dict[str, Any]] = field(default_factory=dict)
    simulated_options: dict[str, Any] = field(default_factory=dict)
    replay_from: str = ""
    output_dir: str = "runs"
    run_id: str = ""
    allow_unknown_model: bool = False
    timeout_s: float = 120.0
    write_outputs: bool = True
    evaluate: str = "auto"
    run_dir: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def engine_options(self) -> dict[str, Any]:
        """Keyword arguments for ``WorkflowEngine`` (0 caps become "no cap")."""
        opts: dict[str, Any] = dict(
            mode=self.mode,
            model=self.model,
            agents=list(self.agents),
            agent_settings=self.agent_settings,
            budget_usd=self.budget_usd or None,
            budget_tokens=self.budget_tokens or None,
            max_concurrency=self.max_concurrency,
            max_rounds=self.max_rounds,
            output_dir=output_path(self.output_dir),
            simulated_options=self.simulated_options or None,
            allow_unknown_model=self.allow_unknown_model,
            timeout=self.timeout_s,
            exact_budget=self.exact_budget,
        )
        if self.replay_from:
            opts["replay_from"] = self.replay_from
        return opts

    def run(self, subscribers: Iterable[Callable[[Any], None]] = ()) -> Any:
        """Run the workflow; returns its RunResult (raises as the engine does, the run checkpointed).
        With ``run_dir`` set, loads that finished run instead (no call, $0)."""
        from .engine.engine import WorkflowEngine

        if self.run_dir:
            return load_finished_run(self.run_dir)

        engine = WorkflowEngine(**self.engine_options())
        for fn in subscribers:
            engine.subscribe(fn)
        return engine.run(self.request, project_name=self.project_name, run_id=self.run_id or None)

    def evaluation(self, result: Any) -> dict[str, Any] | None:
        """Per ``evaluate``: measure the run's code in the sandbox (``evaluation.json``) and return the
        evaluation as a dict, or None when not evaluated ("no"; "auto" and code a model wrote). A run loaded
        with ``run_dir`` that was evaluated already (a sweep evaluates before it renders) is not re-run."""
        if self.evaluate == "no":
            return None
        if self.run_dir and result.evaluation:
            return dict(result.evaluation)
        if self.evaluate == "auto" and result.mode != "simulated":
            return None
        from .evaluate import evaluate_run

        return evaluate_run(result.run_dir, allow_model_code=self.evaluate == "yes").model_dump(mode="json")


def load_finished_run(run_dir: str | Path) -> Any:
    """The RunResult of a completed run folder; a run that did not complete is an error that says
    how to continue it (tables of half a run would mislead)."""
    from .engine.result import RunResult
    from .errors import RunFailed

    result = RunResult.load(run_dir)
    if result.status != "completed":
        raise RunFailed(
            f"run folder {run_dir} is {result.status}, not completed; "
            f"continue it first: orchestrator-kit resume {run_dir}",
            run_dir=str(run_dir),
        )
    return result


def _check_agents(agents: list[Any]) -> list[str]:
    if not agents:
        raise _bad("agents", f"the list is empty; name at least one of: {', '.join(ROLE_IDS)}")
    for a in agents:
        if not isinstance(a, str):
            raise TypeError(f"parameter 'agents' must be list of str (agent ids), got an item {_shown(a)}")
        if a not in ROLE_IDS:
            raise _bad("agents", f"unknown agent {a!r}; valid agents are: {', '.join(ROLE_IDS)}")
    return list(agents)


def _check_agent_settings(settings: dict[Any, Any]) -> dict[str, dict[str, Any]]:
    from pydantic import ValidationError

    from .records import AgentSettings

    out = {}
    for agent, value in settings.items():
        where = f"agent_settings[{agent!r}]"
        if agent not in ROLE_IDS:
            raise _bad("agent_settings", f"unknown agent {agent!r}; valid agents are: {', '.join(ROLE_IDS)}")
        if not isinstance(value, Mapping):
            raise TypeError(
                f"parameter {where} must be dict (enabled, extra_instructions, model, "
                f"max_tokens), got {type(value).__name__} {_shown(value)}"
            )
        try:
            out[agent] = AgentSettings(**value).model_dump(exclude_defaults=True)
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(str(x) for x in e['loc'])}: {e['msg']}" for e in exc.errors())
            raise _bad(
                where,
                f"{problems} (fields: enabled: bool, extra_instructions: str, model: str, "
                "max_tokens: int > 0)",
            ) from None
    return out


def validate_workflow_params(namespace: Mapping[str, Any]) -> WorkflowParams:
    """Check every workflow parameter found in ``namespace`` (e.g. the notebook's ``globals()``);
    missing ones take their defaults. Raises TypeError (wrong type) or ConfigError (a ValueError: bad
    value), each naming the parameter and what it expects."""
    from .llm.pricing import check_model

    values: dict[str, Any] = {}
    for p in WORKFLOW_PARAMS:
        value = namespace.get(p.name, p.default)
        if _looks_like_key(value):
            raise _bad(
                p.name,
                "looks like an API key (value not shown); keys are never parameters, "
                "set ANTHROPIC_API_KEY in the environment of the kernel instead",
            )
        values[p.name] = _check_type(p, value)
    if not values["request"].strip():
        raise _bad(
            "request", "is empty; describe what the team should build, e.g. 'a CLI that converts CSV to JSON'"
        )
    if values["mode"] not in MODES:
        raise _bad("mode", f"{values['mode']!r} is not a mode; choose one of: {', '.join(MODES)}")
    if values["evaluate"] not in EVALUATE:
        raise _bad(
            "evaluate",
            f"{values['evaluate']!r} is not a choice; choose auto (simulated runs), yes (also code a model "
            "wrote, in a sandbox) or no",
        )
    if values["mode"] == "replay" and not values["replay_from"]:
        raise _bad("replay_from", "mode 'replay' needs a recording: a run folder or a .jsonl file")
    for name in ("budget_usd", "budget_tokens"):
        if values[name] < 0:
            raise _bad(name, f"must be >= 0 (0 = no cap), got {values[name]}")
    for name in ("max_concurrency", "max_rounds"):
        if values[name] < 1:
            raise _bad(name, f"must be an int >= 1, got {values[name]}")
    if not values["timeout_s"] > 0:
        raise _bad("timeout_s", f"must be more than 0 seconds, got {values['timeout_s']}")
    values["agents"] = _check_agents(values["agents"])
    values["agent_settings"] = _check_agent_settings(values["agent_settings"])
    for name, model in [
        ("model", values["model"]),
        *(
            (f"agent_settings[{a!r}].model", s["model"])
            for a, s in values["agent_settings"].items()
            if s.get("model")
        ),
    ]:
        try:
            check_model(model, allow_unknown=values["allow_unknown_model"])
        except ConfigError as exc:
            raise _bad(name, str(exc)) from None
    return WorkflowParams(**values)


def output_path(path: str | Path) -> Path:
    """Where a notebook writes ``path``: as given when absolute; else under ``$ORCHESTRATOR_KIT_OUTPUT_ROOT``
    when that is set (the nbval run sets it, so that re-running the notebooks writes nothing into the
    source tree); else relative to the kernel's folder."""
    path = Path(path).expanduser()
    root = os.environ.get(OUTPUT_ROOT_VAR, "")
    return path if path.is_absolute() or not root else Path(root).expanduser() / path


def notebook_path(name: str) -> Path:
    """A notebook shipped with the package (``orchestrator_kit.notebooks``), or from the source checkout's
    ``notebooks/`` folder when the package data is not installed."""
    try:
        entry = importlib.resources.files("orchestrator_kit.notebooks").joinpath(name)
        if entry.is_file():
            return Path(str(entry))
    except ModuleNotFoundError:
        pass
    source = Path(__file__).resolve().parent.parent / "notebooks" / name
    if source.is_file():
        return source
    raise ConfigError(
        f"notebook {name!r} not found: reinstall orchestrator-kit with its notebooks "
        "(pip install 'orchestrator-kit[notebook]')"
    )


__all__ = [
    "WORKFLOW_PARAMS",
    "Param",
    "WorkflowParams",
    "load_finished_run",
    "notebook_path",
    "output_path",
    "validate_workflow_params",
]
