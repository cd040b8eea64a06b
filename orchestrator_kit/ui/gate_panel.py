"""The pending gate of a waiting run, in the run panel: the documents under review (markdown rendered), the
model's proposal, and Approve / Revise (with reasons) / Edit (an artifact's text) / Raise budget.

A click records the decision in the run folder (``record_decision``, by the notebook's user) and calls
``on_decided``: the run panel then resumes the run in its worker thread. A bad decision (no reason, an empty
edit) shows its error here and changes nothing.
"""

from __future__ import annotations

import getpass
import html
from collections.abc import Callable
from pathlib import Path
from typing import Any

import ipywidgets as w

from ..engine.gates import PendingGate, record_decision
from ..errors import ConfigError


def render_markdown(text: str) -> str:
    """``text`` as HTML (raw HTML in it escaped: an artifact is model output)."""
    import mistune

    return str(mistune.create_markdown(escape=True, plugins=["table", "strikethrough"])(text))


class GatePanel(w.VBox):
    """Shows a :class:`PendingGate` and records the decision a person makes on it."""

    def __init__(self, on_decided: Callable[[str], object] | None = None) -> None:
        self.on_decided = on_decided
        self.run_dir: Path | None = None
        self.gate: PendingGate | None = None
        self.title = w.HTML()
        self.documents = w.Accordion()
        self.proposal = w.HTML()
        self.approve_button = w.Button(description="Approve", button_style="success", icon="check")
        self.reasons = w.Textarea(
            placeholder="Why send it back? One reason per line.", description="reasons", rows=3
        )
        self.revise_button = w.Button(description="Revise", button_style="warning", icon="undo")
        self.edit_choice = w.Dropdown(description="artifact")
        self.edit_text = w.Textarea(rows=12, layout=w.Layout(width="720px"))
        self.edit_button = w.Button(description="Save edit and approve", button_style="info", icon="pencil")
        self.budget = w.BoundedFloatText(value=0.0, min=0.0, max=100_000.0, step=0.5, description="new cap $")
        self.budget_button = w.Button(description="Raise budget", button_style="warning", icon="dollar")
        self.message = w.HTML()
        self.approval_box = w.VBox(
            [
                self.documents,
                self.proposal,
                self.approve_button,
                w.HBox([self.reasons, self.revise_button]),
                w.VBox([self.edit_choice, self.edit_text, self.edit_button]),
            ]
        )
        self.budget_box = w.HBox([self.budget, self.budget_button])
        super().__init__([self.title, self.approval_box, self.budget_box, self.message])
        self.approve_button.on_click(lambda _b: self.decide("approve"))
        self.revise_button.on_click(lambda _b: self.decide("revise"))
        self.edit_button.on_click(lambda _b: self.decide("edit"))
        self.budget_button.on_click(lambda _b: self.decide("budget"))
        self.edit_choice.observe(self._on_choice, names="value")
        self.hide()

    def hide(self) -> None:
        self.gate = None
        self.layout.display = "none"

    def show(self, run_dir: str | Path, gate: PendingGate) -> None:
        """Fill the panel from what the run at ``run_dir`` asks."""
        self.run_dir, self.gate = Path(run_dir), gate
        self.message.value = ""
        self.reasons.value = ""
        budget = gate.kind == "budget"
        self.approval_box.layout.display = "none" if budget else None
        self.budget_box.layout.display = None if budget else "none"
        if budget:
            b = gate.budget or {}
            self.title.value = html.escape(
                f"This run waits for more budget: spent ${b.get('spent_usd')} of ${b.get('cap_usd')}. "
                "Raise the cap to go on."
            )
        else:
            self.title.value = html.escape(
                f"Gate {gate.step} ({gate.policy}, round {gate.round}) waits for your decision."
            )
            docs = [self._doc(rel) for rel in gate.under_review]
            self.documents.children = tuple(w.HTML(render_markdown(text)) for text in docs)
            for i, rel in enumerate(gate.under_review):
                self.documents.set_title(i, rel)
            p = gate.proposal
            self.proposal.value = (
                ""
                if not p
                else "<b>The model proposes:</b> "
                + html.escape(
                    ("approve" if p.get("approved") else "revise") + ": " + "; ".join(p.get("reasons") or [])
                )
            )
            self.edit_choice.options = list(gate.under_review)
            self._on_choice({})
        self.layout.display = None

    def _doc(self, rel: str) -> str:
        assert self.run_dir is not None
        path = self.run_dir / "artifacts" / rel
        return path.read_text(encoding="utf-8") if path.is_file() else ""

    def _on_choice(self, _change: dict[str, Any]) -> None:
        if self.edit_choice.value:
            self.edit_text.value = self._doc(self.edit_choice.value)

    def decide(self, action: str) -> bool:
        """Record ``action`` with what the widgets hold; False (the error shown) when it is refused."""
        if self.run_dir is None or self.gate is None:
            return False
        kw: dict[str, Any] = {}
        if action == "revise":
            kw["reasons"] = self.reasons.value.splitlines()
        elif action == "edit":
            kw["edits"] = {self.edit_choice.value: self.edit_text.value} if self.edit_choice.value else {}
        elif action == "budget":
            kw["budget_usd"] = self.budget.value
        try:
            record_decision(self.run_dir, action, by=getpass.getuser(), **kw)
        except ConfigError as exc:
            self.message.value = f'<span style="color:#c62828">{html.escape(str(exc))}</span>'
            return False
        self.hide()
        if self.on_decided is not None:
            self.on_decided(action)
        return True


__all__ = ["GatePanel", "render_markdown"]
