"""`ccm start|stop|restart|status|logs`: the proxy's life as a background process."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from ccm import pidfile
from cli import claude_env, common, local_users, logs, process
from cli.options import ConfigOpt, JsonOpt
from config import paths
from config.errors import CcmError
from config.load import LoadResult, load_config
from config.schema import DEFAULT_HOST, DEFAULT_PORT

HostOpt = Annotated[
    str | None,
    typer.Option(
        "--host", metavar="HOST", help="Address to listen on (default: $CCM_HOST, else server.host in the config)."
    ),
]
PortOpt = Annotated[
    int | None,
    typer.Option(
        "--port",
        "-p",
        metavar="N",
        min=1,
        max=paths.MAX_PORT,
        help="Port (default: $CCM_PORT, else server.port in the config).",
    ),
]


def listen_address(config: Path, host: str | None, port: int | None) -> tuple[str, int]:
    """Where the server will listen, as it decides it: flag > $CCM_HOST/$CCM_PORT > the config > defaults."""
    cfg_host, cfg_port = DEFAULT_HOST, DEFAULT_PORT
    if config.exists():
        server = load_config(config).config.server  # a bad config is reported here, before spawning
        cfg_host, cfg_port = server.host, server.port
    if port is None:
        port = paths.env_port()
    return host or os.environ.get("CCM_HOST") or cfg_host, port or cfg_port


def start_proxy(
    config: Path, host: str | None = None, port: int | None = None, choose: str = "with --port"
) -> pidfile.PidInfo:
    """Start the proxy in the background and wait for its /health; CcmError when it cannot.

    `choose`: how the caller's user picks another port when this one is taken."""
    info = common.running()
    if info is not None:
        raise CcmError(
            f"the proxy is already running at {common.proxy_url(info)}, pid {info.pid}",
            hint="`ccm stop` or `ccm restart` first",
        )
    process.remove_stale_pidfile()
    listen_host, listen_port = listen_address(config, host, port)
    problem = process.port_problem(listen_host, listen_port, choose)
    if problem:
        raise CcmError(problem)
    return process.wait_healthy(process.spawn(config, host, port))


def start_warnings(config: Path, host: str | None = None) -> list[str]:
    """What the proxy about to serve `config` cannot do: routed providers with no key or login, and an
    open address with no router key (beyond this machine, or on a loopback that other accounts of this
    machine use). Reads the keyring, as the proxy will."""
    if not config.exists():
        return []  # the shipped default is created by the server: nothing of the user's to warn about yet
    from config import keycheck  # deferred: keyring (~60 ms) only for the commands that start a proxy

    try:
        result = load_config(config)
        loaded = result.config
        lines = config_warnings(result) + keycheck.start_warnings(loaded, keycheck.resolve_keys(loaded), host)
    except CcmError:
        return []  # the server reports a bad config itself, as one line
    listen = host or loaded.server.host
    if keycheck.is_loopback(listen) and not loaded.server.api_key:  # beyond loopback, keycheck warns already
        shared = local_users.shared_loopback_warning(listen, local_users.other_accounts())
        lines += [shared] if shared else []
    return lines


def config_warnings(result: LoadResult) -> list[str]:
    """The config's own warnings (an unknown key, such as `prot = 24564`, with the nearest known one)."""
    return [str(problem) for problem in [*result.refused, *result.warnings]]


def served_warnings(config: str) -> list[str]:
    """The warnings of the file a running proxy serves, read again (it may have been edited since)."""
    try:
        return config_warnings(load_config(config))
    except CcmError as exc:
        return [f"{config}: {exc.message}"]


def warn(lines: list[str], log_format: str = "text") -> None:
    if log_format == "json":  # the server's own lines follow as JSON objects: so do these
        import logging

        from ccm.serve.logfile import JsonFormatter

        for line in lines:
            record = logging.LogRecord("ccm.start", logging.WARNING, __file__, 0, line, None, None)
            common.note(JsonFormatter().format(record))
        return
    for line in lines:
        common.note(f"ccm: warning: {line}")


def router_token(config: str | Path) -> claude_env.Token:
    """The token Claude Code must send to the proxy serving `config`."""
    return claude_env.router_token(common.raw_router_key(config), passthrough=common.uses_passthrough(config))


def print_started(info: pidfile.PidInfo) -> None:
    """Where the proxy runs, and how to point a shell at it: the command that prints the setup, never a
    part of its lines (`ccm env` is the one source of what Claude Code needs)."""
    common.echo(f"ccm {info.version} is running at {common.proxy_url(info)} (pid {info.pid})")
    common.echo(f"config: {info.config}")
    common.echo("Run Claude Code through it with `ccm code`, or set its environment in your shell:")
    common.echo(f"  {claude_env.EVAL_HINTS[claude_env.default_shell()]}")


def start(
    config: ConfigOpt = None,
    host: HostOpt = None,
    port: PortOpt = None,
    foreground: Annotated[
        bool, typer.Option("--foreground", "-f", help="Run in this process (for systemd, Docker); Ctrl-C stops it.")
    ] = False,
    log_format: Annotated[
        str | None,
        typer.Option(
            "--log-format",
            metavar="text|json",
            help="With --foreground, json: every log line also on stderr as one JSON object (containers); "
            "default $CCM_LOG_FORMAT, else text.",
        ),
    ] = None,
) -> None:
    """Start the proxy in the background; prints its URL and the env lines for Claude Code."""
    path = common.config_path(config, live=False)
    if log_format is not None and log_format not in ("text", "json"):
        raise CcmError(f"--log-format must be text or json, not {log_format!r}")
    if log_format == "json" and not foreground:
        raise CcmError("--log-format json needs --foreground (a background proxy logs to ccm.log)")
    log_format = log_format or os.environ.get("CCM_LOG_FORMAT") or "text"
    if foreground:
        info = common.running()
        if info is not None:
            raise CcmError(
                f"the proxy is already running at {common.proxy_url(info)}, pid {info.pid}",
                hint="`ccm stop` or `ccm restart` first",
            )
        process.remove_stale_pidfile()
        listen_host, listen_port = listen_address(path, host, port)
        problem = process.port_problem(listen_host, listen_port)
        if problem:
            raise CcmError(problem)
        warn(start_warnings(path, listen_host), log_format)  # on stderr, where journald and `docker logs` look
        argv = process.serve_command(path, host, port, foreground=True, log_format=log_format)
        sys.stdout.flush()
        sys.stderr.flush()
        os.execv(argv[0], argv)  # the server replaces this process: same pid, signals go straight to it
    info = start_proxy(path, host, port)
    print_started(info)
    warn(start_warnings(path, info.host))


def stop() -> None:
    """Stop the proxy: SIGTERM, let streams in flight finish (up to 30 s), then SIGKILL."""
    info = common.running()
    if info is None:
        if process.remove_stale_pidfile():
            common.echo("ccm was not running (removed a stale pid file left by a server that did not exit cleanly)")
        else:
            common.echo("ccm is not running")
        return
    clean = process.stop(info)
    how = (
        ""
        if clean
        else f" (it was still running {process.STOP_GRACE_S - process.DRAIN_S:.0f} s after its {process.DRAIN_S:.0f} s drain and was killed)"
    )
    common.echo(f"stopped ccm (pid {info.pid}){how}")


def restart(config: ConfigOpt = None, host: HostOpt = None, port: PortOpt = None) -> None:
    """Stop the proxy if it runs, then start it again (same config file unless --config is given).

    Host and port come from the flags, else from the config again, so a changed port takes effect.
    """
    info = common.running()
    path = Path(config).expanduser() if config else (Path(info.config) if info and info.config else None)
    path = path or common.config_path(None, live=False)
    listen_address(path, host, port)  # a bad config or $CCM_PORT stops here, before the running proxy does
    if info is not None:
        process.stop(info)
        common.note(f"stopped ccm (pid {info.pid})")
    print_started(start_proxy(path, host, port))


def _uptime(seconds: float) -> str:
    seconds = int(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}h {minutes:02d}m {secs:02d}s" if hours else f"{minutes}m {secs:02d}s"


def status(json_out: JsonOpt = False) -> None:
    """Whether the proxy runs: pid, URL, uptime, config, version, a refused reload. Exits 1 when it is stopped."""
    info = common.running()
    data: dict[str, Any]
    if info is None:
        stale = pidfile.read(paths.pid_path())
        data = {
            "running": False,
            "pid": None,
            "url": None,
            "config": str(common.config_path(None)),
            "uptime_s": None,
            "version": None,
            "healthy": False,
        }
        if json_out:
            common.echo(json.dumps(data))
        else:
            extra = f" (stale pid file of pid {stale.pid}: the server did not exit cleanly)" if stale else ""
            common.echo(f"ccm is not running{extra}")
        raise typer.Exit(1)
    url = common.proxy_url(info)
    answer = process.health(url)
    data = {
        "running": True,
        "pid": info.pid,
        "url": url,
        "config": info.config,
        "uptime_s": round(time.time() - info.started_at, 1),
        "version": info.version,
        "healthy": answer is not None,
    }
    reload_state = _reload_state(info) if answer is not None else None
    data["reload"] = reload_state
    if reload_state is not None and isinstance(reload_state.get("warnings"), list):
        warnings = [str(w) for w in reload_state["warnings"]]  # the served config's, as the proxy read it
    else:
        warnings = served_warnings(info.config) if info.config else []
    data["config_warnings"] = warnings
    if json_out:
        common.echo(json.dumps(data))
        return
    common.echo(f"ccm is running at {url}")
    for label, value in (
        ("pid", info.pid),
        ("version", info.version),
        ("uptime", _uptime(data["uptime_s"])),
        ("config", info.config),
        ("health", "ok" if answer is not None else "no answer on /health (starting, stuck, or another program)"),
        ("log", paths.log_path()),
    ):
        common.echo(f"  {label:<8} {value}")
    if answer is not None:
        common.echo(f"  {'metrics':<8} {_metrics_line()}")
    for line in _reload_lines(reload_state):
        common.echo(line)
    for line in warnings:  # the config's own warnings (unknown keys), one line each
        common.echo(f"  {'warning':<8} {line}")


def _reload_state(info: pidfile.PidInfo) -> dict[str, Any] | None:
    """GET /api/status: the config in use, a refused reload, its warnings; None when it cannot be read."""
    from cli import admin

    try:
        status, data = admin.call("GET", "/api/status", info=info, timeout=5.0)
    except CcmError:
        return None
    return data if status == 200 and isinstance(data, dict) else None


def _reload_lines(state: dict[str, Any] | None) -> list[str]:
    """A refused reload (the file, its first error, since when), in `ccm status`."""
    if state is None:
        return []
    lines: list[str] = []
    refused = state.get("refused")
    if isinstance(refused, dict):
        since = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(float(refused.get("since") or 0)))
        lines.append(f"  {'reload':<8} refused {refused.get('path')} since {since}; the previous config serves")
        lines.append(f"  {'':<8} {refused.get('error')}")
    return lines


def _metrics_line() -> str:
    """The proxy's counters in one line (`ccm metrics` has the table); never fails `ccm status` itself."""
    from cli import metrics_cmds

    try:
        return metrics_cmds.summary_line(metrics_cmds.fetch())
    except CcmError as exc:
        return f"unavailable ({exc.message})"


def logs_cmd(
    follow: Annotated[bool, typer.Option("--follow", "-f", help="Keep printing new lines (Ctrl-C to stop).")] = False,
    lines: Annotated[
        int, typer.Option("--lines", "-n", metavar="N", min=0, help="How many of the last lines to show.")
    ] = 50,
) -> None:
    """Show the proxy's log ($CCM_HOME/ccm.log); -f follows it, across rotations."""
    path = paths.log_path()
    if follow:
        try:
            logs.follow(path, lines)
        except KeyboardInterrupt:
            raise typer.Exit(130) from None  # the README's exit code for Ctrl-C, without click's "Aborted!"
        return
    if not path.exists():
        raise CcmError(f"no log yet at {path}", hint="the proxy writes it once started: `ccm start`")
    logs.show(path, lines)


def register(app: typer.Typer) -> None:
    app.command(rich_help_panel="Proxy")(start)
    app.command(rich_help_panel="Proxy")(stop)
    app.command(rich_help_panel="Proxy")(restart)
    app.command(rich_help_panel="Proxy")(status)
    app.command("logs", rich_help_panel="Proxy")(logs_cmd)
