"""Builds LLMRequests from the role templates in prompts/ (jinja2, StrictUndefined).

One template per role; each extends ``_base.j2``. The blocks ``instructions`` and ``context``
make the system prompt (the stable prefix, marked for caching); ``plan_request`` and
``act_request`` make the user message of each step.
"""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from importlib import resources
from typing import TYPE_CHECKING, Any, Literal

from ..llm.types import LLMRequest, Message, RequestLabels, SystemBlock
from .roles import Role, get_role

if TYPE_CHECKING:
    import jinja2

    from ..records import AgentPlan, Artifact

Step = Literal["plan", "act"]
PROMPTS_PACKAGE = "orchestrator_kit.prompts"
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
    """sha256 (first 12 hex) of every template, for the run manifest."""
    root = resources.files(PROMPTS_PACKAGE)
    out: dict[str, str] = {}
    for entry in sorted(root.iterdir(), key=lambda p: p.name):
        if entry.name.endswith(".j2"):
            out[entry.name] = hashlib.sha256(entry.read_bytes()).hexdigest()[:12]
    return out


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
        self, step: Step, *, model: str, max_tokens: int, labels: RequestLabels, **variables: Any
    ) -> LLMRequest:
        s = self.render_sections(self.variables(**variables))
        system = (
            SystemBlock(text=s["instructions"], cache_ttl=None),
            SystemBlock(text=s["context"], cache_ttl=self.cache_ttl),
        )
        user = s["plan_request" if step == "plan" else "act_request"]
        return LLMRequest(
            model=model,
            system=system,
            messages=(Message(role="user", content=user),),
            max_tokens=max_tokens,
            labels=labels,
        )
