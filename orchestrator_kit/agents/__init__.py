"""Agents: roles as data, one Agent class, the factory, prompts and the parser."""

from .base import Agent
from .factory import available_agents, create_agent
from .roles import ROLE_IDS, ROLES, Role, get_role

__all__ = ["ROLES", "ROLE_IDS", "Agent", "Role", "available_agents", "create_agent", "get_role"]
