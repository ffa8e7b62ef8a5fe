"""The status bar above the footer, and the log handler that routes config/ warnings to it."""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Static

if TYPE_CHECKING:
    from tui.app import CcmApp

HINT = "F1 help · F2–F8 tabs"
HISTORY = 30
"""Messages kept, in full, for F1 help: what a short status line left out is still there."""


class StatusBar(Horizontal):
    """One line above the footer: the outcome of the last action on the left, key hints on the right.

    A message longer than the line takes the hint's room, then a second line: its end is often the point
    ("· saved (the proxy is not running)"). Each message is also kept in full, with its details, in
    `history` (F1 help shows it) and as the message's tooltip."""

    message = ""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.history: deque[tuple[float, str]] = deque(maxlen=HISTORY)
        """(time, full text) of the last messages, newest last."""

    def compose(self) -> ComposeResult:
        yield Static("", id="status-message", markup=False)
        yield Static(HINT, id="status-hint")

    def say(self, message: str, kind: str = "info", *, append: bool = False, detail: str | None = None) -> None:
        """Show a message; `detail` is the longer version kept for F1 help and the tooltip."""
        if append and self.message:
            message = f"{self.message} · {message}"
        self.message = message
        label = self.query_one("#status-message", Static)
        label.update(message)
        label.set_classes(f"-{kind}")
        label.tooltip = (detail or message) or None
        if message:
            self.history.append((time.time(), detail or message))
        self._fit()

    def clear(self, message: str | None = None) -> None:
        """Clear the message; given one, only if it is still the one shown."""
        if message is None or self.message == message:
            self.say("", "info")

    def on_resize(self) -> None:
        self._fit()

    def _fit(self) -> None:
        """The hint stays while the message fits beside it."""
        room = self.content_region.width
        needed = Text(self.message).cell_len + 1 + Text(HINT).cell_len
        self.query_one("#status-hint").display = not self.message or room <= 0 or needed <= room


class StatusLogHandler(logging.Handler):
    """Shows warnings from config/ (e.g. "no usable OS keyring, secrets go to secrets.json") in the status
    bar instead of on stderr, which would scribble over the screen. A record may carry a `brief` (plain
    words for the status line); the full message is kept for F1 help. Records may come from worker threads."""

    def __init__(self, app: CcmApp) -> None:
        super().__init__(logging.WARNING)
        self.app = app
        self.thread = threading.get_ident()

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        brief = str(getattr(record, "brief", "") or message)
        try:
            if threading.get_ident() == self.thread:
                self.app.say(brief, "warning", detail=message)
            else:
                self.app.call_from_thread(self.app.say, brief, "warning", detail=message)
        except Exception:  # the app is shutting down: nowhere to show it
            pass
