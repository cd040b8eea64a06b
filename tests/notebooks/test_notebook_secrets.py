"""No key lands anywhere: every notebook runs with a known fake key in the environment (the only way a
key reaches a kernel), then every file produced is scanned for it.

The key is really used: the workflow runs in real mode against the fake Messages API on 127.0.0.1,
which accepts only that key (the SDK in the kernel finds ANTHROPIC_API_KEY and ANTHROPIC_BASE_URL in the
environment it inherited). A second server refuses it, so an authentication error and its traceback land
in an executed notebook too. Widget state is stored (papermill's default) for the interactive notebook.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from nbhelpers import FAKE_KEY, clean_env, execute, simulated_responder

from orchestrator_kit.report.html import build_report
from orchestrator_kit.testing import FakeAnthropicServer

FRAGMENTS = (FAKE_KEY, "FAKE-KEY-FOR-TESTS-ONLY")


@pytest.fixture(scope="module")
def produced(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    from papermill.exceptions import PapermillExecutionError

    out = tmp_path_factory.mktemp("secrets")
    grid = out / "grid.yaml"
    grid.write_text(
        "mode: auto\nrequests: [Build a todo app]\nsettings: [{agents: [architect, developer]}]\n"
    )
    with (
        FakeAnthropicServer(require_key=FAKE_KEY, responder=simulated_responder) as srv,
        clean_env(ANTHROPIC_API_KEY=FAKE_KEY, ANTHROPIC_BASE_URL=srv.base_url),
    ):
        execute(
            "workflow.ipynb", out / "workflow_real.ipynb", {"mode": "real", "output_dir": "runs"}, cwd=out
        )
        execute(
            "batch.ipynb",
            out / "batch.ipynb",
            {"grid_path": str(grid), "output_dir": "batch"},
            cwd=out,
        )
        execute("cost_report.ipynb", out / "cost_report.ipynb", {"runs_dir": "runs"}, cwd=out)
        build_report(out / "batch" / "runs", out / "report.html")
        execute("interactive.ipynb", out / "interactive.ipynb", cwd=out)  # widget state stored
        key_headers = {
            r.headers.get("x-api-key") or r.headers.get("authorization", "").removeprefix("Bearer ")
            for r in srv.requests
            if r.path == "/v1/messages"
        }
    with (
        FakeAnthropicServer(require_key="sk-ant-not-the-one-the-kernel-has") as other,
        clean_env(ANTHROPIC_API_KEY=FAKE_KEY, ANTHROPIC_BASE_URL=other.base_url),
        pytest.raises(PapermillExecutionError) as refused,
    ):
        execute(
            "workflow.ipynb", out / "workflow_refused.ipynb", {"mode": "real", "output_dir": "runs"}, cwd=out
        )
    return {"out": out, "key_headers": key_headers, "refused": refused.value}


@pytest.mark.slow
def test_the_key_reached_the_kernels_through_the_environment(produced) -> None:
    assert produced["key_headers"] == {FAKE_KEY}
    assert produced["refused"].ename == "AuthError"
    for fragment in FRAGMENTS:
        assert fragment not in str(produced["refused"])


@pytest.mark.slow
def test_no_file_produced_holds_the_key(produced) -> None:
    out: Path = produced["out"]
    files = [p for p in out.rglob("*") if p.is_file()]
    names = {p.name for p in files}
    # what was scanned: executed notebooks (with metadata), run folders, tables, figures, HTML, sweep files
    assert {
        "workflow_real.ipynb",
        "workflow_refused.ipynb",
        "batch.ipynb",
        "cost_report.ipynb",
        "interactive.ipynb",
        "report.html",
        "sweep_summary.csv",
        "sweep.json",
        "manifest.json",
        "state.json",
        "calls.jsonl",
        "responses.jsonl",
        "summary.json",
        "cost_by_agent.parquet",
        "cost_by_agent.png",
        "r00-m00-s00.ipynb",
    } <= names
    assert len([p for p in files if p.parent.parent.name == "runs" or p.parent.name == "runs"]) > 0
    leaks = [str(p.relative_to(out)) for p in files for f in FRAGMENTS if f.encode() in p.read_bytes()]
    assert leaks == []


@pytest.mark.slow
def test_interactive_notebook_stored_its_widget_state_without_the_key(produced) -> None:
    import nbformat

    nb = nbformat.read(produced["out"] / "interactive.ipynb", as_version=4)
    state = (
        nb.metadata.get("widgets", {}).get("application/vnd.jupyter.widget-state+json", {}).get("state", {})
    )
    assert state and not [m for m in state.values() if m.get("model_name") == "PasswordModel"]
    labels = " ".join(
        str(m["state"].get("value", "")) for m in state.values() if m.get("model_name") == "HTMLModel"
    )
    assert "Key found in the environment (ANTHROPIC_API_KEY), ending …0000." in labels
    # app.key.ask() found the key and did not prompt (papermill has no stdin): it said so in its cell.
    text = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))
    assert "A key is already set" in text
