"""Run the proxy as a detached child process, wait until it is healthy, stop it gracefully.

Stdlib only (http.client, not httpx: `ccm start` polls /health every 30 ms and should not pay 50 ms to
import a client). The server itself is `python -m ccm serve` (ccm/serve/main.py): it holds the pid file's
lock for its whole life, so "locked" is "running", whatever the pid says.

    child = spawn(config, host, port)              # Popen, its own session, output in ccm.out
    info = wait_healthy(child, deadline_s=10)      # PidInfo once /health answers with the child's pid
    stop(info)                                     # SIGTERM, graceful drain, SIGKILL as a last resort
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections import deque
from pathlib import Path
from typing import Any

from ccm import pidfile
from config import paths
from config.errors import CcmError

DRAIN_S = 30.0
"""The server lets streams in flight finish for this long on SIGTERM (ccm.serve.main.GRACEFUL_TIMEOUT)."""
STOP_GRACE_S = DRAIN_S + 5.0
"""`ccm stop` waits this long (the drain, then 5 s to exit) before SIGKILL."""
HEALTH_DEADLINE_S = 10.0
POLL_S = 0.03


def port_problem(host: str, port: int, choose: str = "with --port") -> str | None:
    """Why the proxy could not listen on host:port, or None when it can (we try to bind it ourselves).

    `choose` says how this command picks another port (`ccm code` takes no --port of its own)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        return f"cannot resolve host {host!r}: {exc.strerror}"
    family, kind, proto, _name, address = infos[0]
    with socket.socket(family, kind, proto) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # a TIME_WAIT from the last run is fine
        try:
            sock.bind(address)
        except PermissionError:
            return f"no permission to listen on port {port} on {host}; pick a port above 1023 {choose}"
        except OSError as exc:
            if exc.errno in (98, 48, 10048):  # EADDRINUSE on Linux, macOS, Windows
                return f"port {port} on {host} is in use by {_holder(host, port)}; pick another {choose}"
            return f"cannot listen on {host}:{port}: {exc.strerror or exc}"
    return None


def _holder(host: str, port: int) -> str:
    """Who holds a taken port: another ccm when its /health answers as one (asked only once the port is
    known taken, so a normal start waits for nothing), else "another program"."""
    if host in ("0.0.0.0", "", "::"):
        host = "::1" if host == "::" else "127.0.0.1"
    answer = health(f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}", timeout=0.5)
    if answer is None or answer.get("status") != "ok" or "pid" not in answer:
        return "another program"
    config = f", config {answer['config']}" if answer.get("config") else ""
    return f"another ccm (pid {answer['pid']}{config})"


def health(url: str, timeout: float = 1.0) -> dict[str, Any] | None:
    """GET /health on a proxy URL; the JSON answer, or None when nothing (healthy) answers.

    http.client never reads HTTP_PROXY, so a corporate proxy cannot intercept loopback calls.
    """
    import http.client  # deferred: ~10 ms (ssl, email) that `ccm route explain` should not pay

    host_port = url.split("://", 1)[-1].rstrip("/")
    conn = http.client.HTTPConnection(host_port, timeout=timeout)
    try:
        conn.request("GET", "/health")
        response = conn.getresponse()
        body = response.read()
        if response.status != 200:
            return None
        data = json.loads(body)
        return data if isinstance(data, dict) else None
    except (OSError, ValueError, http.client.HTTPException):
        return None
    finally:
        conn.close()


def serve_command(
    config: Path | None, host: str | None, port: int | None, *, foreground: bool = False, log_format: str | None = None
) -> list[str]:
    """The server's command line; `--create-config` because `ccm start` (and `ccm code`) may create it;
    `--foreground` makes it print its serving line on stderr too (systemd/journald, Docker); `log_format`
    "json" makes every log line a JSON object on stderr as well (containers)."""
    argv = [sys.executable, "-m", "ccm", "serve", "--create-config"]
    if foreground:
        argv.append("--foreground")
    if log_format:
        argv += ["--log-format", log_format]
    if config is not None:
        argv += ["--config", str(config)]
    if host:
        argv += ["--host", host]
    if port:
        argv += ["--port", str(port)]
    return argv


def spawn(config: Path | None, host: str | None, port: int | None) -> subprocess.Popen[bytes]:
    """Start the server detached: its own session (a Ctrl-C in this terminal does not reach it), no
    stdin, stdout and stderr to ccm.out (truncated: it holds only this run's early output)."""
    paths.ensure_home()
    from config.atomic import open_private

    with open(open_private(paths.out_path(), os.O_WRONLY | os.O_TRUNC), "wb") as sink:  # 0600 from the start
        return subprocess.Popen(
            serve_command(config, host, port),
            stdin=subprocess.DEVNULL,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            close_fds=True,
        )


def tail(path: Path, lines: int = 20) -> list[str]:
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            return [line.rstrip("\n") for line in deque(fh, maxlen=lines)]
    except OSError:
        return []


def wait_healthy(child: subprocess.Popen[bytes], deadline_s: float = HEALTH_DEADLINE_S) -> pidfile.PidInfo:
    """Wait until the child holds the pid file and its /health answers with its own pid.

    Raises CcmError with the child's last output lines when it dies first or the deadline passes.
    """
    pid_path = paths.pid_path()
    deadline = time.monotonic() + deadline_s
    info: pidfile.PidInfo | None = None
    while time.monotonic() < deadline:
        code = child.poll()
        if code is not None:
            raise _died(code)
        if info is None:
            found = pidfile.running(pid_path)
            if found is not None and found.pid == child.pid:
                info = found
        if info is not None:
            answer = health(info.url, timeout=0.5)
            if answer is not None and answer.get("pid") in (None, child.pid):
                return info
        time.sleep(POLL_S)
    code = child.poll()
    if code is not None:
        raise _died(code)
    raise CcmError(
        f"the proxy (pid {child.pid}) did not answer /health within {deadline_s:.0f} s",
        hint=f"it is still starting or stuck; see `ccm logs` and {paths.out_path()}, or `ccm stop`",
    )


def _died(code: int) -> CcmError:
    lines = [line for line in tail(paths.out_path(), 20) if line.strip()]
    # The server reports config, port and "already running" problems as `ccm: ...` lines: show those.
    own = [line.removeprefix("ccm: ") for line in lines if line.startswith("ccm: ")]
    if own:
        message = "; ".join(own)
    elif lines:
        message = f"the proxy exited with code {code} before it was ready:\n" + "\n".join("  " + x for x in lines)
    else:
        message = f"the proxy exited with code {code} before it was ready"
    return CcmError(message, hint=None if own else f"full output in {paths.out_path()}")


def _wait_unlocked(pid_path: Path, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not pidfile.is_locked(pid_path):
            return True
        time.sleep(0.05)
    return not pidfile.is_locked(pid_path)


def stop(info: pidfile.PidInfo, grace_s: float = STOP_GRACE_S) -> bool:
    """SIGTERM, wait for the graceful drain (the lock is released when the process exits), then SIGKILL.

    Returns False when SIGKILL was needed.
    """
    pid_path = paths.pid_path()
    try:
        os.kill(info.pid, signal.SIGTERM)
    except ProcessLookupError:
        return True
    except PermissionError:
        raise CcmError(f"not allowed to stop pid {info.pid} (started by another user?)") from None
    if _wait_unlocked(pid_path, grace_s):
        return True
    try:
        os.kill(info.pid, signal.SIGKILL)
    except ProcessLookupError:
        return True
    _wait_unlocked(pid_path, 5.0)
    pid_path.unlink(missing_ok=True)  # a killed server cannot remove its own file
    return False


def remove_stale_pidfile() -> bool:
    """Remove a pid file that no live server holds (left by a killed server); True when one was removed."""
    pid_path = paths.pid_path()
    if pid_path.exists() and not pidfile.is_locked(pid_path):
        pid_path.unlink(missing_ok=True)
        return True
    return False
