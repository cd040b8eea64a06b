"""Tables for a reader: narrow HTML, human headers, cost first, numbers right-aligned, dollars formatted,
long ids shortened (the full id on hover); a headline strip; a title made from the runs.

Everything here returns HTML strings (``IPython.display.HTML`` shows them; nbconvert keeps them in the
exported report). The data itself is unchanged: the files written next to the runs keep full precision.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from ..money import format_usd
from .style import GLOSSARY, label

if TYPE_CHECKING:
    import pandas as pd

    from .loader import Runs

__all__ = ["CSS", "headline", "html_table", "report_title"]

# Scoped to .okit so a notebook's own styles are untouched; the report page gets the same rules.
CSS = """<style>
table.okit-table{border-collapse:collapse;font-size:13px;margin:4px 0 14px;max-width:100%;width:auto}
table.okit-table th{font-weight:600;text-align:left;border-bottom:1px solid #999;padding:3px 9px;vertical-align:bottom}
table.okit-table td{text-align:left;border-bottom:1px solid #e4e4e4;padding:3px 9px;white-space:nowrap}
table.okit-table td.num,table.okit-table th.num{text-align:right;font-variant-numeric:tabular-nums}
table.okit-table tr.total td{font-weight:600;border-top:1px solid #999}
div.okit-strip{display:flex;flex-wrap:wrap;gap:10px;margin:8px 0 16px;max-width:1300px}
div.okit-card{border:1px solid #ddd;border-radius:6px;padding:8px 14px;min-width:130px}
div.okit-card .v{font-size:20px;font-weight:600;font-variant-numeric:tabular-nums}
div.okit-card .k{font-size:12px;color:#555}
p.okit-note{font-size:12px;color:#555;max-width:1100px}
.jp-RenderedImage img{max-width:100%;height:auto}
</style>"""


def _is_na(v: Any) -> bool:
    import pandas as pd

    return v is None or (not isinstance(v, str | bytes) and bool(pd.isna(v)))


def _usd(v: Any) -> str:
    return "unknown" if _is_na(v) else format_usd(Decimal(str(v)))


def _fmt(col: str, v: Any) -> tuple[str, bool, str]:
    """(text, is_number, hover) for one cell."""
    if col.endswith("_usd"):
        return _usd(v), True, ""
    if _is_na(v):
        return "", False, ""
    if col.endswith("_pct"):
        return f"{float(v):.1f}%", True, ""
    if col in ("pass_rate", "completeness", "executable_share", "quality") and isinstance(v, int | float):
        return f"{float(v):.0%}" if col != "quality" else f"{float(v):.2f}", True, ""
    if isinstance(v, bool):
        return ("yes" if v else "no"), False, ""
    if isinstance(v, int):
        return f"{v:,}", True, ""
    if isinstance(v, float):
        return (f"{v:,.0f}" if v.is_integer() and abs(v) >= 100 else f"{v:,.2f}"), True, ""
    text = str(v)
    if col in ("run_id", "run") and len(text) > 14:  # 20261201T001514386453Z-574a87 -> 12-01 00:15 574a87
        short = f"{text[4:6]}-{text[6:8]} {text[9:11]}:{text[11:13]} {text.rsplit('-', 1)[-1]}"
        return short, False, text
    if len(text) > 48:
        return text[:45] + "…", False, text
    return text, False, ""


def html_table(
    table: pd.DataFrame, columns: Sequence[str] | None = None, *, total_label: str | None = None
) -> str:
    """``table`` as a narrow HTML table: the cost column first (after the row's name), human headers,
    right-aligned numbers. ``columns`` picks and orders the columns (default: all but ``*_exact``);
    ``total_label`` marks the last row as a total."""
    cols = [c for c in (columns or table.columns) if c in table.columns and not c.endswith("_exact")]
    if "cost_usd" in cols and cols[0] != "cost_usd":
        cols.remove("cost_usd")
        cols.insert(1 if len(cols) > 1 else 0, "cost_usd")
    if table.empty:
        return f'{CSS}<p class="okit-note">no rows</p>'
    numeric = {c for c in cols if table[c].dtype.kind in "iuf" or c.endswith("_usd")}
    head = "".join(f'<th class="{"num" if c in numeric else ""}">{html.escape(label(c))}</th>' for c in cols)
    body = []
    last = len(table) - 1
    for i, row in enumerate(table[cols].itertuples(index=False, name=None)):
        cells = []
        for c, v in zip(cols, row, strict=True):
            text, is_num, hover = _fmt(c, v)
            attrs = ' class="num"' if is_num or c in numeric else ""
            attrs += f' title="{html.escape(hover)}"' if hover else ""
            cells.append(f"<td{attrs}>{html.escape(text)}</td>")
        cls = ' class="total"' if total_label and i == last else ""
        body.append(f"<tr{cls}>{''.join(cells)}</tr>")
    return (
        f'{CSS}<table class="okit-table"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'
    )


def _card(value: str, key: str, hover: str = "") -> str:
    title = f' title="{html.escape(hover)}"' if hover else ""
    return f'<div class="okit-card"{title}><div class="v">{html.escape(value)}</div><div class="k">{html.escape(key)}</div></div>'


def headline(runs: Runs) -> str:
    """The strip a reader sees first: runs, billed (or would-be) total, cost per run (median and range),
    caching savings, wasted spend, truncated artifacts, failed runs."""
    r = runs.runs
    if r.empty:
        return f'{CSS}<p class="okit-note">no runs yet</p>'
    simulated = r["mode"] == "simulated"
    billed = r.loc[~simulated, "cost_usd"].sum(min_count=1)
    would_be = r.loc[simulated, "cost_usd"].sum(min_count=1)
    cost = r["cost_usd"].dropna()
    failed = int((~r["status"].isin(["completed"])).sum())
    truncated = (
        int(runs.artifacts["truncated"].fillna(False).astype(bool).sum()) if len(runs.artifacts) else 0
    )
    cards = [_card(f"{len(r):,}", "runs")]
    if (~simulated).any():
        cards.append(_card(_usd(billed), "billed"))
    if simulated.any():
        cards.append(
            _card(_usd(would_be), "would-be cost (simulated)", "nothing was billed for simulated runs")
        )
    if len(cost):
        spread = f"{_usd(cost.min())} – {_usd(cost.max())}"
        cards.append(_card(_usd(cost.median()), f"median cost per run ({spread})"))
    cards += [
        _card(_usd(r["cache_savings_usd"].sum(min_count=1)), "saved by prompt caching"),
        _card(_usd(r["wasted_usd"].sum(min_count=1)), "wasted (failed attempts, re-asks)"),
        _card(f"{truncated:,}", "truncated artifacts"),
        _card(f"{failed:,}", "runs not completed"),
    ]
    return (
        f'{CSS}<div class="okit-strip">{"".join(cards)}</div><p class="okit-note">{html.escape(GLOSSARY)}</p>'
    )


def report_title(runs: Runs, fallback: str = "Cost report") -> str:
    """ "<project or sweep> · <first day> – <last day>" from the runs themselves."""
    r = runs.runs
    if r.empty:
        return fallback
    sweeps = r["sweep"].dropna().unique().tolist() if "sweep" in r else []
    projects = r["project_name"].dropna().unique().tolist()
    if sweeps:
        name = f"Sweep {sweeps[0]}" if len(sweeps) == 1 else f"{len(sweeps)} sweeps"
    elif len(projects) == 1:
        name = str(projects[0])
    else:
        name = f"{len(projects)} projects"
    days = r["started_at"].dropna()
    if days.empty:
        return f"{fallback}: {name}"
    first, last = days.min().strftime("%Y-%m-%d"), days.max().strftime("%Y-%m-%d")
    when = first if first == last else f"{first} – {last}"
    return f"{fallback}: {name} · {when}"
