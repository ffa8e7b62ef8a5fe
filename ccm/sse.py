"""Server-sent events, incrementally: bytes in (split anywhere, even inside a UTF-8 character), events out.

parser = SSEParser()
for event in parser.feed(chunk):   # SSEEvent(event="message_start", data='{"type":...}', raw=b"...")
    ...
parser.flush()                      # a last event the upstream did not terminate with a blank line
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson


@dataclass(frozen=True, slots=True)
class SSEEvent:
    event: str
    """The `event:` field, or "message" when absent (as OpenAI streams)."""
    data: str
    raw: bytes
    """The event's bytes as received, normalised to end with a blank line."""

    def json(self) -> Any:
        return orjson.loads(self.data)


class SSEParser:
    """Splits a byte stream into events; only complete events are returned, so UTF-8 is never cut."""

    def __init__(self) -> None:
        self._buf = b""

    def feed(self, chunk: bytes) -> list[SSEEvent]:
        if not chunk:
            return []
        buf = self._buf + chunk if self._buf else chunk
        if b"\r" in buf:
            # CRLF or CR line endings: normalise, but keep a trailing \r until its \n may arrive.
            keep = buf.endswith(b"\r")
            body = buf[:-1] if keep else buf
            buf = body.replace(b"\r\n", b"\n").replace(b"\r", b"\n") + (b"\r" if keep else b"")
        if b"\n\n" not in buf:
            self._buf = buf
            return []
        *blocks, self._buf = buf.split(b"\n\n")  # one split, not a slice per event (a read holds many)
        events: list[SSEEvent] = []
        for block in blocks:
            event = _parse_block(block)
            if event is not None:
                events.append(event)
        return events

    def flush(self) -> list[SSEEvent]:
        block, self._buf = self._buf.rstrip(b"\r\n"), b""
        event = _parse_block(block) if block else None
        return [event] if event is not None else []

    @property
    def pending(self) -> bytes:
        return self._buf


def _parse_block(block: bytes) -> SSEEvent | None:
    # The two layouts nearly every event has, without the general loop: `data: X` (OpenAI) and
    # `event: NAME\ndata: X` (Anthropic). Same result as the loop below, which handles everything else.
    if block.startswith(b"data: ") and b"\n" not in block:
        return SSEEvent("message", block[6:].decode("utf-8", errors="replace"), block + b"\n\n")
    if block.startswith(b"event: "):
        newline = block.find(b"\n")
        if newline > 7 and block.startswith(b"data: ", newline + 1) and block.find(b"\n", newline + 1) < 0:
            name = block[7:newline].decode("utf-8", errors="replace")
            return SSEEvent(name, block[newline + 7 :].decode("utf-8", errors="replace"), block + b"\n\n")
    return _parse_lines(block)


def _parse_lines(block: bytes) -> SSEEvent | None:
    name = "message"
    data: list[str] = []
    text = block.decode("utf-8", errors="replace")
    for line in text.split("\n"):
        if not line or line.startswith(":"):
            continue
        field, _, value = line.partition(":")
        if value.startswith(" "):
            value = value[1:]
        if field == "event":
            name = value
        elif field == "data":
            data.append(value)
    if not data and name == "message":
        return None  # comments / keep-alives only
    return SSEEvent(name, "\n".join(data), block + b"\n\n")


def encode(event: str, data: Any) -> bytes:
    """One SSE frame in Anthropic's layout: `event: NAME\\ndata: JSON\\n\\n`."""
    return b"event: " + event.encode() + b"\ndata: " + orjson.dumps(data) + b"\n\n"
