"""The status bar above the footer, and the log handler that routes config/ warnings to it."""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Static

if TYPE_CHECKING:
    from tui.app import CcmApp


class StatusBar(Horizontal):
    """One line above the footer: the outcome of the last action on the left, key hints on the right."""

    def compose(self) -> ComposeResult:
        yield Static("", id="status-message", markup=False)
        yield Static("F1 help · F2–F8 tabs", id="status-hint")

    message = ""

    def say(self, message: str, kind: str = "info", *, append: bool = False) -> None:
        if append and self.message:
            message = f"{self.message} · {message}"
        self.message = message
        label = self.query_one("#status-message", Static)
        label.update(message)
        label.set_classes(f"-{kind}")

    def clear(self, message: str | None = None) -> None:
        """Clear the message; given one, only if it is still the one shown."""
        if message is None or self.message == message:
            self.say("", "info")


class StatusLogHandler(logging.Handler):
    """Shows warnings from config/ (e.g. "no usable OS keyring, secrets go to secrets.json") in the status
    bar instead of on stderr, which would scribble over the screen. Records may come from worker threads."""

    def __init__(self, app: CcmApp) -> None:
        super().__init__(logging.WARNING)
        self.app = app
        self.thread = threading.get_ident()

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        try:
            if threading.get_ident() == self.thread:
                self.app.say(message, "warning")
            else:
                self.app.call_from_thread(self.app.say, message, "warning")
        except Exception:  # the app is shutting down: nowhere to show it
            pass
