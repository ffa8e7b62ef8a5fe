"""F1: every key, tab by tab, and what the tabs are for."""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Markdown, Static

HELP = """\
# ccm tui

Everything you change here is validated and saved to the config file at once (your comments and
order are kept); a running proxy reloads it by itself. An invalid change is refused and never saved.

| Keys | Anywhere |
|---|---|
| `F2`…`F8` or `alt+1`…`alt+7` | Overview, Providers, Models, Router, OAuth, Test, Logs |
| `F1` | this help · `Escape` closes it |
| `Tab` / `shift+Tab` | move between fields |
| `ctrl+q` | quit (the proxy keeps running) |

| Tab | Keys |
|---|---|
| Overview | `s` start · `x` stop · `r` restart the proxy |
| Providers | `a` add · `e`/`Enter` edit · `d` delete · `space` enable/disable · `t` test the connection |
| Models | `a` add a model · `f` add a fallback mapping · `e` edit · `d` delete · `shift+↑`/`shift+↓` move a mapping |
| Router | pick each rule's model; regexes are checked as you type and saved on `Enter` or when you leave the field |
| OAuth | `r` refresh · `d` delete a token · `l` how to log in · `g` reload the list |
| Test | type a message, `Enter` sends it through the proxy; pick a model or "as Claude Code would" |
| Logs | `f` follow on/off · filter by status and provider |

In forms: `ctrl+s` saves, `Escape` cancels. API keys typed in a form go to the OS keyring (or
`$CCM_HOME/secrets.json`, mode 0600, where no keyring works), never to the config file; write `$VAR`
instead to read the key from an environment variable.

Every binding has an id (`tab.providers`, `providers.add`, ...): remap keys with `App.set_keymap`.
"""


class HelpScreen(ModalScreen[None]):
    """The keys, then the status bar's last messages in full (a status line is short; its details, such
    as where keys are kept without an OS keyring, are here)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,f1,q", "dismiss", "Close", id="help.close"),
    ]

    def __init__(self, messages: Iterable[tuple[float, str]] = ()) -> None:
        super().__init__()
        self.messages = list(messages)

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="dialog help"):
            yield Markdown(HELP)
            if self.messages:
                text = Text("Recent messages, newest first\n", style="bold")
                for when, message in reversed(self.messages):
                    text.append(f"{time.strftime('%H:%M:%S', time.localtime(when))}  ", style="dim")
                    text.append(f"{message}\n")
                yield Static(text, id="help-messages")
