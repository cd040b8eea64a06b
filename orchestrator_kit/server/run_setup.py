"""How the server builds a run's engine: who pays, which backend, and the validated ``WorkflowEngine`` of a
new run or of a run being resumed. Nothing here starts or drives a run (``runs.RunManager`` does).

Who pays: a user's stored key (decrypted only to build the run's backend); without one, the run is
explicitly ``simulated``: the server's own ANTHROPIC_API_KEY or .env is never used for a user's run.
Bad input fails here, before anything is indexed (a 4xx).
"""

from __future__ import annotations

import difflib
import warnings
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from ..engine.engine import WorkflowEngine
from ..errors import ConfigError, UnknownModelError
from ..llm.pricing import DEFAULT_MODEL, is_known_model, price_table
from ..store.run_folder import RunFolder, redact
from .db import Database
from .failures import Conflict
from .permissions import private_dir
from .schemas import RunIn
from .secrets import KeyVault

KEY_SOURCE = "your provider settings (POST /users/me/provider-settings)"


def known_model(model: str) -> str:
    """``model`` when the price table knows it, else UnknownModelError naming the ids this server runs.
    (The engine's own error advises allow_unknown_model / --allow-unknown-model, which the API lacks.)"""
    if is_known_model(model):
        return model
    table = price_table()
    close = difflib.get_close_matches(model, table.ids(), n=3)
    hint = f" Did you mean {', '.join(close)}?" if close else ""
    known = ", ".join(m.id for m in table if m.priced)
    raise UnknownModelError(
        f"Unknown model {model[:100]!r}.{hint} This server runs the models of its price table "
        f"(version {table.version}): {known}"
    )


class RunSetup:
    """Builds the engines of the server's runs from a request, a user's provider settings and the server's
    settings (the Anthropic base URL, the simulated latency, the per-attempt timeout, calls in flight)."""

    def __init__(
        self,
        db: Database,
        vault: KeyVault,
        *,
        data_dir: Path,
        anthropic_base_url: str | None = None,
        simulated_latency_s: float = 0.0,
        max_concurrent_calls: int = 4,
        call_timeout_s: float | None = None,
    ) -> None:
        if max_concurrent_calls < 1:
            raise ConfigError(f"max_concurrent_calls must be at least 1, got {max_concurrent_calls}")
        self.db, self.vault, self.data_dir = db, vault, Path(data_dir)
        self.anthropic_base_url = anthropic_base_url
        self.simulated_latency_s = simulated_latency_s
        self.max_concurrent_calls = max_concurrent_calls  # model calls in flight across all users' runs
        self.call_timeout_s = call_timeout_s  # per attempt of a real call (None: the backend default)

    def user_root(self, user_id: str) -> Path:
        """``runs/<user>`` in the data folder, made (and kept) private: 0700 like the folders in it."""
        return private_dir(private_dir(self.data_dir / "runs") / user_id)

    def credentials(self, user_id: str) -> tuple[SecretStr | None, str | None]:
        """The user's stored key (decrypted) and model, or (None, None) without provider settings."""
        row = self.db.get_provider(user_id)
        if row is None:
            return None, None
        return SecretStr(self.vault.decrypt(row["key_blob"])), row["model"]

    def backend_options(self, mode: str, key: SecretStr | None) -> dict[str, Any]:
        """The engine's backend keywords for ``mode`` (auto | simulated | real) paid with ``key``."""
        if mode == "simulated" or (mode == "auto" and key is None):
            return {"mode": "simulated", **self.simulated_options({})}
        if key is None:
            raise Conflict(
                "mode 'real' needs your Anthropic API key: set it with POST /users/me/provider-settings, "
                "or use mode 'simulated'"
            )
        return {
            "mode": "real",
            "api_key": key,
            "key_source": KEY_SOURCE,
            "base_url": self.anthropic_base_url,
            "timeout": self.call_timeout_s,
        }

    def simulated_options(self, base: dict[str, Any]) -> dict[str, Any]:
        """``{"simulated_options": ...}``: ``base`` with the server's simulated latency (or none), or {}."""
        opts = dict(base)
        if self.simulated_latency_s:
            opts["latency_s"] = self.simulated_latency_s
        else:
            opts.pop("latency_s", None)
        return {"simulated_options": opts} if opts else {}

    def prepare(
        self, user_id: str, project: dict[str, Any], body: RunIn
    ) -> tuple[WorkflowEngine, dict[str, Any], list[str]]:
        """The engine of a new run, its indexed parameters, and any warnings (e.g. a retiring model)."""
        request = body.request or project.get("request")
        if not request:
            raise ConfigError(
                'this project has no request; pass one: {"request": "what the team should build"} '
                "(or create the project with a request)"
            )
        key, user_model = (None, None) if body.mode == "simulated" else self.credentials(user_id)
        model = known_model(body.model or user_model or DEFAULT_MODEL)
        options = self.backend_options(body.mode, key)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            engine = WorkflowEngine(
                model=model,
                agents=body.agents,
                budget_usd=body.budget_usd,
                max_concurrency=self.max_concurrent_calls,
                output_dir=self.user_root(user_id),
                gate_policy=body.gate,
                on_budget=body.on_budget,
                **options,
            )
        params = {
            "request": request,
            "project_name": project["name"],
            "agents": list(engine.workflow.steps),
            "model": model,
            "mode": body.mode,
            "budget_usd": None if body.budget_usd is None else str(body.budget_usd),
            "gate": body.gate,
            "on_budget": body.on_budget,
        }
        return engine, params, [redact(str(w.message)) for w in caught]

    def for_resume(self, user_id: str, run_dir: Path, budget_usd: Any = None) -> WorkflowEngine:
        """The engine that resumes the started run in ``run_dir``, in the mode it ran in: a real run is paid
        with the user's key as it is now; ``budget_usd`` (if given) replaces its cap."""
        manifest = RunFolder.open(run_dir).manifest()
        overrides: dict[str, Any] = {}
        if manifest.get("mode") == "real":
            overrides = self.backend_options("real", self.credentials(user_id)[0])
            overrides.pop("mode", None)
        elif manifest.get("mode") == "simulated":
            sim = self.simulated_options(manifest.get("simulated_options") or {})
            overrides = {"simulated_options": sim.get("simulated_options", {})}
        if budget_usd is not None:
            overrides["budget_usd"] = budget_usd
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return WorkflowEngine.for_resume(run_dir, **overrides)


__all__ = ["KEY_SOURCE", "RunSetup", "known_model"]
