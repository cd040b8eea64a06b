"""Tables from the frames of ``load_runs``: pure functions, DataFrame in, DataFrame out.

Money columns are floats in USD; NaN means unknown (a model without a price), never $0. Where a sum
is shown exactly, the ``cost_usd_exact`` column holds the Decimal sum of the ledger's strings.
Every function returns its columns even for an empty input.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from ..records import TOKEN_KINDS

if TYPE_CHECKING:
    import pandas as pd
    from pandas.io.formats.style import Styler

By = str | Iterable[str]
COST_COLUMNS = (
    "calls",
    "attempts",
    "failed_attempts",
    "reasks",
    *TOKEN_KINDS,
    "total_tokens",
    "cost_usd",
    "cost_usd_exact",
    "wasted_usd",
    "cache_savings_usd",
    "share_pct",
)


def _keys(by: By) -> list[str]:
    return [by] if isinstance(by, str) else list(by)


def _dec_sum(values: Iterable[object]) -> str:
    return str(sum((Decimal(str(v)) for v in values if isinstance(v, str) and v), Decimal(0)))


def cost_by(calls: pd.DataFrame, by: By = "agent") -> pd.DataFrame:
    """Calls, tokens by kind, cost, waste and cache savings per ``by`` (a column or a list of columns),
    in order of first appearance, with each group's share of the total cost in percent."""
    keys = _keys(by)
    df = calls.assign(
        _ok=calls["status"] != "error",
        _fail=calls["status"] == "error",
        _reask=calls["step"] == "reask",
        _unknown=~calls["cost_known"].astype(bool),
    )
    g = df.groupby(keys, sort=False, dropna=False)
    out = g.agg(
        calls=("_ok", "sum"),
        attempts=("status", "size"),
        failed_attempts=("_fail", "sum"),
        reasks=("_reask", "sum"),
        **{k: (k, "sum") for k in TOKEN_KINDS},
        total_tokens=("total_tokens", "sum"),
        cost_usd=("cost_usd", "sum"),
        wasted_usd=("wasted_usd", "sum"),
        cache_savings_usd=("cache_savings_usd", "sum"),
        _unknown=("_unknown", "any"),
    ).reset_index()
    out["cost_usd_exact"] = g["cost_usd_exact"].agg(_dec_sum).to_numpy()
    out = out.astype({"cost_usd_exact": "str"})
    unknown = out["_unknown"].astype(bool)
    out.loc[unknown, ["cost_usd", "cost_usd_exact", "cache_savings_usd"]] = float("nan")
    total = out["cost_usd"].sum(skipna=False)
    out["share_pct"] = (out["cost_usd"] / total * 100) if total else float("nan")
    for c in ("calls", "attempts", "failed_attempts", "reasks"):
        out[c] = out[c].astype("int64")
    return out[[*keys, *COST_COLUMNS]]


def tokens_by_kind(calls: pd.DataFrame, by: By = "agent") -> pd.DataFrame:
    """Tokens of each kind (input, output, cache writes 5m / 1h, cache reads) and their total, per ``by``."""
    keys = _keys(by)
    out = calls.groupby(keys, sort=False, dropna=False)[[*TOKEN_KINDS, "total_tokens"]].sum().reset_index()
    return out.astype(dict.fromkeys((*TOKEN_KINDS, "total_tokens"), "int64"))


def tokens_long(calls: pd.DataFrame, by: By = "agent") -> pd.DataFrame:
    """``tokens_by_kind`` in long form: one row per group and kind (``kind``, ``tokens``)."""
    keys = _keys(by)
    wide = tokens_by_kind(calls, keys).drop(columns="total_tokens")
    return wide.melt(id_vars=keys, var_name="kind", value_name="tokens")


def wasted_spend(calls: pd.DataFrame, by: By = "agent") -> pd.DataFrame:
    """Spend that bought nothing (failed attempts, re-asks of malformed output), per ``by``."""
    t = cost_by(calls, by)
    out = t[[*_keys(by), "failed_attempts", "reasks", "wasted_usd", "cost_usd"]].copy()
    out["wasted_pct"] = (out["wasted_usd"] / out["cost_usd"] * 100).where(out["cost_usd"] > 0)
    return out


def cache_savings(calls: pd.DataFrame, by: By = "agent") -> pd.DataFrame:
    """What prompt caching saved (reads at the cache price instead of the input price, less the write
    premium), per ``by``. ``cost_without_cache_usd`` is what the same calls would have cost uncached."""
    t = cost_by(calls, by)
    out = t[
        [
            *_keys(by),
            "cache_write_5m_tokens",
            "cache_write_1h_tokens",
            "cache_read_tokens",
            "cache_savings_usd",
            "cost_usd",
        ]
    ].copy()
    out["cost_without_cache_usd"] = out["cost_usd"] + out["cache_savings_usd"]
    out["savings_pct"] = (out["cache_savings_usd"] / out["cost_without_cache_usd"] * 100).where(
        out["cost_without_cache_usd"] > 0
    )
    return out


def estimate_vs_actual(runs: pd.DataFrame) -> pd.DataFrame:
    """Per run: the pre-run estimate (low, expected, high) against the actual cost."""
    out = (
        runs[
            [
                "run_id",
                "project_name",
                "model",
                "mode",
                "status",
                "estimate_low_usd",
                "estimate_usd",
                "estimate_high_usd",
                "cost_usd",
            ]
        ]
        .rename(columns={"cost_usd": "actual_usd"})
        .copy()
    )
    out["error_usd"] = out["actual_usd"] - out["estimate_usd"]
    out["error_pct"] = (out["error_usd"] / out["estimate_usd"] * 100).where(out["estimate_usd"] > 0)
    known = out[["estimate_low_usd", "estimate_high_usd", "actual_usd"]].notna().all(axis=1)
    inside = (out["actual_usd"] >= out["estimate_low_usd"]) & (out["actual_usd"] <= out["estimate_high_usd"])
    out["within_range"] = inside.astype("boolean").where(known)
    return out


def score_vs_cost(runs: pd.DataFrame) -> pd.DataFrame:
    """Per run: the reviewer's score (0-10) and the cost; ``usd_per_point`` is cost per score point."""
    out = runs[
        ["run_id", "project_name", "model", "mode", "status", "review_score", "cost_usd", "total_tokens"]
    ].copy()
    out["usd_per_point"] = (out["cost_usd"] / out["review_score"]).where(out["review_score"] > 0)
    return out


def run_overview(runs: pd.DataFrame) -> pd.DataFrame:
    """One row per run with what a reader looks at first."""
    return runs[
        [
            "run_id",
            "status",
            "mode",
            "model",
            "project_name",
            "calls",
            "input_tokens",
            "output_tokens",
            "total_tokens",
            "cost_usd",
            "cost_basis",
            "wasted_usd",
            "cache_savings_usd",
            "review_score",
            "design_rounds",
            "human_decisions",
            "waiting_s",
            "artifacts",
            "truncated_artifacts",
            "repairs",
            "duration_s",
        ]
    ].copy()


def artifact_table(artifacts: pd.DataFrame) -> pd.DataFrame:
    """The artifacts of one or more runs (without their absolute paths)."""
    return artifacts[["run_id", "agent", "filename", "kind", "chars", "lines", "truncated"]].copy()


def with_total(table: pd.DataFrame, label: str = "total") -> pd.DataFrame:
    """``table`` with a last row summing its numeric columns (NaN stays NaN: an unknown cost stays
    unknown); the first column holds ``label``. Percent columns total 100 (shares) or are left empty."""
    import pandas as pd

    if table.empty:
        return table.copy()
    row: dict[str, object] = {}
    for col in table.columns:
        s = table[col]
        if col == table.columns[0]:
            row[col] = label
        elif col == "cost_usd_exact":
            row[col] = float("nan") if s.isna().any() else _dec_sum(s)
        elif col == "share_pct":
            row[col] = 100.0 if s.notna().all() else float("nan")
        elif col.endswith("_pct") or pd.api.types.is_bool_dtype(s):
            row[col] = None
        elif pd.api.types.is_numeric_dtype(s):
            row[col] = s.sum(skipna=not col.endswith("_usd"))
        else:
            row[col] = ""
    return pd.concat([table, pd.DataFrame([row])], ignore_index=True)


def styled(table: pd.DataFrame) -> Styler:
    """``table`` for reading (a pandas Styler; the data is unchanged): dollars as ``$0.0712`` and an unknown
    cost as "unknown", percents with one decimal, counts with thousands separators, a cut-off artifact as
    "TRUNCATED"; no index and no ``*_exact`` columns (they repeat the dollar columns as exact strings)."""
    import pandas as pd

    from ..money import format_usd

    def usd(v: Any) -> str:  # a cell of any dtype
        return "unknown" if pd.isna(v) else format_usd(Decimal(str(v)))

    def pct(v: Any) -> str:  # a cell of any dtype
        return "" if pd.isna(v) else f"{v:.1f}%"

    def count(v: Any) -> str:  # a cell of any dtype
        return "" if pd.isna(v) else f"{v:,}"

    def number(v: Any) -> str:  # a cell of any dtype
        return "" if pd.isna(v) else f"{v:,.2f}"

    def truncated(v: Any) -> str:  # a cell of any dtype
        return "TRUNCATED" if v is not None and not pd.isna(v) and bool(v) else ""

    def text(v: Any) -> str:  # a cell of any dtype
        return "" if v is None or (isinstance(v, float) and pd.isna(v)) else str(v)

    formats: dict[str, Any] = {}
    exact: list[Hashable] = [c for c in table.columns if c.endswith("_exact")]
    for col in table.columns:
        dtype = table[col].dtype
        if col == "truncated":  # cut off at max_tokens: the content is incomplete
            formats[col] = truncated
        elif col.endswith("_usd"):
            formats[col] = usd
        elif col.endswith("_pct"):
            formats[col] = pct
        elif pd.api.types.is_integer_dtype(dtype):
            formats[col] = count
        elif pd.api.types.is_float_dtype(dtype):
            formats[col] = number
        else:
            formats[col] = text
    from .style import label

    styler = table.style.format(formats).hide(axis="index").hide(exact, axis="columns")
    return styler.format_index(
        lambda c: label(str(c)), axis="columns"
    )  # human headers: "Cost", "Input tokens", ...


__all__ = [
    "COST_COLUMNS",
    "artifact_table",
    "cache_savings",
    "cost_by",
    "estimate_vs_actual",
    "run_overview",
    "score_vs_cost",
    "styled",
    "tokens_by_kind",
    "tokens_long",
    "wasted_spend",
    "with_total",
]
