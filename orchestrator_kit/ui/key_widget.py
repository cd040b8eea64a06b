"""The API key: asked through the kernel's own password prompt, never through a widget.

    app.key.ask()        # in its own cell: Jupyter shows a password box below the cell (getpass)

Any widget that holds typed text (a ``Password`` included) keeps it in its frontend model until the text
reaches the kernel, and JupyterLab's "save widget state" writes that model into the notebook and its
checkpoint: a key typed but not yet submitted would be saved. So no widget here ever holds the key.
``ask()`` calls ``getpass.getpass``, which ipykernel serves as an input request on the stdin channel
(Jupyter shows a masked field and stores nothing); the answer goes straight into
``os.environ["ANTHROPIC_API_KEY"]`` of this kernel, where the lookup order (argument, ANTHROPIC_API_KEY,
.env) finds it. Frontends without input requests (papermill, nbval, Voilà) get a message naming the other
ways in. The status line says where a key was found, never the key (a masked tail at most).

A getpass prompt cannot be opened from a button: Jupyter frontends ignore input requests made while
handling a widget message, and the kernel would wait forever. Hence a cell.
"""

from __future__ import annotations

import getpass
import html
import os
from collections.abc import Callable
from typing import Any

import ipywidgets as w

from ..llm.keys import ENV_VAR, check_key_format, mask_key, resolve_api_key

PROMPT = "Anthropic API key (Enter alone keeps the current setting): "
NO_PROMPT = (
    "This frontend cannot show a password prompt (papermill, nbval and Voilà cannot): set "
    f"{ENV_VAR} in the environment that starts the kernel, or put it in a .env file."
)


class ApiKeyWidget(w.VBox):
    """A status line (where a key is found, if any) and a "Forget key" button; ``ask()`` takes a key."""

    def __init__(self, **kwargs: Any) -> None:
        self.forget_button = w.Button(description="Forget key", tooltip=f"remove {ENV_VAR} from this kernel")
        self.status = w.HTML()
        self.status_text = ""
        self._listeners: list[Callable[[ApiKeyWidget], None]] = []
        super().__init__([w.HBox([self.status, self.forget_button])], **kwargs)
        self.forget_button.on_click(lambda _b: self.forget())
        self.refresh()

    def on_change(self, fn: Callable[[ApiKeyWidget], None]) -> None:
        """Call ``fn(widget)`` after a key is set or forgotten."""
        self._listeners.append(fn)

    def ask(self, *, force: bool = False, read: Callable[[str], str] | None = None) -> None:
        """Ask for the key with a password prompt (``getpass``) unless one is already found (``force=True``
        asks anyway). ``read`` replaces ``getpass.getpass`` (for scripts)."""
        from IPython.core.error import StdinNotImplementedError

        if not force and resolve_api_key() is not None:
            self.refresh(note="A key is already set (app.key.ask(force=True) replaces it)")
            print(self.status_text)
            return
        try:
            value = (read or getpass.getpass)(PROMPT)
        except StdinNotImplementedError:
            self.refresh(note=NO_PROMPT)
            print(self.status_text)
            return
        self.use(value)
        print(self.status_text)

    def use(self, value: str) -> bool:
        """Put ``value`` into this kernel's environment (nothing else keeps it). False when it is empty."""
        value = value.strip() if value else ""
        if not value:
            self.refresh(note="No key entered")
            return False
        os.environ[ENV_VAR] = value
        problem = check_key_format(value)
        self.refresh(note="Key set for this kernel" + (f" (warning: {problem})" if problem else ""))
        self._notify()
        return True

    def forget(self) -> None:
        """Remove the key from this process's environment (a .env file, if any, still counts)."""
        os.environ.pop(ENV_VAR, None)
        self.refresh(note=f"{ENV_VAR} removed from this kernel")
        self._notify()

    @property
    def source(self) -> str | None:
        """Where the key in use comes from: "environment", "dotenv" or None."""
        info = resolve_api_key()
        return None if info is None else info.source

    def refresh(self, note: str = "") -> None:
        """Say where a key is found (environment or .env), or that none is."""
        info = resolve_api_key()
        if info is None:
            text = (
                "No API key found (environment or .env): run app.key.ask() to type one into a password "
                "prompt, or run in simulated mode at $0."
            )
        else:
            where = (
                f"the environment ({ENV_VAR})"
                if info.source == "environment"
                else f"the .env file {info.source_detail}"
            )
            text = f"Key found in {where}, ending {mask_key(info.value)}."
        self.status_text = f"{note}. {text}" if note else text
        self.status.value = html.escape(self.status_text)

    def _notify(self) -> None:
        for fn in list(self._listeners):
            fn(self)


__all__ = ["ApiKeyWidget"]
