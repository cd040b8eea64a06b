"""The widgets, headless: set values, click buttons, assert what the handlers changed.

The run panel runs real simulated workflows in its background thread (no mocks); ``wait()`` joins it.
"""

from __future__ import annotations

import json
import os
from decimal import Decimal
from pathlib import Path

import ipywidgets as w
import pytest

from orchestrator_kit.engine.state_models import AgentSettings
from orchestrator_kit.llm.pricing import format_usd
from orchestrator_kit.ui import AgentPanel, ApiKeyWidget, App, ResultsPanel, RunPanel

FAKE_KEY = "sk-ant-api03-FAKE-KEY-FOR-TESTS-ONLY-0000"


def _all_widget_state() -> str:
    return json.dumps(w.Widget.get_manager_state(drop_defaults=False))


# -- API key -------------------------------------------------------------------------------------


@pytest.fixture
def key_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """ANTHROPIC_API_KEY absent now and removed again after the test, whatever the widget sets."""
    monkeypatch.setenv("ANTHROPIC_API_KEY", "placeholder")
    monkeypatch.delenv("ANTHROPIC_API_KEY")


def test_typed_key_moves_into_the_environment_and_leaves_the_widget(key_env: None) -> None:
    key = ApiKeyWidget()
    assert "No API key found" in key.status_text
    key.password.value = FAKE_KEY  # what the frontend sends on Enter (continuous_update=False)
    assert os.environ["ANTHROPIC_API_KEY"] == FAKE_KEY
    assert key.password.value == ""
    assert key.password.get_state()["value"] == ""
    assert "from the widget" in key.status_text and "environment" in key.status_text
    assert key.status_text.endswith("ending …0000.")
    for text in (key.status_text, key.status.value, _all_widget_state(), repr(key)):
        assert FAKE_KEY not in text and "FAKE-KEY-FOR-TESTS" not in text


def test_forget_button_removes_the_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", FAKE_KEY)
    key = ApiKeyWidget()
    assert "Key found in the environment (ANTHROPIC_API_KEY)" in key.status_text
    key.forget_button.click()
    assert "ANTHROPIC_API_KEY" not in os.environ
    assert "removed" in key.status_text and "No API key found" in key.status_text


def test_says_when_the_key_is_in_a_dotenv_file(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(f"ANTHROPIC_API_KEY={FAKE_KEY}\n")
    key = ApiKeyWidget()
    assert f"the .env file {tmp_path / '.env'}" in key.status_text
    assert FAKE_KEY not in key.status.value


def test_use_button_with_an_empty_field_changes_nothing(key_env: None) -> None:
    key = ApiKeyWidget()
    key.use_button.click()
    assert "ANTHROPIC_API_KEY" not in os.environ and "No API key found" in key.status_text


# -- agents ----------------------------------------------------------------------------------------


def test_agent_panel_settings() -> None:
    panel = AgentPanel()
    assert panel.agents() == [
        "architect",
        "data",
        "consensus",
        "developer",
        "qa",
        "documentarian",
        "reviewer",
        "steward",
    ]
    assert panel.settings() == {}
    panel.rows["qa"].enabled.value = False
    assert panel.rows["qa"].model.disabled and "qa" not in panel.agents()
    panel.rows["developer"].model.value = "claude-haiku-5-5"
    panel.rows["developer"].max_tokens.value = 3000
    panel.rows["reviewer"].extra_instructions.value = "  Be strict about tests.  "
    assert panel.settings() == {
        "developer": AgentSettings(model="claude-haiku-5-5", max_tokens=3000),
        "reviewer": AgentSettings(extra_instructions="Be strict about tests."),
    }
    panel.set_settings({"developer": {}, "steward": {"enabled": False}})
    assert "developer" not in panel.settings() and panel.agents()[-1] == "reviewer"


# -- run panel -------------------------------------------------------------------------------------


def test_run_without_a_request_does_not_start(tmp_path: Path) -> None:
    panel = RunPanel(output_dir=tmp_path / "runs")
    panel.run_button.click()
    assert not panel.running and panel.state == "idle" and "request" in panel.status_text
    assert not (tmp_path / "runs").exists()


def test_real_mode_without_a_key_is_refused_up_front(tmp_path: Path) -> None:
    panel = RunPanel(output_dir=tmp_path / "runs", request="Build a todo app")
    panel.mode.value = "real"
    panel.run_button.click()
    assert not panel.running and "Cannot start" in panel.status_text and "API key" in panel.status_text


def test_run_shows_progress_spend_and_results(tmp_path: Path) -> None:
    app = App(
        output_dir=tmp_path / "runs", request="Build a command-line tool that converts CSV files to JSON"
    )
    app.run_panel.project_name.value = "csv2json"
    app.agents.rows["qa"].enabled.value = False
    app.run_panel.budget.value = 5.0
    app.run_panel.run_button.click()
    assert app.run_panel.wait(60) == "completed"
    panel = app.run_panel
    assert "Completed" in panel.status_text and not panel.run_button.disabled and panel.stop_button.disabled
    assert list(panel.progress) == [
        "architect",
        "data",
        "consensus",
        "developer",
        "documentarian",
        "reviewer",
        "steward",
    ]
    for row in panel.progress.values():
        assert (row.state, row.bar.value, row.bar.bar_style, row.calls) == ("done", 2, "success", 2)
    summary = json.loads((panel.run_dir / "summary.json").read_text())
    spent = Decimal(summary["totals"]["cost_usd"])
    assert f"Spent {format_usd(spent)} of $5.00 budget" in panel.spend.value
    assert panel.spend_bar.value == pytest.approx(float(spent / 5))
    assert sum(row.cost for row in panel.progress.values()) == spent
    # results filled from the run folder
    results = app.results
    assert "1 run (1 completed)" in results.heading.value
    assert "developer/csv2json.py" in results.artifact_list.options
    results.artifact_list.value = "developer/csv2json.py"
    assert "def " in results.preview.value and "<pre" in results.preview.value
    assert "cache_read_tokens" in results.tokens.value and "share_pct" in results.cost.value
    from orchestrator_kit.report import export, load_runs

    expected = export.standard_figures(load_runs(panel.run_dir))
    assert len(results.figures.children) == len(expected) >= 8  # money and quality figures included
    assert all(bytes(img.value).startswith(b"\x89PNG") for img in results.figures.children)


def test_stop_interrupts_the_run(tmp_path: Path) -> None:
    panel = RunPanel(
        output_dir=tmp_path / "runs", request="Build a todo app", simulated_options={"latency_s": 0.3}
    )
    started = []
    panel.on_finished(lambda p: started.append(p.state))
    assert panel.start()
    while not any(e.type == "call_started" for e in panel.events):
        panel.wait(0.05)
    panel.stop_button.click()
    assert panel.wait(30) == "interrupted"
    assert started == ["interrupted"]
    assert "resume" in panel.status_text and not panel.run_button.disabled
    state = json.loads((panel.run_dir / "state.json").read_text())
    assert state["status"] == "interrupted"
    assert any(row.state == "running" for row in panel.progress.values())


def test_results_panel_on_a_folder_of_runs(tmp_path: Path) -> None:
    import orchestrator_kit as ok

    for model in ("claude-sonnet-5-5", "claude-haiku-5-5"):
        ok.run_workflow(
            "Build a todo app",
            output_dir=tmp_path,
            mode="simulated",
            model=model,
            agents=["architect", "developer"],
        )
    results = ResultsPanel()
    results.show(tmp_path)
    assert "2 runs" in results.heading.value
    assert len(results.artifact_list.options) == 6  # prefixed by run so names stay distinct
    assert "claude-haiku-5-5" in results.cost.value
