"""Smoke test in a real browser: JupyterLab opens ``notebooks/interactive.ipynb``, runs it, and the app's
widgets render and work: the API-key cell opens Jupyter's password prompt (answered with Enter alone: no
key anywhere), Run starts a simulated workflow, the eight agents' progress rows reach "done", the status says
"Completed." and the results panel fills. The notebook saved by JupyterLab (with widget state) holds no key.

The key test types a key into that prompt, does not press Enter, clicks the toolbar's Save (widget state is
saved, see conftest) and greps the saved notebook, its checkpoint and its paired .py for the key; then
presses Enter, saves again and greps again.

Screenshots are left in the test's ``tmp_path``: ``jupyterlab-run.png`` (run panel after the run),
``jupyterlab-results.png`` (the Figures tab), and ``failure.png`` when the test fails. Setup, isolation and
skips are in ``conftest.py``; run with ``pytest tests/browser``.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.browser]

REQUEST = "A CLI that converts CSV files to JSON"
RUN_TIMEOUT_MS = 90_000
KEY_LIKE = re.compile(r"sk-ant-[A-Za-z0-9_\-]{6,}")  # a key, not the field's "sk-ant-..." placeholder
KEY_ASSIGNED = re.compile(r"ANTHROPIC_API_KEY\W{0,6}[=:]\W{0,6}[A-Za-z0-9]")
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
TYPED_KEY = "sk-ant-test-fake-typed-in-the-browser"


def _menu(page: Any, menu: str, item: str) -> None:
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(rf"^{re.escape(menu)}$")).click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(rf"^{re.escape(item)}$")).click()


def _wait_for_saved(path: Path, timeout_s: float = 60.0) -> dict[str, Any]:
    """The notebook as saved by JupyterLab: once its code cell holds the widget view output."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            nb = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            nb = {"cells": []}
        outputs = [o for c in nb["cells"] if c["cell_type"] == "code" for o in c.get("outputs", [])]
        if any(WIDGET_VIEW in o.get("data", {}) for o in outputs):
            return nb
        if time.monotonic() > deadline:
            pytest.fail(
                f"JupyterLab did not save {path.name} with the widget output within {timeout_s:.0f} s"
            )
        time.sleep(0.2)


def test_interactive_notebook_runs_in_jupyterlab(
    lab_page: Any, lab_server: Any, playwright_sync: Any, tmp_path: Path
) -> None:
    expect = playwright_sync.expect
    page = lab_page
    page.goto(lab_server.url("lab/tree/interactive.ipynb"))

    # The kernel is started and idle: the status bar says "<kernel name> | Idle" (before that it says
    # "No Kernel | Initializing", and Run All would then open a "Select Kernel" dialog).
    expect(
        page.locator(".jp-StatusBar-TextItem").filter(has_text=re.compile(r"^(?!No Kernel).+ \| Idle$"))
    ).to_have_count(1, timeout=45_000)
    # Its kernel talks over IPC sockets (the provisioner okit-ipc, see conftest), not TCP ports.
    (connection,) = (tmp_path / "jupyter" / "runtime").glob("kernel-*.json")
    assert json.loads(connection.read_text(encoding="utf-8"))["transport"] == "ipc"
    _menu(page, "Run", "Run All Cells")

    # The key cell asks through Jupyter's password prompt; Enter alone leaves the app without a key.
    prompt = page.locator("input.jp-Stdin-input")
    expect(prompt).to_have_count(1, timeout=30_000)
    expect(prompt).to_have_attribute("type", "password")
    prompt.press("Enter")
    expect(page.get_by_text(re.compile(r"^No key entered\. No API key found")).first).to_be_visible()
    # No widget holds a key field (the only password input is Jupyter's own prompt, not a widget).
    assert page.locator(".jupyter-widgets input[type=password], .widget-password").count() == 0
    run_button = page.locator("button.widget-button").filter(has_text=re.compile(r"^\s*Run\s*$"))
    stop_button = page.locator("button.widget-button").filter(has_text=re.compile(r"^\s*Stop\s*$"))
    expect(run_button).to_be_enabled()
    expect(stop_button).to_be_disabled()
    expect(page.locator(".widget-dropdown select").filter(has_text="simulated").first).to_have_value(
        "simulated"
    )

    page.get_by_placeholder("What should the team build?").fill(REQUEST)
    run_button.click()

    # Finished: the status line, eight agents done, the would-be cost, the results panel filled.
    expect(page.get_by_text(re.compile(r"^Completed\. Run folder: "))).to_be_visible(timeout=RUN_TIMEOUT_MS)
    expect(
        page.locator(".widget-html-content").filter(has_text=re.compile(r"^done · \d+ calls? · "))
    ).to_have_count(8)
    expect(page.get_by_text(re.compile(r"simulated: would-be cost, nothing billed"))).to_be_visible()
    expect(page.get_by_text(re.compile(r"^No results yet"))).to_have_count(0, timeout=30_000)
    expect(run_button).to_be_enabled()
    expect(stop_button).to_be_disabled()
    page.get_by_text(re.compile(r"^Completed\. Run folder: ")).scroll_into_view_if_needed()
    page.screenshot(path=str(tmp_path / "jupyterlab-run.png"))

    # The results panel: the artifact list, the cost tables, the figures.
    results = page.locator(".widget-tab").filter(has=page.locator(".lm-TabBar-tabLabel", has_text="Figures"))
    expect(results.locator(".widget-select select option")).to_have_count(9)
    results.locator(".lm-TabBar-tab", has_text="Cost").click()
    expect(results.locator(".widget-tab-contents table").filter(visible=True).first).to_be_visible()
    results.locator(".lm-TabBar-tab", has_text="Figures").click()
    expect(results.locator(".widget-tab-contents img").filter(visible=True).first).to_be_visible()
    results.scroll_into_view_if_needed()
    page.screenshot(path=str(tmp_path / "jupyterlab-results.png"))

    # The run folder is on disk, next to the notebook: one completed simulated run.
    run_dirs = [p for p in (lab_server.root / "runs").iterdir() if p.is_dir()]
    assert len(run_dirs) == 1, run_dirs
    summary = json.loads((run_dirs[0] / "summary.json").read_text(encoding="utf-8"))
    assert (summary["status"], summary["mode"], summary["request"]) == ("completed", "simulated", REQUEST)

    # Save (widget state included, see conftest) and check the file holds no key.
    _menu(page, "File", "Save Notebook")
    nb_path = lab_server.root / "interactive.ipynb"
    nb = _wait_for_saved(nb_path)
    text = nb_path.read_text(encoding="utf-8")
    assert not KEY_LIKE.search(text)
    assert not KEY_ASSIGNED.search(text)
    states = nb.get("metadata", {}).get("widgets", {}).get("application/vnd.jupyter.widget-state+json", {})
    assert states.get("state") and not [
        m for m in states["state"].values() if m.get("model_name") == "PasswordModel"
    ]

    assert not lab_server.external_requests, (
        f"the page tried to leave loopback: {lab_server.external_requests}"
    )


def _saved_files(root: Path) -> dict[str, str]:
    files = {
        "interactive.ipynb": root / "interactive.ipynb",
        "checkpoint": root / ".ipynb_checkpoints" / "interactive-checkpoint.ipynb",
        "paired .py": root / "sources" / "interactive.py",  # jupytext's pairing (notebooks/jupytext.toml)
    }
    return {name: path.read_text(encoding="utf-8") for name, path in files.items() if path.is_file()}


def test_a_typed_key_is_never_saved(lab_page: Any, lab_server: Any, playwright_sync: Any) -> None:
    """The exact sequence of the leak: type the key, no Enter, toolbar Save with widget state on; then the
    same after Enter. The saved notebook and its checkpoint never hold the key."""
    expect = playwright_sync.expect
    page = lab_page
    nb_path = lab_server.root / "interactive.ipynb"
    checkpoint = lab_server.root / ".ipynb_checkpoints" / "interactive-checkpoint.ipynb"
    page.goto(lab_server.url("lab/tree/interactive.ipynb"))
    expect(
        page.locator(".jp-StatusBar-TextItem").filter(has_text=re.compile(r"^(?!No Kernel).+ \| Idle$"))
    ).to_have_count(1, timeout=45_000)
    _menu(page, "Run", "Run All Cells")
    prompt = page.locator("input.jp-Stdin-input")
    expect(prompt).to_have_count(1, timeout=30_000)
    prompt.click()
    prompt.press_sequentially(TYPED_KEY)  # typed, no Enter
    expect(prompt).to_have_value(TYPED_KEY)

    before = checkpoint.stat().st_mtime_ns if checkpoint.exists() else 0
    page.locator(".jp-NotebookPanel-toolbar [data-command='docmanager:save']").click()
    _wait_for_saved(nb_path)
    deadline = time.monotonic() + 60  # a bound, not a wait: a loaded machine can take 20 s to save
    while not (checkpoint.exists() and checkpoint.stat().st_mtime_ns != before):
        assert time.monotonic() < deadline, "the toolbar Save made no checkpoint"
        time.sleep(0.2)
    saved = _saved_files(lab_server.root)
    assert {"interactive.ipynb", "checkpoint"} <= set(saved)
    assert "widget-state+json" in saved["interactive.ipynb"]  # widget state was saved with it
    for name, text in saved.items():
        assert TYPED_KEY not in text and "typed-in-the-browser" not in text, f"the key is in {name}"

    # Submitted: it reaches the kernel (the status says so, masked) and still lands in no saved file.
    prompt.press("Enter")
    expect(page.get_by_text(re.compile(r"Key set for this kernel")).first).to_be_visible(timeout=30_000)
    expect(page.locator(".widget-dropdown select").filter(has_text="simulated").first).to_have_value("auto")
    page.locator(".jp-NotebookPanel-toolbar [data-command='docmanager:save']").click()
    time.sleep(1.0)
    _wait_for_saved(nb_path)
    for name, text in _saved_files(lab_server.root).items():
        assert TYPED_KEY not in text and "typed-in-the-browser" not in text, f"the key is in {name}"
        assert not KEY_LIKE.search(text.replace("sk-ant-...", "")), f"a key-shaped text is in {name}"
    assert not lab_server.external_requests, lab_server.external_requests
