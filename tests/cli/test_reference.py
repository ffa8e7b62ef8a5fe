"""The docs' command table is the code's: regenerate with `python -m cli.reference` when this fails."""

from __future__ import annotations

from pathlib import Path

from cli.reference import markdown_table

DOCS = Path(__file__).resolve().parents[2] / "README.md"


def test_docs_command_table_matches_the_app() -> None:
    text = DOCS.read_text(encoding="utf-8")
    start = text.index("<!-- cli:start -->") + len("<!-- cli:start -->")
    end = text.index("<!-- cli:end -->")
    assert text[start:end].strip() == markdown_table(), "run `python -m cli.reference` and paste the table"


def test_every_command_is_in_the_table() -> None:
    table = markdown_table()
    for command in (
        "code",
        "env",
        "start",
        "stop",
        "restart",
        "status",
        "logs",
        "tui",
        "config init",
        "config edit",
        "keys set",
        "oauth login",
        "providers list",
        "models list",
        "route explain",
        "metrics",
        "usage",
        "providers enable",
        "providers disable",
        "router set",
    ):
        assert f"`ccm {command}" in table, command
