"""Small pure formatters shared by the tabs: paths, durations, times, URLs and statuses as shown on screen.

Kept free of Textual so they are cheap to test and so every tab says things the same way.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from rich.text import Text


def display_path(path: str | Path) -> str:
    """A path as a person reads it: the home folder written `~`."""
    p = Path(path)
    try:
        return "~/" + str(p.relative_to(Path.home()))
    except ValueError:
        return str(p)


def duration(seconds: float) -> str:
    """`42s`, `3m 12s`, `5h 02m`, `2d 03h`: short enough for a status line."""
    s = max(0, int(seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m {s % 60:02d}s"
    if s < 86400:
        return f"{s // 3600}h {s % 3600 // 60:02d}m"
    return f"{s // 86400}d {s % 86400 // 3600:02d}h"


def clock_time(epoch: float) -> str:
    """Local wall-clock time of an epoch second, `14:03:27`."""
    return time.strftime("%H:%M:%S", time.localtime(epoch))


def date_time(epoch: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(epoch))


def short_url(url: str | None) -> str:
    """A URL without its scheme, to save columns in a table."""
    if not url:
        return ""
    return url.split("://", 1)[-1]


def plural(count: int, noun: str) -> str:
    """`1 mapping`, `2 mappings`."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def status_text(status: int | None) -> Text:
    """An HTTP status coloured by class (no status: the request never got one)."""
    if status is None:
        return Text("—", style="dim")
    style = "green" if status < 300 else ("yellow" if status < 500 else "red")
    return Text(str(status), style=style)


def tokens(value: int | None) -> str:
    return "—" if value is None else f"{value:,}"


def latency(ms: float | int | None) -> str:
    if ms is None:
        return "—"
    return f"{ms / 1000:.1f} s" if ms >= 10_000 else f"{int(ms)} ms"


def attempts(value: Any) -> str:
    """The request log's attempts: a list of attempt records (an older proxy sent a count)."""
    if isinstance(value, list):
        return str(len(value))
    return "" if value is None else str(value)
