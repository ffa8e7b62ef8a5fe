"""Messages a person follows must be right: no Claude OAuth advertised, no reload claimed for a file the
proxy does not serve, a fix `ccm code` can take, help text that Rich leaves whole and without `<bool>`,
Ctrl-C exits 130, `config show` and `config path --all` complete, one stop grace everywhere."""

from __future__ import annotations

import re
import socket
from typing import Any

import pytest
from rich.text import Text

from ccm.serve.main import GRACEFUL_TIMEOUT
from cli import process
from tests.cli.conftest import CCM, CONFIG, Cli
from tests.cli.test_wizard_pty import Terminal

ANTHROPIC_OAUTH = CONFIG.replace(
    'provider_type = "anthropic-compatible"', 'provider_type = "anthropic"\nauth_type = "oauth"'
).replace('base_url = "{base_url}"\n', "")


def test_the_full_template_advertises_no_claude_oauth(cli: Cli) -> None:
    cli.ok("config", "init", "--preset", "full", "--yes")
    text = (cli.home / "config.toml").read_text()
    assert "ccm oauth login anthropic" not in text and "OAuth for Claude" not in text
    assert '"passthrough" for Claude Pro/Max' in text


def test_validate_flags_oauth_on_an_anthropic_provider(cli: Cli, port: int) -> None:
    (cli.home / "config.toml").write_text(ANTHROPIC_OAUTH.format(port=port))
    result = cli.run("config", "validate")
    assert result.returncode == 1
    line = next(x for x in result.stderr.splitlines() if "auth_type" in x)
    assert "providers[0].auth_type" in line and 'auth_type = "passthrough"' in line
    assert "is not valid (1 problem)" in result.stderr
    start = cli.run("start")  # a claude-code-mux config still loads; the problem is said at start
    assert start.returncode == 0, start.stderr
    assert any("providers[0].auth_type" in x and "passthrough" in x for x in start.stderr.splitlines())


def test_config_init_elsewhere_does_not_claim_the_proxy_reloaded(cli: Cli, write_config: Any) -> None:
    write_config()
    cli.ok("start")
    other = cli.home / "other.toml"
    result = cli.run("config", "init", "--config", str(other), "--preset", "apikeys", "--yes")
    assert result.returncode == 0, result.stderr
    assert "reloaded its config" not in result.stderr
    assert f"the running proxy serves {cli.home / 'config.toml'}, not {other}: it was not reloaded" in result.stderr


def test_ccm_code_on_a_taken_port_names_ccm_port(cli: Cli, write_config: Any) -> None:
    write_config()
    cli.write_program("claude", "raise SystemExit(0)")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        line = cli.fails("code", env={"CCM_PORT": str(port)})
    assert f"port {port} on 127.0.0.1 is in use" in line and "CCM_PORT" in line and "--port" not in line


def _help_texts() -> list[str]:
    import typer

    from cli.main import app

    out: list[str] = []

    def walk(command: Any) -> None:
        out.append(command.help or "")
        out.extend(getattr(p, "help", None) or "" for p in command.params)
        for sub in (getattr(command, "commands", None) or {}).values():
            walk(sub)

    walk(typer.main.get_command(app))
    return out


def test_rich_markup_never_eats_a_help_text() -> None:
    styles = re.compile(r"\[/?(bold|italic|dim)\]")
    for text in _help_texts():
        plain = styles.sub("", text)
        assert Text.from_markup(text).plain == plain, f"Rich would change {text!r}"


@pytest.mark.parametrize("args", [("start",), ("status",), ("config", "init"), ("metrics",), ("providers", "list")])
def test_help_shows_no_bool_and_no_lost_words(cli: Cli, args: tuple[str, ...]) -> None:
    shown = cli.ok(*args, "--help")
    assert "<bool>" not in shown
    assert "else  " not in shown
    if args == ("start",):
        assert "server.host" in shown and "server.port" in shown


def test_ctrl_c_at_the_first_init_prompt_exits_130(cli: Cli) -> None:
    term = Terminal([str(CCM), "config", "init"], cli.env)
    term.expect("Preset [2]: ")
    assert term.interrupt() == 130
    (cli.home / "config.toml").write_text("# mine\n")
    term = Terminal([str(CCM), "config", "init"], cli.env)
    term.expect("[y/N]: ")
    assert term.interrupt() == 130
    assert (cli.home / "config.toml").read_text() == "# mine\n"


def test_config_show_fills_in_every_default(cli: Cli, write_config: Any) -> None:
    write_config()
    shown = cli.ok("config", "show")
    assert "[failover]" in shown and "circuit_failures = 5" in shown
    assert "[load_balancing]" in shown and 'strategy = "priority"' in shown
    assert "headers_timeout_ms = 30000" in shown


def test_config_path_all_lists_the_request_log(cli: Cli) -> None:
    listed = cli.ok("config", "path", "--all")
    assert f"requests  {cli.home / 'requests.jsonl'}" in listed


def test_one_stop_grace_everywhere(cli: Cli) -> None:
    assert process.DRAIN_S == GRACEFUL_TIMEOUT
    assert f"(up to {GRACEFUL_TIMEOUT:.0f} s)" in cli.ok("stop", "--help")
