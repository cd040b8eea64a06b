"""Results: an artifact browser with preview, token and cost tables, and figures, for one run folder
(or a folder of runs). Tables are HTML widgets and figures Image widgets (PNG bytes), so the panel can
be filled from any thread, with no Output-widget capture involved. A Markdown artifact is previewed
rendered: its text goes to an Output widget as ``text/markdown`` display data (set, not captured), which
Jupyter renders and sanitizes like any Markdown output."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import ipywidgets as w

PREVIEW_CHARS = 20_000
MARKDOWN_SUFFIXES = (".md", ".markdown")
EMPTY = "<i>No results yet: run the workflow, or call show(run_dir).</i>"


def _table_html(df: Any) -> str:
    from ..report.tables import styled

    return styled(df).to_html()


class ResultsPanel(w.VBox):
    """``show(run_dir)`` loads the run folder(s) and fills four tabs: artifacts, tokens, cost, figures."""

    def __init__(self, **kwargs: Any) -> None:
        self.heading = w.HTML(EMPTY)
        self.artifact_list = w.Select(options=[], rows=10, layout=w.Layout(width="300px"))
        self.preview = w.HTML(layout=w.Layout(width="100%", max_height="420px", overflow="auto"))
        self.markdown = w.Output(layout=w.Layout(width="100%", max_height="420px", overflow="auto"))
        wide = {"width": "100%", "overflow": "auto"}  # wide tables scroll instead of being cut off
        self.tokens = w.HTML(layout=w.Layout(**wide))
        self.cost = w.HTML(layout=w.Layout(**wide))
        self.figures = w.VBox()
        self.tabs = w.Tab(
            children=[
                w.HBox(
                    [self.artifact_list, w.VBox([self.preview, self.markdown], layout=w.Layout(width="100%"))]
                ),
                self.tokens,
                self.cost,
                self.figures,
            ],
            titles=("Artifacts", "Tokens", "Cost", "Figures"),
        )
        super().__init__([self.heading, self.tabs], **kwargs)
        self.runs: Any = None
        self._paths: dict[str, Path] = {}
        self.artifact_list.observe(self._on_select, names="value")

    def clear(self, heading: str = EMPTY) -> None:
        """Forget the results shown (a new run started): nothing of the previous run stays on screen."""
        self.runs, self._paths = None, {}
        self.heading.value = heading
        self.artifact_list.options = []
        self.preview.value = ""
        self.markdown.outputs = ()
        self.tokens.value = self.cost.value = ""
        self.figures.children = ()

    def show(self, source: str | Path | Any) -> None:
        """Show a run folder, a folder of runs, or a ``Runs`` object from ``load_runs``."""
        from ..report import export, figures, tables
        from ..report.loader import Runs, load_runs

        runs = source if isinstance(source, Runs) else load_runs(source)
        self.runs = runs
        tabs = export.standard_tables(runs)
        note = export.basis_note(runs)
        self.heading.value = html.escape(f"{runs.describe()}" + (f" · {note}" if note else ""))
        arts = runs.artifacts
        multi = arts["run_id"].nunique() > 1
        self._paths = {
            (f"{str(r.run_id)[-6:]} " if multi else "") + f"{r.agent}/{r.filename}": Path(str(r.path))
            for r in arts.itertuples()
        }
        self.artifact_list.options = list(self._paths)
        self.artifact_list.value = next(iter(self._paths), None)
        if not self._paths:
            self.preview.value = "<i>no artifacts</i>"
        self.tokens.value = (
            _table_html(tables.with_total(tabs["tokens_by_kind"]))
            + "<h4>By phase</h4>"
            + _table_html(tables.tokens_by_kind(runs.calls, "phase"))
        )
        self.cost.value = (
            "<h4>Per agent and phase</h4>"
            + _table_html(tables.with_total(tabs["cost_by_agent"]))
            + "<h4>Per model</h4>"
            + _table_html(tabs["cost_by_model"])
            + "<h4>Estimate vs actual</h4>"
            + _table_html(tabs["estimate_vs_actual"])
        )
        self.figures.children = tuple(
            w.Image(value=figures.to_png(fig), format="png", layout=w.Layout(max_width="720px"))
            for fig in export.standard_figures(runs, tabs).values()
        )

    def _on_select(self, change: dict[str, Any]) -> None:
        path = self._paths.get(change["new"] or "")
        if path is None:
            return
        text = path.read_text(encoding="utf-8", errors="replace")
        more = (
            f"\n\n... ({len(text) - PREVIEW_CHARS:,} more characters in {path})"
            if len(text) > PREVIEW_CHARS
            else ""
        )
        self.markdown.outputs = ()
        if path.suffix.lower() in MARKDOWN_SUFFIXES:
            self.preview.value = ""
            shown = text[:PREVIEW_CHARS] + more
            data = {"text/markdown": shown, "text/plain": shown}
            self.markdown.outputs = ({"output_type": "display_data", "data": data, "metadata": {}},)
            return
        self.preview.value = (
            f"<pre style='white-space:pre-wrap'>{html.escape(text[:PREVIEW_CHARS] + more)}</pre>"
        )


__all__ = ["ResultsPanel"]
