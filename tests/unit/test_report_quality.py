"""Dollars by token kind, quality per run and per model, the frontier, and the reader's tables."""

from __future__ import annotations

import math
import re
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest

import orchestrator_kit as ok
from orchestrator_kit.llm.pricing import cost_of
from orchestrator_kit.llm.types import Usage
from orchestrator_kit.report import quality
from orchestrator_kit.report.present import headline, html_table, report_title
from orchestrator_kit.report.style import KIND_COLORS, LABELS, label, model_colors


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> ok.report.loader.Runs:  # type: ignore[name-defined]
    root = tmp_path_factory.mktemp("runs")
    for model in ("claude-sonnet-5-5", "claude-haiku-5-5"):
        ok.run_workflow("a csv to json converter", mode="simulated", model=model, output_dir=root)
    return ok.load_runs(root)


def test_dollars_by_kind_add_up_to_the_ledger_cost(runs) -> None:
    table = quality.money_by_kind(runs.calls, "agent")
    assert list(table["agent"])[:2] == ["architect", "data"]
    assert table["cost_usd"].sum() == pytest.approx(runs.calls["cost_usd"].sum(), rel=1e-9)
    assert (table["output_usd"] > 0).all()


def test_dollars_by_kind_use_the_price_table_per_call() -> None:
    calls = pd.DataFrame(
        [
            {
                "agent": "a",
                "model": "claude-sonnet-5-5",
                "input_tokens": 1000,
                "output_tokens": 200,
                "cache_write_5m_tokens": 0,
                "cache_write_1h_tokens": 0,
                "cache_read_tokens": 3000,
            },
            {
                "agent": "a",
                "model": "no-such-model",
                "input_tokens": 5,
                "output_tokens": 5,
                "cache_write_5m_tokens": 0,
                "cache_write_1h_tokens": 0,
                "cache_read_tokens": 0,
            },
        ]
    )
    expected = cost_of(
        Usage(input_tokens=1000, output_tokens=200, cache_read_tokens=3000), "claude-sonnet-5-5"
    )
    row = quality.money_by_kind(calls.iloc[:1], "agent").iloc[0]
    assert Decimal(str(row["cache_read_usd"])) == pytest.approx(expected.cache_read)
    assert row["cost_usd"] == pytest.approx(float(expected.total))
    unknown = quality.money_by_kind(calls.iloc[1:], "agent").iloc[0]
    assert math.isnan(unknown["cost_usd"])  # unknown price: unknown, never $0


def test_batch_lines_are_priced_at_half() -> None:
    base = {
        "agent": "a",
        "model": "claude-sonnet-5-5",
        "input_tokens": 1000,
        "output_tokens": 1000,
        "cache_write_5m_tokens": 0,
        "cache_write_1h_tokens": 0,
        "cache_read_tokens": 0,
    }
    calls = pd.DataFrame([{**base, "batch_id": None}, {**base, "agent": "b", "batch_id": "msgbatch_1"}])
    t = quality.money_by_kind(calls, "agent").set_index("agent")
    assert t.loc["b", "cost_usd"] == pytest.approx(t.loc["a", "cost_usd"] / 2)


def test_frontier_keeps_only_undominated_points() -> None:
    assert quality.frontier_mask([1, 2, 3, 2], [0.5, 0.9, 0.8, 0.4]) == [True, True, False, False]
    assert quality.frontier_mask([1, float("nan")], [0.5, 0.9]) == [True, False]
    assert quality.frontier_mask([1, 1], [0.5, 0.5]) == [True, True]  # ties dominate nobody


def test_quality_per_run_without_evaluations_uses_the_review(runs) -> None:
    per_run = quality.quality_per_run(runs.runs, None)
    assert per_run["quality"].between(0, 1).all()
    assert (per_run["quality"] == per_run["review_score"] / 10).all()


def test_quality_by_model_has_spread_and_frontier(runs) -> None:
    per_run = quality.quality_per_run(runs.runs, runs.evaluations)
    groups = quality.quality_by(per_run, ["model", "setting"])
    assert sorted(groups["model"]) == ["claude-haiku-5-5", "claude-sonnet-5-5"]
    assert (groups["runs"] == 1).all() and groups["frontier"].any()
    assert {"cost_median_usd", "cost_low_usd", "cost_high_usd", "quality_sd"} <= set(groups.columns)


def test_html_table_is_for_reading(runs) -> None:
    table = runs.runs[["run_id", "status", "calls", "cost_usd", "review_score"]]
    out = html_table(table)
    headers = re.findall(r"<th[^>]*>([^<]*)</th>", out)
    assert headers == ["Run", "Cost", "Status", "Calls", "Review (0-10)"]  # human headers, cost first
    full = runs.runs["run_id"].iloc[0]
    assert f'title="{full}"' in out and f">{full}<" not in out  # shortened, full id on hover
    assert re.search(r'<td class="num">\$0\.\d{4}</td>', out)  # dollars formatted, right-aligned
    assert "_usd" not in out.split("</style>")[1]


def test_unknown_cost_shows_unknown_not_zero() -> None:
    out = html_table(pd.DataFrame({"model": ["x"], "cost_usd": [float("nan")]}))
    assert ">unknown<" in out and "$0" not in out


def test_headline_and_title(runs) -> None:
    strip = headline(runs)
    for key in (
        "runs",
        "would-be cost (simulated)",
        "median cost per run",
        "saved by prompt caching",
        "wasted",
        "truncated artifacts",
        "runs not completed",
    ):
        assert key in strip
    assert "billed<" not in strip  # nothing real was billed
    title = report_title(runs)
    assert title.startswith("Cost report: Untitled project · 20")


def test_one_style_everywhere() -> None:
    assert label("cost_usd") == "Cost" and label("input_tokens") == LABELS["input_tokens"]
    assert label("some_new_usd") == "Some new $"
    colors = model_colors(["b", "a", "b"])
    assert list(colors) == ["a", "b"] and colors == model_colors(["a", "b"])
    assert len(set(KIND_COLORS.values())) == len(KIND_COLORS)


def test_standard_figures_include_money_and_quality(runs, tmp_path: Path) -> None:
    from orchestrator_kit.report import export

    written = export.write_run_outputs(runs, tmp_path)
    names = {p.name for p in written}
    for name in ("money_by_agent.png", "money_by_phase.png", "quality_vs_cost.png", "quality_by_model.csv"):
        assert name in names


def test_figures_rendered_once_are_written_as_rendered(runs, tmp_path: Path, monkeypatch) -> None:
    """The workflow notebook renders each figure once: the PNG it shows is the file it writes."""
    from orchestrator_kit.report import export, figures

    tabs = export.standard_tables(runs)
    pngs = export.render_figures(export.standard_figures(runs, tabs))
    assert set(pngs) == set(export.standard_figures(runs, tabs))
    marked = {name: png + b"rendered-once" for name, png in pngs.items()}  # written as given, not redrawn
    written = export.write_run_outputs(runs, tmp_path, tabs=tabs, figs=marked)
    on_disk = {p.stem: p.read_bytes() for p in written if p.suffix == ".png"}
    assert on_disk == marked
    shown: list[bytes] = []
    monkeypatch.setattr("IPython.display.display", lambda image: shown.append(image.data))
    figures.show(pngs["cost_by_agent"])
    assert shown == [pngs["cost_by_agent"]]
