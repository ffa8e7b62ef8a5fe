"""`ccm tui`: the Textual dashboard. Textual (~150 ms of imports) is loaded only here."""

from __future__ import annotations

from pathlib import Path

import typer

from cli.options import ConfigOpt


def tui(config: ConfigOpt = None) -> None:
    """Open the terminal dashboard: providers, models, routing, live requests, logs."""
    from tui.app import run  # type: ignore[import-not-found, unused-ignore]  # deferred: textual is heavy

    run(Path(config).expanduser() if config else None)  # without --config the TUI resolves it (same order)


def register(app: typer.Typer) -> None:
    app.command(rich_help_panel="Dashboard")(tui)
