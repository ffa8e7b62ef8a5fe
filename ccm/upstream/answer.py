"""An upstream's answer as the dispatcher reads it, and the bounds every answer is read within.

    answer = await post(client, url, headers, body, timeout)   # ccm.upstream.client
    answer.status_code, answer.headers.get("content-type")
    body = await answer.aread()          # the whole body: InvalidAnswer past MAX_ANSWER
    reads = Reads(answer)                # a stream: next() is cancel-safe, InvalidAnswer past MAX_EVENT

Why bounds: an upstream is a remote party. A body that never ends, a compressed body that inflates a
thousandfold, or one server-sent event that never closes would otherwise grow the proxy's memory until
the machine gives out. Past the bound the answer is invalid (the dispatcher fails over), and the reading
stops there: nothing beyond the bound is ever held.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping

import httpx

MAX_ANSWER = 64 * 1024 * 1024
"""A whole body (non-streaming, or an error), after decompression."""
MAX_EVENT = 64 * 1024 * 1024
"""One server-sent event: the bytes since the last blank line."""


def _last_boundary(data: bytes) -> int:
    """Where the last event ending in `data` ends (after its blank line), or -1."""
    end = data.rfind(b"\n\n")
    end = end + 2 if end >= 0 else -1
    if b"\r" in data:  # CRLF or CR line ends: rare, so looked for only when present
        for boundary in (b"\r\n\r\n", b"\r\r"):
            found = data.rfind(boundary)
            if found >= 0:
                end = max(end, found + len(boundary))
    return end


class InvalidAnswer(httpx.RemoteProtocolError):
    """An answer ccm will not read on: malformed (a status or header HTTP forbids), in a coding ccm cannot
    decode within bounds, or larger than its bound. The attempt fails over; it is never retried, since the
    same upstream would send the same answer again."""


class Answer:
    """What `ccm.upstream.client.post` returns once the status line and headers are in: the status, the
    headers (case-insensitive `get`), and the body, decoded, one read at a time."""

    __slots__ = ("headers", "status_code")

    def __init__(self, status_code: int, headers: Mapping[str, str]) -> None:
        self.status_code = status_code
        self.headers = headers

    async def read(self) -> bytes:
        """The next decoded bytes, b"" at the end. Cancel-safe: a cancelled wait loses no byte."""
        raise NotImplementedError

    async def aclose(self) -> None:
        """Let the connection go: back to the pool when the body was read to its end, else closed."""
        raise NotImplementedError

    async def aread(self, limit: int = MAX_ANSWER) -> bytes:
        """The whole body; InvalidAnswer (and the connection closed) once it passes `limit`."""
        parts: list[bytes] = []
        size = 0
        while chunk := await self.read():
            size += len(chunk)
            if size > limit:
                await self.aclose()
                raise InvalidAnswer(f"the answer is larger than {limit // (1024 * 1024)} MiB")
            parts.append(chunk)
        return parts[0] if len(parts) == 1 else b"".join(parts)


class Reads:
    """A stream's reads as they arrive, for the failover window and the relay.

    `next()` may be cancelled (a ping timer's wait) and called again without losing a byte, so a stream
    needs no task per chunk. It also watches the event framing: `events` counts the reads that completed
    at least one server-sent event (progress, for the relay's stall bound `idle_s`: bytes of an event that
    never completes are not), and an event that grows past MAX_EVENT is an InvalidAnswer. An Answer is read directly (its
    reads are cancel-safe); any other source of chunks (the translators' tests) through a shielded task."""

    def __init__(
        self, source: Answer | AsyncIterator[bytes], *, idle_s: float | None = None, limit: int = MAX_EVENT
    ) -> None:
        self._answer = source if isinstance(source, Answer) else None
        self._iterator = None if isinstance(source, Answer) else aiter(source)
        self._pending: asyncio.Future[bytes] | None = None
        self._limit = limit
        self.idle_s = idle_s
        """The longest wait for the next complete event (the relay's stall bound), or None."""
        self._open = 0  # bytes since the last event boundary
        self._tail = b""  # the last bytes read, for a boundary split across two reads
        self.events = 0

    async def next(self) -> bytes:
        """The next bytes, b"" at the end."""
        if self._answer is not None:
            chunk = await self._answer.read()
        else:
            if self._pending is None:
                self._pending = asyncio.ensure_future(self._from_iterator())
            chunk = await asyncio.shield(self._pending)
            self._pending = None
        if chunk:
            self._watch(chunk)
        return chunk

    def _watch(self, chunk: bytes) -> None:
        end = _last_boundary(chunk)
        if end < 0 and self._tail:  # a boundary across two reads ("\n" then "\n...")
            joined = self._tail + chunk[:3]
            cut = _last_boundary(joined)
            if cut > len(self._tail):
                end = cut - len(self._tail)
        if end >= 0:
            self.events += 1
            self._open = len(chunk) - end
        else:
            self._open += len(chunk)
        if self._open > self._limit:
            raise InvalidAnswer(f"an event of the stream is larger than {self._limit // (1024 * 1024)} MiB")
        self._tail = chunk[-3:] if len(chunk) >= 3 else (self._tail + chunk)[-3:]

    async def _from_iterator(self) -> bytes:
        assert self._iterator is not None
        return await anext(self._iterator, b"")

    def __aiter__(self) -> Reads:
        return self

    async def __anext__(self) -> bytes:
        chunk = await self.next()
        if not chunk:
            raise StopAsyncIteration
        return chunk

    def cancel(self) -> None:
        if self._pending is not None:
            self._pending.cancel()
