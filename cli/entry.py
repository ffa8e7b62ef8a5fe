"""The `ccm` console script. `--version` answers before typer (or anything heavy) is imported."""

from __future__ import annotations

import sys


def main() -> None:
    if sys.argv[1:] == ["--version"]:
        from ccm import __version__

        print(f"ccm {__version__}")
        return
    from cli.main import run

    run()
