"""Resume after malformed answers: a recorded answer that fails validation is never served as paid.

The model answers prose twice (the answer and its re-ask), so the run fails with ParseError. Once the
server answers well, resume asks again live, says so, and pays only for the new answers; the wasted
lines stay in the ledger.
"""

from __future__ import annotations

import json
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from orchestrator_kit import cli
from orchestrator_kit.engine.engine import WorkflowEngine
from orchestrator_kit.errors import ParseError
from orchestrator_kit.llm.anthropic_backend import AnthropicBackend
from orchestrator_kit.llm.retry import RetryConfig
from orchestrator_kit.testing import FakeAnthropicServer, simulated_responder

KEY = "sk-ant-test-fake"
FAST = RetryConfig(max_attempts=2, initial_delay=0.01, max_delay=0.02)
REQUEST = "Build a CLI that converts CSV files to JSON with validation"
PROSE = "Sure! I'd be happy to help. First I will look at the request, then write the files."


class ProseFirst:
    """Answers prose ``prose_left`` times, then like the simulated team."""

    def __init__(self, prose: int) -> None:
        self.inner = simulated_responder()
        self.prose_left = prose

    def __call__(self, body: dict[str, Any]) -> str:
        if self.prose_left > 0:
            self.prose_left -= 1
            return PROSE
        return self.inner(body)


def ledger(run: Path) -> list[dict[str, Any]]:
    return [json.loads(x) for x in (run / "calls.jsonl").read_text().splitlines() if x.strip()]


def _fail_twice(srv: FakeAnthropicServer, tmp_path: Path) -> Path:
    backend = AnthropicBackend(KEY, base_url=srv.base_url, retry=FAST)
    engine = WorkflowEngine(backend=backend, agents=["architect"], output_dir=tmp_path / "runs")
    with pytest.raises(ParseError) as info:
        engine.run(REQUEST)
    assert "orchestrator-kit resume" in "\n".join(info.value.__notes__)
    (run,) = (tmp_path / "runs").iterdir()
    assert srv.count() == 2
    assert [(ln["step"], ln["status"], ln["wasted"]) for ln in ledger(run)] == [
        ("plan", "malformed", True),
        ("reask", "malformed", True),
    ]
    return run


def test_resume_asks_again_live_and_pays_only_for_the_new_answers(tmp_path: Path) -> None:
    responder = ProseFirst(prose=2)
    with FakeAnthropicServer(responder=responder, require_key=KEY) as srv:
        run = _fail_twice(srv, tmp_path)
        wasted_before = ledger(run)

        events: list[Any] = []
        engine = WorkflowEngine.for_resume(
            run, backend=AnthropicBackend(KEY, base_url=srv.base_url, retry=FAST)
        )
        engine.subscribe(events.append, types=("reuse_rejected",))
        result = engine.resume(run)

        assert result.ok
        assert srv.count() == 4  # the plan asked again live, then the act: two new answers
        assert [(e.agent, e.data["step"]) for e in events] == [("architect", "plan")]
        assert "ParseError" in events[0].data["reason"]
        lines = ledger(run)
        assert lines[:2] == wasted_before  # the wasted lines stay, untouched
        new = lines[2:]
        assert [(ln["step"], ln["status"], ln["wasted"]) for ln in new] == [
            ("plan", "ok", False),
            ("act", "ok", False),
        ]
        ok = Counter(ln["request_hash"] for ln in lines if ln["status"] == "ok")
        assert max(ok.values()) == 1  # nothing paid twice
        t = result.totals
        assert t.calls == 4 and t.reasks == 1
        assert t.wasted_usd == sum(Decimal(ln["cost_usd"]) for ln in wasted_before)
        assert t.cost_usd == sum(Decimal(ln["cost_usd"]) for ln in lines)


def test_a_recorded_answer_that_now_validates_is_still_reused(tmp_path: Path) -> None:
    """Only answers that fail validation are asked again: good ones recorded before are reused."""
    responder = ProseFirst(prose=0)
    with FakeAnthropicServer(responder=responder, require_key=KEY) as srv:
        backend = AnthropicBackend(KEY, base_url=srv.base_url, retry=FAST)
        engine = WorkflowEngine(
            backend=backend, agents=["architect", "developer"], output_dir=tmp_path / "runs"
        )
        result = engine.run(REQUEST)
        run = result.run_dir
        state = json.loads((run / "state.json").read_text())
        state["status"] = "interrupted"
        state["steps"]["developer"] = "pending"  # as if killed after the developer's calls were paid
        (run / "state.json").write_text(json.dumps(state))
        events: list[Any] = []
        again = WorkflowEngine.for_resume(
            run, backend=AnthropicBackend(KEY, base_url=srv.base_url, retry=FAST)
        )
        again.subscribe(events.append, types=("reuse_rejected",))
        assert again.resume(run).ok
        assert srv.count() == 4 and events == []
        assert len(ledger(run)) == 4


def test_cli_resume_says_it_asks_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    responder = ProseFirst(prose=2)
    with FakeAnthropicServer(responder=responder, require_key=KEY) as srv:
        run = _fail_twice(srv, tmp_path)
        monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
        monkeypatch.setenv("ANTHROPIC_BASE_URL", srv.base_url)
        assert cli.main(["resume", str(run)]) == 0
        err = capsys.readouterr().err
        assert "architect/plan again live" in err and "failed validation" in err
        assert "stays in the ledger" in err
        assert srv.count() == 4
