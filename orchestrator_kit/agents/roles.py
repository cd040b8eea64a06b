"""The eight roles, as data. One Agent class serves them all (see agents/base.py)."""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import UnknownAgentError
from ..records import PhaseType


@dataclass(frozen=True)
class Role:
    id: str
    title: str
    phase: PhaseType
    description: str
    consumes: tuple[str, ...]  # roles whose artifacts this role reads
    produces: tuple[str, ...]  # artifact names it is asked for
    default_max_tokens: int = 4096
    needs_decision: bool = False
    needs_score: bool = False

    def __hash__(self) -> int:  # equal roles have equal ids: cheaper than hashing every field per call
        return hash(self.id)


ROLES: dict[str, Role] = {
    r.id: r
    for r in (
        Role(
            "architect",
            "Architect",
            PhaseType.DESIGN,
            "System design and architecture",
            (),
            ("architecture.md",),
            4096,
        ),
        Role(
            "data",
            "Data",
            PhaseType.DESIGN,
            "Data pipeline and ML",
            ("architect",),
            ("data_pipeline.md",),
            4096,
        ),
        Role(
            "consensus",
            "Consensus",
            PhaseType.DESIGN,
            "Decision review and approval",
            ("architect", "data"),
            ("consensus_decision.md",),
            2048,
            needs_decision=True,
        ),
        Role(
            "developer",
            "Developer",
            PhaseType.IMPLEMENTATION,
            "Code implementation",
            ("architect", "data"),
            ("<module>.py", "test_<module>.py"),
            8192,
        ),
        Role(
            "qa",
            "QA",
            PhaseType.VERIFICATION,
            "Testing and quality assurance",
            ("architect", "developer"),
            ("qa_report.md",),
            4096,
        ),
        Role(
            "documentarian",
            "Documentarian",
            PhaseType.DOCUMENTATION,
            "Documentation generation",
            ("architect", "developer"),
            ("user_guide.md",),
            4096,
        ),
        Role(
            "reviewer",
            "Reviewer",
            PhaseType.VERIFICATION,
            "Code review and quality scoring",
            ("architect", "developer", "qa", "documentarian"),
            ("review.md",),
            3072,
            needs_score=True,
        ),
        Role(
            "steward",
            "Steward",
            PhaseType.HYGIENE,
            "Code hygiene and compliance",
            ("developer", "qa", "documentarian", "reviewer"),
            ("hygiene_report.md",),
            3072,
        ),
    )
}

ROLE_IDS: tuple[str, ...] = tuple(ROLES)


def get_role(agent_id: str) -> Role:
    try:
        return ROLES[agent_id]
    except (KeyError, TypeError):
        raise UnknownAgentError(
            f"unknown agent {agent_id!r}; valid agents are: {', '.join(ROLE_IDS)}"
        ) from None
