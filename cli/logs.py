"""`ccm logs`: the last lines of ccm.log, and following it across rotations.

The server rotates ccm.log by renaming it (RotatingFileHandler: ccm.log -> ccm.log.1) and opening a new
file. A follower holding the old descriptor would go quiet forever, so it watches the path's inode and
size and reopens, after draining whatever the old file still had.
"""

from __future__ import annotations

import os
import sys
import time
from collections import deque
from pathlib import Path
from typing import TextIO

POLL_S = 0.2


def last_lines(fh: TextIO, count: int) -> list[str]:
    """The last `count` lines; reads to the end either way, so a follower starts after them."""
    return list(deque(fh, maxlen=max(count, 0)))


def _write(lines: list[str] | str) -> None:
    sys.stdout.write("".join(lines) if isinstance(lines, list) else lines)
    sys.stdout.flush()


def show(path: Path, count: int) -> None:
    with open(path, encoding="utf-8", errors="replace") as fh:
        _write(last_lines(fh, count))


def follow(path: Path, count: int, *, poll_s: float = POLL_S, until: float | None = None) -> None:
    """Print the last `count` lines, then new lines as they come, until Ctrl-C (or `until`, for tests).

    Ctrl-C propagates (KeyboardInterrupt): the command exits 130, as every interrupted ccm command does."""
    fh: TextIO | None = None
    inode = -1
    try:
        while until is None or time.monotonic() < until:
            if fh is None:
                try:
                    fh = open(path, encoding="utf-8", errors="replace")  # noqa: SIM115 (kept open across loops)
                except FileNotFoundError:
                    time.sleep(poll_s)
                    continue
                inode = os.fstat(fh.fileno()).st_ino
                if count >= 0:
                    _write(last_lines(fh, count))
                    count = -1  # only the first file gets a tail; a rotated-in one is read whole
            chunk = fh.read()
            if chunk:
                _write(chunk)
                continue
            try:
                st = os.stat(path)
                rotated = st.st_ino != inode or st.st_size < fh.tell()
            except FileNotFoundError:
                rotated = True
            if rotated:
                _write(fh.read())  # whatever landed in the old file before the rename
                fh.close()
                fh = None
                continue
            time.sleep(poll_s)
    finally:
        if fh is not None:
            fh.close()
