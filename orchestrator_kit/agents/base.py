"""One Agent class for all eight roles. Sync methods for scripts and notebooks, async twins for the engine."""

from __future__ import annotations

from .._sync import run_sync
from ..records import AgentContext, AgentOutput, AgentPlan, PhaseType, ProjectState, TaskDefinition
from .llm_agent_mixin import LlmAgentMixin
from .roles import Role


class Agent(LlmAgentMixin):
    def __init__(self, role: Role) -> None:
        self.role = role
        self.project_state: ProjectState | None = None
        self.context: AgentContext | None = None

    @property
    def id(self) -> str:
        return self.role.id

    def __repr__(self) -> str:
        return f"Agent({self.role.id!r})"

    def initialize(self, project_state: ProjectState, context: AgentContext) -> None:
        self.project_state = project_state
        self.context = context

    async def aplan(
        self,
        task: TaskDefinition,
        phase: PhaseType | str | None = None,
        project_state: ProjectState | None = None,
        context: AgentContext | None = None,
    ) -> AgentPlan:
        state, ctx = self._resolve(project_state, context)
        return await self._llm_plan(task, phase, state, ctx)

    async def aact(
        self, plan: AgentPlan, project_state: ProjectState | None = None, context: AgentContext | None = None
    ) -> AgentOutput:
        state, ctx = self._resolve(project_state, context)
        return await self._llm_act(plan, state, ctx)

    def plan(
        self,
        task: TaskDefinition,
        phase: PhaseType | str | None = None,
        project_state: ProjectState | None = None,
        context: AgentContext | None = None,
    ) -> AgentPlan:
        return run_sync(self.aplan(task, phase, project_state, context))

    def act(
        self, plan: AgentPlan, project_state: ProjectState | None = None, context: AgentContext | None = None
    ) -> AgentOutput:
        return run_sync(self.aact(plan, project_state, context))

    def _resolve(
        self, state: ProjectState | None, ctx: AgentContext | None
    ) -> tuple[ProjectState, AgentContext]:
        state = state or (ctx.project_state if ctx else None) or self.project_state
        ctx = ctx or self.context
        if state is None or ctx is None:
            raise TypeError(f"{self.role.id}: pass project_state and context, or call initialize() first")
        return state, ctx
