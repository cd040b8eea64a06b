"""Per-agent inputs: enabled, extra instructions, model override, max tokens (one row per agent)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import ipywidgets as w

from ..agents.roles import ROLE_IDS, get_role
from ..records import AgentSettings

RUN_MODEL = "(run model)"


def model_choices() -> list[str]:
    """Priced, not retired models of the price table, in table order."""
    from ..llm.pricing import price_table

    return [m.id for m in price_table() if m.priced and not m.retired]


class AgentRow(w.HBox):
    def __init__(self, agent: str, models: list[str]) -> None:
        role = get_role(agent)
        self.agent = agent
        self.enabled = w.Checkbox(
            value=True,
            description=agent,
            indent=False,
            layout=w.Layout(width="130px"),
            tooltip=f"{role.title}: {role.description}",
        )
        self.extra_instructions = w.Textarea(
            placeholder=f"extra instructions for the {agent}", rows=1, layout=w.Layout(width="320px")
        )
        self.model = w.Dropdown(options=[RUN_MODEL, *models], value=RUN_MODEL, layout=w.Layout(width="210px"))
        self.max_tokens = w.BoundedIntText(
            value=0,
            min=0,
            max=200_000,
            step=256,
            description="max tokens (0 = role default)",
            tooltip=f"0 means the role's default ({role.default_max_tokens})",
            layout=w.Layout(width="300px"),
            style={"description_width": "190px"},
        )
        super().__init__([self.enabled, self.extra_instructions, self.model, self.max_tokens])
        self.enabled.observe(self._on_enabled, names="value")

    def _on_enabled(self, change: dict[str, Any]) -> None:
        for widget in (self.extra_instructions, self.model, self.max_tokens):
            widget.disabled = not change["new"]

    def settings(self) -> AgentSettings:
        return AgentSettings(
            enabled=self.enabled.value,
            extra_instructions=self.extra_instructions.value.strip(),
            model=None if self.model.value == RUN_MODEL else self.model.value,
            max_tokens=self.max_tokens.value or None,
        )

    def set(self, s: AgentSettings) -> None:
        self.enabled.value = s.enabled
        self.extra_instructions.value = s.extra_instructions
        if s.model is not None and s.model not in self.model.options:
            self.model.options = [*self.model.options, s.model]
        self.model.value = s.model or RUN_MODEL
        self.max_tokens.value = s.max_tokens or 0


class AgentPanel(w.VBox):
    """One row per agent. ``agents()`` lists the enabled ones; ``settings()`` what differs from defaults."""

    def __init__(self, agents: Iterable[str] = ROLE_IDS, **kwargs: Any) -> None:
        models = model_choices()
        self.rows = {a: AgentRow(a, models) for a in agents}
        header = w.HTML("<b>Agents</b>: untick to skip one; the model and max tokens override the run's.")
        super().__init__([header, *self.rows.values()], **kwargs)

    def agents(self) -> list[str]:
        return [a for a, row in self.rows.items() if row.enabled.value]

    def settings(self) -> dict[str, AgentSettings]:
        """Settings of the enabled agents that differ from the defaults."""
        out = {}
        for a, row in self.rows.items():
            s = row.settings()
            if s.enabled and s != AgentSettings():
                out[a] = s
        return out

    def set_settings(self, settings: Mapping[str, AgentSettings | Mapping[str, Any]]) -> None:
        for a, s in settings.items():
            self.rows[a].set(s if isinstance(s, AgentSettings) else AgentSettings(**s))


__all__ = ["RUN_MODEL", "AgentPanel", "AgentRow", "model_choices"]
