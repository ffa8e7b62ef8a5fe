"""`ccm tui`: the Textual dashboard. Textual (~150 ms of imports) is loaded only here."""

from __future__ import annotations

import typer

from cli import common
from cli.options import ConfigOpt


def tui(
    config: ConfigOpt = None,
) -> None:
    """Open the terminal dashboard: providers, models, routing, live requests, logs."""
    from tui.app import run  # type: ignore[attr-defined]  # deferred: textual is heavy

    run(common.config_path(config))


def register(app: typer.Typer) -> None:
    app.command(rich_help_panel="Dashboard")(tui)
