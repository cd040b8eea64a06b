"""The cost report: notebooks/cost_report.ipynb through papermill, exported as self-contained HTML."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from nbhelpers import clean_env

import orchestrator_kit as ok
from orchestrator_kit.errors import BudgetExceeded, NotARunError
from orchestrator_kit.report.html import build_report

REQUEST = "Build a command-line tool that converts CSV files to JSON"
SECTIONS = (
    "Where the money went",
    "Quality per dollar",
    "Runs",
    "Cost by model and phase",
    "Tokens by kind",
    "Estimate vs actual",
    "Caching savings and wasted spend",
    "Spend over the calls",
)


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    tmp = tmp_path_factory.mktemp("report")
    runs = tmp / "runs"
    with clean_env():
        done = [
            ok.run_workflow(REQUEST, project_name="csv2json", output_dir=runs, mode="simulated", model=m)
            for m in ("claude-sonnet-5-5", "claude-haiku-5-5")
        ]
        with pytest.raises(BudgetExceeded):
            ok.run_workflow(
                REQUEST, project_name="capped", output_dir=runs, mode="simulated", budget_usd=0.02
            )
        half = shutil.copytree(done[0].run_dir, runs / "29990101T000000000000Z-aaaaaa")
        (half / "summary.json").unlink()
        state = json.loads((half / "state.json").read_text())
        (half / "state.json").write_text(json.dumps({**state, "status": "running"}))
        html = build_report(runs, tmp / "site" / "report.html", title="Grid of four")
    return {"html": html, "text": html.read_text(encoding="utf-8"), "runs": runs, "done": done}


@pytest.mark.slow
def test_report_is_written_where_asked(report) -> None:
    assert report["html"].is_file() and report["html"].parent.name == "site"
    assert "<title>Grid of four</title>" in report["text"]
    assert "4 runs (2 completed, 1 budget_exceeded, 1 running)" in report["text"]


@pytest.mark.slow
def test_report_has_its_sections_tables_and_figures(report) -> None:
    text = report["text"]
    for heading in SECTIONS:
        assert f">{heading}<" in text
    for run in report["done"]:
        assert run.run_id in text
    for header in (
        "Cost",
        "Cache saved",
        "Wasted",
        "Estimate",
        "Review (0-10)",
        "Cache read",
        "Input $",
        "Quality",
    ):
        assert f">{header}</th>" in text
    assert "_usd</th>" not in text and "_tokens</th>" not in text  # human headers only
    assert "would-be cost (simulated)" in text and "median cost per run" in text  # the headline strip
    assert "simulated runs land below the estimate" in text  # the reason, in full, not in a clipped subtitle
    assert "claude-haiku-5-5" in text and "claude-sonnet-5-5" in text
    assert len(re.findall(r'src="data:image/png;base64,', text)) == 6  # every figure, embedded


@pytest.mark.slow
def test_report_is_self_contained_and_has_no_code(report) -> None:
    text = report["text"]
    assert not re.search(r"<script[^>]+src=", text)
    assert not re.search(r'<link[^>]+href="https?:', text)
    body = re.sub(r"<(style|script)[^>]*>.*?</\1>", "", text, flags=re.S)
    assert 'class="highlight' not in body and "jp-InputPrompt" not in body  # no code cell inputs
    assert "--nbval" not in body and "self-contained HTML" not in body  # the how-to cell is left out
    for code in ("load_runs(", "standard_tables", "figures.show", "import "):
        assert code not in body


@pytest.mark.slow
def test_report_title_comes_from_the_runs(report, tmp_path: Path) -> None:
    with clean_env():
        text = build_report(report["runs"], tmp_path / "titled.html").read_text()
    assert re.search(r"<title>Cost report: 2 projects · 20\d\d-\d\d-\d\d</title>", text)


@pytest.mark.slow
def test_report_on_an_empty_folder(tmp_path: Path) -> None:
    (tmp_path / "runs").mkdir()
    with clean_env():
        text = build_report(tmp_path / "runs", tmp_path / "empty.html").read_text()
    assert "no runs in" in text and ">Runs<" in text


def test_missing_runs_folder_fails_before_any_kernel(tmp_path: Path) -> None:
    with pytest.raises(NotARunError, match="not a folder"):
        build_report(tmp_path / "missing", tmp_path / "r.html")
