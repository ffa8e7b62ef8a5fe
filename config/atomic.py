"""Write a file so that no crash, full disk or read-only folder ever leaves it truncated."""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
from pathlib import Path


def atomic_write(path: Path, text: str, *, backup: bool = True, mode: int = 0o600, keep_mode: bool = True) -> None:
    """Write a file so that a crash or a full disk never leaves it truncated; keep the old one as .bak.

    A symlinked file (dotfile managers) is written where the link points; the link stays a link. A new
    file gets `mode`; an existing one keeps its mode unless `keep_mode` is False (secrets: always 0600).
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
        os.chmod(tmp, stat.S_IMODE(path.stat().st_mode) if exists and keep_mode else mode)
        if exists and backup:  # copied under a temp name, then renamed: a .bak is never half written either
            fd_bak, tmp_bak = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".bak.tmp", dir=path.parent)
            os.close(fd_bak)
            temps.append(tmp_bak)
            shutil.copy2(path, tmp_bak)
            os.replace(tmp_bak, path.with_name(path.name + ".bak"))
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
