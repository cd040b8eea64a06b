"""Request and response bodies of the API server. Requests forbid unknown fields."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from ..store.run_folder import redact

PROVIDERS = ("anthropic",)
RunStatus = Literal[
    "queued",
    "running",
    "completed",
    "failed",
    "budget_exceeded",
    "interrupted",
    "awaiting_approval",
    "awaiting_budget",
]


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


def _blank_to_none(v: Any) -> Any:
    return None if isinstance(v, str) and not v.strip() else v


class ProviderSettingsIn(_Request):
    llm_provider: str = Field(max_length=40, description="only 'anthropic' is supported")
    api_key: SecretStr = Field(description="stored encrypted; never returned")
    model: str | None = Field(default=None, max_length=100, description="default model for this user's runs")

    @field_validator("llm_provider")
    @classmethod
    def _known_provider(cls, v: str) -> str:
        v = v.lower()
        if v not in PROVIDERS:
            raise ValueError(f"unknown llm_provider {redact(v)[:40]!r}; supported: {', '.join(PROVIDERS)}")
        return v

    @field_validator("api_key")
    @classmethod
    def _key_present(cls, v: SecretStr) -> SecretStr:
        value = v.get_secret_value().strip()
        if not value:
            raise ValueError("api_key is empty; paste your Anthropic API key (it starts with sk-ant-)")
        if len(value) > 500 or any(c.isspace() for c in value):
            raise ValueError("api_key does not look like an API key (too long, or contains spaces)")
        return SecretStr(value)

    _model_blank = field_validator("model", mode="before")(_blank_to_none)


class ProviderSettingsOut(BaseModel):
    llm_provider: str | None
    model: str | None
    api_key_set: bool
    api_key_masked: str | None = Field(description="at most the last 4 characters, e.g. '…ab12'")
    api_key_readable: bool = True
    warnings: list[str] = []


class ProjectIn(_Request):
    project_name: str = Field(min_length=1, max_length=200)
    request: str | None = Field(
        default=None, max_length=20_000, description="what the team should build; runs may pass their own"
    )

    _request_blank = field_validator("request", mode="before")(_blank_to_none)


class RunBrief(BaseModel):
    id: str
    status: RunStatus
    mode: str
    model: str
    created_at: str
    updated_at: str


class ProjectOut(BaseModel):
    id: str
    project_name: str
    request: str | None
    created_at: str
    run_count: int


class ProjectDetail(ProjectOut):
    runs: list[RunBrief]


class RunIn(_Request):
    request: str | None = Field(
        default=None, max_length=20_000, description="defaults to the project's request"
    )
    agents: list[str] | None = Field(
        default=None, min_length=1, max_length=8, description="a subset of the eight roles; default: all"
    )
    model: str | None = Field(
        default=None,
        max_length=100,
        description="default: the user's provider setting, else the package default",
    )
    budget_usd: Decimal | None = Field(default=None, gt=0, le=10_000, description="cap on this run's spend")
    mode: Literal["auto", "simulated", "real"] = Field(
        default="auto", description="auto: real with your stored key, simulated without one"
    )
    gate: Literal["model", "human", "model+human"] | None = Field(
        default=None,
        description="who decides at the workflow's gates: the consensus agent (model, the default), a person "
        "(human: the run waits as awaiting_approval), or the model proposes and a person confirms",
    )
    on_budget: Literal["fail", "pause"] = Field(
        default="fail",
        description="pause: wait as awaiting_budget (raise it with a decision) instead of failing",
    )

    _blanks = field_validator("request", "model", mode="before")(_blank_to_none)


class ResumeIn(_Request):
    budget_usd: Decimal | None = Field(default=None, gt=0, le=10_000, description="a new cap (e.g. raised)")


class DecisionIn(_Request):
    action: Literal["approve", "revise", "edit", "budget"]
    reasons: list[str] = Field(default_factory=list, max_length=50, description="required for revise")
    edits: dict[str, str] = Field(
        default_factory=dict,
        max_length=20,
        description='for edit: {"<agent>/<filename>": new text} of artifacts under review',
    )
    budget_usd: Decimal | None = Field(default=None, gt=0, le=10_000, description="for budget: the new cap")


class RunOut(BaseModel):
    id: str
    project_id: str
    status: RunStatus
    mode: str
    model: str
    request: str
    agents: dict[str, dict[str, Any]] = Field(description="per agent: status, calls, tokens, cost_usd")
    totals: dict[str, Any] = Field(description="tokens by kind, calls, cost_usd (string, or null if unknown)")
    artifacts: int
    review_score: float | None = None
    error: dict[str, Any] | None = None
    pending: dict[str, Any] | None = Field(
        default=None,
        description="what a waiting run asks: kind, step, under_review, proposal, budget (see POST .../decision)",
    )
    warnings: list[str] = []
    created_at: str
    updated_at: str
    links: dict[str, str]


class ArtifactOut(BaseModel):
    agent: str
    filename: str
    path: str = Field(description="<agent>/<filename>, for GET .../artifacts/{path}")
    bytes: int


__all__ = [
    "PROVIDERS",
    "ArtifactOut",
    "DecisionIn",
    "ProjectDetail",
    "ProjectIn",
    "ProjectOut",
    "ProviderSettingsIn",
    "ProviderSettingsOut",
    "ResumeIn",
    "RunBrief",
    "RunIn",
    "RunOut",
]
