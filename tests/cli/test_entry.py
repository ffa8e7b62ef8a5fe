"""The console script itself: --version is instant and light, help everywhere, errors are one line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from ccm import __version__
from tests.cli.conftest import Cli

HEAVY = ("quart", "hypercorn", "httpx", "textual", "keyring", "pydantic")


def test_version(cli: Cli) -> None:
    assert cli.ok("--version") == f"ccm {__version__}\n"


def test_version_imports_nothing_heavy() -> None:
    """`ccm --version` goes through cli.entry's fast path: no server, HTTP client, TUI or keyring imports."""
    code = (
        "import sys; sys.argv = ['ccm', '--version']; from cli.entry import main; main(); "
        f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.splitlines() == [f"ccm {__version__}", "[]"]


def test_commands_import_no_server_and_no_pydantic() -> None:
    """Every command module loads without the server stack, the TUI, keyring or typer's pydantic layer
    (typer 0.26 coerces plain options without it), so `ccm route explain` stays fast."""
    code = (
        "import sys; sys.argv = ['ccm', 'route', 'explain', '--model', 'm', '--tokens', '5', '--config', '/nonexistent']\n"
        "from cli.main import run\n"
        "try:\n    run()\nexcept SystemExit:\n    pass\n"
        f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip().splitlines()[-1] == "[]", result.stdout + result.stderr
    assert "config file not found" in result.stderr


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["--help"],
        ["start", "--help"],
        ["code", "--help"],
        ["config", "init", "--help"],
        ["route", "explain", "--help"],
        ["keys", "--help"],
        ["providers", "list", "--help"],
        ["oauth", "--help"],
        ["tui", "--help"],
        ["logs", "--help"],
    ],
)
def test_help(cli: Cli, args: list[str]) -> None:
    result = cli.run(*args)
    assert result.returncode == 0, result.stderr
    assert "Usage: ccm" in result.stdout


def test_help_documents_exit_codes(cli: Cli) -> None:
    out = cli.ok("--help")
    assert "Exit codes" in out and "130" in out


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["start", "--bogus"], "No such option: --bogus"),
        (["start", "--port", "99999"], "99999 is not in the range 1<=x<=65535"),
        (["start", "--port", "abc"], "'abc' is not a valid integer"),
        (["nosuchcommand"], "No such command"),
        (["route", "explain", "--tokens", "-5"], "-5 is not in the range 0<=x<=1000000000"),
    ],
)
def test_usage_errors_are_one_line(cli: Cli, args: list[str], needle: str) -> None:
    line = cli.fails(*args)
    assert needle in line
    assert line.startswith("ccm")


def test_debug_shows_the_traceback(cli: Cli) -> None:
    quiet = cli.run("config", "show")
    assert quiet.returncode == 1 and "Traceback" not in quiet.stderr
    loud = cli.run("--debug", "config", "show")
    assert loud.returncode == 1 and "Traceback" in loud.stderr


def test_completion_script_is_offered(cli: Cli) -> None:
    # What `--show-completion` prints, asked for by name: typer's `--show-completion` finds the shell by
    # walking the process tree, which has no shell under a detached test runner.
    result = cli.run(env={"_CCM_COMPLETE": "source_bash", "SHELL": "/bin/bash"})
    assert result.returncode == 0, result.stderr
    assert "complete" in result.stdout and "ccm" in result.stdout


def test_an_unwritable_ccm_home_is_named(cli: Cli, tmp_path: Path) -> None:
    """Not `OSError: [Errno 30] Read-only file system: '…/ccm.out'`: which folder, and what fixes it."""
    if os.geteuid() == 0:  # root writes through mode bits; /sys refuses new entries even to root
        home, folder = Path("/sys/ccm-test-home"), "/sys"
    else:
        home = tmp_path / "read-only-home"
        home.mkdir(mode=0o500)
        folder = str(home)
    line = cli.fails("start", env={"CCM_HOME": str(home)})
    assert line.startswith(f"ccm: cannot write in {folder} (")
    assert f"ccm keeps its files in CCM_HOME ({home}): make it writable, or set CCM_HOME" in line
    assert "Errno" not in line and "--debug" not in line


def test_the_tui_without_a_terminal_is_one_line_not_a_hang(cli: Cli) -> None:
    """Run from a script or a pipe, `ccm tui` says it needs a terminal instead of drawing into the pipe."""
    assert cli.fails("tui") == (
        "ccm: the TUI needs a terminal (run `ccm tui` in a terminal, not from a pipe or a script)"
    )
