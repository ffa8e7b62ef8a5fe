"""Give memory back to the system after a burst of connections.

Why: Python hands the buffers of a stream (up to a few MiB each while a client reads slowly) back to
glibc's malloc when the stream ends, but glibc keeps most of them for reuse: after a hundred stalled
18 MB streams the proxy's RSS stayed ~460 MiB above its baseline long after every client had gone
(bench/stalled_streams.py). `malloc_trim(0)` returns the free pages of every arena to the system.

It is asked only after connections have closed (the most open at once since the last look is more than
are open now) and while RSS is more than SLACK above what it was once serving began; a look costs a read
of /proc/self/statm. Elsewhere than Linux with glibc there is nothing to call and nothing runs.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import logging
import os
from collections.abc import Callable

log = logging.getLogger("ccm.serve.memory")

INTERVAL = 5.0  # seconds between looks
SLACK = 32 * 2**20  # bytes of RSS above the baseline that are left alone


def _malloc_trim() -> Callable[[int], int] | None:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        trim = libc.malloc_trim
    except (OSError, AttributeError):  # not glibc (musl, macOS, Windows)
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return trim


def rss() -> int | None:
    """This process's resident set in bytes, or None where /proc is missing."""
    try:
        with open("/proc/self/statm", "rb") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


def trim() -> bool:
    """Ask glibc to return its free memory now; False where there is no glibc."""
    call = _malloc_trim()
    if call is None:
        return False
    call(0)
    return True


async def give_back_after_bursts(connections: Callable[[bool], tuple[int, int]], baseline: int | None = None) -> None:
    """Run for the server's life. `connections(reset_peak)`: (open now, most open since the last reset);
    `baseline`: the RSS to come back to (default: RSS now, as serving begins)."""
    call = _malloc_trim()
    baseline = baseline or rss()
    if call is None or baseline is None:
        return
    while True:
        await asyncio.sleep(INTERVAL)
        now, peak = connections(True)
        size = rss()
        if size is None or peak <= now or size - baseline <= SLACK:
            continue
        call(0)
        after = rss() or size
        log.debug("gave back %d MiB after connections closed (RSS now %d MiB)", (size - after) >> 20, after >> 20)
