"""A run's manifest: the engine's settings written when a run starts, and read back when it resumes.

:func:`run_manifest` is what ``manifest.json`` holds; :func:`engine_options` turns a manifest back into the
``WorkflowEngine`` options that continue the run; :func:`check_resumable_layout` refuses a resume that would
pay again for calls made with another prompt layout.
"""

from __future__ import annotations

import platform
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import __version__
from ..agents.prompt_builder import PROMPT_LAYOUT, template_hashes
from ..errors import ConfigError
from ..llm.pricing import DEFAULT_MODEL, price_table
from ..store.run_folder import RESPONSES, RunFolder
from .estimate import estimate_run

if TYPE_CHECKING:
    from .engine import WorkflowEngine

__all__ = ["check_resumable_layout", "engine_options", "expected_usd", "run_manifest"]


def run_manifest(engine: WorkflowEngine, request: str, project_name: str) -> dict[str, Any]:
    """The manifest of a run that ``engine`` starts on ``request``."""
    return {
        "schema": 1,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "package_version": __version__,
        "python": platform.python_version(),
        "request": request,
        "project_name": project_name,
        "agents": list(engine.workflow.steps),
        "workflow": engine.workflow.to_dict(),
        "mode": engine.mode,
        "model": engine.model,
        "key_source": engine.choice.key_source,
        "agent_settings": {a: s.model_dump() for a, s in engine.settings.items()},
        "budget": engine.budget.to_dict(),
        "max_concurrency": engine.max_concurrency,
        "replay_from": None if engine.replay_from is None else str(engine.replay_from),
        "simulated_options": engine.simulated_options,
        "allow_unknown_model": engine.allow_unknown_model,
        "cache_ttl": engine.cache_ttl,
        "on_budget": engine.on_budget,
        "timeout_s": engine.timeout,
        "exact_budget": engine.exact_budget,
        "prompt_hashes": template_hashes(),
        "prompt_layout": PROMPT_LAYOUT,
        "price_table_version": price_table().version,
        "estimate": estimate_run(
            request,
            workflow=engine.workflow,
            model=engine.model,
            project_name=project_name,
            agent_settings=engine.settings,
            cache_ttl=engine.cache_ttl,
        ).to_dict(),
    }


def expected_usd(manifest: Mapping[str, Any]) -> str | None:
    """The run's expected cost as its manifest's estimate holds it (what ``summary.json`` names): the
    engine keeps this of the manifest while the run goes on, not the manifest."""
    expected: str | None = (manifest.get("estimate") or {}).get("total_expected")
    return expected


def engine_options(run_dir: str | Path, **overrides: Any) -> dict[str, Any]:
    """The ``WorkflowEngine`` options that continue the run at ``run_dir``, then ``overrides``."""
    m = RunFolder.open(run_dir).manifest()
    if m.get("mode") == "replay" and "replay_from" not in overrides:
        overrides["replay_from"] = m.get("replay_from")
    budget = m.get("budget") or {}
    kw: dict[str, Any] = {
        "mode": m.get("mode", "auto"),
        "model": m.get("model", DEFAULT_MODEL),
        "agents": m.get("agents"),
        "workflow": m.get("workflow"),
        "agent_settings": m.get("agent_settings"),
        "budget_usd": budget.get("max_usd"),
        "budget_tokens": budget.get("max_tokens"),
        "max_concurrency": m.get("max_concurrency", 4),
        "output_dir": Path(run_dir).parent,
        "simulated_options": m.get("simulated_options"),
        "allow_unknown_model": m.get("allow_unknown_model", False),
        "cache_ttl": m.get("cache_ttl", "5m"),
        "on_budget": m.get("on_budget", "fail"),
        "timeout": m.get("timeout_s"),
        "exact_budget": m.get("exact_budget", False),
    }
    kw.update(overrides)
    return kw


def check_resumable_layout(folder: RunFolder, manifest: dict[str, Any]) -> None:
    """Raise ConfigError when the run's paid calls were made with another prompt layout (none would be reused)."""
    layout = manifest.get("prompt_layout", 1)
    if layout != PROMPT_LAYOUT and (folder.path / RESPONSES).exists():
        raise ConfigError(
            f"cannot resume {str(folder.path)!r}: its calls were made with prompt layout {layout}, "
            f"this version builds layout {PROMPT_LAYOUT}, so none of its paid calls would be reused "
            "(they would be paid again). Resume it with the orchestrator_kit version that started it "
            f"({manifest.get('package_version', 'unknown')}), or start a new run."
        )
