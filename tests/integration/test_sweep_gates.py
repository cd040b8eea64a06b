"""Sweeps and human gates: cells stop at the gate and are reported waiting; after decisions on their run
folders, resume continues the decided cells (no call repaid) and leaves the others waiting."""

from __future__ import annotations

import json
from pathlib import Path

import orchestrator_kit as ok
from orchestrator_kit.engine.gates import record_decision
from orchestrator_kit.sweep import resume_sweep, run_sweep

REQ = "a tool that converts CSV files to JSON"


def _ok_hashes(run_dir: Path) -> list[str]:
    lines = [json.loads(x) for x in (run_dir / "calls.jsonl").read_text().splitlines() if x.strip()]
    return [ln["request_hash"] for ln in lines if ln["status"] == "ok"]


def test_gate_cells_wait_and_resume_continues_only_the_decided(tmp_path: Path) -> None:
    doc = {"requests": [REQ], "repeats": 3, "gate": "human", "render": False}
    events: list = []
    first = run_sweep(doc, tmp_path / "s", progress=False, subscribers=[events.append])
    assert [c.status for c in first.cells] == ["awaiting_approval"] * 3
    assert first.failed == [] and len(first.waiting) == 3 and first.ok == []
    index = json.loads((tmp_path / "s" / "sweep.json").read_text())
    assert {c["status"] for c in index["cells"].values()} == {"awaiting_approval"}
    assert events[-1].progress.cells_waiting == 3 and events[-1].progress.cells_failed == 0
    text = str(first)
    assert "3 waiting for a decision" in text and "orchestrator-kit decide" in text

    a, b, c = (first.run_dir(x.cell_id) for x in first.cells)
    before = {d: _ok_hashes(d) for d in (a, b, c)}
    ok.decide(a, "approve", by="alice")  # decided and resumed already (the CLI's default)
    record_decision(b, "approve", by="bob")  # decided only (--no-resume)

    again = resume_sweep(tmp_path / "s", progress=False)
    status = {x.cell_id: x.status for x in again.cells}
    assert [status[x.cell_id] for x in first.cells] == ["completed", "completed", "awaiting_approval"]
    for d in (a, b, c):
        after = _ok_hashes(d)
        assert after[: len(before[d])] == before[d] and len(set(after)) == len(after)  # none repaid
    assert _ok_hashes(c) == before[c]  # the still-waiting cell made no call
    assert len(again.waiting) == 1 and "1 waiting" in str(again)


def test_budget_pause_passes_through_to_cells(tmp_path: Path) -> None:
    doc = {"requests": [REQ], "base": {"budget_usd": 0.08}, "on_budget": "pause", "render": False}
    result = run_sweep(doc, tmp_path / "s", progress=False)
    assert [c.status for c in result.cells] == ["awaiting_budget"]
    assert result.failed == []
