"""Typed records every layer shares (project state, artifacts, decisions, plans, outputs, the ledger).

The bottom of the package: imports nothing of ours, does no I/O. ``engine/state_models.py`` re-exports
these names because the guide imports them from there.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from decimal import Decimal
from enum import Enum
from typing import TYPE_CHECKING, Annotated, Any, Final, Literal, Protocol, TypeVar, runtime_checkable

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidatorFunctionWrapHandler,
    WrapValidator,
    computed_field,
    field_validator,
)

if TYPE_CHECKING:  # for the reader and mypy only: at run time records.py imports nothing of ours
    from .llm.types import Completion, LLMRequest

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)
CacheTtl = Literal["5m", "1h"]  # how long a cached prompt prefix lives

TOKEN_KINDS: Final = (
    "input_tokens",
    "output_tokens",
    "cache_write_5m_tokens",
    "cache_write_1h_tokens",
    "cache_read_tokens",
)
"""The kinds of tokens a call is billed for, in ledger order: one definition for the whole package."""


_set = object.__setattr__
_new = object.__new__  # no model of ours defines __new__ (cls.__new__ would look it up: slower)
# per class: the one set of field names its unchecked instances share (every field is given, so the set
# holds them all: pydantic only ever adds to it, on assignment, a name it already holds, and copies it for
# model_copy). None, each instance its own, where validated assignment could change it.
_FIELDS_SETS: dict[type[BaseModel], set[str] | None] = {}


def _shared_names(cls: type[BaseModel]) -> set[str] | None:
    config = cls.model_config
    if config.get("extra") == "allow" or cls.__private_attributes__:  # validation would make dicts of them
        raise TypeError(f"{cls.__name__} has extra fields or private attributes: validate it instead")
    return None if config.get("validate_assignment") else set(cls.__pydantic_fields__)


def unchecked(cls: type[M], /, **fields: Any) -> M:
    """``cls(**fields)`` without validation, for values our own code made, each already of its field's
    type (never for a model's answer, a file read back or user input: those are validated). Every field
    is given, in the class's field order; the result is equal to the validated one, field for field
    (tests/unit/test_unchecked.py checks each caller). It sets what validation sets: pydantic's
    ``model_construct`` would do as well but walks the fields in Python and costs more than validating."""
    m = _new(cls)
    _set(m, "__dict__", fields)
    try:
        names = _FIELDS_SETS[cls]
    except KeyError:
        names = _FIELDS_SETS[cls] = _shared_names(cls)
    _set(m, "__pydantic_fields_set__", set(fields) if names is None else names)
    _set(m, "__pydantic_extra__", None)
    _set(m, "__pydantic_private__", None)
    return m


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
    model_config = ConfigDict(extra="forbid")  # a misspelt field is an error, not dropped

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


def text_problem(text: str) -> str | None:
    """Why ``text`` cannot be stored or sent as it is, or None: a lone surrogate (for instance from a
    JSON "\\ud800" escape with no pair) is not valid Unicode, and no file, hash or API takes it."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        return (
            f"holds a lone surrogate (U+{ord(text[exc.start]):04X}) at character {exc.start}, which is not "
            "valid Unicode text (an unpaired JSON \\uD8xx escape, or bytes that are not UTF-8); remove it "
            "or fix the text's encoding"
        )
    return None


def request_problem(request: object, project_name: object = "Untitled project") -> str | None:
    """Why a run cannot start from this project request and name, or None."""
    if not isinstance(request, str) or not request.strip():
        return (
            "the project request is empty; describe what the team should build, "
            "e.g. 'a CLI that converts CSV to JSON'"
        )
    if not isinstance(project_name, str):
        return f"the project name must be text, got {project_name!r}; e.g. project_name='csv2json' (CLI: --project-name)"
    for what, text in (("project request", request), ("project name", project_name)):
        if isinstance(text, str) and (problem := text_problem(text)):
            return f"the {what} {problem}"
    return None


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
    # agent -> what the parser repaired to read its latest answers ("plan: ..." / "act: ..."); none: no entry
    repairs: dict[str, list[str]] = {}

    @field_validator("request")
    @classmethod
    def _request_not_blank(cls, v: str) -> str:
        if problem := request_problem(v):
            raise ValueError(problem)
        return v.strip()

    @field_validator("project_name")
    @classmethod
    def _name_is_text(cls, v: str) -> str:
        if problem := text_problem(v):
            raise ValueError(f"the project name {problem}")
        return v

    def artifacts_of(self, agents: list[str] | tuple[str, ...]) -> list[Artifact]:
        return [a for agent in agents for a in self.artifacts.get(agent, [])]

    def take_output(self, agent: str, plan: AgentPlan, output: AgentOutput) -> list[str]:
        """Keep what ``agent``'s step came to (artifacts, decision, score and the repair notes of its plan and
        act, in place of its earlier ones), mark it completed, and return the repair notes."""
        self.artifacts[agent] = output.artifacts
        if output.decision is not None:
            self.decisions[agent] = output.decision
        if output.score is not None:
            self.scores[agent] = output.score
        if agent not in self.completed_agents:
            self.completed_agents.append(agent)
        if not (plan.repairs or output.repairs):  # the usual case: nothing is made
            self.repairs.pop(agent, None)
            return []
        notes = [*(f"plan: {n}" for n in plan.repairs), *(f"act: {n}" for n in output.repairs)]
        self.repairs[agent] = notes
        return notes


@runtime_checkable
class CallGateway(Protocol):
    """What an agent calls the model through; ``llm.gateway.Gateway`` is the implementation.

    A Protocol, not an import of ``Gateway``: this module stays at the bottom of the layers, and a
    pydantic field needs a type that exists at run time (a ``TYPE_CHECKING`` import would not)."""

    async def complete(
        self,
        request: LLMRequest,
        *,
        validate: Callable[[Completion], T] | None = None,
        status_of: Callable[[Completion], str] | None = None,
    ) -> tuple[Completion, T | None]: ...


def _gateway_check(value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
    """``isinstance(value, CallGateway)`` without its cost on Python 3.11 (it collects the Protocol's
    members anew at every check, and the engine builds a context per agent): a value with a
    ``complete`` that is not None passes, exactly the test that check makes; anything else is left to
    pydantic's own check (and its error)."""
    if getattr(value, "complete", None) is not None:
        return value
    return handler(value)


class AgentContext(BaseModel):
    """What an agent needs for one task: the project, the task, and who pays.

    ``llm_api_key`` is a SecretStr: it never shows in repr, str or JSON dumps.
    ``gateway`` is set by the engine (budget, ledger, events); standalone agents build their own.
    """

    # a misspelt field is an error, and no error shows a value (a misspelt llm_api_key holds the key)
    model_config = ConfigDict(arbitrary_types_allowed=True, extra="forbid", hide_input_in_errors=True)

    project_state: ProjectState
    task: TaskDefinition = TaskDefinition()
    user_id: str = "user-001"
    llm_api_key: SecretStr | None = None
    llm_provider: str = "anthropic"
    model: str | None = None
    max_tokens: int | None = Field(default=None, gt=0)
    extra_instructions: str = ""
    mode: str = "auto"  # auto | simulated | real | replay
    run_id: str = ""
    cache_ttl: CacheTtl | None = "5m"  # prompt caching of the stable prefix; None: off
    gateway: Annotated[CallGateway | None, WrapValidator(_gateway_check)] = Field(
        default=None, exclude=True, repr=False
    )


class AgentPlan(BaseModel):
    agent: str
    phase: PhaseType
    summary: str
    steps: list[str]
    planned_artifacts: list[dict[str, str]] = []
    raw: str = Field(default="", repr=False)
    truncated: bool = False  # cut off at max_tokens (even after a continuation): the plan may be incomplete
    repairs: list[str] = []  # what the parser repaired to read the answer (AgentOutput.repairs' twin)


class AgentOutput(BaseModel):
    agent: str
    phase: PhaseType
    summary: str
    artifacts: list[Artifact]
    decision: Decision | None = None
    score: Score | None = None
    truncated: bool = False
    repairs: list[str] = []


# -- the ledger ---------------------------------------------------------------------------------
class CallRecord(BaseModel):
    """One line of a run's ledger (``calls.jsonl``): one model call attempt.

    Money is ``Decimal`` (written as an exact string); ``cost_usd`` is None when the model's price
    is unknown, never 0. Lines written by older versions read back: missing fields take the defaults
    below, fields this version does not know are ignored.
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    ts: str = ""  # ISO time the line was written
    t: float = 0.0  # the same, as a POSIX timestamp
    run_id: str = ""
    agent: str = "?"
    phase: str = ""
    step: str = ""  # plan | act | reask | continue
    model: str = ""
    mode: str = ""  # simulated | real | replay | ...
    status: str = "ok"  # ok | truncated | refused | malformed | error
    attempt: int = 1
    input_tokens: int = 0
    output_tokens: int = 0
    cache_write_5m_tokens: int = 0
    cache_write_1h_tokens: int = 0
    cache_read_tokens: int = 0
    estimated: bool = False  # token counts come from the estimator, not the API
    max_tokens: int | None = None
    cost_usd: Decimal | None = None
    cost_basis: str = "unknown"  # actual | estimate | replay | unknown
    cache_savings_usd: Decimal | None = None
    wasted: bool = False  # spend that bought nothing (failed attempt, re-ask of malformed output)
    latency_s: float = 0.0
    request_hash: str = ""
    request_id: str | None = None
    stop_reason: str | None = None
    status_code: int | None = None
    error: str | None = None
    batch_id: str | None = None  # the Message Batches batch the call went through, if any

    @field_validator(*TOKEN_KINDS, "attempt", mode="before")
    @classmethod
    def _none_is_zero(cls, v: Any) -> Any:
        return 0 if v is None else v

    @field_validator("latency_s", "t", mode="before")
    @classmethod
    def _none_is_zero_s(cls, v: Any) -> Any:
        return 0.0 if v is None else v

    @property
    def failed(self) -> bool:
        """An attempt that returned nothing usable (its spend, if any, is wasted)."""
        return self.status == "error"

    @property
    def total_tokens(self) -> int:
        return sum(getattr(self, k) for k in TOKEN_KINDS)

    def to_json(self) -> dict[str, Any]:
        """The JSON line's fields (money as exact strings)."""
        return self.model_dump(mode="json")

    def to_json_bytes(self) -> bytes:
        """The JSON line itself (compact UTF-8, no newline): :meth:`to_json` encoded by pydantic."""
        return self.__pydantic_serializer__.to_json(self)


_ZERO = Decimal(0)


class RunTotals(BaseModel):
    """Totals of ledger lines (a run, or one agent of it). Decimal-exact sums.

    ``cost_usd`` is None when a successful call's cost is unknown (an unknown model's price).
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    input_tokens: int = 0
    output_tokens: int = 0
    cache_write_5m_tokens: int = 0
    cache_write_1h_tokens: int = 0
    cache_read_tokens: int = 0
    calls: int = 0  # successful calls (a call retried three times counts once)
    attempts: int = 0  # ledger lines
    failed_attempts: int = 0
    reasks: int = 0
    continuations: int = 0
    cost_usd: Decimal | None = Decimal(0)
    cost_basis: str = "none"  # the bases of the lines, joined with "+"
    wasted_usd: Decimal = Decimal(0)
    cache_savings_usd: Decimal = Decimal(0)
    latency_s: float = 0.0

    @computed_field  # type: ignore[prop-decorator]
    @property
    def total_tokens(self) -> int:
        return sum(getattr(self, k) for k in TOKEN_KINDS)

    @property
    def input_side_tokens(self) -> int:
        """Everything read by the model: input plus cache writes and reads."""
        return self.total_tokens - self.output_tokens

    @classmethod
    def of(cls, lines: Iterable[CallRecord]) -> RunTotals:
        # One pass over the lines (the end of every run adds up each agent's); Decimals summed in line
        # order and the latencies by ``sum``, as before, so that the totals come out the same. The token
        # kinds (TOKEN_KINDS) are spelt out: a loop over them per line cost more than the rest of the pass.
        input_ = output = write_5m = write_1h = read = 0
        attempts = calls = reasks = continuations = 0
        unknown = False
        cost = wasted = savings = _ZERO
        bases: set[str] = set()
        latencies: list[float] = []
        for line in lines:
            ln = line.__dict__  # the fields (a model's attributes go through its __getattr__ hook: slower)
            attempts += 1
            input_ += ln["input_tokens"]
            output += ln["output_tokens"]
            write_5m += ln["cache_write_5m_tokens"]
            write_1h += ln["cache_write_1h_tokens"]
            read += ln["cache_read_tokens"]
            line_cost = ln["cost_usd"]
            if ln["status"] != "error":  # not line.failed
                calls += 1
                bases.add(ln["cost_basis"])
                if line_cost is None:
                    unknown = True
            step = ln["step"]
            if step == "reask":
                reasks += 1
            elif step == "continue":
                continuations += 1
            if line_cost is not None:
                cost += line_cost
                if ln["wasted"]:
                    wasted += line_cost
            line_savings = ln["cache_savings_usd"]
            if line_savings is not None:
                savings += line_savings
            latencies.append(ln["latency_s"])
        return unchecked(
            cls,
            input_tokens=input_,
            output_tokens=output,
            cache_write_5m_tokens=write_5m,
            cache_write_1h_tokens=write_1h,
            cache_read_tokens=read,
            calls=calls,
            attempts=attempts,
            failed_attempts=attempts - calls,
            reasks=reasks,
            continuations=continuations,
            cost_usd=None if unknown else cost,
            cost_basis="+".join(sorted(bases)) or "none",
            wasted_usd=wasted,
            cache_savings_usd=savings,
            latency_s=float(round(sum(latencies), 6)),  # no lines: 0.0, as validation made of 0
        )

    @classmethod
    def per_agent(cls, lines: Iterable[CallRecord], agents: Iterable[str]) -> dict[str, RunTotals]:
        """Totals per agent: the ``agents`` given first (in order, even with no lines), then any other."""
        by: dict[str, list[CallRecord]] = {a: [] for a in agents}
        for ln in lines:
            by.setdefault(ln.agent, []).append(ln)
        return {a: cls.of(ls) for a, ls in by.items()}

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


class RunSummary(BaseModel):
    """``summary.json``: what a run came to, written when it ends (finished or failed)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    run_id: str
    status: str
    mode: str = "?"
    model: str = "?"
    project_name: str = ""
    request: str = ""
    started_at: str | None = None
    finished_at: str | None = None
    duration_s: float | None = None
    design_rounds: int | None = None
    consensus_approved: bool | None = None
    review_score: float | None = None
    artifacts: int = 0
    artifacts_truncated: int = 0  # cut off at max_tokens, even after a continuation
    truncated_artifacts: list[str] = []  # agent/filename of each
    repairs: int = 0  # repair notes of the parser on the agents' answers (ProjectState.repairs)
    repair_notes: dict[str, list[str]] = {}  # agent -> its notes
    totals: RunTotals = RunTotals()
    agents: dict[str, RunTotals] = {}
    budget: dict[str, Any] = {}
    human_decisions: int = 0  # decisions taken at human gates (engine/gates.py)
    human_revisions: int = 0
    human_edits: int = 0
    waiting_s: float | None = None  # time spent waiting for them
    error: dict[str, Any] | None = None
    estimate_usd: str | None = None

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json")
