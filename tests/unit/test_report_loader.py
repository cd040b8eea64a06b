"""report.load_runs and report.tables over real run folders made by in-process runs.

The folders: two completed simulated runs (two models; one with a design round sent back), a run of a
model without a price (cost unknown), a real-mode run against the fake Messages API whose replies are
not JSON (it fails after spending on a re-ask: wasted spend), and a half-finished run: a completed run's
folder as a killed process leaves it (state "running", no summary.json, a torn last ledger line).
"""

from __future__ import annotations

import json
import shutil
import warnings
from decimal import Decimal
from pathlib import Path

import pytest
from documented import AGENT_ORDER

import orchestrator_kit as ok
from orchestrator_kit.errors import NotARunError, ParseError
from orchestrator_kit.llm.pricing import UnknownPriceWarning
from orchestrator_kit.report import figures, load_runs, tables
from orchestrator_kit.report.loader import ARTIFACT_COLUMNS, CALL_COLUMNS, RUN_COLUMNS
from orchestrator_kit.testing import FakeAnthropicServer

FAKE_KEY = "sk-ant-api03-FAKE-KEY-FOR-TESTS-ONLY-0000"
REQUEST = "Build a command-line tool that converts CSV files to JSON"


def _half_finished(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    (dst / "summary.json").unlink()
    state = json.loads((dst / "state.json").read_text())
    state["status"] = "running"
    (dst / "state.json").write_text(json.dumps(state))
    calls = (dst / "calls.jsonl").read_text()
    (dst / "calls.jsonl").write_text(calls + calls.splitlines()[0][:57])  # killed mid-line
    return dst


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    runs = tmp_path_factory.mktemp("runs")
    with pytest.MonkeyPatch.context() as mp:
        for name in ("ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL"):
            mp.delenv(name, raising=False)
        sonnet = ok.run_workflow(REQUEST, project_name="csv2json", output_dir=runs, mode="simulated")
        haiku = ok.run_workflow(
            REQUEST,
            project_name="csv2json",
            output_dir=runs,
            mode="simulated",
            model="claude-haiku-5-5",
            simulated_options={"consensus_rejections": 1},
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UnknownPriceWarning)
            unpriced = ok.run_workflow(
                REQUEST,
                output_dir=runs,
                mode="simulated",
                model="claude-mythos-5",
                allow_unknown_model=True,
                agents=["architect", "developer"],
            )
        with FakeAnthropicServer(require_key=FAKE_KEY) as srv:  # default replies are plain text, not JSON
            mp.setenv("ANTHROPIC_API_KEY", FAKE_KEY)
            mp.setenv("ANTHROPIC_BASE_URL", srv.base_url)
            with pytest.raises(ParseError):
                ok.run_workflow(REQUEST, output_dir=runs, mode="real", agents=["architect"])
    failed = next(
        p
        for p in runs.iterdir()
        if p.is_dir() and p.name not in {sonnet.run_id, haiku.run_id, unpriced.run_id}
    )
    half = _half_finished(sonnet.run_dir, runs / "20990101T000000000000Z-aaaaaa")
    return {
        "root": runs,
        "sonnet": sonnet.run_dir,
        "haiku": haiku.run_dir,
        "unpriced": unpriced.run_dir,
        "failed": failed,
        "half": half,
    }


@pytest.fixture(scope="module")
def runs(root: dict[str, Path]) -> ok.report.Runs:
    return load_runs(root["root"])


def _row(runs, path: Path):
    return runs.runs.set_index("run_id").loc[path.name]


def test_columns_and_types(runs) -> None:
    assert list(runs.calls.columns) == list(CALL_COLUMNS)
    assert list(runs.artifacts.columns) == list(ARTIFACT_COLUMNS)
    assert list(runs.runs.columns) == list(RUN_COLUMNS)
    assert len(runs) == 5
    assert runs.calls["input_tokens"].dtype == "int64"
    assert runs.calls["cost_usd"].dtype == "float64"
    import pandas as pd

    assert pd.api.types.is_string_dtype(runs.calls["cost_usd_exact"])
    assert str(runs.runs["started_at"].dtype).startswith("datetime64")


def test_zero_runs_give_empty_frames_with_columns(tmp_path: Path) -> None:
    empty = load_runs(tmp_path)
    assert empty.empty and "no runs" in empty.describe()
    assert list(empty.calls.columns) == list(CALL_COLUMNS) and empty.calls.empty
    assert list(empty.runs.columns) == list(RUN_COLUMNS)
    assert list(empty.artifacts.columns) == list(ARTIFACT_COLUMNS)
    assert empty.calls["total_tokens"].dtype == "int64"
    for table in (
        tables.cost_by(empty.calls, "agent"),
        tables.tokens_by_kind(empty.calls, "phase"),
        tables.estimate_vs_actual(empty.runs),
        tables.score_vs_cost(empty.runs),
        tables.cache_savings(empty.calls),
        tables.wasted_spend(empty.calls),
    ):
        assert table.empty and len(table.columns) > 2
    assert tables.with_total(tables.cost_by(empty.calls)).empty
    fig = figures.cost_bar(tables.cost_by(empty.calls), "agent")
    assert "no data" in [t.get_text() for t in fig.axes[0].texts]


def test_not_a_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(NotARunError, match="not a folder"):
        load_runs(tmp_path / "missing")
    (tmp_path / "file").write_text("x")
    with pytest.raises(NotARunError, match="not a folder"):
        load_runs(tmp_path / "file", missing_ok=True)
    assert load_runs(tmp_path / "missing", missing_ok=True).empty


def test_one_run_folder_as_root(root) -> None:
    one = load_runs(root["sonnet"])
    assert list(one.runs["run_id"]) == [root["sonnet"].name]
    assert set(one.calls["run_id"]) == {root["sonnet"].name}


def test_totals_match_the_engines_summary_exactly(runs, root) -> None:
    for key in ("sonnet", "haiku", "failed"):
        summary = json.loads((root[key] / "summary.json").read_text())
        row = _row(runs, root[key])
        assert row["cost_usd_exact"] == summary["totals"]["cost_usd"]
        assert row["total_tokens"] == summary["totals"]["total_tokens"]
        assert row["calls"] == summary["totals"]["calls"]
        assert row["status"] == summary["status"]
        calls = runs.calls[runs.calls["run_id"] == root[key].name]
        exact = sum((Decimal(c) for c in calls["cost_usd_exact"]), Decimal(0))
        assert exact == Decimal(summary["totals"]["cost_usd"])


def test_half_finished_run_is_derived_from_its_ledger(runs, root) -> None:
    row = _row(runs, root["half"])
    full = _row(runs, root["sonnet"])
    assert row["status"] == "running" and not row["has_summary"]
    assert row["calls"] == full["calls"]  # the torn line is skipped
    assert row["cost_usd_exact"] == full["cost_usd_exact"]
    assert row["review_score"] == full["review_score"]  # from state.json
    assert row["duration_s"] >= 0


def test_runs_rows(runs, root) -> None:
    haiku = _row(runs, root["haiku"])
    assert haiku["model"] == "claude-haiku-5-5" and haiku["mode"] == "simulated"
    assert haiku["design_rounds"] == 2 and bool(haiku["consensus_approved"])
    assert 0 <= haiku["review_score"] <= 10
    assert haiku["estimate_low_usd"] <= haiku["estimate_usd"] <= haiku["estimate_high_usd"]
    # Haiku 5.5 caches nothing below 4,096 tokens: this run's prompts are shorter, so no saving is claimed
    assert haiku["cost_basis"] == "estimate" and haiku["cache_savings_usd"] == 0
    assert _row(runs, root["sonnet"])["cache_savings_usd"] > 0
    failed = _row(runs, root["failed"])
    assert failed["status"] == "failed" and failed["error"].startswith("ParseError")
    assert failed["mode"] == "real" and failed["cost_basis"] == "actual"


def test_unknown_cost_stays_unknown(runs, root) -> None:
    row = _row(runs, root["unpriced"])
    assert row["cost_usd"] != row["cost_usd"]  # NaN, never 0
    by_model = tables.cost_by(runs.calls, "model").set_index("model")
    assert by_model.loc["claude-mythos-5", "cost_usd"] != by_model.loc["claude-mythos-5", "cost_usd"]
    assert by_model.loc["claude-sonnet-5-5", "cost_usd"] > 0
    total = tables.with_total(by_model.reset_index())
    assert total.iloc[-1]["cost_usd"] != total.iloc[-1]["cost_usd"]  # a sum with an unknown part is unknown
    html = tables.styled(total).to_html()
    assert html.count(">unknown<") == 4  # cost and cache savings of the unpriced model and of the total
    assert "$0.0" in html and "cost_usd_exact" not in html


def test_wasted_spend_from_reasks(runs, root) -> None:
    calls = runs.calls[runs.calls["run_id"] == root["failed"].name]
    assert calls["wasted"].all() and (calls["wasted_usd"] > 0).all()
    waste = tables.wasted_spend(calls, "agent").set_index("agent")
    assert waste.loc["architect", "reasks"] >= 1
    assert waste.loc["architect", "wasted_usd"] == pytest.approx(calls["cost_usd"].sum())
    assert waste.loc["architect", "wasted_pct"] == pytest.approx(100)
    assert _row(runs, root["failed"])["wasted_usd"] == pytest.approx(calls["cost_usd"].sum())


def test_cost_by_agent_is_exact_and_shares_sum_to_100(runs, root) -> None:
    calls = runs.calls[runs.calls["run_id"] == root["sonnet"].name]
    t = tables.cost_by(calls, ["agent", "phase"])
    assert list(t["agent"]) == AGENT_ORDER
    summary = json.loads((root["sonnet"] / "summary.json").read_text())
    for r in t.itertuples():
        assert r.cost_usd_exact == summary["agents"][r.agent]["cost_usd"]
        assert r.calls == summary["agents"][r.agent]["calls"]
    assert t["share_pct"].sum() == pytest.approx(100)
    totals = tables.with_total(t).iloc[-1]
    assert totals["agent"] == "total" and totals["cost_usd_exact"] == summary["totals"]["cost_usd"]


def test_tokens_by_kind_and_cache_savings(runs, root) -> None:
    calls = runs.calls[runs.calls["run_id"] == root["sonnet"].name]
    tok = tables.tokens_by_kind(calls, "phase")
    summary = json.loads((root["sonnet"] / "summary.json").read_text())
    for kind in ("input_tokens", "output_tokens", "cache_write_5m_tokens", "cache_read_tokens"):
        assert tok[kind].sum() == summary["totals"][kind]
    assert (
        tok[
            [
                "input_tokens",
                "output_tokens",
                "cache_write_5m_tokens",
                "cache_write_1h_tokens",
                "cache_read_tokens",
            ]
        ].sum(axis=1)
        == tok["total_tokens"]
    ).all()
    long = tables.tokens_long(calls, "agent")
    assert long["tokens"].sum() == summary["totals"]["total_tokens"]
    cache = tables.cache_savings(calls, "model").iloc[0]
    assert cache["cache_savings_usd"] == pytest.approx(float(summary["totals"]["cache_savings_usd"]))
    assert cache["cost_without_cache_usd"] == pytest.approx(cache["cost_usd"] + cache["cache_savings_usd"])


def test_estimate_vs_actual_and_score_vs_cost(runs, root) -> None:
    est = tables.estimate_vs_actual(runs.runs).set_index("run_id")
    r = est.loc[root["sonnet"].name]
    assert r["error_usd"] == pytest.approx(r["actual_usd"] - r["estimate_usd"])
    assert r["within_range"] == (r["estimate_low_usd"] <= r["actual_usd"] <= r["estimate_high_usd"])
    score = tables.score_vs_cost(runs.runs).set_index("run_id").loc[root["haiku"].name]
    assert score["usd_per_point"] == pytest.approx(score["cost_usd"] / score["review_score"])


def test_artifacts(runs, root) -> None:
    arts = runs.artifacts[runs.artifacts["run_id"] == root["sonnet"].name]
    on_disk = sorted(
        p.relative_to(root["sonnet"] / "artifacts").as_posix()
        for p in (root["sonnet"] / "artifacts").rglob("*")
        if p.is_file()
    )
    assert sorted(arts["agent"] + "/" + arts["filename"]) == on_disk
    dev = arts[arts["filename"] == "csv2json.py"].iloc[0]
    text = Path(dev["path"]).read_text()
    assert dev["kind"] == "python" and dev["chars"] == len(text) and dev["lines"] == len(text.splitlines())
    assert not arts["truncated"].any()
    assert _row(runs, root["sonnet"])["artifacts"] == len(arts)


def test_figures_are_built_without_pyplot(runs) -> None:
    import matplotlib.pyplot as plt

    before = plt.get_fignums()
    figs = [
        figures.cost_bar(tables.cost_by(runs.calls, "agent"), "agent"),
        figures.tokens_stacked(tables.tokens_by_kind(runs.calls, "agent")),
        figures.estimate_vs_actual(tables.estimate_vs_actual(runs.runs)),
        figures.score_vs_cost(tables.score_vs_cost(runs.runs)),
        figures.cumulative_spend(runs.calls),
    ]
    assert plt.get_fignums() == before
    for fig in figs:
        assert figures.to_png(fig).startswith(b"\x89PNG")
