"""The wire half of bench/compare.py: the fake OpenAI-compatible upstream and the raw load client.

Both are plain asyncio on HTTP/1.1 keep-alive, with no HTTP library in the way, so the figures are
the proxies' own cost and not httpx's or aiohttp's. The upstream answers from bytes built once: a
request costs it one header parse and one `bytes.find` for the marker, whatever the body's size.

    python bench/cmp_wire.py        # runs the upstream alone; prints its port on the first line
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from dataclasses import dataclass, field

MARK_STREAM = b"ccm-bench:stream"  # in the last user message: answer as an SSE stream of 20 chunks
MARK_PACED = b"ccm-bench:paced"  # 10 chunks, 10 ms apart
STREAM_CHUNKS = 20
PACED_CHUNKS = 10
PACE_S = 0.010

_ANSWER = json.dumps(
    {
        "id": "chatcmpl-bench",
        "object": "chat.completion",
        "created": 1,
        "model": "m",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 5, "completion_tokens": 1, "total_tokens": 6},
    },
    separators=(",", ":"),
).encode()
_JSON_RESPONSE = (
    b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: "
    + str(len(_ANSWER)).encode()
    + b"\r\n\r\n"
    + _ANSWER
)
_STREAM_HEAD = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"


def _http_chunk(data: bytes) -> bytes:
    return f"{len(data):x}\r\n".encode() + data + b"\r\n"


def _event(choices: list[dict[str, object]], usage: dict[str, int] | None = None) -> bytes:
    chunk: dict[str, object] = {
        "id": "chatcmpl-bench",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "m",
        "choices": choices,
    }
    if usage is not None:
        chunk["usage"] = usage
    return _http_chunk(b"data: " + json.dumps(chunk, separators=(",", ":")).encode() + b"\n\n")


def stream_events(count: int) -> list[bytes]:
    """One HTTP chunk per SSE event: `count` text deltas, the finish, the usage, [DONE], the end."""
    events = [
        _event(
            [
                {
                    "index": 0,
                    "delta": {"role": "assistant", "content": f"w{i} "} if i == 0 else {"content": f"w{i} "},
                    "finish_reason": None,
                }
            ]
        )
        for i in range(count)
    ]
    events.append(_event([{"index": 0, "delta": {}, "finish_reason": "stop"}]))
    events.append(_event([], {"prompt_tokens": 5, "completion_tokens": count, "total_tokens": 5 + count}))
    events.append(_http_chunk(b"data: [DONE]\n\n") + b"0\r\n\r\n")
    return events


_HELLO_STREAM = _STREAM_HEAD + b"".join(stream_events(STREAM_CHUNKS))
_PACED_EVENTS = stream_events(PACED_CHUNKS)


async def _read_body(reader: asyncio.StreamReader, head: bytes) -> bytes:
    lower = head.lower()
    if b"transfer-encoding: chunked" in lower:
        parts: list[bytes] = []
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            data = await reader.readexactly(size + 2)
            if size == 0:
                return b"".join(parts)
            parts.append(data[:-2])
    at = lower.find(b"content-length:")
    if at < 0:
        return b""
    length = int(lower[at + 15 : lower.index(b"\r\n", at)])
    return await reader.readexactly(length)


async def _serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            body = await _read_body(reader, head)
            if body.find(MARK_PACED) >= 0:
                writer.write(_STREAM_HEAD + _PACED_EVENTS[0])
                for event in _PACED_EVENTS[1 : PACED_CHUNKS + 1]:
                    await writer.drain()
                    await asyncio.sleep(PACE_S)
                    writer.write(event)
                writer.write(b"".join(_PACED_EVENTS[PACED_CHUNKS + 1 :]))
            elif body.find(MARK_STREAM) >= 0:
                writer.write(_HELLO_STREAM)
            else:
                writer.write(_JSON_RESPONSE)
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError, ValueError):
        writer.close()


async def serve_upstream(port: int = 0) -> asyncio.Server:
    return await asyncio.start_server(_serve, "127.0.0.1", port, backlog=512)


def request_bytes(path: str, body: bytes, headers: dict[str, str] | None = None) -> bytes:
    lines = [f"POST {path} HTTP/1.1", "host: 127.0.0.1", "content-type: application/json"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    lines.append(f"content-length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


@dataclass(frozen=True)
class Shot:
    """One request as the client sends it, and what its answer must contain."""

    raw: bytes
    first: bytes | None = None  # time to the first occurrence of this (first text), if set
    expect: bytes = b""  # the whole answer must contain this (a stream's end), else it counts as an error


@dataclass
class Samples:
    first_ms: list[float] = field(default_factory=list)
    total_ms: list[float] = field(default_factory=list)
    errors: int = 0
    last_error: str = ""


class Conn:
    """One keep-alive connection; reopens itself after an error or a `connection: close` answer."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def send(self, shot: Shot, out: Samples) -> None:
        start = time.perf_counter()
        try:
            if self.writer is None:
                self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
            assert self.reader is not None
            self.writer.write(shot.raw)
            head = await self.reader.readuntil(b"\r\n\r\n")
            first, body, close = await self._body(head, shot.first, start)
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError) as exc:
            self.close()
            out.errors += 1
            out.last_error = repr(exc)
            return
        end = time.perf_counter()
        status = head[9:12]
        if status != b"200" or (shot.expect and shot.expect not in body):
            out.errors += 1
            out.last_error = (head[:12] + b" " + body[:200]).decode(errors="replace")
        else:
            out.total_ms.append((end - start) * 1000)
            if first is not None:
                out.first_ms.append((first - start) * 1000)
        if close:
            self.close()

    async def _body(self, head: bytes, marker: bytes | None, start: float) -> tuple[float | None, bytes, bool]:
        assert self.reader is not None
        lower = head.lower()
        close = b"connection: close" in lower
        body = bytearray()
        first: float | None = None
        if b"transfer-encoding: chunked" in lower:
            while True:
                size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
                data = await self.reader.readexactly(size + 2)
                if size == 0:
                    break
                scan = max(0, len(body) - len(marker)) if marker else 0
                body += data[:-2]
                if marker and first is None and body.find(marker, scan) >= 0:
                    first = time.perf_counter()
        else:
            at = lower.find(b"content-length:")
            if at >= 0:
                body += await self.reader.readexactly(int(lower[at + 15 : lower.index(b"\r\n", at)]))
            else:
                body += await self.reader.read()
                close = True
            if marker and body.find(marker) >= 0:
                first = time.perf_counter()
        return first, bytes(body), close

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


def run_count(port: int, shot: Shot, count: int) -> Samples:
    """`count` requests one after another on one connection (concurrency 1)."""

    async def main() -> Samples:
        out, conn = Samples(), Conn(port)
        for _ in range(count):
            await conn.send(shot, out)
        conn.close()
        return out

    return asyncio.run(main())


def run_interleaved(targets: list[tuple[int, Shot]], count: int) -> list[Samples]:
    """`count` requests to each target at concurrency 1, taking turns (A B C A B C ...), one connection
    each: a slow phase of a shared VM (a timer firing late, a neighbour's burst) then lands on every
    target alike instead of on whichever block it fell in, so an "added" figure is the proxy's own."""

    async def main() -> list[Samples]:
        outs, conns = [Samples() for _ in targets], [Conn(port) for port, _ in targets]
        for _ in range(count):
            for conn, (_, shot), out in zip(conns, targets, outs, strict=True):
                await conn.send(shot, out)
        for conn in conns:
            conn.close()
        return outs

    return asyncio.run(main())


def run_for(port: int, shot: Shot, concurrency: int, seconds: float) -> tuple[float, Samples]:
    """`concurrency` connections sending back to back for `seconds`: (answers per second, samples)."""

    async def worker(end: float, out: Samples) -> None:
        conn = Conn(port)
        while time.perf_counter() < end:
            await conn.send(shot, out)
        conn.close()

    async def main() -> tuple[float, Samples]:
        out = Samples()
        start = time.perf_counter()
        await asyncio.gather(*(worker(start + seconds, out) for _ in range(concurrency)))
        return len(out.total_ms) / (time.perf_counter() - start), out

    return asyncio.run(main())


def _main() -> None:
    async def main() -> None:
        server = await serve_upstream(int(sys.argv[1]) if len(sys.argv) > 1 else 0)
        print(server.sockets[0].getsockname()[1], flush=True)
        await server.serve_forever()

    asyncio.run(main())


if __name__ == "__main__":
    _main()
