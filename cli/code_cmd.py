"""`ccm code [ARGS...]` and `ccm env`: run Claude Code through the proxy, or print its environment.

`ccm code` starts the proxy when none runs (and waits for /health), runs `claude` with every argument
untouched and the terminal shared, and returns Claude Code's exit code. A proxy it started is stopped
when the last `ccm code` session using it leaves (cli.sessions keeps the count, crash-safe).
cli.main hands `ccm code ...` here before click parses anything, so no argument is ever eaten.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from types import FrameType
from typing import Annotated

import typer

from cli import claude_env, claude_session, common, sessions
from config.errors import CcmError, ConfigError
from config.load import load_config

INSTALL_HINT = "install Claude Code with `npm install -g @anthropic-ai/claude-code`, or put `claude` on PATH"


def _find_claude() -> str:
    found = shutil.which("claude")
    if found is None:
        raise CcmError("Claude Code (`claude`) was not found on PATH", hint=INSTALL_HINT)
    return found


def _enter(command: str = "ccm code") -> tuple[sessions.Session, str, claude_env.Token, str]:
    """Register a session, starting the proxy first when none runs; (session, URL, router token, config).
    `command`: the session's command, as the note about a started proxy names it (`ccm codex` too)."""
    from cli import server_cmds

    with sessions.registry_lock():
        info = common.running()
        if info is None:
            path = common.config_path(None, live=False)
            # `ccm code` hands every argument to claude, so it has no --port: the port comes from CCM_PORT
            choose = "with CCM_PORT=N (or [server] port in the config)"
            info = server_cmds.start_proxy(path, choose=choose)
            sessions.mark_owned(info)
            common.note(
                f"ccm: started the proxy at {common.proxy_url(info)} (pid {info.pid}); "
                f"it stops when the last `{command}` session ends"
            )
            server_cmds.warn(server_cmds.start_warnings(path, info.host))
        session = sessions.open_session()
    try:
        return session, common.proxy_url(info), server_cmds.router_token(info.config), info.config
    except BaseException:
        _leave(session)
        raise


def _leave(session: sessions.Session) -> None:
    """Unregister; the last session out stops a proxy that `ccm code` started."""
    from cli import process

    with sessions.registry_lock():
        session.close()
        if sessions.live_sessions():
            return
        info = common.running()
        if info is not None and sessions.owned(info):
            process.stop(info)
        sessions.clear_owner()


def _run_claude(argv: list[str], env: dict[str, str], hint: str = INSTALL_HINT) -> int:
    """Run claude (or codex) in this terminal; Ctrl-C goes to it (it is in our process group), not to us."""
    try:
        child = subprocess.Popen(argv, env=env)
    except OSError as exc:
        raise CcmError(f"cannot run {argv[0]}: {exc.strerror or exc}", hint=hint) from None

    def forward(signum: int, _frame: FrameType | None) -> None:
        if signum != signal.SIGINT:  # the terminal already sent SIGINT to claude itself
            child.send_signal(signum)

    # Handlers (not SIG_IGN) are reset to the default in the child at exec, so claude keeps its own.
    previous = {sig: signal.signal(sig, forward) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    try:
        code = child.wait()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return code if code >= 0 else 128 - code


def run_code(args: list[str]) -> int:
    """The whole of `ccm code`: returns the exit code to leave with."""
    claude = _find_claude()
    session, url, token, config_file = _enter()
    try:
        if token.variable and not token.value:
            raise CcmError(f"server.api_key is ${token.variable}, but {token.variable} is not set in this shell")
        extra = session_values(config_file, claude_session.model_argument(args, os.environ))
        return _run_claude([claude, *args], claude_env.child_env(os.environ, url, token) | extra)
    finally:
        _leave(session)


def session_values(config_file: str, model: str | None) -> dict[str, str]:
    """What Claude Code is told about ccm's models (cli.claude_session); nothing when the config the proxy
    serves cannot be read now (mid-edit): the session still runs, with Claude Code's own defaults."""
    try:
        config = load_config(config_file).config
    except ConfigError as exc:
        common.note(f"ccm: {config_file} cannot be read now ({exc.problems[0]}): Claude Code keeps its defaults")
        return {}
    found = claude_session.session_env(config, os.environ, model)
    for line in found.notes:
        common.note(line)
    return found.values


def code(ctx: typer.Context) -> None:
    """Run Claude Code through the proxy (started if needed); every argument goes to `claude`.

    Example: [bold]ccm code -p "fix the tests" --model glm-4.6[/bold]. Claude Code's own help:
    [bold]ccm code -- --help[/bold]. Exits with Claude Code's exit code.
    """
    raise typer.Exit(run_code(list(ctx.args)))


def env(
    shell: Annotated[
        str | None,
        typer.Option(
            "--shell", "-s", metavar="bash|zsh|fish|powershell", help="Syntax to print (default: from $SHELL)."
        ),
    ] = None,
) -> None:
    """Print the environment for Claude Code: [bold]eval "$(ccm env)"[/bold].

    Uses the running proxy's URL, else the one the config would start.
    """
    chosen = (shell or claude_env.default_shell()).lower()
    if chosen not in claude_env.SHELLS:
        raise CcmError(f"unknown shell {shell!r}; choose one of {', '.join(claude_env.SHELLS)}")
    from cli import server_cmds

    info = common.running()
    if info is not None:
        url, config_file = common.proxy_url(info), info.config
    else:
        path = common.config_path(None)
        host, port = server_cmds.listen_address(path, None, None)
        if host in ("0.0.0.0", "::", ""):
            host = "127.0.0.1"
        url = f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"
        config_file = str(path)
        common.note(f"ccm: the proxy is not running; start it with `ccm start` (it will listen on {url})")
    token = server_cmds.router_token(config_file)
    if token.variable and not token.value:
        common.note(
            f"ccm: ${token.variable} is not set here: the router key (server.api_key) comes from it, so set it "
            "in the shell that runs Claude Code, or Claude Code is refused"
        )
    extra = session_values(config_file, None)
    for line in claude_env.shell_lines(chosen, url, token, os.environ.get("NO_PROXY"), extra):
        common.echo(line)


def register(app: typer.Typer) -> None:
    app.command(
        rich_help_panel="Claude Code",
        context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
        options_metavar="[OPTIONS] [CLAUDE ARGS]...",  # what cli.main passes on, shown in the usage line
    )(code)
    app.command(rich_help_panel="Claude Code")(env)
