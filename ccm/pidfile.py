"""The pid file: written and locked by the server, read by `ccm status/stop` and the TUI.

The server holds an exclusive flock on `ccm.pid` for its whole life; the kernel drops it when the process
dies, so "locked" means "running" without trusting a pid that may have been reused. Stdlib only: the CLI
imports this on every `ccm status`.

    {"pid": 1234, "host": "127.0.0.1", "port": 13456, "url": "http://127.0.0.1:13456",
     "config": "/home/u/.claude-code-mux/config.toml", "started_at": 1763700000.0, "version": "0.1.0"}
"""

from __future__ import annotations

import fcntl
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True, slots=True)
class PidInfo:
    pid: int
    host: str
    port: int
    url: str
    config: str
    started_at: float
    version: str

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PidInfo:
        return cls(
            pid=int(data["pid"]),
            host=str(data.get("host", "127.0.0.1")),
            port=int(data.get("port", 0)),
            url=str(data.get("url", "")),
            config=str(data.get("config", "")),
            started_at=float(data.get("started_at", 0.0)),
            version=str(data.get("version", "")),
        )


def read(path: Path) -> PidInfo | None:
    """The pid file's contents, or None when absent or unreadable."""
    try:
        return PidInfo.from_json(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def is_locked(path: Path) -> bool:
    """True while a live server holds the pid file's lock."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError:
        return True
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    finally:
        os.close(fd)


def running(path: Path) -> PidInfo | None:
    """The running server's info, or None (a stale file left by a killed server counts as not running)."""
    if not is_locked(path):
        return None
    return read(path)


class AlreadyRunning(Exception):
    pass


def acquire(path: Path, info: dict[str, Any]) -> int:
    """Lock and write the pid file for this process; keep the returned fd open for the process's life."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        raise AlreadyRunning(str(path)) from None
    if os.fstat(fd).st_mode & 0o077:  # one an older version left readable (config.atomic.open_private)
        os.fchmod(fd, 0o600)
    os.ftruncate(fd, 0)
    os.write(fd, json.dumps(info).encode())
    os.fsync(fd)
    return fd


def release(path: Path, fd: int) -> None:
    """Remove the pid file (while still holding the lock) and close it."""
    try:
        path.unlink(missing_ok=True)
    finally:
        os.close(fd)
