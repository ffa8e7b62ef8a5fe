"""cli._typer_fast patches typer internals: on the pinned typer it must take effect, loudly checked here.

When this fails after a typer upgrade, re-read cli/_typer_fast.py against the new typer (or drop it) and
move the pin in pyproject.toml.
"""

from __future__ import annotations

from importlib.metadata import version

from cli import _typer_fast
from tests.cli.conftest import Cli

WRITTEN_FOR = "0.29."
"""The typer minor version whose internals (`core._TyperParameter.get_runtime_param`,
`typer._coercion.RuntimeParam`, `typer._click.exceptions.BadParameter`) the patch was written against."""


def test_typer_is_the_version_the_patch_was_written_for() -> None:
    assert version("typer").startswith(WRITTEN_FOR), (
        f"typer {version('typer')} is installed; cli/_typer_fast.py was written for {WRITTEN_FOR}x"
    )


def test_the_patch_takes_effect() -> None:
    assert _typer_fast.install() is True, "typer's internals moved: cli/_typer_fast.py no longer applies"
    assert _typer_fast.install() is True  # idempotent


def test_bad_plain_values_keep_clicks_wording(cli: Cli) -> None:
    """The fast coercer speaks as typer/click would for an int option."""
    out = cli.fails("route", "explain", "--model", "m", "--tokens", "many")
    assert "'many' is not a valid integer" in out
