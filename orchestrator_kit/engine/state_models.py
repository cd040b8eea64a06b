"""The guide's import path for the shared records; they live in :mod:`orchestrator_kit.records`."""

from __future__ import annotations

from ..records import (
    AgentContext,
    AgentOutput,
    AgentPlan,
    AgentSettings,
    Artifact,
    Decision,
    PhaseType,
    ProjectState,
    Score,
    TaskDefinition,
)

__all__ = [
    "AgentContext",
    "AgentOutput",
    "AgentPlan",
    "AgentSettings",
    "Artifact",
    "Decision",
    "PhaseType",
    "ProjectState",
    "Score",
    "TaskDefinition",
]
