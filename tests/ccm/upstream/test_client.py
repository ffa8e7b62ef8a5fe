"""ccm.upstream.client: httpx's API on aiohttp's transport, against real servers on 127.0.0.1.

Every caller above the transport maps httpx's exceptions (retry a connect error, call a silence a read
timeout, never quote a bad header): each mapping is pinned here with the failure it stands for, and so is
what the connections must do (reuse, never hand a half-read answer on, never send a written request twice).
Each case runs on asyncio's loop and on uvloop's (the proxy's), whose transports differ
(tests/ccm/conftest.py).
"""

from __future__ import annotations

import asyncio
import gzip
import logging
import socket
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import httpx
import pytest

from ccm.upstream import tls
from ccm.upstream.answer import InvalidAnswer, Reads
from ccm.upstream.client import make_client, parsed_url, post
from tests.fakes.upstream import FakeUpstream, Reply

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


async def _serve(handler: Handler) -> tuple[asyncio.Server, str]:
    server = await asyncio.start_server(handler, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    return server, f"http://127.0.0.1:{port}"


async def _request_head(reader: asyncio.StreamReader) -> bytes:
    head = await reader.readuntil(b"\r\n\r\n")
    length = next(
        (int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")), 0
    )
    if length:
        await reader.readexactly(length)
    return head


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    c = make_client()
    yield c
    await c.aclose()


async def test_a_request_and_its_answer_pass_unchanged(client: httpx.AsyncClient) -> None:
    with FakeUpstream() as up:
        up.script(Reply(201, json={"ok": True}, headers={"x-up": "1", "set-cookie": "a=b"}))
        response = await client.post(f"{up.url}/v1/x?y=1", content=b'{"q":1}', headers={"x-api-key": "k"})
        assert response.status_code == 201 and response.json() == {"ok": True}
        assert response.headers["x-up"] == "1"
        got = up.received[0]
        assert got.path == "/v1/x?y=1" and got.body == b'{"q":1}' and got.headers["x-api-key"] == "k"
        assert "python-httpx" in got.headers["user-agent"]  # httpx's own headers go out
        # No cookie jar: the upstream's cookie never rides on the next request.
        await client.post(f"{up.url}/v1/x", content=b"{}")
        assert "cookie" not in up.received[1].headers


async def test_a_gzip_answer_is_decoded_once(client: httpx.AsyncClient) -> None:
    body = gzip.compress(b'{"text":"zipped"}')
    with FakeUpstream() as up:
        up.script(Reply(200, body=body, headers={"content-encoding": "gzip", "content-type": "application/json"}))
        response = await client.post(up.url, content=b"{}")
        assert response.json() == {"text": "zipped"}


async def test_connection_refused_is_a_connect_error(client: httpx.AsyncClient) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, never listening: refused
        with pytest.raises(httpx.ConnectError):
            await client.post(f"http://127.0.0.1:{port}/", content=b"{}")


async def test_silence_is_a_read_timeout(client: httpx.AsyncClient) -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _request_head(reader)
        await asyncio.sleep(5)
        writer.close()

    server, url = await _serve(silent)
    async with server:
        with pytest.raises(httpx.ReadTimeout):
            await client.post(url, content=b"{}", timeout=httpx.Timeout(5.0, read=0.2))


async def test_silence_mid_body_is_a_read_timeout(client: httpx.AsyncClient) -> None:
    async def stalls(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _request_head(reader)
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n")
        writer.write(b"5\r\nhello\r\n")
        await writer.drain()
        await asyncio.sleep(5)
        writer.close()

    server, url = await _serve(stalls)
    async with server, client.stream("POST", url, content=b"{}", timeout=httpx.Timeout(5.0, read=0.2)) as response:
        chunks = response.aiter_bytes()
        assert await anext(chunks) == b"hello"
        with pytest.raises(httpx.ReadTimeout):
            await anext(chunks)


@pytest.mark.parametrize("where", ["before headers", "mid body"])
async def test_a_dropped_connection_is_a_protocol_error(client: httpx.AsyncClient, where: str) -> None:
    with FakeUpstream() as up:
        if where == "before headers":
            up.script(Reply(drop=True))
        else:
            up.script(Reply.stream([b"data: 1\n\n", b"data: 2\n\n", b"data: 3\n\n"], cut_after=1))
        with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
            async with client.stream("POST", up.url, content=b"{}") as response:
                async for _ in response.aiter_bytes():
                    pass


@pytest.mark.parametrize(
    "key", ["sk-secret\r\nx-evil: 1", "sk-secret\x00", "sk-secretключ"], ids=["newline", "NUL", "not ASCII"]
)
async def test_a_header_http_cannot_carry_is_refused_without_quoting_it(client: httpx.AsyncClient, key: str) -> None:
    with FakeUpstream() as up:
        with pytest.raises(httpx.LocalProtocolError) as caught:  # on the proxy's lean path, as through httpx
            await post(client, parsed_url(up.url), {"x-api-key": key}, b"{}", httpx.Timeout(5.0))
        assert "sk-secret" not in str(caught.value)
        assert up.received == []


async def test_connections_are_reused_and_a_cut_read_is_never_reused(client: httpx.AsyncClient) -> None:
    peers: list[int] = []

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peers.append(writer.get_extra_info("peername")[1])
        try:
            while True:
                await _request_head(reader)
                body = b"x" * 4_000_000  # more than the socket buffers: a half-read one is really half-read
                writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n" % len(body) + body)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    server, url = await _serve(answer)
    async with server:
        for _ in range(3):
            assert len((await client.post(url, content=b"{}")).content) == 4_000_000
        assert len(peers) == 1  # read to the end: one connection, reused
        async with client.stream("POST", url, content=b"{}") as response:
            await anext(response.aiter_bytes())  # leave most of the body unread
        assert len((await client.post(url, content=b"{}")).content) == 4_000_000
        assert len(peers) == 2  # the half-read connection was closed, never handed to the next request


async def test_a_cancelled_read_releases_its_connection(client: httpx.AsyncClient) -> None:
    """A client that hangs up cancels the upstream read: the socket is closed, not left in the pool."""
    closed = asyncio.Event()

    async def slow(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _request_head(reader)
        writer.write(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n")
        await writer.drain()
        if await reader.read(1) == b"":
            closed.set()
        writer.close()

    server, url = await _serve(slow)
    async with server:
        reading = asyncio.Event()

        async def read_all() -> None:
            async with client.stream("POST", url, content=b"{}") as response:
                async for _ in response.aiter_bytes():
                    reading.set()  # the first chunk is in: the next read waits on the socket

        task = asyncio.create_task(read_all())
        await asyncio.wait_for(reading.wait(), 2)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await asyncio.wait_for(closed.wait(), 2)


async def test_an_environment_proxy_is_honoured_and_no_proxy_bypasses_it(monkeypatch: pytest.MonkeyPatch) -> None:
    with FakeUpstream() as proxy, FakeUpstream() as direct:
        proxy.script(Reply(200, json={"via": "proxy"}))
        direct.script(Reply(200, json={"via": "direct"}))
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        monkeypatch.setenv("NO_PROXY", "127.0.0.1")
        client = make_client()  # the environment is read when the transport is made
        try:
            assert (await client.post(f"{direct.url}/v1/x", content=b"{}")).json() == {"via": "direct"}
            answer = await client.post("http://llm.example.invalid/v1/x", content=b"{}")
            assert answer.json() == {"via": "proxy"}
            assert proxy.received[0].path == "http://llm.example.invalid/v1/x"  # absolute form: a proxy request
        finally:
            await client.aclose()


async def test_reads_are_decoded_and_survive_a_cancelled_wait(client: httpx.AsyncClient) -> None:
    """The relay's reads: a gzip stream arrives decoded, and a wait cut by the ping timer loses nothing."""
    body = gzip.compress(b"data: one\n\ndata: two\n\n")
    with FakeUpstream() as up:
        up.script(Reply.stream([body[:10], body[10:]], pauses={1: 0.3}, headers={"content-encoding": "gzip"}))
        answer = await post(client, parsed_url(up.url), {}, b"{}", httpx.Timeout(5.0))
        reads, got = Reads(answer), b""
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.05):  # the second piece is 0.3 s away: this wait is cut
                while True:
                    got += await reads.next()
        while chunk := await reads.next():
            got += chunk
        await answer.aclose()
        assert got == b"data: one\n\ndata: two\n\n"


async def _answers(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *answers: bytes) -> None:
    """Answer each request on this connection with the next of `answers`, then close."""
    try:
        for answer in answers:
            await _request_head(reader)
            writer.write(answer)
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    writer.close()


async def test_interim_answers_are_skipped(client: httpx.AsyncClient) -> None:
    answer = (
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nlink: </a>\r\n\r\n"
        b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok"
    )
    server, url = await _serve(lambda r, w: _answers(r, w, answer))
    async with server:
        response = await client.post(url, content=b"{}")
        assert (response.status_code, response.content) == (200, b"ok")
        assert "link" not in response.headers


async def test_an_answer_framed_two_ways_is_refused_and_its_connection_not_reused(client: httpx.AsyncClient) -> None:
    """Both Content-Length and Transfer-Encoding: the smuggling shape (RFC 9112 6.3). The parser refuses it,
    and what followed on that connection never reaches the next request."""
    peers: list[int] = []
    smuggle = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\ncontent-length: 3\r\n\r\n5\r\nhello\r\n0\r\n\r\n"

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peers.append(writer.get_extra_info("peername")[1])
        await _answers(reader, writer, smuggle, smuggle)

    server, url = await _serve(handler)
    async with server:
        for _ in range(2):
            with pytest.raises(InvalidAnswer):
                await client.post(url, content=b"{}")
        assert len(peers) == 2


@pytest.mark.parametrize(
    "answer",
    [b"HTTP/1.1 OK\r\n\r\n", b"SPDY/3 200 OK\r\n\r\n", b"HTTP/1.1 200 OK\r\nbroken header\r\n\r\n"],
    ids=["no status", "not http", "a header without a colon"],
)
async def test_a_malformed_answer_is_an_invalid_answer(client: httpx.AsyncClient, answer: bytes) -> None:
    server, url = await _serve(lambda r, w: _answers(r, w, answer))
    async with server:
        with pytest.raises(InvalidAnswer):
            await client.post(url, content=b"{}")


async def test_a_kept_alive_connection_the_upstream_closed_is_left_for_a_fresh_one(
    client: httpx.AsyncClient,
) -> None:
    """The upstream closes a kept-alive connection while it idles: the next request opens a new one."""
    ok = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok"
    closed = asyncio.Event()
    connections = 0

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        await _answers(reader, writer, ok)  # one answer, then close
        closed.set()

    server, url = await _serve(handler)
    async with server:
        assert (await client.post(url, content=b"{}")).content == b"ok"
        await asyncio.wait_for(closed.wait(), 2)
        assert (await client.post(url, content=b"{}")).content == b"ok"
        assert connections == 2


async def test_an_upstream_that_closes_after_every_answer_never_fails_the_next_request(
    client: httpx.AsyncClient,
) -> None:
    """An HTTP/1.1 server that closes each connection right after its answer without saying so (no
    `connection: close`): its close is in the socket, not yet read by the loop, when the next request wants
    the connection. The transport must see it before writing, or every second request fails."""
    ok = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok"
    connections = 0

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        await _answers(reader, writer, ok)  # the answer and the close leave together

    server, url = await _serve(handler)
    async with server:
        for _ in range(20):
            assert (await client.post(url, content=b"{}")).content == b"ok"
        assert connections == 20


async def test_a_request_written_to_a_kept_alive_connection_that_then_closes_is_never_sent_again(
    client: httpx.AsyncClient,
) -> None:
    """The upstream read the request on a kept-alive connection and closed it without a word: it may have
    acted on it (an LLM call is billed), so the client does not resend it; the error goes to
    ccm.dispatch.attempt's retry policy. (A request the client could not write, the keep-alive race, does
    go once more: the test of an upstream that closes after every answer.)"""
    ok = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok"
    requests = 0

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal requests
        await _request_head(reader)
        requests += 1
        writer.write(ok)
        await writer.drain()
        await _request_head(reader)
        requests += 1
        writer.close()

    server, url = await _serve(handler)
    async with server:
        assert (await client.post(url, content=b"{}")).content == b"ok"
        with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
            await client.post(url, content=b"{}")
        assert requests == 2


@pytest.mark.parametrize("answered", [b"", b"HTTP/1.1 200 OK\r\ncontent-"], ids=["nothing", "part of a head"])
async def test_a_written_request_is_never_sent_again_on_a_fresh_connection_or_after_part_of_an_answer(
    client: httpx.AsyncClient, answered: bytes
) -> None:
    """A fresh connection that closes after reading the request, or any connection that closes after part
    of an answer: the upstream may have acted on it (an LLM call is billed), so it is not sent again here;
    the error goes to ccm.dispatch.attempt's retry policy."""
    ok = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok"
    requests = 0

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal requests
        await _request_head(reader)
        requests += 1
        if answered == b"":  # the fresh connection's one request, unanswered
            writer.close()
            return
        writer.write(ok)
        await writer.drain()
        await _request_head(reader)
        requests += 1
        writer.write(answered)
        await writer.drain()
        writer.close()

    server, url = await _serve(handler)
    async with server:
        if answered:
            assert (await client.post(url, content=b"{}")).content == b"ok"
        with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
            await client.post(url, content=b"{}")
        assert requests == (2 if answered else 1)


async def test_the_pool_limit_holds_and_a_wait_past_the_pool_timeout_is_a_pool_timeout() -> None:
    release = asyncio.Event()

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                await _request_head(reader)
                writer.write(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n2\r\nok\r\n")
                await writer.drain()
                await release.wait()
                writer.write(b"0\r\n\r\n")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    client = make_client(max_connections=1)
    server, url = await _serve(handler)
    async with server, client:
        async with client.stream("POST", url, content=b"{}") as held:
            chunks = held.aiter_bytes()
            assert await anext(chunks) == b"ok"
            with pytest.raises((httpx.PoolTimeout, httpx.ConnectTimeout)):  # aiohttp counts the wait as connecting
                await client.post(url, content=b"{}", timeout=httpx.Timeout(5.0, connect=0.05, pool=0.1))
            waiting = asyncio.create_task(client.post(url, content=b"{}", timeout=httpx.Timeout(5.0)))
            await asyncio.sleep(0)
            release.set()
            async for _ in chunks:
                pass
        assert (await asyncio.wait_for(waiting, 5)).content == b"ok"  # the freed place went to the waiter


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except ConnectionError:
        pass
    writer.close()


async def test_https_goes_through_an_http_proxy_by_connect(
    cert: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """HTTPS_PROXY: a CONNECT tunnel, then TLS to the upstream itself (the proxy sees no plaintext)."""
    tunnels: list[bytes] = []

    async def upstream(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _answers(reader, writer, b"HTTP/1.1 200 OK\r\ncontent-length: 6\r\n\r\nsecret")

    async def proxy(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        tunnels.append(head)
        if b"proxy-authorization: basic dtpwqhnz" not in head.lower():
            writer.write(b"HTTP/1.1 407 Proxy Authentication Required\r\ncontent-length: 0\r\n\r\n")
            writer.close()
            return
        host, port = head.split()[1].decode().rsplit(":", 1)
        up_reader, up_writer = await asyncio.open_connection(host, int(port))
        writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))

    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(*cert)
    tls.context().load_verify_locations(cafile=cert[0])  # trust the test's own certificate, in this process
    secure = await asyncio.start_server(upstream, "127.0.0.1", 0, ssl=server_ctx)
    forward, proxy_url = await _serve(proxy)
    port = secure.sockets[0].getsockname()[1]
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    async with secure, forward:
        monkeypatch.setenv("HTTPS_PROXY", proxy_url.replace("http://", "http://u:p%40ss@"))
        client = make_client()
        try:
            response = await client.post(f"https://127.0.0.1:{port}/v1/x", content=b"{}")
            assert (response.status_code, response.content) == (200, b"secret")
        finally:
            await client.aclose()
        assert tunnels[0].startswith(b"CONNECT 127.0.0.1:%d HTTP/1.1\r\n" % port)
        monkeypatch.setenv("HTTPS_PROXY", proxy_url)  # no credentials: the proxy refuses the tunnel
        client = make_client()
        try:
            with pytest.raises(httpx.ProxyError):
                await client.post(f"https://127.0.0.1:{port}/v1/x", content=b"{}")
        finally:
            await client.aclose()


@pytest.mark.parametrize("framing", ["length", "chunked"])
async def test_a_reset_mid_body_is_a_read_error_never_a_complete_answer(
    client: httpx.AsyncClient, framing: str
) -> None:
    """A reset inside a body whose end is framed is a cut. (A body read to the connection's close ends at a
    reset as at a close, in aiohttp: what is read of it then goes to the answer's own end check, a stream's
    last event or a body's JSON, as any cut does.)"""
    head = {
        "length": b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n",
        "chunked": b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n16\r\n",
    }[framing]

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _request_head(reader)
        writer.write(head + b"event: a\ndata: partial")
        await writer.drain()
        await asyncio.sleep(0.05)
        sock = writer.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")  # RST on close
        writer.transport.abort()

    server, url = await _serve(handler)
    async with server:
        with pytest.raises(httpx.ReadError):
            async with client.stream("POST", url, content=b"{}") as response:
                async for _ in response.aiter_bytes():
                    pass


async def test_the_read_timeout_is_per_silence_while_the_head_arrives_in_pieces(client: httpx.AsyncClient) -> None:
    head = b"HTTP/1.1 200 OK\r\nx-a: 1\r\nx-b: 2\r\nx-c: 3\r\ncontent-length: 2\r\n\r\nok"

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _request_head(reader)
        for i in range(0, len(head), 12):
            writer.write(head[i : i + 12])
            await writer.drain()
            await asyncio.sleep(0.1)  # each silence well under the read timeout, the whole head well over it

    server, url = await _serve(handler)
    async with server:
        response = await client.post(url, content=b"{}", timeout=httpx.Timeout(5.0, read=0.4))
        assert response.content == b"ok"


async def test_a_head_or_304_answer_keeps_its_length_and_coding() -> None:
    """Nothing is decoded for an answer without a body, so its headers stay as the upstream sent them."""
    head = b"HTTP/1.1 %s\r\ncontent-encoding: gzip\r\ncontent-length: 1234\r\n\r\n"

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _answers(reader, writer, head % b"200 OK", head % b"304 Not Modified")

    server, url = await _serve(handler)
    async with server, make_client() as client:
        for response in (await client.head(url), await client.get(url)):
            assert response.headers["content-length"] == "1234" and response.headers["content-encoding"] == "gzip"
            assert response.content == b""


async def test_waiting_requests_reuse_the_origins_connections_and_a_cancelled_waiter_passes_its_turn() -> None:
    connections = 0

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        try:
            while True:
                await _request_head(reader)
                await asyncio.sleep(0.02)
                writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    server, url = await _serve(handler)
    async with server, make_client(max_connections=2) as client:
        answers = await asyncio.gather(*[client.post(url, content=b"{}") for _ in range(30)])
        assert {r.content for r in answers} == {b"ok"}
        assert connections == 2  # the waiters took the released connections, no new handshakes

        # With one place: A holds it, B waits and is cancelled the moment A frees it; C must still get it.
        one = make_client(max_connections=1)
        timeout = httpx.Timeout(5.0, pool=2.0)
        async with one:
            async with one.stream("POST", url, content=b"{}", timeout=timeout) as held:
                b = asyncio.create_task(one.post(url, content=b"{}", timeout=timeout))
                c = asyncio.create_task(one.post(url, content=b"{}", timeout=timeout))
                await asyncio.sleep(0.01)
                await held.aread()
            b.cancel()
            assert (await asyncio.wait_for(c, 1.5)).content == b"ok"


async def test_a_tunnel_whose_tls_never_answers_gives_its_pool_place_back(monkeypatch: pytest.MonkeyPatch) -> None:
    """CONNECT succeeds, then the upstream's TLS handshake stays silent: a connect timeout, every time,
    and never a pool that believes itself full (asyncio's start_tls reports no connection_lost then)."""

    async def proxy(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        await writer.drain()
        await asyncio.sleep(1.0)
        writer.close()

    forward, proxy_url = await _serve(proxy)
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTPS_PROXY", proxy_url)
    async with forward, make_client(max_connections=2) as client:
        for _ in range(3):  # more tries than places: a leaked place would make the third a PoolTimeout
            with pytest.raises(httpx.ConnectTimeout):
                await client.post(
                    "https://upstream.test/x", content=b"{}", timeout=httpx.Timeout(3.0, connect=0.2, pool=0.3)
                )


async def test_a_proxy_that_cannot_be_used_is_one_line_naming_it(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """At start and in the error of every attempt that needs it; the proxy's password in neither."""
    for name in ("NO_PROXY", "no_proxy", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTPS_PROXY", "socks5://me:secret@127.0.0.1:1080")
    with caplog.at_level(logging.WARNING, logger="ccm.upstream"):
        client = make_client()
    line = "HTTPS_PROXY=socks5://me:***@127.0.0.1:1080: socks5:// proxies are not supported (use an http:// or https:// proxy)"
    assert [r.getMessage() for r in caplog.records if r.name == "ccm.upstream"] == [line]
    async with client:
        with pytest.raises(httpx.ProxyError) as caught:
            await client.post("https://upstream.test/x", content=b"{}")
        assert str(caught.value) == line


async def test_the_body_is_framed_by_its_own_length_whatever_header_came_with_it(client: httpx.AsyncClient) -> None:
    """A client's content-length forwarded by mistake (the body changed since: another model) never frames it."""
    with FakeUpstream() as up:
        up.script(Reply(200, json={"ok": True}))
        headers = {"content-length": "999", "transfer-encoding": "chunked", "x-api-key": "k"}
        answer = await post(client, parsed_url(up.url), headers, b'{"a":1}', httpx.Timeout(5.0))
        assert answer.status_code == 200 and await answer.aread() == b'{"ok": true}'
        await answer.aclose()
        got = up.received[0]
        assert got.body == b'{"a":1}' and got.headers["content-length"] == "7"
        assert "transfer-encoding" not in got.headers
