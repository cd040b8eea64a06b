"""The API-key widget: a password field whose value is moved into the process environment and cleared.

The typed key goes to ``os.environ["ANTHROPIC_API_KEY"]`` the moment it reaches the kernel (Enter or
leaving the field, or the button), and the field is set back to "" at once: the widget's state, and so
a saved notebook, never holds it. Kernels and papermill runs started from this process inherit it
through the environment. The status line says where a key was found, never the key (a masked tail
at most).
"""

from __future__ import annotations

import html
import os
from typing import Any

import ipywidgets as w

from ..llm.keys import ENV_VAR, check_key_format, mask_key, resolve_api_key


class ApiKeyWidget(w.VBox):
    """Password field + "Use key" / "Forget key" buttons + a status line."""

    def __init__(self, **kwargs: Any) -> None:
        self.password = w.Password(
            placeholder="sk-ant-...  (Enter to use)",
            description="API key",
            continuous_update=False,
            layout=w.Layout(width="420px"),
        )
        self.use_button = w.Button(description="Use key", icon="key", tooltip="move the key into this kernel")
        self.forget_button = w.Button(description="Forget key", tooltip=f"remove {ENV_VAR} from this kernel")
        self.status = w.HTML()
        self.status_text = ""
        super().__init__(
            [w.HBox([self.password, self.use_button, self.forget_button]), self.status], **kwargs
        )
        self.password.observe(self._on_value, names="value")
        self.use_button.on_click(lambda _b: self.submit())
        self.forget_button.on_click(lambda _b: self.forget())
        self.refresh()

    # The key is read from the widget exactly once, then the widget forgets it.
    def _on_value(self, change: dict[str, Any]) -> None:
        if change["new"]:
            self.submit()

    def submit(self) -> bool:
        """Move the typed key (if any) into the environment and clear the field. True when a key was taken."""
        value = self.password.value
        self.password.value = ""
        value = value.strip() if value else ""
        if not value:
            self.refresh()
            return False
        os.environ[ENV_VAR] = value
        problem = check_key_format(value)
        self.refresh(
            note="key set for this session from the widget" + (f" (warning: {problem})" if problem else "")
        )
        return True

    def forget(self) -> None:
        """Remove the key from this process's environment (a .env file, if any, still counts)."""
        os.environ.pop(ENV_VAR, None)
        self.password.value = ""
        self.refresh(note=f"{ENV_VAR} removed from this kernel")

    @property
    def source(self) -> str | None:
        """Where the key in use comes from: "environment", "dotenv" or None."""
        info = resolve_api_key()
        return None if info is None else info.source

    def refresh(self, note: str = "") -> None:
        """Say where a key is found (environment or .env), or that none is."""
        info = resolve_api_key()
        if info is None:
            text = "No API key found (environment or .env): type one above, or run in simulated mode at $0."
        else:
            where = (
                f"the environment ({ENV_VAR})"
                if info.source == "environment"
                else f"the .env file {info.source_detail}"
            )
            text = f"Key found in {where}, ending {mask_key(info.value)}."
        self.status_text = f"{note}. {text}" if note else text
        self.status.value = html.escape(self.status_text)


__all__ = ["ApiKeyWidget"]
