"""The README's promises that code can check: the fresh-machine commands come first, and the provider
table is the catalog's."""

from __future__ import annotations

from pathlib import Path

from config.catalog import markdown_table

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")


def test_fresh_machine_commands_come_first() -> None:
    head = "\n".join(README.splitlines()[:12])
    assert "pip install . && ccm start" in head
    assert "pip install '.[test]' && python -m pytest" in head


def test_ci_runs_the_readme_test_command() -> None:
    ci = (Path(__file__).resolve().parent.parent / ".ci" / "run").read_text()
    assert "pip install --quiet '.[test]'" in ci and "python -m pytest" in ci


def test_provider_table_matches_the_catalog() -> None:
    start = README.index("<!-- catalog:start -->") + len("<!-- catalog:start -->")
    end = README.index("<!-- catalog:end -->")
    assert README[start:end].strip() == markdown_table(), "run `python -m config.catalog` and paste the table"
