"""The typed ledger: CallRecord / RunTotals / RunSummary, and run folders written by older versions.

``tests/fixtures/runs_v0/`` holds a run folder written by the code before the typed ledger (commit
6de4a46: a simulated architect -> developer -> reviewer run). It must keep reading back, byte-exact in
its money, through every reader: RunFolder, RunResult, list_runs and report.load_runs.
"""

from __future__ import annotations

import json
import shutil
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from orchestrator_kit.engine.result import RunResult
from orchestrator_kit.records import TOKEN_KINDS, CallRecord, RunSummary, RunTotals
from orchestrator_kit.store.listing import list_runs
from orchestrator_kit.store.run_folder import RunFolder

OLD_RUN = next((Path(__file__).parent.parent / "fixtures" / "runs_v0").iterdir())


def _old_lines() -> list[dict[str, object]]:
    return [json.loads(ln) for ln in (OLD_RUN / "calls.jsonl").read_text(encoding="utf-8").splitlines()]


def test_an_old_ledger_reads_back_field_for_field() -> None:
    records = RunFolder.open(OLD_RUN).calls()
    old = _old_lines()
    assert len(records) == len(old) == 6
    for rec, line in zip(records, old, strict=True):
        assert "batch_id" not in line and rec.batch_id is None  # a field the old format did not have
        assert {k: v for k, v in rec.to_json().items() if k != "batch_id"} == line  # nothing lost or changed
        assert rec.total_tokens == sum(int(line[k]) for k in TOKEN_KINDS)  # type: ignore[call-overload]


def test_totals_of_an_old_ledger_equal_its_old_summary() -> None:
    folder = RunFolder.open(OLD_RUN)
    old = json.loads((OLD_RUN / "summary.json").read_text(encoding="utf-8"))
    summary = folder.summary()
    assert summary is not None
    assert {k: v for k, v in summary.to_json().items() if k in old} == old  # fields added since default
    totals = RunTotals.of(folder.calls())
    assert totals == summary.totals and totals.to_json() == old["totals"]
    assert str(totals.cost_usd) == old["totals"]["cost_usd"] == "0.0294980"  # trailing zero kept: exact
    per_agent = RunTotals.per_agent(folder.calls(), ["architect", "developer", "reviewer"])
    assert {a: t.to_json() for a, t in per_agent.items()} == old["agents"]


def test_an_old_run_loads_as_a_run_result_and_in_listings() -> None:
    result = RunResult.load(OLD_RUN)
    assert result.ok and result.mode == "simulated" and result.review_score == 7.1
    assert result.totals.cost_usd == Decimal("0.0294980") and result.totals.calls == 6
    assert "$0.0295" in result.table() and "architect" in result.table()
    (row,) = list_runs(OLD_RUN.parent)
    assert row["run_id"] == OLD_RUN.name and row["cost_usd"] == "0.0294980" and row["cost"] == "$0.0295"


def test_an_old_run_loads_into_the_report_frames() -> None:
    pytest.importorskip("pandas")
    from orchestrator_kit.report.loader import load_runs

    runs = load_runs(OLD_RUN.parent)
    assert len(runs) == 1 and len(runs.calls) == 6 and runs.calls["batch_id"].isna().all()
    (run,) = runs.runs.to_dict("records")
    assert run["cost_usd_exact"] == "0.0294980" and run["has_summary"] and run["review_score"] == 7.1


def test_a_run_without_its_summary_totals_from_the_ledger(tmp_path: Path) -> None:
    copy = tmp_path / OLD_RUN.name
    shutil.copytree(OLD_RUN, copy)
    (copy / "summary.json").unlink()
    result = RunResult.load(copy)
    assert result.summary is None
    assert result.totals == RunTotals.of(RunFolder.open(copy).calls())
    assert result.review_score == 7.1  # from the checkpointed project state
    assert list(result.agent_totals) == ["architect", "developer", "reviewer"]


def test_a_call_record_round_trips_with_its_batch_id() -> None:
    rec = CallRecord(agent="qa", step="plan", cost_usd=Decimal("0.0100"), batch_id="msgbatch_01")
    again = CallRecord.model_validate_json(json.dumps(rec.to_json()))
    assert again == rec and again.to_json()["cost_usd"] == "0.0100" and again.batch_id == "msgbatch_01"


def test_records_are_frozen() -> None:
    rec = CallRecord()
    with pytest.raises(ValidationError):
        rec.agent = "qa"  # type: ignore[misc]
    with pytest.raises(ValidationError):
        RunTotals().calls = 3  # type: ignore[misc]


@pytest.mark.parametrize(
    ("lines", "cost", "basis"),
    [
        ([], Decimal(0), "none"),
        ([CallRecord(cost_usd=Decimal("0.5"), cost_basis="actual")], Decimal("0.5"), "actual"),
        # an unknown price makes the total unknown, never 0 ...
        (
            [CallRecord(cost_usd=Decimal("0.5"), cost_basis="actual"), CallRecord(cost_usd=None)],
            None,
            "actual+unknown",
        ),
        # ... but a failed attempt with no price counts for nothing
        (
            [CallRecord(cost_usd=Decimal("0.5"), cost_basis="actual"), CallRecord(status="error")],
            Decimal("0.5"),
            "actual",
        ),
    ],
)
def test_totals_of_lines(lines: list[CallRecord], cost: Decimal | None, basis: str) -> None:
    t = RunTotals.of(lines)
    assert (t.cost_usd, t.cost_basis) == (cost, basis)
    assert t.attempts == len(lines) and t.calls + t.failed_attempts == len(lines)


def test_wasted_and_kinds_are_summed_exactly() -> None:
    lines = [
        CallRecord(input_tokens=10, cache_read_tokens=5, cost_usd=Decimal("0.1"), wasted=True, step="reask"),
        CallRecord(output_tokens=7, cost_usd=Decimal("0.2"), step="continue"),
    ]
    t = RunTotals.of(lines)
    assert (t.input_tokens, t.output_tokens, t.cache_read_tokens, t.total_tokens) == (10, 7, 5, 22)
    assert t.wasted_usd == Decimal("0.1") and t.cost_usd == Decimal("0.3")
    assert (t.reasks, t.continuations, t.input_side_tokens) == (1, 1, 15)
    assert RunSummary(run_id="r", status="completed", totals=t).to_json()["totals"]["total_tokens"] == 22


def _totals_as_before(lines: list[CallRecord]) -> RunTotals:
    """RunTotals.of as it was written before its one-pass version (issue #12): the reference."""

    def _sum(values: Any) -> Decimal:
        return sum((v for v in values if v is not None), Decimal(0))

    ok = [ln for ln in lines if not ln.failed]
    unknown = any(ln.cost_usd is None for ln in ok)
    return RunTotals(
        **{k: sum(getattr(ln, k) for ln in lines) for k in TOKEN_KINDS},
        calls=len(ok),
        attempts=len(lines),
        failed_attempts=len(lines) - len(ok),
        reasks=sum(1 for ln in lines if ln.step == "reask"),
        continuations=sum(1 for ln in lines if ln.step == "continue"),
        cost_usd=None if unknown else _sum(ln.cost_usd for ln in lines),
        cost_basis="+".join(sorted({ln.cost_basis for ln in ok})) or "none",
        wasted_usd=_sum(ln.cost_usd for ln in lines if ln.wasted),
        cache_savings_usd=_sum(ln.cache_savings_usd for ln in lines),
        latency_s=round(sum(ln.latency_s for ln in lines), 6),
    )


_money = st.one_of(st.none(), st.decimals(min_value=0, max_value=100, places=8))
_lines = st.lists(
    st.builds(
        CallRecord,
        agent=st.sampled_from(["qa", "developer"]),
        step=st.sampled_from(["plan", "act", "reask", "continue"]),
        status=st.sampled_from(["ok", "error", "truncated"]),
        cost_basis=st.sampled_from(["estimate", "actual", "replay", "unknown"]),
        cost_usd=_money,
        cache_savings_usd=_money,
        wasted=st.booleans(),
        latency_s=st.floats(0, 1000),
        **{k: st.integers(0, 10**6) for k in TOKEN_KINDS},
    ),
    max_size=12,
)


@settings(max_examples=300, deadline=None)
@given(_lines)
def test_totals_are_what_they_were_before_the_one_pass_sum(lines: list[CallRecord]) -> None:
    assert RunTotals.of(lines) == _totals_as_before(lines)
    assert RunTotals.of(iter(lines)) == _totals_as_before(lines)  # any iterable, read once
