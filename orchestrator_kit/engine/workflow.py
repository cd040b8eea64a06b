"""The workflow as a DAG in data. Default: architect -> data -> consensus -> developer ->
{qa, documentarian} -> reviewer -> steward, with the consensus step as the design gate."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from ..agents.roles import get_role
from ..errors import ConfigError

GATE_POLICIES = ("model", "human", "model+human")


@dataclass(frozen=True)
class Gate:
    """A decision point after a step. On rejection, send the work back to ``send_back_to`` (and re-run what
    lies between), for at most ``max_rounds`` rounds.

    ``policy``: ``model`` (the step's agent decides, e.g. the consensus agent), ``human`` (a person decides;
    a deciding agent such as consensus is not run at all), ``model+human`` (the agent proposes, a person
    confirms). Human gates pause the run durably (see ``engine/gates.py``)."""

    send_back_to: str = "architect"
    max_rounds: int = 3
    policy: str = "model"

    def __post_init__(self) -> None:
        if not isinstance(self.max_rounds, int) or self.max_rounds < 1:
            raise ConfigError(
                f"a gate needs at least 1 round, got max_rounds={self.max_rounds!r}; e.g. --max-rounds 3"
            )
        if self.policy not in GATE_POLICIES:
            raise ConfigError(
                f"unknown gate policy {self.policy!r}; choose one of: {', '.join(GATE_POLICIES)}"
            )

    @property
    def human(self) -> bool:
        return self.policy != "model"


@dataclass(frozen=True)
class Step:
    agent: str
    after: tuple[str, ...] = ()
    gate: Gate | None = None


@dataclass(frozen=True)
class Workflow:
    steps: dict[str, Step] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.steps:
            raise ConfigError("the workflow has no steps; pass at least one agent")
        for step in self.steps.values():
            get_role(step.agent)
            for dep in step.after:
                if dep not in self.steps:
                    raise ConfigError(f"step {step.agent!r} waits for {dep!r}, which is not in the workflow")
            back = step.gate.send_back_to if step.gate else None
            if back is not None and back != step.agent and back not in self.ancestors(step.agent):
                raise ConfigError(
                    f"gate {step.agent!r} sends back to {back!r}, which must be the step itself or one of "
                    "its ancestors"
                )
        self.order()  # raises on a cycle

    # -- construction --------------------------------------------------------------------
    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Workflow:
        """``{"architect": [], "developer": ["architect"]}`` or ``{"x": {"after": [...], "gate": {...}}}``."""
        steps: dict[str, Step] = {}
        for agent, spec in data.items():
            if isinstance(spec, Mapping):
                gate = Gate(**spec["gate"]) if spec.get("gate") else None
                steps[agent] = Step(agent, tuple(spec.get("after", ())), gate)
            else:
                steps[agent] = Step(agent, tuple(spec or ()))
        return cls(steps)

    def to_dict(self) -> dict[str, Any]:
        return {
            a: {"after": list(s.after), "gate": (s.gate.__dict__ if s.gate else None)}
            for a, s in self.steps.items()
        }

    def subset(self, agents: Iterable[str], *, max_rounds: int | None = None) -> Workflow:
        """Keep only ``agents``; each waits for its nearest kept ancestors. A gate whose target is
        dropped is dropped too."""
        keep = list(agents)
        for a in keep:
            get_role(a)
        dupes = sorted({a for a in keep if keep.count(a) > 1})
        if dupes:
            raise ConfigError(f"agents listed more than once: {', '.join(dupes)}; list each agent once")
        missing = [a for a in keep if a not in self.steps]
        if missing:
            raise ConfigError(f"agents not in this workflow: {', '.join(missing)}")
        kept = set(keep)
        steps: dict[str, Step] = {}
        for agent in self.order():
            if agent not in kept:
                continue
            step = self.steps[agent]
            deps = self._nearest_kept(agent, kept)
            gate = step.gate
            if gate and gate.send_back_to not in kept:
                gate = None
            if gate and max_rounds is not None:
                gate = replace(gate, max_rounds=max_rounds)
            steps[agent] = Step(agent, tuple(sorted(deps, key=self.order().index)), gate)
        return Workflow(steps)

    def with_gate_policy(self, policy: str, steps: Iterable[str] | None = None) -> Workflow:
        """This workflow with ``policy`` on its gates (all of them, or those of ``steps``). A step named in
        ``steps`` that has no gate gets one that sends back to itself."""
        wanted = set(steps) if steps is not None else {a for a, s in self.steps.items() if s.gate}
        unknown = sorted(wanted - set(self.steps))
        if unknown:
            raise ConfigError(f"no such step for a gate: {', '.join(unknown)}")
        new = {
            a: replace(s, gate=replace(s.gate or Gate(send_back_to=a), policy=policy)) if a in wanted else s
            for a, s in self.steps.items()
        }
        return Workflow(new)

    def _nearest_kept(self, agent: str, kept: set[str]) -> set[str]:
        out: set[str] = set()
        stack = list(self.steps[agent].after)
        while stack:
            dep = stack.pop()
            if dep in kept:
                out.add(dep)
            else:
                stack.extend(self.steps[dep].after)
        return out

    # -- queries ---------------------------------------------------------------------------
    def can_start(self, agent: str, steps: Mapping[str, str]) -> bool:
        """Whether ``agent`` is pending and every step it waits for is done (``steps``: agent -> status)."""
        return steps[agent] == "pending" and all(steps[d] == "done" for d in self.steps[agent].after)

    def order(self) -> list[str]:
        """A topological order (stable: insertion order among ready steps)."""
        cached = self.__dict__.get("_order")
        if cached is None:
            cached = self._topological()
            object.__setattr__(self, "_order", cached)
        return list(cached)

    def _topological(self) -> list[str]:
        done: list[str] = []
        pending = dict(self.steps)
        while pending:
            ready = [a for a, s in pending.items() if all(d in done for d in s.after)]
            if not ready:
                raise ConfigError(f"the workflow has a cycle among: {', '.join(pending)}")
            for a in ready:
                done.append(a)
                del pending[a]
        return done

    def ancestors(self, agent: str) -> set[str]:
        out: set[str] = set()
        stack = list(self.steps[agent].after)
        while stack:
            dep = stack.pop()
            if dep not in out:
                out.add(dep)
                stack.extend(self.steps[dep].after)
        return out

    def between(self, start: str, end: str) -> list[str]:
        """Steps on paths from ``start`` to ``end``, both included (what a gate re-runs)."""
        if start != end and start not in self.ancestors(end):
            return []
        span = {a for a in self.ancestors(end) if a == start or start in self.ancestors(a)}
        return [a for a in self.order() if a in span | {start, end}]

    def critical_path(self, cost: Mapping[str, float]) -> float:
        """Length of the longest path when each step takes ``cost[agent]``."""
        finish: dict[str, float] = {}
        for a in self.order():
            finish[a] = max((finish[d] for d in self.steps[a].after), default=0.0) + cost.get(a, 0.0)
        return max(finish.values(), default=0.0)


DEFAULT_WORKFLOW = Workflow.from_dict(
    {
        "architect": [],
        "data": ["architect"],
        "consensus": {"after": ["architect", "data"], "gate": {"send_back_to": "architect", "max_rounds": 3}},
        "developer": ["consensus"],
        "qa": ["developer"],
        "documentarian": ["developer"],
        "reviewer": ["qa", "documentarian"],
        "steward": ["reviewer"],
    }
)
