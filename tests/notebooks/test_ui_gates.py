"""The run panel at a human gate, headless: the pending gate shows, each button records its decision and the
run continues in the same panel (real simulated runs in the panel's worker thread; no mocks)."""

from __future__ import annotations

import getpass
import json
from pathlib import Path

from orchestrator_kit.ui import RunPanel
from orchestrator_kit.ui.gate_panel import render_markdown

REQUEST = "Build a command-line tool that converts CSV files to JSON"


def _decisions(run_dir: Path) -> list[dict]:
    path = run_dir / "decisions.jsonl"
    return [json.loads(x) for x in path.read_text().splitlines()] if path.exists() else []


def _ok_hashes(run_dir: Path) -> list[str]:
    lines = [json.loads(x) for x in (run_dir / "calls.jsonl").read_text().splitlines() if x.strip()]
    return [ln["request_hash"] for ln in lines if ln["status"] == "ok"]


def _waiting_panel(tmp_path: Path, gate: str = "human") -> RunPanel:
    panel = RunPanel(output_dir=tmp_path / "runs", request=REQUEST)
    assert panel.gate.options == ("model", "human", "model+human")
    panel.gate.value = gate
    panel.run_button.click()
    assert panel.wait(60) == "awaiting_approval"
    assert "Waiting for your decision" in panel.status_text
    assert panel.gate_panel.layout.display is None and panel.gate_panel.gate is not None
    return panel


def test_the_pending_gate_shows_documents_and_proposal_then_approve_continues(tmp_path: Path) -> None:
    panel = _waiting_panel(tmp_path, "model+human")
    gp = panel.gate_panel
    assert [gp.documents.get_title(i) for i in range(2)] == [
        "architect/architecture.md",
        "data/data_pipeline.md",
    ]
    doc = gp.documents.children[0].value
    assert "<h1>" in doc or "<h2>" in doc  # markdown rendered, not shown raw
    assert "The model proposes" in gp.proposal.value and "approve" in gp.proposal.value
    run_dir = panel.run_dir
    assert run_dir is not None
    before = _ok_hashes(run_dir)
    gp.approve_button.click()
    assert panel.wait(60) == "completed" and "Completed" in panel.status_text
    assert gp.layout.display == "none"
    assert [d["action"] for d in _decisions(run_dir)] == ["approve"]
    assert _decisions(run_dir)[0]["by"] == getpass.getuser()
    after = _ok_hashes(run_dir)
    assert after[: len(before)] == before and len(set(after)) == len(after)  # no call repaid
    assert panel.progress["developer"].state == "done"


def test_revise_needs_a_reason_then_goes_back_to_the_architect(tmp_path: Path) -> None:
    panel = _waiting_panel(tmp_path)
    gp, run_dir = panel.gate_panel, panel.run_dir
    assert run_dir is not None and gp.proposal.value == ""  # human: no model proposal
    state = (run_dir / "state.json").read_bytes()
    gp.revise_button.click()  # no reason typed
    assert "needs at least one reason" in gp.message.value and not panel.running
    assert (run_dir / "state.json").read_bytes() == state and _decisions(run_dir) == []
    gp.reasons.value = "stream large files\n"
    gp.revise_button.click()
    assert panel.wait(60) == "awaiting_approval"  # the architect redid the design; the gate asks again
    assert _decisions(run_dir)[0]["reasons"] == ["stream large files"]
    assert gp.layout.display is None and gp.gate is not None and gp.gate.round == 2


def test_edit_replaces_the_chosen_artifact_and_the_run_continues(tmp_path: Path) -> None:
    panel = _waiting_panel(tmp_path)
    gp, run_dir = panel.gate_panel, panel.run_dir
    assert run_dir is not None
    gp.edit_choice.value = "data/data_pipeline.md"
    original = (run_dir / "artifacts" / "data" / "data_pipeline.md").read_text()
    assert gp.edit_text.value == original  # prefilled with the chosen artifact
    gp.edit_text.value = "   "
    gp.edit_button.click()
    assert "is empty" in gp.message.value and _decisions(run_dir) == []
    gp.edit_text.value = "# Data pipeline (edited)\n\nRead rows lazily.\n"
    gp.edit_button.click()
    assert panel.wait(60) == "completed"
    assert (
        (run_dir / "artifacts" / "data" / "data_pipeline.md")
        .read_text()
        .startswith("# Data pipeline (edited)")
    )
    assert list(_decisions(run_dir)[0]["edits"]) == ["data/data_pipeline.md"]


def test_budget_pause_checkbox_and_raise_budget(tmp_path: Path) -> None:
    panel = RunPanel(output_dir=tmp_path / "runs", request=REQUEST)
    panel.budget.value = 0.08
    panel.budget_pause.value = True
    panel.run_button.click()
    assert panel.wait(60) == "awaiting_budget" and "more budget" in panel.status_text
    gp = panel.gate_panel
    assert gp.budget_box.layout.display is None and gp.approval_box.layout.display == "none"
    gp.budget.value = 0.01
    gp.budget_button.click()
    assert "must be more than" in gp.message.value and not panel.running
    gp.budget.value = 50
    gp.budget_button.click()
    assert panel.wait(60) == "completed"


def test_markdown_is_rendered_and_raw_html_escaped() -> None:
    out = render_markdown("# Title\n\n- a\n\n<script>alert(1)</script>")
    assert "<h1>Title</h1>" in out and "<li>a</li>" in out and "<script>" not in out


def test_sweep_progress_widget_counts_waiting_cells() -> None:
    from orchestrator_kit.sweep.progress import SweepEvent, SweepProgress
    from orchestrator_kit.ui import SweepProgressWidget

    widget = SweepProgressWidget()
    widget(SweepEvent("sweep_finished", None, SweepProgress(cells_total=3, cells_done=1, cells_waiting=2)))
    assert "2 waiting for a decision" in widget.label.value and "0 failed" in widget.label.value
    assert widget.bar.value == 3 and widget.bar.bar_style == "success"
