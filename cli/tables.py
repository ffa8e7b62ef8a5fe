"""Tables for `ccm keys list`, `ccm providers list`, `ccm models list` (rich, imported only here)."""

from __future__ import annotations

import sys
from collections.abc import Sequence


def print_table(headers: Sequence[str], rows: Sequence[Sequence[str]], *, title: str | None = None) -> None:
    """A rich table on a terminal; the same table, never wrapped at 80 columns, in a pipe."""
    from rich.console import Console  # ~10 ms, only commands that print a table pay it
    from rich.table import Table
    from rich.text import Text

    console = Console(width=None if sys.stdout.isatty() else 200, highlight=False)
    table = Table(title=title, title_justify="left", show_lines=False)
    for header in headers:
        table.add_column(header, overflow="fold")
    for row in rows:
        table.add_row(*(Text(cell) for cell in row))  # data, never markup
    console.print(table)
