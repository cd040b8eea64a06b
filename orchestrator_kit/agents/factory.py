"""Agent factory: ``create_agent("architect")``. Roles are data; one Agent class serves all."""

from __future__ import annotations

from .base import Agent
from .roles import ROLE_IDS, get_role


def create_agent(agent_id: str) -> Agent:
    """A new agent for a role id; an unknown id raises UnknownAgentError listing the valid ones."""
    return Agent(get_role(agent_id))


def available_agents() -> tuple[str, ...]:
    return ROLE_IDS
