"""Builds LLMRequests from the role templates in prompts/ (jinja2, StrictUndefined).

One template per role; each extends ``_base.j2``. The system prompt is, longest stable prefix first:
the team charter (``_team.j2``, the same for every agent), the project, the upstream artifacts, then
the role's instructions. The plan step's user turn is ``plan_request``; the act step continues that
conversation (the plan as the assistant turn, then ``act_request``), so the plan call's prompt is
the act call's cached prefix.
"""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from importlib import resources
from typing import TYPE_CHECKING, Any, Literal

from ..llm.replay import RECORDING_LAYOUT
from ..llm.types import LLMRequest, Message, RequestLabels, SystemBlock
from .roles import Role, get_role

if TYPE_CHECKING:
    import jinja2

    from ..records import AgentPlan, Artifact

Step = Literal["plan", "act"]
PROMPTS_PACKAGE = "orchestrator_kit.prompts"
# The shape of the requests built here. Recordings and run folders made with another layout cannot
# be replayed or resumed by this version: their request hashes would never match.
PROMPT_LAYOUT = RECORDING_LAYOUT
SECTION_MARK = "\x00section:"  # NULs are stripped from every input, so no input can forge a section


def _strip_nul(text: str) -> str:
    return text.replace("\x00", "") if "\x00" in text else text


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    import jinja2

    root = resources.files(PROMPTS_PACKAGE)

    def load(name: str) -> str | None:
        entry = root.joinpath(name)
        return entry.read_text(encoding="utf-8") if entry.is_file() else None

    return jinja2.Environment(
        loader=jinja2.FunctionLoader(load),
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        keep_trailing_newline=False,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def template_hashes() -> dict[str, str]:
    """sha256 (first 12 hex) of every template, for the run manifest. Read once per process, like
    the templates themselves (``_environment`` loads each once), so the hashes name what renders."""
    return dict(_template_hashes())


@lru_cache(maxsize=1)
def _template_hashes() -> tuple[tuple[str, str], ...]:
    root = resources.files(PROMPTS_PACKAGE)
    return tuple(
        (entry.name, hashlib.sha256(entry.read_bytes()).hexdigest()[:12])
        for entry in sorted(root.iterdir(), key=lambda p: p.name)
        if entry.name.endswith(".j2")
    )


class RenderMemo:
    """One rendering of a role's template and what it was rendered from: the plan step renders every
    section, the act step (same inputs) reuses them instead of rendering again."""

    __slots__ = ("key", "sections")

    def __init__(self) -> None:
        self.key: tuple[Any, ...] | None = None
        self.sections: dict[str, str] = {}


def _render_key(role_id: str, values: dict[str, Any]) -> tuple[Any, ...]:
    """Everything the template reads (``plan_json`` is not rendered: it is the assistant turn)."""
    return (
        role_id,
        values["project_name"],
        values["request"],
        tuple((a.agent, a.filename, a.kind, a.content) for a in values["inputs"]),
        values["round"],
        tuple(values["feedback"]),
        values["extra_instructions"],
    )


class PromptBuilder:
    """Renders a role's template into an LLMRequest for the plan or act step."""

    def __init__(self, role: Role | str, *, cache_ttl: Literal["5m", "1h"] | None = "5m") -> None:
        self.role = get_role(role) if isinstance(role, str) else role
        self.cache_ttl = cache_ttl
        self._template = _environment().get_template(f"{self.role.id}.j2")

    def render_sections(self, variables: dict[str, Any]) -> dict[str, str]:
        """Render once; the base template starts each section with a ``<NUL>section:NAME>>>`` line.
        NUL characters are stripped from every input first, so no request can forge a section."""
        text = self._template.render(**variables, section_mark=SECTION_MARK)
        sections = {}
        for chunk in text.split(SECTION_MARK)[1:]:
            name, _, body = chunk.partition(">>>")
            sections[name.strip()] = body.strip()
        return sections

    def variables(
        self,
        *,
        project_name: str,
        request: str,
        inputs: list[Artifact],
        round: int = 1,
        feedback: list[str] | None = None,
        extra_instructions: str = "",
        plan: AgentPlan | None = None,
    ) -> dict[str, Any]:
        plan_json = ""
        if plan is not None:
            plan_json = json.dumps(
                {"summary": plan.summary, "steps": plan.steps, "artifacts": plan.planned_artifacts},
                ensure_ascii=False,
                indent=1,
            )
        clean = _strip_nul
        return {
            "role": self.role,
            "project_name": clean(project_name),
            "request": clean(request),
            "inputs": [
                a.model_copy(update={"content": clean(a.content)}) if "\x00" in a.content else a
                for a in inputs
            ],
            "round": round,
            "feedback": [clean(r) for r in feedback or []],
            "extra_instructions": clean(extra_instructions),
            "plan_json": clean(plan_json),
        }

    def build(
        self,
        step: Step,
        *,
        model: str,
        max_tokens: int,
        labels: RequestLabels,
        memo: RenderMemo | None = None,
        **variables: Any,
    ) -> LLMRequest:
        """The plan request, or the act request that continues the plan conversation.

        Cache breakpoints (at most 4), at the longest stable prefixes: the shared project prefix
        (team charter + project; ``cache_ttl``), the first and the last upstream artifact (5m), and
        the plan turn (5m), which the act call of the same agent reads back. ``cache_ttl=None``: none.
        ``memo``: the sections rendered last time are reused when rendered from the same values.
        """
        if step == "act" and variables.get("plan") is None:
            raise ValueError("the act step continues the plan conversation: pass plan=")
        values = self.variables(**variables)
        if memo is None:
            sections = self.render_sections(values)
        else:
            key = _render_key(self.role.id, values)
            if memo.key != key:
                memo.sections, memo.key = self.render_sections(values), key
            sections = memo.sections
        s = {**sections, "plan_json": values["plan_json"]}
        ttl = self.cache_ttl
        short: Literal["5m"] | None = "5m" if ttl else None
        inputs = [text for name, text in s.items() if name.startswith("input_")]
        last = len(inputs) - 1
        system = (
            SystemBlock(text=s["team"]),
            SystemBlock(text=s["project"], cache_ttl=ttl),
            *(
                SystemBlock(text=text, cache_ttl=short if i in (0, last) else None)
                for i, text in enumerate(inputs)
            ),
            SystemBlock(text=s["instructions"]),
        )
        plan_turn = Message(role="user", content=s["plan_request"], cache_ttl=short)
        if step == "plan":
            messages: tuple[Message, ...] = (plan_turn,)
        else:
            messages = (
                plan_turn,
                Message(role="assistant", content=s["plan_json"]),
                Message(role="user", content=s["act_request"]),
            )
        return LLMRequest(model=model, system=system, messages=messages, max_tokens=max_tokens, labels=labels)
