"""The `ccm` console script. `--version` and `statusline` (Claude Code runs it after every turn) answer
before typer (or anything heavy) is imported."""

from __future__ import annotations

import sys


def main() -> None:
    if sys.argv[1:] == ["--version"]:
        from ccm import __version__

        print(f"ccm {__version__}")
        return
    if sys.argv[1:2] == ["statusline"] and sys.argv[2:3] not in (["--help"], ["-h"]):
        from cli import statusline

        statusline.main()
        return
    from cli.main import run

    run()
