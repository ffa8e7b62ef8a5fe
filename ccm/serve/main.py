"""The serving process: `python -m ccm serve [--config P] [--host H] [--port N] [--create-config]`.

One process (Hypercorn's `serve()` in-process, not its multi-process CLI: one process instead of three,
half the memory), holding the pid file's lock for its whole life. Hypercorn settings: no access log (ccm
keeps its own request log), a 30 s graceful drain on SIGTERM so streams in flight can finish, long keep-alive so the proxy is
never the side that closes a connection Claude Code is about to reuse.

Exit codes: 0 after a clean stop, 1 for a config or port problem (one line on stderr), 3 when a proxy
already runs for this CCM_HOME.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import socket
import sys
import time
from typing import TYPE_CHECKING

from ccm import __version__, pidfile
from config import paths
from config.errors import CcmError, ConfigError

if TYPE_CHECKING:
    from ccm.serve.state import ConfigHolder

GRACEFUL_TIMEOUT = 30.0
log = logging.getLogger("ccm")


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m ccm", description="Run the ccm proxy in the foreground.")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve")
    serve.add_argument("--config")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument(
        "--foreground", action="store_true", help="also print the serving line on stderr (journald, Docker)"
    )
    serve.add_argument(
        "--create-config", action="store_true", help="copy the shipped default config when the file does not exist"
    )
    serve.add_argument(
        "--log-format",
        choices=LOG_FORMATS,
        help="json: also write every log line to stderr as one JSON object (containers); with --foreground the "
        "default is $CCM_LOG_FORMAT (a detached server's stderr is ccm.out, which is never rotated)",
    )
    args = parser.parse_args(argv)
    if args.log_format is None:
        args.log_format = (os.environ.get("CCM_LOG_FORMAT") if args.foreground else None) or "text"
    if args.log_format not in LOG_FORMATS:  # from $CCM_LOG_FORMAT, which argparse does not check
        parser.error(f"CCM_LOG_FORMAT must be text or json, not {args.log_format!r}")
    return args


LOG_FORMATS = ("text", "json")
_json_lines = False
"""`--log-format json`: what the server says on stderr is JSON lines too (ccm.serve.logfile.JsonFormatter)."""


def setup_logging(level: str, log_format: str = "text") -> None:
    from ccm.serve.logfile import open_log
    from ccm.serve.state import apply_log_level  # a reload applies server.log_level the same way

    global _json_lines
    _json_lines = log_format == "json"
    open_log(json_stderr=_json_lines)
    if _json_lines:
        from ccm.observe.requestlog import log_records_whole

        log_records_whole()
    apply_log_level(level)


def _say(message: str, level: int = logging.ERROR) -> None:
    """One line on stderr: plain (`ccm: ...`), or with --log-format json a JSON object like every log line."""
    if _json_lines:
        from ccm.serve.logfile import JsonFormatter

        line = logging.LogRecord("ccm", level, __file__, 0, message, None, None)
        print(JsonFormatter().format(line), file=sys.stderr, flush=True)
    else:
        print(f"ccm: {message}", file=sys.stderr, flush=True)


def _port_free(host: str, port: int) -> bool:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def _fail(message: str, code: int = 1) -> int:
    _say(message)
    return code


def serve(argv: list[str]) -> int:
    global _json_lines
    args = _parse(argv)
    _json_lines = args.log_format == "json"
    config_path = paths.config_path(args.config)
    if not config_path.exists():
        if not args.create_config:
            return _fail(f"config file not found: {config_path} (run `ccm config init`)")
        from config.atomic import atomic_write

        atomic_write(config_path, paths.default_config_text(), backup=False)

    from ccm.serve.state import ConfigHolder  # after the cheap checks: imports httpx/keyring-backed secrets

    setup_logging("info", args.log_format)  # before the first load, so its warnings reach ccm.log
    holder = ConfigHolder(config_path.resolve())
    try:
        snapshot = holder.load()
    except ConfigError as exc:
        for problem in exc.problems:
            _say(str(problem))
        return 1
    except CcmError as exc:
        return _fail(exc.message + (f" ({exc.hint})" if exc.hint else ""))
    except Exception as exc:  # a keyring backend's own error, a pathological file: one line, no traceback
        log.exception("cannot load %s", config_path)
        return _fail(f"cannot load {config_path}: {type(exc).__name__}: {exc} (details in {paths.log_path()})")
    server = snapshot.config.server
    host = args.host or os.environ.get("CCM_HOST") or server.host
    try:
        port = paths.checked_port(args.port, "--port") if args.port is not None else paths.env_port() or server.port
    except CcmError as exc:
        return _fail(exc.message)
    setup_logging(server.log_level, args.log_format)
    url_host = f"[{host}]" if ":" in host else host
    url = f"http://{url_host}:{port}"
    pid_path = paths.pid_path()
    try:
        fd = pidfile.acquire(
            pid_path,
            {
                "pid": os.getpid(),
                "host": host,
                "port": port,
                "url": url,
                "config": str(config_path.resolve()),
                "started_at": time.time(),
                "version": __version__,
            },
        )
    except pidfile.AlreadyRunning:
        running = pidfile.read(pid_path)
        where = f" at {running.url} (pid {running.pid})" if running else ""
        return _fail(f"ccm is already running{where}", 3)
    try:
        if not _port_free(host, port):
            return _fail(f"port {port} on {host} is in use by another program; pick another with --port")
        log.info("ccm %s serving %s with config %s", __version__, url, config_path)
        if args.foreground and not _json_lines:  # JSON: the log line above is on stderr already
            print(
                f"ccm {__version__} serving {url} with config {config_path} (log: {paths.log_path()})",
                file=sys.stderr,
                flush=True,
            )
        return _run(holder, host, port)
    finally:
        pidfile.release(pid_path, fd)


def _run(holder: ConfigHolder, host: str, port: int) -> int:
    from hypercorn.asyncio import serve as hypercorn_serve
    from hypercorn.config import Config

    from ccm.serve import hypercorn_fixes, memory
    from ccm.serve.app import create_app

    # Hypercorn's connections as ccm needs them (ccm/serve/hypercorn_fixes.py): a hung-up client let go
    # at once, a 10 s limit on request heads, and no more connections than the descriptors allow.
    hypercorn_fixes.install(max_connections=connection_cap(raise_open_files_limit()))
    app = create_app(holder.path, holder=holder)
    app.listen_host = host
    cfg = Config()
    cfg.bind = [f"[{host}]:{port}" if ":" in host else f"{host}:{port}"]
    cfg.accesslog = None
    cfg.errorlog = logging.getLogger("hypercorn.error")
    cfg.graceful_timeout = GRACEFUL_TIMEOUT
    cfg.keep_alive_timeout = 75
    cfg.keep_alive_max_requests = 100_000
    cfg.include_server_header = False  # no `server: hypercorn-h11`: nothing to fingerprint, one header less
    _tune_gc()
    try:
        import uvloop

        runner = asyncio.Runner(loop_factory=uvloop.new_event_loop)
    except ImportError:
        runner = asyncio.Runner()

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        trimmer = loop.create_task(memory.give_back_after_bursts(hypercorn_fixes.open_connections))

        async def shutdown_trigger() -> None:
            await stop.wait()
            log.info("stopping: requests in flight get up to %d s to finish", GRACEFUL_TIMEOUT)
            # Live request feeds never end on their own: close them, or they hold the drain open.
            app.services.requests.close_feeds()

        try:
            await hypercorn_serve(app, cfg, shutdown_trigger=shutdown_trigger)  # type: ignore[arg-type]  # ASGI, loosely typed
        finally:
            trimmer.cancel()

    try:
        with runner:
            runner.run(main())
    except OSError as exc:
        log.error("cannot serve on %s:%d: %s", host, port, exc)
        return _fail(f"cannot listen on {host}:{port}: {exc.strerror or exc}")
    log.info("ccm stopped")
    return 0


#: Descriptors kept free of client connections: the log, the request journal, the pid file, the loop's own.
FD_RESERVE = 64


def raise_open_files_limit() -> int:
    """Raise this process's soft open-files limit to its hard limit, say so in one log line, and return
    the soft limit now.

    Why: each client connection holds a descriptor and each request being answered one more upstream; the
    usual soft limit of 1024 ran out under a thousand slow clients, and then new requests and the request
    log failed. The hard limit is what the administrator allows, so nothing is taken beyond it."""
    try:
        import resource
    except ImportError:  # Windows: no such limit
        return 1 << 20
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    unlimited = resource.RLIM_INFINITY
    if soft == unlimited:
        log.info("open files limit: unlimited")
        return 1 << 20
    # An unlimited hard limit (macOS) still has a per-process cap the kernel enforces: 10240 is macOS's OPEN_MAX.
    targets = [hard] if hard != unlimited else [1 << 20, 10240]
    for target in (t for t in targets if t > soft):
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        except (ValueError, OSError):
            continue
        log.info("open files limit: %d (raised from %d)", target, soft)
        return target
    log.info("open files limit: %d", soft)
    return soft


def connection_cap(open_files: int) -> int:
    """Client connections served at once: half the descriptors left after FD_RESERVE, since each request
    being answered also holds an upstream connection."""
    return max(16, (open_files - FD_RESERVE) // 2)


#: The collector's first-generation threshold while serving (Python's default is 700 allocations).
GC_THRESHOLD = (100_000, 20, 100)


def _tune_gc() -> None:
    """Collect rarely, and never walk what start-up made.

    Why: a small proxied request allocates a few thousand short-lived objects (headers, dicts, frames),
    nearly all freed by reference counting; with the default threshold the collector still ran several
    times per request and walked every module, class and config object each time: 6-13% of a small
    request's CPU, 10-35% more requests per second at c=32 (bench/cpu_per_request.py). `freeze` moves everything alive
    now out of the collector's sight (without a collection first: 17 ms of start-up for the little
    cyclic garbage the imports leave); cyclic garbage is collected every 100,000 allocations from here."""
    import gc

    gc.freeze()
    gc.set_threshold(*GC_THRESHOLD)
    gc.enable()  # `python -m ccm` starts with it off for the imports (ccm/__main__.py)


def main(argv: list[str] | None = None) -> int:
    return serve(list(sys.argv[1:] if argv is None else argv))
