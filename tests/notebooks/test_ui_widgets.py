"""The widgets, headless: set values, click buttons, assert what the handlers changed.

The run panel runs real simulated workflows in its background thread (no mocks); ``wait()`` joins it.
"""

from __future__ import annotations

import json
import os
from decimal import Decimal
from pathlib import Path
from typing import Any

import ipywidgets as w
import pytest
from documented import AGENT_ORDER

from orchestrator_kit.engine.state_models import AgentSettings
from orchestrator_kit.llm.pricing import format_usd
from orchestrator_kit.ui import AgentPanel, ApiKeyWidget, App, ResultsPanel, RunPanel
from orchestrator_kit.ui.key_widget import PROMPT

FAKE_KEY = "sk-ant-api03-FAKE-KEY-FOR-TESTS-ONLY-0000"


def _all_widget_state() -> str:
    return json.dumps(w.Widget.get_manager_state(drop_defaults=False))


# -- API key -------------------------------------------------------------------------------------


@pytest.fixture
def key_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """ANTHROPIC_API_KEY absent now and removed again after the test, whatever the widget sets."""
    monkeypatch.setenv("ANTHROPIC_API_KEY", "placeholder")
    monkeypatch.delenv("ANTHROPIC_API_KEY")


def _fake_prompt(answer: str, asked: list[str] | None = None):
    """Stands in for getpass.getpass (the kernel's stdin prompt): records the prompt, returns ``answer``."""

    def read(prompt: str) -> str:
        if asked is not None:
            asked.append(prompt)
        return answer

    return read


def test_ask_takes_the_key_from_a_password_prompt(key_env: None) -> None:
    key = ApiKeyWidget()
    assert "No API key found" in key.status_text and "app.key.ask()" in key.status_text
    asked: list[str] = []
    key.ask(read=_fake_prompt(FAKE_KEY, asked))
    assert asked == [PROMPT]
    assert os.environ["ANTHROPIC_API_KEY"] == FAKE_KEY
    assert "Key set for this kernel" in key.status_text and key.status_text.endswith("ending …0000.")
    for text in (key.status_text, key.status.value, _all_widget_state(), repr(key)):
        assert FAKE_KEY not in text and "FAKE-KEY-FOR-TESTS" not in text


def test_no_widget_has_a_field_for_the_key() -> None:
    """Nothing typed in a widget can hold the key: the app has no Password widget, and no text field of the
    key widget."""
    app = App()

    def walk(widget: w.Widget):
        yield widget
        for child in getattr(widget, "children", ()):
            yield from walk(child)

    widgets = list(walk(app))
    assert not [x for x in widgets if isinstance(x, w.Password)]
    assert not [x for x in walk(app.key) if isinstance(x, w.Text | w.Textarea | w.Password)]


def test_no_widget_model_ever_carries_the_key(monkeypatch: pytest.MonkeyPatch, key_env: None) -> None:
    """Every message any widget model sends (creation, every state update) is recorded through the comm
    layer ipywidgets uses; none holds the key, before or after it is entered, used and forgotten."""
    import comm
    from comm.base_comm import BaseComm

    sent: list[str] = []

    class RecordingComm(BaseComm):
        def publish_msg(
            self, msg_type: str, data: Any = None, metadata: Any = None, buffers: Any = None, **keys: Any
        ) -> None:
            sent.append(json.dumps([msg_type, data, metadata], default=str))

    monkeypatch.setattr(comm, "create_comm", RecordingComm)
    app = App(request="Build a todo app")
    app.key.ask(read=_fake_prompt(FAKE_KEY))
    assert os.environ["ANTHROPIC_API_KEY"] == FAKE_KEY and app.run_panel.mode.value == "auto"
    app.key.forget_button.click()
    app.key.ask(read=_fake_prompt("  " + FAKE_KEY + "  "))
    assert len(sent) > 50  # the recorder sees the app's models being created and updated
    for message in [*sent, _all_widget_state()]:
        assert FAKE_KEY not in message and "FAKE-KEY-FOR-TESTS" not in message


def test_a_frontend_without_prompts_is_told_the_other_ways_in(key_env: None) -> None:
    from IPython.core.error import StdinNotImplementedError

    def no_stdin(prompt: str) -> str:
        raise StdinNotImplementedError(
            "getpass was called, but this frontend does not support input requests."
        )

    key = ApiKeyWidget()
    key.ask(read=no_stdin)
    assert "ANTHROPIC_API_KEY" not in os.environ
    assert "cannot show a password prompt" in key.status_text and ".env" in key.status_text


def test_ask_does_not_ask_when_a_key_is_found(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", FAKE_KEY)
    key = ApiKeyWidget()
    asked: list[str] = []
    key.ask(read=_fake_prompt("sk-ant-other", asked))
    assert asked == [] and os.environ["ANTHROPIC_API_KEY"] == FAKE_KEY and "already set" in key.status_text
    key.ask(force=True, read=_fake_prompt("sk-ant-test-other", asked))
    assert asked == [PROMPT] and os.environ["ANTHROPIC_API_KEY"] == "sk-ant-test-other"


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


def test_an_empty_answer_changes_nothing(key_env: None) -> None:
    key = ApiKeyWidget()
    key.ask(read=_fake_prompt("   "))
    assert "ANTHROPIC_API_KEY" not in os.environ and "No key entered" in key.status_text


def test_entering_a_key_switches_simulated_to_auto(key_env: None) -> None:
    app = App()
    assert app.run_panel.mode.value == "simulated" and app.hint_text == ""
    app.key.ask(read=_fake_prompt(FAKE_KEY))
    assert app.run_panel.mode.value == "auto" and "billed" in app.hint_text


def test_a_key_left_unused_by_simulated_mode_is_pointed_out(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", FAKE_KEY)
    app = App()  # a key found in the environment does not change the default mode, but the app says so
    assert app.run_panel.mode.value == "simulated"
    assert "never uses it" in app.hint_text and "never uses it" in app.mode_hint.value
    app.run_panel.mode.value = "auto"
    assert "billed" in app.hint_text


# -- agents ----------------------------------------------------------------------------------------


def test_agent_panel_settings() -> None:
    panel = AgentPanel()
    assert panel.agents() == AGENT_ORDER
    assert panel.settings() == {}
    assert all("0 = role default" in row.max_tokens.description for row in panel.rows.values())
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
    assert ">Cache read</th>" in results.tokens.value and ">Share</th>" in results.cost.value
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
    states = [row.state for row in panel.progress.values()]
    assert "running" not in states and "interrupted" in states  # the agents cut off say so
    cut = next(row for row in panel.progress.values() if row.state == "interrupted")
    assert cut.label.value.startswith("interrupted") and cut.bar.bar_style == "warning"


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


def test_run_right_after_completed_starts_a_new_run(tmp_path: Path) -> None:
    """Run stays disabled while the results are built, and "Completed." shows only once Run works again."""
    app = App(output_dir=tmp_path / "runs", request="Build a todo app")
    app.agents.set_settings({a: {"enabled": False} for a in ("data", "consensus", "qa", "documentarian")})
    seen: list[tuple[bool, str]] = []
    app.run_panel.on_finished(lambda p: seen.append((p.run_button.disabled, p.status_text)))
    assert app.run_panel.start()
    assert not app.run_panel.start() and "still going" in app.run_panel.status_text  # said, not ignored
    assert app.run_panel.wait(60) == "completed"
    assert seen == [(True, "Run ended: building the results...")]
    assert app.run_panel.status_text.startswith("Completed.") and not app.run_panel.run_button.disabled
    first = app.run_panel.run_dir
    app.run_panel.run_button.click()  # at once, as a user would after reading "Completed."
    assert app.run_panel.running
    assert app.run_panel.wait(60) == "completed" and app.run_panel.run_dir != first


def test_a_new_run_clears_the_previous_results(tmp_path: Path) -> None:
    app = App(
        output_dir=tmp_path / "runs",
        request="Build a todo app",
        simulated_options={"latency_s": 0.2},
    )
    app.agents.set_settings({a: {"enabled": False} for a in ("data", "consensus", "qa", "documentarian")})
    app.run_panel.start()
    assert app.run_panel.wait(60) == "completed" and app.results.artifact_list.options
    app.run_panel.start()
    assert app.results.artifact_list.options == () and app.results.figures.children == ()
    assert "Running" in app.results.heading.value and app.results.cost.value == ""
    assert app.run_panel.wait(60) == "completed" and app.results.artifact_list.options
    assert app.results.runs.runs["run_id"].tolist() == [app.run_panel.run_dir.name]


def test_markdown_artifacts_preview_rendered(tmp_path: Path) -> None:
    import orchestrator_kit as ok

    result = ok.run_workflow("Build a todo app", output_dir=tmp_path, mode="simulated")
    results = ResultsPanel()
    results.show(result.run_dir)
    md = next(name for name in results.artifact_list.options if name.endswith(".md"))
    results.artifact_list.value = md
    (output,) = results.markdown.outputs
    text = (result.run_dir / "artifacts" / md).read_text(encoding="utf-8")
    assert output["data"]["text/markdown"] == text and results.preview.value == ""
    code = next(name for name in results.artifact_list.options if name.endswith(".py"))
    results.artifact_list.value = code
    assert results.markdown.outputs == () and "<pre" in results.preview.value
