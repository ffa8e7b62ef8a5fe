"""Help reads as a newcomer expects: usage lines name arguments in capitals (`SLOT MODEL`), the
Arguments panel shows a plain type, and the pass-through commands show the arguments they pass on."""

from __future__ import annotations

import re

import pytest

from tests.cli.conftest import Cli


def _usage(shown: str) -> str:
    return next(line.strip() for line in shown.splitlines() if "Usage:" in line)


@pytest.mark.parametrize(
    ("args", "usage"),
    [
        (("router", "set"), "Usage: ccm router set [OPTIONS] SLOT MODEL"),
        (("keys", "set"), "Usage: ccm keys set [OPTIONS] NAME"),
        (("code",), "Usage: ccm code [OPTIONS] [CLAUDE ARGS]..."),
        (("codex",), "Usage: ccm codex [OPTIONS] [CODEX ARGS]..."),
    ],
)
def test_usage_lines_name_arguments_plainly(cli: Cli, args: tuple[str, ...], usage: str) -> None:
    assert _usage(cli.ok(*args, "--help")) == usage


def test_arguments_panel_shows_a_readable_type(cli: Cli) -> None:
    shown = cli.ok("router", "set", "--help")
    assert not re.search(r"<\w+>|\{\w+\}", shown), shown
    assert re.search(r"slot\s+TEXT", shown, re.IGNORECASE), shown


def test_an_unknown_option_is_matched_on_its_name_not_its_dashes(cli: Cli) -> None:
    """click compares `--bogus` with `--host` dashes included, which makes them look alike."""
    assert cli.fails("start", "--bogus") == "ccm start: No such option: --bogus (see `ccm start --help`)"
    assert cli.fails("start", "--prot", "1") == (
        "ccm start: No such option: --prot; did you mean --port? (see `ccm start --help`)"
    )
