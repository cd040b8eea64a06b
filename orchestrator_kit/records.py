"""Typed records every layer shares (project state, artifacts, decisions, plans, outputs).

The bottom of the package: imports nothing of ours, does no I/O. ``engine/state_models.py`` re-exports
these names because the guide imports them from there.
"""

from __future__ import annotations

from enum import Enum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator


class PhaseType(str, Enum):
    DESIGN = "design"
    IMPLEMENTATION = "implementation"
    VERIFICATION = "verification"
    DOCUMENTATION = "documentation"
    HYGIENE = "hygiene"


class Artifact(BaseModel):
    filename: str
    content: str
    kind: str = "text"
    agent: str = ""
    truncated: bool = False


class Decision(BaseModel):
    approved: bool
    reasons: list[str] = []


class Score(BaseModel):
    value: float = Field(ge=0, le=10)
    reasons: list[str] = []


class TaskDefinition(BaseModel):
    task_id: str = "task-001"
    title: str = ""
    description: str = ""
    acceptance_criteria: list[str] = []


class AgentSettings(BaseModel):
    """Per-agent inputs a researcher can set (notebook panel, CLI, API)."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    extra_instructions: str = ""
    model: str | None = None
    max_tokens: int | None = Field(default=None, gt=0)


class ProjectState(BaseModel):
    project_id: str = "project-001"
    project_name: str = "Untitled project"
    request: str
    artifacts: dict[str, list[Artifact]] = {}
    decisions: dict[str, Decision] = {}
    scores: dict[str, Score] = {}
    feedback: dict[str, list[str]] = {}  # agent -> reasons it was sent back
    completed_agents: list[str] = []
    design_round: int = 1  # goes up each time the consensus gate sends the design back

    @field_validator("request")
    @classmethod
    def _request_not_blank(cls, v: str) -> str:
        if not v or not v.strip():
            raise ValueError("the project request is empty; describe what the team should build")
        return v.strip()

    def artifacts_of(self, agents: list[str] | tuple[str, ...]) -> list[Artifact]:
        return [a for agent in agents for a in self.artifacts.get(agent, [])]


class AgentContext(BaseModel):
    """What an agent needs for one task: the project, the task, and who pays.

    ``llm_api_key`` is a SecretStr: it never shows in repr, str or JSON dumps.
    ``gateway`` is set by the engine (budget, ledger, events); standalone agents build their own.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    project_state: ProjectState
    task: TaskDefinition = TaskDefinition()
    user_id: str = "user-001"
    llm_api_key: SecretStr | None = None
    llm_provider: str = "anthropic"
    model: str | None = None
    max_tokens: int | None = None
    extra_instructions: str = ""
    mode: str = "auto"  # auto | simulated | real | replay
    run_id: str = ""
    cache_ttl: Literal["5m", "1h"] | None = "5m"  # prompt caching of the stable prefix; None: off
    gateway: Any = Field(default=None, exclude=True, repr=False)


class AgentPlan(BaseModel):
    agent: str
    phase: PhaseType
    summary: str
    steps: list[str]
    planned_artifacts: list[dict[str, str]] = []
    raw: str = Field(default="", repr=False)


class AgentOutput(BaseModel):
    agent: str
    phase: PhaseType
    summary: str
    artifacts: list[Artifact]
    decision: Decision | None = None
    score: Score | None = None
    truncated: bool = False
    repairs: list[str] = []
