"""Records our own code makes of typed values are built without validation (``records.unchecked``,
issue #12): each must be what validation gives, field for field, in field order, and serialise to the
same bytes; what a caller hands in untyped is still validated."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from orchestrator_kit import records
from orchestrator_kit.agents import llm_agent_mixin, prompt_builder, response_parser
from orchestrator_kit.agents.factory import create_agent
from orchestrator_kit.agents.prompt_builder import PromptBuilder
from orchestrator_kit.engine import recorder
from orchestrator_kit.engine.engine import WorkflowEngine
from orchestrator_kit.llm.types import Attempt, Completion, RequestLabels, Usage
from orchestrator_kit.records import AgentContext, AgentPlan, PhaseType, ProjectState, RunTotals
from orchestrator_kit.store.run_folder import read_responses

REQUEST = "Build a CLI that converts CSV files to JSON, with a --pretty flag"
CALLERS = (records, recorder, prompt_builder, llm_agent_mixin, response_parser)


def assert_as_validated(obj: BaseModel) -> None:
    """``obj`` equals the model validated from its own field values, in every way that shows."""
    cls = type(obj)
    fields = list(cls.model_fields)
    assert [k for k in vars(obj) if not k.startswith("_")] == fields  # all given, in field order
    validated = cls(**{k: getattr(obj, k) for k in fields})
    assert obj == validated
    assert obj.model_fields_set == validated.model_fields_set
    assert obj.model_dump_json() == validated.model_dump_json()
    assert obj.model_dump() == validated.model_dump()
    assert repr(obj) == repr(validated)
    for k in fields:  # the very types validation gives (an int where a float goes would write 0, not 0.0)
        assert type(getattr(obj, k)) is type(getattr(validated, k)), k


@pytest.fixture
def made(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[BaseModel]]:
    """Every record ``unchecked`` makes while the test runs."""
    out: list[BaseModel] = []
    real = records.unchecked

    def keep(cls: type[Any], /, **fields: Any) -> Any:
        obj = real(cls, **fields)
        out.append(obj)
        return obj

    for module in CALLERS:
        monkeypatch.setattr(module, "unchecked", keep)
    yield out


def test_every_record_a_run_makes_unchecked_is_as_validated(tmp_path: Path, made: list[BaseModel]) -> None:
    result = WorkflowEngine(mode="simulated", output_dir=tmp_path).run(REQUEST)
    assert result.ok
    kinds = {type(m).__name__ for m in made}
    expected = {"CallRecord", "LLMRequest", "Message", "RequestLabels", "AgentPlan", "Artifact"}
    expected |= {"AgentOutput", "PlannedArtifact", "PlanData", "ArtifactSpec", "ActData", "RunTotals"}
    assert expected <= kinds
    for m in made:
        assert_as_validated(m)
        assert type(m).__new__ is object.__new__  # unchecked calls object.__new__ itself


def test_records_share_their_field_names_and_no_copy_or_assignment_changes_them(
    made: list[BaseModel],
) -> None:
    a = records.unchecked(RequestLabels, run_id="r", agent="a", phase="p", step="plan")
    b = records.unchecked(RequestLabels, run_id="r", agent="b", phase="p", step="act")
    names = set(RequestLabels.model_fields)
    assert a.model_fields_set is b.model_fields_set and a.model_fields_set == names
    with pytest.raises(ValidationError):  # frozen: nothing can add to (or take from) the shared set
        a.agent = "x"
    copy = a.model_copy(update={"agent": "c"})
    assert copy.model_fields_set == names and copy.model_fields_set is not a.model_fields_set
    assert a.model_fields_set == b.model_fields_set == names
    plan = records.unchecked(
        AgentPlan, agent="a", phase=PhaseType.DESIGN, summary="s", steps=[], planned_artifacts=[], raw=""
    )
    other = records.unchecked(
        AgentPlan, agent="b", phase=PhaseType.DESIGN, summary="s", steps=[], planned_artifacts=[], raw=""
    )
    names = set(AgentPlan.model_fields)
    assert plan.model_fields_set is other.model_fields_set and plan.model_fields_set == names
    plan.summary = "changed"  # assignment adds the name, already there: the shared set is unchanged
    assert other.model_fields_set == names and other.summary == "s"
    assert plan.model_copy(update={"raw": "r"}).model_fields_set is not plan.model_fields_set


def test_a_record_open_to_extra_fields_or_with_private_attributes_is_refused() -> None:
    from pydantic import ConfigDict, PrivateAttr

    class Open(BaseModel):
        model_config = ConfigDict(extra="allow")
        a: int = 0

    class Private(BaseModel):
        a: int = 0
        _memo: int = PrivateAttr(default=0)

    for cls in (Open, Private):
        with pytest.raises(TypeError, match="validate it instead"):
            records.unchecked(cls, a=1)


def _folder_lines(root: Path) -> list[Any]:
    """A run's ledger and recorded answers, parsed, without what differs between runs (times, ids)."""
    (run,) = [p for p in root.iterdir() if p.is_dir()]
    out: list[Any] = []
    for line in (run / "calls.jsonl").read_text(encoding="utf-8").splitlines():
        out.append({**json.loads(line), "ts": "", "t": 0, "run_id": "", "latency_s": 0})
    for record in read_responses(run / "responses.jsonl"):  # texts in full (not the writer's references)
        record["completion"] = {**record["completion"], "latency_s": 0}
        out.append(record)
    return out


def test_a_run_folder_holds_what_validated_records_write(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    WorkflowEngine(mode="simulated", output_dir=tmp_path / "a").run(REQUEST)
    for module in CALLERS:
        monkeypatch.setattr(module, "unchecked", lambda cls, /, **fields: cls(**fields))
    WorkflowEngine(mode="simulated", output_dir=tmp_path / "b").run(REQUEST)
    assert _folder_lines(tmp_path / "a") == _folder_lines(tmp_path / "b")


def test_run_totals_of_no_lines_are_the_default() -> None:
    empty = RunTotals.of([])
    assert empty == RunTotals() and empty.latency_s == 0.0 and type(empty.latency_s) is float
    assert empty.model_dump_json() == RunTotals().model_dump_json()
    assert_as_validated(empty)


def test_a_request_of_untyped_values_is_validated() -> None:
    builder = PromptBuilder("architect")
    args: dict[str, Any] = {"project_name": "p", "request": REQUEST, "inputs": []}
    with pytest.raises(ValidationError):
        builder.build("plan", model="m", max_tokens=0, labels=RequestLabels(), **args)
    with pytest.raises(ValidationError):
        builder.build("plan", model=None, max_tokens=10, labels=RequestLabels(), **args)  # type: ignore[arg-type]
    typed = builder.build("plan", model="m", max_tokens=10, labels=RequestLabels(step="plan"), **args)
    loose = builder.build("plan", model="m", max_tokens=10, labels={"step": "plan"}, **args)  # type: ignore[arg-type]
    assert typed == loose and typed.request_hash() == loose.request_hash()
    assert_as_validated(typed)


def test_a_plan_holding_a_phase_as_text_gives_a_validated_output(tmp_path: Path) -> None:
    agent = create_agent("developer")
    state = ProjectState(request=REQUEST)
    context = AgentContext(project_state=state, mode="simulated")
    plan = agent.plan(context.task, None, state, context)
    loose = plan.model_copy()
    object.__setattr__(loose, "phase", "implementation")  # a caller's plan may hold anything
    out = agent.act(loose, state, context)
    assert out.phase is PhaseType.IMPLEMENTATION
    assert out == agent.act(plan, state, context)


def _completions() -> list[Completion]:
    failed = Attempt(
        number=1, error="RateLimitError", status_code=429, latency_s=0.5, usage=Usage(input_tokens=3)
    )
    return [
        Completion(text="{}", stop_reason="end_turn", usage=Usage(), model="m", mode="simulated"),
        Completion(
            text="caf\u00e9 \u2028",
            stop_reason=None,
            usage=Usage(
                input_tokens=1,
                output_tokens=2,
                cache_write_5m_tokens=3,
                cache_write_1h_tokens=4,
                cache_read_tokens=5,
                estimated=True,
            ),
            model="m",
            mode="real",
            request_id="req_1",
            latency_s=1.25,
            attempts=2,
            failed_attempts=(failed,),
            batch_id="b1",
        ),
    ]


@pytest.mark.parametrize("completion", _completions())
def test_a_completion_json_data_is_its_json_dump(completion: Completion) -> None:
    data, dumped = completion.json_data(), completion.model_dump(mode="json")
    assert data == dumped and list(data) == list(dumped) and list(data["usage"]) == list(dumped["usage"])


def test_a_completion_json_data_names_every_field() -> None:
    """A field added to Completion or Usage fails here until json_data writes it."""
    data = _completions()[0].json_data()
    assert list(data) == list(Completion.model_fields)
    assert list(data["usage"]) == list(Usage.model_fields)


def test_agent_plan_made_by_an_agent_is_as_validated(made: list[BaseModel]) -> None:
    state = ProjectState(request=REQUEST)
    context = AgentContext(project_state=state, mode="simulated")
    plan = create_agent("architect").plan(context.task, "design", state, context)
    assert isinstance(plan, AgentPlan) and plan.phase is PhaseType.DESIGN
    assert any(m is plan for m in made)
    assert_as_validated(plan)


@pytest.mark.parametrize(
    "t",
    [
        0.0,
        0.0004,
        0.0005,
        0.9995,
        0.9999994,
        0.9999995,
        0.9999996,
        59.9999996,
        1e9 + 0.0009995,
        1764682205.123456,
        1764682205.9999997,
        1764682206.0,
        253402300799.999,
        -0.25,
        -1.9999996,
        7,
    ],
)
def test_ledger_times_are_isoformat_to_the_millisecond(t: float) -> None:
    from datetime import UTC, datetime

    for _ in range(2):  # the second time from the text kept for its second
        assert recorder._iso_ms(t) == datetime.fromtimestamp(t, UTC).isoformat(timespec="milliseconds")


def test_ledger_times_of_many_instants_are_isoformat() -> None:
    import random
    from datetime import UTC, datetime

    rng = random.Random(12)
    base = 1764682205.0
    for _ in range(20_000):
        t = base + rng.uniform(-3, 3) if rng.random() < 0.7 else rng.uniform(0, 4e9)
        assert recorder._iso_ms(t) == datetime.fromtimestamp(t, UTC).isoformat(timespec="milliseconds")
