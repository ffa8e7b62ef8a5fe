"""Write a file so that no crash, full disk or read-only folder ever leaves it truncated, and open the files
ccm keeps in CCM_HOME so that they are the user's alone from their first byte (keys, logs, the request
log): created 0600 by `os.open` itself, whatever the umask; never written first and chmod-ed after."""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

PRIVATE = 0o600
_OTHERS = 0o077
"""Permission bits for the group and everyone else: none on anything ccm writes in CCM_HOME."""


def open_private(path: Path, flags: int) -> int:
    """`os.open` with O_CREAT and mode 0600; an existing file someone made readable is tightened first."""
    fd = os.open(path, flags | os.O_CREAT, PRIVATE)
    try:
        if os.fstat(fd).st_mode & _OTHERS:
            os.fchmod(fd, stat.S_IMODE(os.fstat(fd).st_mode) & ~_OTHERS)
    except OSError:
        os.close(fd)
        raise
    return fd


@contextlib.contextmanager
def exclusive(lock_path: Path) -> Iterator[None]:
    """This process's turn at what `lock_path` guards, across processes (an exclusive lock on that file,
    created 0600 beside what it guards; dropped when its descriptor closes, even if the process dies)."""
    lock_path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = open_private(lock_path, os.O_RDWR)
    try:
        lock_file(fd)
        yield
    finally:
        os.close(fd)


def lock_file(fd: int) -> None:
    """Block until this process holds the file's exclusive lock (released when fd is closed)."""
    if sys.platform == "win32":  # msvcrt locks a byte range; LK_LOCK retries for 10 s, then raises
        import msvcrt

        while True:
            try:
                msvcrt.locking(fd, msvcrt.LK_LOCK, 1)
                return
            except OSError:
                continue
    import fcntl

    fcntl.flock(fd, fcntl.LOCK_EX)


def backup_path(path: Path) -> Path:
    """Where `atomic_write` keeps the previous version of `path`: `NAME.bak` beside the file (beside the
    file a symlink points to, for a symlink)."""
    real = Path(os.path.realpath(path))
    return real.with_name(real.name + ".bak")


def atomic_write(path: Path, text: str, *, backup: bool = True, mode: int = 0o600, keep_mode: bool = True) -> None:
    """Write a file so that a crash or a full disk never leaves it truncated; keep the old one as .bak.

    A symlinked file (dotfile managers) is written where the link points; the link stays a link. A new
    file gets `mode`; an existing one keeps its owner's bits unless `keep_mode` is False (secrets: always
    0600), never the group's or anyone else's (a config may hold literal keys). The .bak is 0600 too.
    """
    path = Path(os.path.realpath(path))
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)  # a new folder (CCM_HOME) holds config and secrets
    temps: list[str] = []
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        temps.append(tmp)
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        exists = path.exists()
        os.chmod(tmp, stat.S_IMODE(path.stat().st_mode) & ~_OTHERS if exists and keep_mode else mode)
        if exists and backup:  # copied under a temp name, then renamed: a .bak is never half written either
            fd_bak, tmp_bak = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".bak.tmp", dir=path.parent)
            os.close(fd_bak)
            temps.append(tmp_bak)
            shutil.copyfile(path, tmp_bak)  # the content only, into mkstemp's 0600 file (copy2 copies the mode)
            os.replace(tmp_bak, backup_path(path))
        os.replace(tmp, path)
    except BaseException:
        for name in temps:
            Path(name).unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


def fsync_dir(folder: Path) -> None:
    """Make a rename in `folder` durable (best effort: some filesystems refuse a directory fsync)."""
    try:
        dir_fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except OSError:
        pass
