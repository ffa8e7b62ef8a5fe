"""Options several commands share, declared once so their names and help stay the same everywhere."""

from __future__ import annotations

from typing import Annotated

import typer

CONFIG_HELP = "Config file (default: $CCM_CONFIG, else the running proxy's, else $CCM_HOME/config.toml)."

ConfigOpt = Annotated[str | None, typer.Option("--config", "-c", metavar="PATH", help=CONFIG_HELP, show_default=False)]
JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]
