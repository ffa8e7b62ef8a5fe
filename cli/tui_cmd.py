"""`ccm tui`: the Textual dashboard. Textual (~150 ms of imports) is loaded only here."""

from __future__ import annotations

from typing import Annotated

import typer

from cli import common


def tui(
    config: Annotated[str | None, typer.Option("--config", "-c", help=common.CONFIG_HELP, show_default=False)] = None,
) -> None:
    """Open the terminal dashboard: providers, models, routing, live requests, logs."""
    from tui.app import run  # type: ignore[attr-defined]  # deferred: textual is heavy

    run(common.config_path(config))


def register(app: typer.Typer) -> None:
    app.command(rich_help_panel="Dashboard")(tui)
