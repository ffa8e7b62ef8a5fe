"""When a watched config file is ready to be read again: changed, and whole.

A change is seen by polling the file's mtime, size, inode and a hash of its content (the hash catches an
edit that keeps the size within the filesystem's mtime resolution). A new inode (an editor or ccm that
writes a temporary file and renames it over the old one) means the file arrived whole: ready at once. A
change of the same inode means someone writes it in place and may not be done (a valid prefix would load
and serve half the models): ready only once the file has stayed the same for `STABLE_S`.

    watch = FileWatch(path)
    watch.seen()          # what is on disk now is what was loaded (or refused)
    if watch.ready():     # poll: True once a change is whole
        reload()
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

STABLE_S = 1.0
"""How long a file changed in place must stay the same before it is read."""
MAX_HASHED = 16 * 2**20
"""Bytes of the file hashed at most (a config is a few KiB; a runaway file is not read whole every poll)."""


@dataclass(frozen=True, slots=True)
class Signature:
    mtime_ns: int
    size: int
    inode: int
    digest: bytes


def signature(path: Path) -> Signature | None:
    """The file as it is now, or None while it is missing (mid-rename, deleted)."""
    try:
        with open(path, "rb") as fh:
            st = os.fstat(fh.fileno())
            digest = hashlib.blake2b(fh.read(MAX_HASHED), digest_size=16).digest()
    except OSError:
        return None
    return Signature(st.st_mtime_ns, st.st_size, st.st_ino, digest)


class FileWatch:
    def __init__(self, path: Path, clock: Callable[[], float] = time.monotonic) -> None:
        self.path = path
        self.clock = clock
        self._seen: Signature | None = None
        self._pending: Signature | None = None
        self._pending_since = 0.0

    def seen(self) -> None:
        """Mark what is on disk now as handled (loaded or refused): only a later change is ready."""
        self._seen = signature(self.path)
        self._pending = None

    def ready(self) -> bool:
        """True when the file changed since `seen` and the change is whole (blocking I/O: call from a thread)."""
        now = signature(self.path)
        if now is None or now == self._seen:
            self._pending = None
            return False
        if self._seen is None or now.inode != self._seen.inode:
            return True  # renamed into place: whole
        if now != self._pending:  # still changing (or a first sight of the change): wait for it to settle
            self._pending, self._pending_since = now, self.clock()
            return False
        return self.clock() - self._pending_since >= STABLE_S
