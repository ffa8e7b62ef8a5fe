"""`ccm tui`: the Textual dashboard. Textual (~150 ms of imports) is loaded only here."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from cli.options import ConfigOpt
from config.errors import CcmError


def tui(config: ConfigOpt = None) -> None:
    """Open the terminal dashboard: providers, models, routing, live requests, logs."""
    if not (sys.stdin.isatty() and sys.stdout.isatty()):  # a full-screen app drawn into a pipe never ends
        raise CcmError("the TUI needs a terminal", hint="run `ccm tui` in a terminal, not from a pipe or a script")
    from tui.app import run  # type: ignore[import-not-found, unused-ignore]  # deferred: textual is heavy

    run(Path(config).expanduser() if config else None)  # without --config the TUI resolves it (same order)


def register(app: typer.Typer) -> None:
    app.command(rich_help_panel="Dashboard")(tui)
