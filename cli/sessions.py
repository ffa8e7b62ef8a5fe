"""Reference counting of `ccm code` sessions, safe against crashes.

Each session holds an exclusive flock on its own file, `$CCM_HOME/sessions/<pid>-<random>.session`, for as
long as its `ccm code` process lives; the kernel drops the lock when the process dies, however it dies.
So a live session is a locked file, and a file whose lock is free was left by a crashed session and is
ignored (and removed). No counter file can drift.

When a `ccm code` starts the proxy, it writes `proxy-owner.json` (the proxy's pid and start time). The
last session to leave stops the proxy only if that marker names the proxy that is running now: a proxy
started with `ccm start` is never stopped by `ccm code`.

Registering, unregistering, starting and stopping happen under one more lock (`.registry.lock`), so a
session that starts while the last one leaves never finds its proxy stopped under it.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ccm import pidfile
from config import paths


def sessions_dir() -> Path:
    folder = paths.ensure_home() / "sessions"
    folder.mkdir(mode=0o700, exist_ok=True)
    return folder


@contextlib.contextmanager
def registry_lock() -> Iterator[None]:
    """Serialise session bookkeeping across processes (blocking; released even if we crash)."""
    fd = os.open(sessions_dir() / ".registry.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing drops the lock


@dataclass(slots=True)
class Session:
    path: Path
    fd: int

    def close(self) -> None:
        """Leave: remove the file while still holding its lock, then let go of it."""
        try:
            self.path.unlink(missing_ok=True)
        finally:
            os.close(self.fd)


def open_session() -> Session:
    """Register this process as a live session."""
    path = sessions_dir() / f"{os.getpid()}-{os.urandom(4).hex()}.session"
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # a brand-new file: nobody else can hold it
    os.write(fd, json.dumps({"pid": os.getpid()}).encode())
    return Session(path, fd)


def live_sessions() -> list[Path]:
    """Session files whose owner is alive; stale ones (lock free) are removed on the way."""
    live = []
    for path in sorted(sessions_dir().glob("*.session")):
        if path.name.startswith("."):
            continue
        if pidfile.is_locked(path):
            live.append(path)
        else:
            path.unlink(missing_ok=True)
    return live


def _owner_path() -> Path:
    return sessions_dir() / "proxy-owner.json"


def mark_owned(info: pidfile.PidInfo) -> None:
    """Record that `ccm code` started this proxy, so the last session stops it."""
    from config.atomic import atomic_write

    atomic_write(_owner_path(), json.dumps({"pid": info.pid, "started_at": info.started_at}), backup=False)


def owned(info: pidfile.PidInfo) -> bool:
    """Whether the running proxy is the one a `ccm code` session started."""
    try:
        data = json.loads(_owner_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return bool(data.get("pid") == info.pid and data.get("started_at") == info.started_at)


def clear_owner() -> None:
    _owner_path().unlink(missing_ok=True)
