"""The typer app: registers every command group and turns errors into one line on stderr.

Exit codes (also in `ccm --help`):
    0  success
    1  any error: a bad flag, a bad config, the proxy not running, a port taken, a failed check
       (`ccm status` also exits 1 when the proxy is stopped; `ccm config validate` when the config is invalid)
    130 interrupted (Ctrl-C)
    `ccm code` returns Claude Code's own exit code.

Errors never show a traceback unless `--debug` (or CCM_DEBUG=1) is given.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import Annotated, Any

import typer

from ccm import __version__
from cli import common
from config.errors import CcmError, ConfigError

HELP = f"""ccm {__version__}: route Claude Code to any model on any provider, with failover.

Quick start: [bold]ccm config init[/bold] (pick a preset, enter keys), then [bold]ccm code[/bold].

Exit codes: 0 success; 1 any error (a bad flag, a bad config, the proxy not running, a port taken, a failed check; also `ccm status` when the proxy is stopped and `ccm config validate` when the config is invalid); 130 interrupted; `ccm code` and `ccm codex` return Claude Code's and Codex's own exit code. Add --debug to see a traceback."""

app = typer.Typer(
    name="ccm",
    help=HELP,
    no_args_is_help=True,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
    pretty_exceptions_show_locals=False,  # locals can hold API keys
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        print(f"ccm {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks for errors.")] = False,
) -> None:
    """Global options."""


def _register() -> None:
    from cli import (
        clients_cmds,
        code_cmd,
        codex_cmd,
        config_cmds,
        keys_cmds,
        listing,
        metrics_cmds,
        oauth_cmds,
        route_cmds,
        server_cmds,
        setup_cmds,
        switch_cmds,
        tui_cmd,
    )

    code_cmd.register(app)
    codex_cmd.register(app)
    server_cmds.register(app)
    tui_cmd.register(app)
    app.add_typer(config_cmds.app, name="config", rich_help_panel="Configuration")
    app.add_typer(keys_cmds.app, name="keys", rich_help_panel="Configuration")
    app.add_typer(oauth_cmds.app, name="oauth", rich_help_panel="Configuration")
    app.add_typer(clients_cmds.app, name="clients", rich_help_panel="Configuration")
    app.add_typer(listing.providers_app, name="providers", rich_help_panel="Inspection")
    app.add_typer(listing.models_app, name="models", rich_help_panel="Inspection")
    app.add_typer(route_cmds.app, name="route", rich_help_panel="Inspection")
    metrics_cmds.register(app)
    app.add_typer(switch_cmds.router_app, name="router", rich_help_panel="Configuration")
    del setup_cmds  # imported for its commands, which it adds to the providers, models and router groups


_register()


def _print_error(exc: BaseException, debug: bool) -> None:
    if debug:
        import traceback

        traceback.print_exception(exc)
    if isinstance(exc, ConfigError) and exc.problems:
        last = len(exc.problems) - 1
        for i, problem in enumerate(exc.problems):  # one line per problem; the hint rides on the last
            print(common.error_line(str(problem), exc.hint if i == last else None), file=sys.stderr)
    elif isinstance(exc, CcmError):
        print(common.error_line(exc.message, exc.hint), file=sys.stderr)
    elif isinstance(exc, OSError):
        print(common.error_line(*common.os_error_line(exc)), file=sys.stderr)
    else:
        print(
            common.error_line(f"{type(exc).__name__}: {exc}", "run with --debug to see the traceback"), file=sys.stderr
        )


def _quiet_logs(debug: bool) -> None:
    """Library log lines (e.g. "no usable OS keyring") are the server's business; the CLI says what matters
    itself (`ccm keys set` names where a key went). --debug shows them all."""
    if debug:
        logging.basicConfig(level=logging.DEBUG, format="%(levelname)s %(name)s: %(message)s")
    else:
        logging.getLogger().addHandler(logging.NullHandler())


def _usage_message(exc: Any) -> str:
    """click's usage error on one line. An unknown option's suggestions are matched on the names alone:
    click matches them dashes included, so `--bogus` looks close to `--host`."""
    from difflib import get_close_matches

    from typer._click import exceptions as click_exc

    if not (isinstance(exc, click_exc.NoSuchOption) and exc.possibilities is not None and exc.ctx is not None):
        return " ".join(exc.format_message().split())
    names = {o.lstrip("-"): o for p in exc.ctx.command.params for o in p.opts + p.secondary_opts if o[:2] == "--"}
    close = [names[n] for n in get_close_matches(exc.option_name.lstrip("-"), list(names))]
    return exc.message + (f"; did you mean {' or '.join(close)}?" if close else "")


def run(argv: list[str] | None = None) -> None:
    """The console script's body (after cli.entry's --version fast path); always ends in sys.exit."""
    from typer._click import exceptions as click_exc

    args = list(sys.argv[1:] if argv is None else argv)
    first = 0  # global options come before the command
    while args[first : first + 1] == ["--debug"]:
        first += 1
    debug = first > 0 or os.environ.get("CCM_DEBUG") == "1"
    _quiet_logs(debug)
    # `ccm code ARGS` / `ccm codex ARGS`: every argument belongs to Claude Code or Codex (their own --debug
    # too), so click never sees them.
    if args[first : first + 1] in (["code"], ["codex"]) and args[first + 1 :] not in (["--help"], ["-h"]):
        from cli import code_cmd, codex_cmd

        runner = code_cmd.run_code if args[first] == "code" else codex_cmd.run_codex
        code_args = args[first + 1 :]
        if code_args[:1] == ["--"]:
            code_args = code_args[1:]
        try:
            sys.exit(runner(code_args))
        except CcmError as exc:
            _print_error(exc, debug)
            sys.exit(1)
        except KeyboardInterrupt:
            sys.exit(130)
    command = typer.main.get_command(app)
    try:
        result = command.main(args=args, prog_name="ccm", standalone_mode=False)
    except click_exc.NoArgsIsHelpError:
        sys.exit(0)  # `ccm` or `ccm config` alone: the help is already printed
    except click_exc.UsageError as exc:
        if debug:
            import traceback

            traceback.print_exception(exc)
        where = exc.ctx.command_path if exc.ctx is not None else "ccm"
        print(f"{where}: {_usage_message(exc)} (see `{where} --help`)", file=sys.stderr)
        sys.exit(1)
    except typer.Abort:
        print("ccm: aborted", file=sys.stderr)
        sys.exit(130)
    except KeyboardInterrupt:
        sys.exit(130)
    except BrokenPipeError:  # `ccm logs | head`: the reader left; nothing to say, and nothing more to flush
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(1)
    except click_exc.ClickException as exc:
        print(common.error_line(exc.format_message()), file=sys.stderr)
        sys.exit(exc.exit_code or 1)
    except (CcmError, OSError, ValueError, RuntimeError) as exc:
        _print_error(exc, debug)
        sys.exit(1)
    sys.exit(result if isinstance(result, int) else 0)
