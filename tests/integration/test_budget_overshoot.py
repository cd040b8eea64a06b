"""Budgets against a server that bills more input than the toolkit estimates (the fake server's
``input_factor``): the calibrated estimate overshoots the cap by at most one call; exact counts
(``exact_budget``: count_tokens before each call) never end above it."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from orchestrator_kit.engine.engine import WorkflowEngine
from orchestrator_kit.errors import BudgetExceeded
from orchestrator_kit.llm.anthropic_backend import AnthropicBackend
from orchestrator_kit.llm.retry import RetryConfig
from orchestrator_kit.testing import FakeAnthropicServer, simulated_responder

KEY = "sk-ant-test-fake"
REQUEST = "Build a CLI that converts CSV files to JSON"
AGENTS = ["architect", "developer", "qa"]  # six calls, one after another
SMALL = {a: {"max_tokens": 1024} for a in AGENTS}  # little output slack: input errors show
FACTOR = 6.0  # the server bills six times our estimate of the input
TOKEN_CAPS = [1500, 4000, 8000, 15000, 30000, 60000]


@pytest.fixture(scope="module")
def srv():
    with FakeAnthropicServer(responder=simulated_responder(), input_factor=FACTOR) as server:
        yield server


def _run(srv: FakeAnthropicServer, out: Path, **kw: Any) -> tuple[list[dict[str, Any]], BaseException | None]:
    backend = AnthropicBackend(KEY, base_url=srv.base_url, retry=RetryConfig(max_attempts=1))
    engine = WorkflowEngine(
        backend=backend,
        agents=AGENTS,
        agent_settings=SMALL,
        output_dir=out,
        cache_ttl=None,
        max_concurrency=1,
        **kw,
    )
    error: BaseException | None = None
    try:
        engine.run(REQUEST)
    except BudgetExceeded as exc:
        error = exc
    (run,) = list(out.iterdir())
    ledger = run / "calls.jsonl"
    text = ledger.read_text() if ledger.exists() else ""
    return [json.loads(x) for x in text.splitlines() if x.strip()], error


def _tokens(lines: list[dict[str, Any]]) -> int:
    kinds = (
        "input_tokens",
        "output_tokens",
        "cache_write_5m_tokens",
        "cache_write_1h_tokens",
        "cache_read_tokens",
    )
    return sum(int(ln[k]) for ln in lines for k in kinds)


def test_the_server_really_bills_more_than_estimated(srv, tmp_path):
    lines, error = _run(srv, tmp_path / "runs")
    assert error is None and len(lines) == 6
    from orchestrator_kit.llm.tokens import estimate_tokens

    first = srv.requests[-6].body
    estimate = estimate_tokens(
        "\n".join([b["text"] for b in first["system"]] + [m["content"] for m in first["messages"]])
    )
    assert lines[0]["input_tokens"] >= 5 * estimate  # the gap this file is about


@pytest.mark.parametrize("cap", TOKEN_CAPS)
def test_calibrated_estimate_overshoots_by_at_most_the_first_call(srv, tmp_path, cap):
    lines, error = _run(srv, tmp_path / "runs", budget_tokens=cap)
    spent = _tokens(lines)
    if spent > cap:
        # only the very first call (nothing billed yet to calibrate from) may have passed the cap
        assert len(lines) == 1, (cap, spent, [ln["step"] for ln in lines])
    if cap <= 15000:  # below what the six calls are billed: the budget stops the run
        assert isinstance(error, BudgetExceeded)


def test_calibration_raises_the_worst_case_of_later_calls():
    from orchestrator_kit.engine.budget import Budget, BudgetTracker
    from orchestrator_kit.llm.tokens import estimate_tokens
    from orchestrator_kit.llm.types import LLMRequest, Message, Usage

    request = LLMRequest(
        model="claude-sonnet-5-5", messages=(Message(role="user", content="word " * 400),), max_tokens=100
    )
    estimate = estimate_tokens(request.prompt_text())
    cap = Budget(max_tokens=estimate * 3 + 100)  # above the raw worst case, below the billed one
    fresh = BudgetTracker(cap)
    fresh.check(request)  # the raw estimate lets it through
    calibrated = BudgetTracker(cap)
    calibrated.calibrate(request, Usage(input_tokens=estimate * 6, output_tokens=10))
    assert calibrated.ratios["claude-sonnet-5-5"] == 6
    with pytest.raises(BudgetExceeded, match=f"up to {estimate * 6 + 100:,}"):
        calibrated.check(request)
    # an estimate that was too high never lowers the worst case; simulated (estimated) usage teaches nothing
    calibrated.calibrate(request, Usage(input_tokens=1, output_tokens=1))
    calibrated.calibrate(request, Usage(input_tokens=estimate * 9, estimated=True))
    assert calibrated.ratios["claude-sonnet-5-5"] == 6


@pytest.mark.parametrize("cap", TOKEN_CAPS)
def test_exact_counts_never_end_above_a_token_cap(srv, tmp_path, cap):
    before = srv.count("/v1/messages/count_tokens")
    lines, error = _run(srv, tmp_path / "runs", budget_tokens=cap, exact_budget=True)
    assert _tokens(lines) <= cap
    counted = srv.count("/v1/messages/count_tokens") - before
    assert counted == len(lines) + (error is not None)  # one count per call, and one for the refused call
    if cap == 1500:
        assert lines == [] and isinstance(error, BudgetExceeded)  # refused before the first call


@pytest.mark.parametrize("usd", ["0.01", "0.03", "0.06"])
def test_exact_counts_never_end_above_a_dollar_cap(srv, tmp_path, usd):
    lines, _ = _run(srv, tmp_path / "runs", budget_usd=usd, exact_budget=True)
    assert sum(Decimal(ln["cost_usd"]) for ln in lines) <= Decimal(usd)


def test_exact_budget_without_a_cap_counts_nothing(srv, tmp_path):
    before = srv.count("/v1/messages/count_tokens")
    lines, error = _run(srv, tmp_path / "runs", exact_budget=True)
    assert error is None and len(lines) == 6
    assert srv.count("/v1/messages/count_tokens") == before


def test_exact_budget_is_kept_for_resume(srv, tmp_path):
    _lines, error = _run(srv, tmp_path / "runs", budget_tokens=8000, exact_budget=True)
    assert isinstance(error, BudgetExceeded)
    (run,) = list((tmp_path / "runs").iterdir())
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["exact_budget"] is True
    backend = AnthropicBackend(KEY, base_url=srv.base_url, retry=RetryConfig(max_attempts=1))
    before = srv.count("/v1/messages/count_tokens")
    result = WorkflowEngine.for_resume(run, backend=backend, budget_tokens=10**6).resume(run)
    assert result.ok
    assert srv.count("/v1/messages/count_tokens") > before


def test_batch_calls_are_checked_at_batch_prices():
    """A call sent through Message Batches is billed at the batch discount, so its worst case is too:
    a dollar cap between the batch and the standard worst case lets it through only when batched."""
    from orchestrator_kit.engine.budget import Budget, BudgetTracker
    from orchestrator_kit.llm.batches import BatchesBackend
    from orchestrator_kit.llm.pricing import worst_case_cost
    from orchestrator_kit.llm.tokens import estimate_tokens
    from orchestrator_kit.llm.types import LLMRequest, Message
    from orchestrator_kit.sweep.backend import SharedBackend

    request = LLMRequest(
        model="claude-sonnet-5-5", messages=(Message(role="user", content="word " * 400),), max_tokens=100
    )
    tokens = estimate_tokens(request.prompt_text())
    standard = worst_case_cost(request.model, tokens, request.max_tokens)
    batched = worst_case_cost(request.model, tokens, request.max_tokens, batch=True)
    assert standard is not None and batched is not None and batched < standard
    cap = Budget(max_usd=(standard + batched) / 2)
    with pytest.raises(BudgetExceeded):
        BudgetTracker(cap).check(request)
    BudgetTracker(cap, batch=True).check(request)
    # the flag comes from the backend, through the sweep's shared wrapper too
    assert BatchesBackend.billed_as_batch is True
    assert SharedBackend(BatchesBackend(KEY)).billed_as_batch is True
    assert SharedBackend(AnthropicBackend(KEY)).billed_as_batch is False
