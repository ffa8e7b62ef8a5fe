"""Hostile upstreams on raw sockets against ccm.upstream.client: every answer is read within its bounds and
by HTTP's rules, or refused as an InvalidAnswer (which the dispatcher fails over on, never retries).

The bounds are asserted on what was read, never on memory over time: each read is small, and the reading
stops at the bound (the upstream could write only about that much before the connection closed).
"""

from __future__ import annotations

import zlib
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from ccm.upstream.answer import MAX_ANSWER, MAX_EVENT, InvalidAnswer, Reads
from ccm.upstream.client import UpstreamClient, make_client, parsed_url, post
from tests.fakes.raw import Conn, RawUpstream

MiB = 1024 * 1024
TIMEOUT = httpx.Timeout(10.0)


@pytest.fixture
async def client() -> AsyncIterator[UpstreamClient]:
    c = make_client()
    yield c
    await c.aclose()


def _bomb(inflated: int) -> Iterator[bytes]:
    """A gzip body of zeros that inflates to `inflated` bytes (about a thousandth of that on the wire)."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = bytes(MiB)
    for _ in range(inflated // MiB):
        if out := packer.compress(block):
            yield out
    yield packer.flush()


def _chunked(parts: Iterator[bytes]) -> Iterator[bytes]:
    for part in parts:
        if part:
            yield b"%x\r\n%s\r\n" % (len(part), part)
    yield b"0\r\n\r\n"


async def test_a_gzip_bomb_is_decoded_in_small_steps_and_refused_past_the_bound(client: UpstreamClient) -> None:
    wire = b"".join(_bomb(4 * MAX_ANSWER))
    assert len(wire) < MiB  # a 1 MB gzip bomb of 256 MiB
    head = b"HTTP/1.1 200 OK\r\ncontent-encoding: gzip\r\ncontent-length: %d\r\n\r\n" % len(wire)
    with RawUpstream(lambda conn: conn.send(head + wire)) as up:
        answer = await post(client, parsed_url(up.url), {}, b"{}", TIMEOUT)
        biggest = total = 0
        with pytest.raises(InvalidAnswer, match="larger than 64 MiB"):
            while chunk := await answer.read():
                biggest, total = max(biggest, len(chunk)), total + len(chunk)
                if total > MAX_ANSWER:
                    await answer.aread()  # the rest through the bounded whole-body read
        assert biggest <= 4 * MiB  # never one huge inflation
        answer = await post(client, parsed_url(up.url), {}, b"{}", TIMEOUT)
        with pytest.raises(InvalidAnswer, match="larger than 64 MiB"):
            await answer.aread()


async def test_a_300_mb_answer_is_refused_at_the_bound_and_read_no_further(client: UpstreamClient) -> None:
    size = 300 * MiB

    def huge(conn: Conn) -> None:
        conn.send(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n" % size)
        block = b"x" * MiB
        conn.send_all(block for _ in range(size // MiB))

    with RawUpstream(huge) as up:
        answer = await post(client, parsed_url(up.url), {}, b"{}", TIMEOUT)
        with pytest.raises(InvalidAnswer, match="larger than 64 MiB"):
            await answer.aread()
    assert up.sent < MAX_ANSWER + 32 * MiB  # the socket buffers, and no more: the reading stopped


async def test_an_event_that_never_ends_is_refused_at_the_bound(client: UpstreamClient) -> None:
    def endless(conn: Conn) -> None:
        conn.send(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n")
        conn.send(b"17\r\nevent: ping\ndata: {}\n\n\r\n")
        block = b"%x\r\n%s\r\n" % (MiB, b"d" * MiB)
        conn.send(b"6\r\ndata: \r\n")
        conn.send_all(block for _ in range(200))

    with RawUpstream(endless) as up:
        answer = await post(client, parsed_url(up.url), {}, b"{}", TIMEOUT)
        reads, read = Reads(answer), 0
        with pytest.raises(InvalidAnswer, match="event of the stream is larger than 64 MiB"):
            while chunk := await reads.next():
                read += len(chunk)
        await answer.aclose()
        assert reads.events == 1  # the ping completed; the endless event never did
        assert read <= MAX_EVENT + 4 * MiB


@pytest.mark.parametrize(
    "head",
    [
        b"HTTP/1.1 099 Odd\r\ncontent-length: 2\r\n\r\n",
        b"HTTP/1.1 600 Odd\r\ncontent-length: 2\r\n\r\n",
        b"HTTP/1.1 200 OK\r\ntransfer-encoding: gzip, chunked\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nbad name: 1\r\ncontent-length: 2\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nx-nul\x00: 1\r\ncontent-length: 2\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nx-value: a\x00b\r\ncontent-length: 2\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nx-value: a\x01b\r\ncontent-length: 2\r\n\r\n",
        b"HTTP/1.1 200 OK\r\ncontent-encoding: br\r\ncontent-length: 2\r\n\r\n",
        b"HTTP/1.1 200 OK\r\ncontent-encoding: gzip, gzip\r\ncontent-length: 2\r\n\r\n",
    ],
    ids=[
        "status 099",
        "status 600",
        "transfer coding gzip",
        "a space in a header name",
        "a NUL in a header name",
        "a NUL in a header value",
        "a control character in a header value",
        "a content coding not asked for",
        "two content codings",
    ],
)
async def test_an_answer_http_forbids_is_invalid(client: UpstreamClient, head: bytes) -> None:
    body = head + (b"2\r\nok\r\n0\r\n\r\n" if b"chunked" in head else b"ok")
    with RawUpstream(lambda conn: conn.send(body)) as up, pytest.raises(InvalidAnswer):
        answer = await post(client, parsed_url(up.url), {}, b"{}", TIMEOUT)
        await answer.aread()


async def test_a_chunked_gzip_answer_is_decoded(client: UpstreamClient) -> None:
    """The codings ccm asks for are read, in any framing."""
    wire = zlib.compress(b'{"ok": true}', wbits=31)
    head = b"HTTP/1.1 200 OK\r\ncontent-encoding: gzip\r\ntransfer-encoding: chunked\r\n\r\n"
    with RawUpstream(lambda conn: conn.send_all([head, *_chunked(iter([wire[:5], wire[5:]]))])) as up:
        answer = await post(client, parsed_url(up.url), {}, b"{}", TIMEOUT)
        assert await answer.aread() == b'{"ok": true}'
