"""The HTML report as a reader sees it: rendered by headless Chromium at 1,400 px wide.

Checks that the page needs no horizontal scrolling, that no table is wider than the page (or than the box
it sits in), and that every figure is present and decoded. Widths come from the browser's own layout
(``getBoundingClientRect`` and ``scrollWidth``), not from the HTML text.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

import orchestrator_kit as ok
from orchestrator_kit.report.html import build_report

pytestmark = [pytest.mark.browser, pytest.mark.slow]
WIDTH = 1400

MEASURE = """() => {
  const page = document.documentElement;
  const tables = [...document.querySelectorAll('table')].map(t => {
    const r = t.getBoundingClientRect();
    const box = t.parentElement;
    return {right: r.right, width: r.width, overflow: box.scrollWidth - box.clientWidth,
            cols: t.rows.length ? t.rows[0].cells.length : 0};
  });
  const images = [...document.querySelectorAll('img')].map(i => ({
    ok: i.complete && i.naturalWidth > 0, right: i.getBoundingClientRect().right}));
  return {pageScroll: page.scrollWidth, view: window.innerWidth, tables, images,
          headings: [...document.querySelectorAll('h1,h2')].map(h => h.textContent.replace('¶', '').trim())};
}"""


@pytest.fixture(scope="module")
def report_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("layout")
    runs = tmp / "runs"
    for model in ("claude-sonnet-5-5", "claude-haiku-5-5"):
        for _ in range(2):
            ok.run_workflow(
                "A command-line tool that converts CSV files to JSON",
                project_name="csv2json",
                mode="simulated",
                model=model,
                output_dir=runs,
                evaluate=True,
            )
    return build_report(runs, tmp / "report.html")


def test_report_fits_1400px_and_shows_every_figure(report_file: Path, chromium_page: Any) -> None:
    text = report_file.read_text(encoding="utf-8")
    expected_figures = len(re.findall(r'src="data:image/png;base64,', text))
    assert expected_figures >= 6
    chromium_page.goto(report_file.as_uri(), wait_until="load")
    m = chromium_page.evaluate(MEASURE)
    assert chromium_page.external_requests == [], "the report loads something from the network"
    assert m["view"] == WIDTH
    assert m["pageScroll"] <= WIDTH, "the page scrolls sideways at 1,400 px"
    assert m["tables"], "the report has no tables"
    for t in m["tables"]:
        assert t["right"] <= WIDTH and t["overflow"] <= 0, f"a table is wider than the page: {t}"
    assert len(m["images"]) == expected_figures
    assert all(i["ok"] and i["right"] <= WIDTH for i in m["images"]), m["images"]
    for heading in ("Where the money went", "Quality per dollar", "Estimate vs actual"):
        assert any(heading in h for h in m["headings"]), m["headings"]
