"""httpx's API on ccm's own HTTP/1.1 client (ccm/upstream/h1.py): the upstream transport of the proxy.

Why not httpx's transport or aiohttp's: on loopback httpcore + h11 (pure Python) cost 2-3x aiohttp per
request (FACTS.md), and aiohttp's client machinery around its C parser was still a fifth of a small
proxied request's time in issue 12's profile (a request object, a response object, timers, a stream reader,
per-request header merging). A proxy sends whole bodies it already holds and reads one answer at a time per
connection, so the client it needs is a protocol object per connection and a pool: in the c=1 bench a
request through it costs a third of aiohttp's CPU. The httpx layer stays (requests, responses, timeouts,
the exceptions every caller maps), so nothing above this module changes.

Timeouts follow httpx's meaning: `connect` for the TCP/TLS handshake (and a proxy's CONNECT), `write` for
a request body the kernel will not take, `read` for each silence while waiting for the answer's head and
between its reads, `pool` for the wait for a free connection. An answer that is cut short, read only in
part, or framed ambiguously closes its connection instead of returning it to the pool, so a half-read
answer never reaches the next request. A kept-alive connection found closed when a request is about to go
out on it is left for a fresh one; once a request is written it is never sent again by the transport (the
upstream may have acted on it): whether to retry is ccm.dispatch.attempt's decision, counted in `x-ccm-retries`.
"""

from __future__ import annotations

import asyncio
import base64
import collections
import select
import urllib.parse
import urllib.request
from collections.abc import AsyncIterator, Iterable, Mapping
from typing import cast

import httpx

from ccm.upstream import h1, tls

_HIGH_WATER = 1 << 20  # decoded bytes held for a slow reader before the socket stops being read
_Key = tuple[str, str, int, str | None, str | None]  # scheme, host, port, proxy, SNI


class _Connection(asyncio.Protocol):
    """One upstream connection: writes a request, parses its answer as bytes arrive, queues the body for
    `read` (cancel-safe: a cancelled wait loses nothing), and tells its pool when the server closes it."""

    def __init__(self, pool: _Pool, key: _Key) -> None:
        self._pool, self.key = pool, key
        self._loop = asyncio.get_running_loop()
        self.transport: asyncio.Transport | None = None
        self.state = "idle"  # idle, head, body, done, closed
        self.method = "POST"
        self.head: h1.Head | None = None
        self._buffer = b""  # a head not yet complete
        self._body = h1.Body("none", 0)
        self._decoder: h1.Decoder | None = None
        self._pending: list[bytes] = []
        self._pending_size = 0
        self._paused = False
        self._waiter: asyncio.Future[None] | None = None
        self._drained: asyncio.Future[None] | None = None
        self.error: Exception | None = None
        self.received = False  # any byte of an answer since the request was written
        self.reused = False
        self.counted = True  # holds one of the pool's places until it closes
        self.keep_alive = False
        self.idle_since = 0.0
        self.read_timeout: float | None = None
        self.fd = -1

    # asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's transports are not its subclasses
        sock = transport.get_extra_info("socket")
        self.fd = sock.fileno() if sock is not None else -1

    def data_received(self, data: bytes) -> None:
        self.received = True
        if self.state == "body":
            self._feed(data)
        elif self.state == "head":
            self._head(data)
        else:  # bytes nobody asked for: this connection's framing can no longer be trusted
            self.close()

    def eof_received(self) -> bool:
        return False  # close; connection_lost ends a read-to-close body

    def connection_lost(self, exc: Exception | None) -> None:
        state, self.state = self.state, "closed"
        if state == "head":
            if isinstance(exc, OSError):
                self._fail(httpx.ReadError(str(exc) or type(exc).__name__))
            else:
                self._fail(httpx.RemoteProtocolError("upstream closed the connection without an answer"))
        elif state == "body":
            if isinstance(exc, OSError):  # a reset mid body is a cut, even of a body read to its close
                self._fail(httpx.ReadError(str(exc) or type(exc).__name__))
            else:
                try:
                    self._body.end()
                    if self._decoder is not None:
                        self._queue(self._decoder.end())
                    self.state = "done"
                except h1.ProtocolError as error:
                    self._fail(httpx.RemoteProtocolError(str(error)))
            self._wake()
        self._pool.lost(self)
        if self._drained is not None and not self._drained.done():
            self._drained.set_result(None)

    def pause_writing(self) -> None:
        self._drained = self._loop.create_future()

    def resume_writing(self) -> None:
        if self._drained is not None and not self._drained.done():
            self._drained.set_result(None)
        self._drained = None

    # the exchange

    def send(self, method: str, data: Iterable[bytes], read_timeout: float | None) -> None:
        if self.state == "closed" or self.transport is None or self.transport.is_closing():
            raise httpx.RemoteProtocolError("upstream closed the connection")
        self.method, self.read_timeout = method, read_timeout
        self.state, self.head, self.error, self.received = "head", None, None, False
        self._buffer, self._pending, self._pending_size = b"", [], 0
        assert self.transport is not None
        self.transport.writelines(data)

    async def drained(self, timeout: float | None) -> None:
        """Wait while the kernel refuses more of the request (a peer that stopped reading)."""
        if self._drained is None:
            return
        try:
            async with asyncio.timeout(timeout):
                await asyncio.shield(self._drained)
        except TimeoutError:
            self.close()
            raise httpx.WriteTimeout("upstream did not take the request in time") from None

    async def answer(self) -> h1.Head:
        """The answer's head, waiting at most the read timeout for it."""
        while self.head is None:
            if self.error is not None:
                raise self.error
            await self._wait()
        return self.head

    async def read(self) -> bytes:
        """What has arrived of the body (b"" at its end). Cancel-safe: the bytes wait in `_pending`."""
        while not self._pending:
            if self.error is not None:
                raise self.error
            if self.state != "body":
                return b""
            await self._wait()
        pending = self._pending
        chunk = pending[0] if len(pending) == 1 else b"".join(pending)
        self._pending, self._pending_size = [], 0
        if self._paused and self.transport is not None:
            self._paused = False
            self.transport.resume_reading()
        return chunk

    async def _wait(self) -> None:
        waiter = self._waiter = self._loop.create_future()
        timer = None
        if self.read_timeout is not None:
            timer = self._loop.call_later(self.read_timeout, self._timed_out, waiter)
        try:
            await waiter
        finally:
            self._waiter = None
            if timer is not None:
                timer.cancel()

    def _timed_out(self, waiter: asyncio.Future[None]) -> None:
        if not waiter.done():
            self._fail(httpx.ReadTimeout("upstream sent nothing within the read timeout"))
            self.close()

    def _head(self, data: bytes) -> None:
        if self._buffer:
            data, self._buffer = self._buffer + data, b""
        while True:
            end = h1.head_end(data)
            if end < 0:
                if len(data) > h1.MAX_HEAD:
                    self._fail(httpx.RemoteProtocolError("answer head from upstream too large"))
                    self.close()
                else:
                    self._buffer = data
                    self._wake()  # part of the head came: the read timeout starts over (per silence)
                return
            try:
                head = h1.parse_head(data[:end], self.method)
            except h1.ProtocolError as error:
                self._fail(httpx.RemoteProtocolError(str(error)))
                self.close()
                return
            data = data[end:]
            if head.status == 101 or not 100 <= head.status < 200:
                break  # 1xx other than 101 are interim (100 Continue, 103 Early Hints): the answer follows
        if head.status == 101:
            self._fail(httpx.RemoteProtocolError("upstream switched protocols unasked"))
            self.close()
            return
        self.head, self.keep_alive, self.state = head, head.keep_alive, "body"
        self._body = h1.Body(head.framing, head.length)
        self._decoder = h1.decoder(head.headers) if not self._body.done else None
        if self._decoder is not None:  # decoded here: what callers see is the plain body
            head.headers.pop("content-encoding", None)
            head.headers.pop("content-length", None)
            head.raw = [(k, v) for k, v in head.raw if k.lower() not in (b"content-encoding", b"content-length")]
        if data or self._body.done:
            self._feed(data)
        self._wake()

    def _feed(self, data: bytes) -> None:
        body = self._body
        try:
            payload = body.feed(data)
            if self._decoder is not None:
                payload = self._decoder.feed(payload) if payload else b""
                if body.done:
                    payload += self._decoder.end()
        except h1.ProtocolError as error:
            self._fail(httpx.RemoteProtocolError(str(error)))
            self.close()
            self._wake()
            return
        if payload:
            self._queue(payload)
        if body.done:
            self.state = "done"
            if body.extra:
                self.keep_alive = False
        elif self._pending_size > _HIGH_WATER and not self._paused and self.transport is not None:
            self._paused = True
            self.transport.pause_reading()
        self._wake()

    def _queue(self, payload: bytes) -> None:
        if payload:
            self._pending.append(payload)
            self._pending_size += len(payload)

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _fail(self, error: Exception) -> None:
        if self.error is None:
            self.error = error
        self._wake()

    def close(self) -> None:
        self.keep_alive = False
        if self.transport is not None and not self.transport.is_closing():
            self.transport.close()

    @property
    def reusable(self) -> bool:
        return self.state == "done" and self.keep_alive and not self._pending and self.error is None


class _Pool:
    """Keep-alive connections by origin, at most `max_connections` open in all (0: no limit); an idle one
    is closed once it has been idle for `keepalive_expiry` seconds."""

    def __init__(self, limits: httpx.Limits) -> None:
        self._max = limits.max_connections or 0
        self._expiry = limits.keepalive_expiry if limits.keepalive_expiry is not None else 15.0
        self._idle: dict[_Key, list[_Connection]] = {}
        self._open = 0
        self._waiters: collections.deque[asyncio.Future[None]] = collections.deque()
        self._sweep: asyncio.TimerHandle | None = None

    def idle(self, key: _Key) -> _Connection | None:
        """The most recently used idle connection to `key` that is still fresh, or None."""
        stack = self._idle.get(key)
        now = asyncio.get_running_loop().time()
        while stack:
            conn = stack.pop()
            if conn.state != "idle" or conn.transport is None or conn.transport.is_closing():
                continue
            if now - conn.idle_since > self._expiry or _readable(conn.fd):
                conn.close()  # idled too long, or the upstream closed it and the loop has not read that yet
                continue
            conn.reused = True
            return conn
        return None

    async def slot(self, key: _Key, timeout: float | None) -> _Connection | None:
        """Count one more connection, waiting (at most `timeout`) while the limit is reached; or, when a
        connection to `key` comes back while waiting, that connection (reused: no new handshake). An idle
        connection to another origin gives its place up first."""
        while self._max and self._open >= self._max:
            conn = self.idle(key)
            if conn is not None:
                return conn
            if self._close_one_idle():
                continue
            waiter = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            try:
                async with asyncio.timeout(timeout):
                    await waiter
            except BaseException as exc:
                if waiter.done() and not waiter.cancelled():
                    self._wake_one()  # woken, then cancelled or timed out: the place goes to the next
                if isinstance(exc, TimeoutError):
                    raise httpx.PoolTimeout("no free upstream connection within the pool timeout") from None
                raise
            finally:
                if waiter in self._waiters:
                    self._waiters.remove(waiter)
        self._open += 1
        return None

    def _close_one_idle(self) -> bool:
        for stack in self._idle.values():
            if stack:
                conn = stack.pop(0)  # the longest idle
                conn.counted = False
                self._open -= 1
                conn.close()
                return True
        return False

    def unslot(self) -> None:
        """A slot counted for a connection that was never made (its connect failed)."""
        self._open -= 1
        self._wake_one()

    def _wake_one(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return

    def release(self, conn: _Connection) -> None:
        """An answer is over: its connection goes back to the pool when it is read to its end and may carry
        another request, else it is closed."""
        if not conn.reusable:
            conn.close()
            return
        loop = asyncio.get_running_loop()
        conn.state, conn.idle_since = "idle", loop.time()
        self._idle.setdefault(conn.key, []).append(conn)
        self._wake_one()
        if self._sweep is None:
            self._sweep = loop.call_later(self._expiry, self._swept)

    def lost(self, conn: _Connection) -> None:
        """The connection closed (either end, idle or not): its place is free."""
        if conn.counted:
            conn.counted = False
            stack = self._idle.get(conn.key)
            if stack and conn in stack:
                stack.remove(conn)
            self._open -= 1
            self._wake_one()

    def _swept(self) -> None:
        self._sweep = None
        now = asyncio.get_running_loop().time()
        for stack in self._idle.values():
            for conn in [c for c in stack if now - c.idle_since > self._expiry]:
                conn.close()
        if any(self._idle.values()):
            self._sweep = asyncio.get_running_loop().call_later(self._expiry, self._swept)

    def close(self) -> None:
        for stack in self._idle.values():
            for conn in list(stack):
                conn.close()
        if self._sweep is not None:
            self._sweep.cancel()
            self._sweep = None


def _readable(fd: int) -> bool:
    """Whether an idle connection's socket has something to read: its close (or bytes nobody asked for).

    Why: a server that closes right after its answer, without `connection: close`, has its FIN waiting in
    the socket while the task that read the answer runs on and asks for the connection again; the loop reads
    that close only on its next turn, after the request went out, and the request then fails. Asking the
    socket directly (as httpcore does before it reuses a connection) costs one syscall."""
    if fd < 0:
        return False
    if _poll is None:  # no poll(2) (Windows): select works on sockets there
        return bool(select.select([fd], [], [], 0)[0])
    poller = _poll()
    poller.register(fd, select.POLLIN)
    return bool(poller.poll(0))


_poll = getattr(select, "poll", None)


class _Body(httpx.AsyncByteStream):
    def __init__(self, conn: _Connection, pool: _Pool) -> None:
        self._conn, self._pool = conn, pool
        self._released = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while chunk := await self.read():
            yield chunk

    async def read(self) -> bytes:
        """What has arrived (b"" at the end). Cancel-safe: the connection keeps the bytes for the next call."""
        return await self._conn.read()

    async def read_all(self) -> bytes:
        parts = []
        while chunk := await self._conn.read():
            parts.append(chunk)
        return parts[0] if len(parts) == 1 else b"".join(parts)

    async def aclose(self) -> None:
        if not self._released:
            self._released = True
            self._pool.release(self._conn)  # read to its end: back to the pool; cut short: closed


class Upstream:
    """An upstream's answer from `Http1Transport.post`: the parts of httpx.Response that ccm.dispatch.attempt
    and ccm.dispatch.relay read (status_code, case-insensitive headers, aread, aclose), and nothing else."""

    __slots__ = ("body", "headers", "status_code")

    def __init__(self, status_code: int, headers: Mapping[str, str], body: _Body) -> None:
        self.status_code = status_code
        self.headers = headers
        self.body = body

    async def aread(self) -> bytes:
        return await self.body.read_all()

    async def aclose(self) -> None:
        await self.body.aclose()


#: What ccm.dispatch.attempt sends through and reads back: the lean path's answer, or httpx's for any other transport.
UpstreamResponse = Upstream | httpx.Response


class Reads:
    """A body's reads as they arrive, for the relay: `next()` may be cancelled (the ping timer's wait) and
    called again without losing a byte, so a stream needs no task per chunk to ping while it waits.

    A response from Http1Transport reads its connection's queue directly (cancel-safe by itself); any other
    source of chunks (the translators' property tests) gets a read task shielded from the cancel."""

    def __init__(self, source: UpstreamResponse | AsyncIterator[bytes]) -> None:
        self._iterator: AsyncIterator[bytes] | None = None
        if isinstance(source, Upstream):
            self._body: _Body | None = source.body
        elif isinstance(source, httpx.Response):
            body = source.extensions.get("ccm.body")
            self._body = body if isinstance(body, _Body) else None
            if self._body is None:
                self._iterator = aiter(source.aiter_bytes())
        else:
            self._body = None
            self._iterator = aiter(source)
        self._pending: asyncio.Future[bytes] | None = None

    async def next(self) -> bytes:
        """The next bytes, b"" at the end."""
        if self._body is not None:
            return await self._body.read()
        if self._pending is None:
            self._pending = asyncio.ensure_future(self._from_iterator())
        chunk = await asyncio.shield(self._pending)
        self._pending = None
        return chunk

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


class Http1Transport(httpx.AsyncBaseTransport):
    """httpx's transport interface (and the proxy's lean `post`) on ccm's pool of `_Connection`s."""

    def __init__(self, limits: httpx.Limits) -> None:
        self._pool = _Pool(limits)
        # HTTP(S)_PROXY / NO_PROXY, read once, as httpx's trust_env reads them.
        self._env_proxies = urllib.request.getproxies_environment()
        self._proxy_for: dict[tuple[str, str], httpx.URL | None] = {}
        self.default_headers: dict[str, str] | None = None  # the client's, lowercased: see `post`

    def _proxy(self, url: httpx.URL) -> httpx.URL | None:
        """The proxy for `url`, with the CA store loaded first whenever TLS could be involved (ccm/upstream/tls.py)."""
        key = (url.scheme, url.host)
        if key not in self._proxy_for:
            proxies = self._env_proxies
            bypass = not proxies or urllib.request.proxy_bypass_environment(url.host, proxies)  # type: ignore[attr-defined]  # public, not in typeshed
            found = None if bypass else proxies.get(url.scheme) or proxies.get("all")
            if found and "://" not in found:
                found = f"http://{found}"
            self._proxy_for[key] = httpx.URL(found) if found else None
        proxy = self._proxy_for[key]
        if url.scheme != "http" or proxy is not None:
            tls.loaded()
        return proxy

    async def post(
        self, url: httpx.URL, headers: list[tuple[str, str]], body: bytes, timeout: httpx.Timeout
    ) -> Upstream:
        """POST `body` and return once the status line and headers are in: the proxy's one hot call.

        Why not `httpx.AsyncClient.send`: building an httpx Request and Response costs a fifth of a small
        request's time in issue 12's profile (header normalization twice, auth and redirect machinery that a
        proxy never uses). The rules stay httpx's: the same exceptions, a header value httpx would refuse
        (not ASCII, or a control character) is refused the same way (LocalProtocolError, never quoting the
        value), no redirects followed, no cookies."""
        if not all(value.isascii() for _, value in headers):
            raise httpx.LocalProtocolError("invalid header value")
        conn = await self._exchange(
            "POST", url, headers, body, timeout.pool, timeout.connect, timeout.read, timeout.write, None
        )
        assert conn.head is not None
        return Upstream(conn.head.status, conn.head.headers, _Body(conn, self._pool))

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        timeout = request.extensions.get("timeout", {})
        try:
            body = request.content
        except httpx.RequestNotRead:
            body = await request.aread()
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in request.headers.raw]
        try:
            conn = await self._exchange(
                request.method,
                request.url,
                headers,
                body,
                timeout.get("pool"),
                timeout.get("connect"),
                timeout.get("read"),
                timeout.get("write"),
                request.extensions.get("sni_hostname"),
            )
        except httpx.RequestError as exc:
            exc.request = request
            raise
        head = conn.head
        assert head is not None
        stream = _Body(conn, self._pool)
        return httpx.Response(
            status_code=head.status,
            headers=head.raw,
            stream=stream,
            request=request,
            extensions={"http_version": b"HTTP/1.1", "reason_phrase": head.reason.encode(), "ccm.body": stream},
        )

    async def _exchange(
        self,
        method: str,
        url: httpx.URL,
        headers: list[tuple[str, str]],
        body: bytes,
        pool_timeout: float | None,
        connect_timeout: float | None,
        read_timeout: float | None,
        write_timeout: float | None,
        sni: str | None,
    ) -> _Connection:
        """Send one request and wait for its answer's head; the connection comes back reading the body."""
        scheme = url.scheme
        if scheme not in ("http", "https"):
            raise httpx.UnsupportedProtocol(f"unsupported URL scheme {scheme!r}: ccm speaks http and https")
        host = url.host
        port = url.port or (443 if scheme == "https" else 80)
        proxy = self._proxy(url)
        key: _Key = (scheme, host, port, str(proxy) if proxy is not None else None, sni)
        target = url.raw_path.decode("ascii")
        sent = headers
        if not any(name.lower() == "host" for name, _ in headers):
            sent = [("host", url.netloc.decode("ascii")), *headers]
        if proxy is not None and scheme == "http":  # absolute-form to a forward proxy (RFC 9112 3.2.2)
            target = str(url.copy_with(fragment=None))
            auth = _proxy_authorization(proxy)
            if auth:
                sent = [*sent, ("proxy-authorization", auth)]
        try:
            head = h1.request_head(method, target, sent, len(body) if body or method in _BODY_METHODS else None)
        except h1.HeaderError as error:
            raise httpx.LocalProtocolError(str(error)) from None
        data = (head, body) if body else (head,)
        conn = self._pool.idle(key)
        while True:
            if conn is None:
                conn = await self._connect(key, proxy, sni, pool_timeout, connect_timeout, read_timeout)
            try:
                conn.send(method, data, read_timeout)
                break
            except httpx.RemoteProtocolError:  # closed by the upstream as it idled: nothing was written
                if not conn.reused:
                    raise
                conn = None
        try:
            await conn.drained(write_timeout)
            await conn.answer()
        except BaseException:
            conn.close()
            raise
        return conn

    async def _connect(
        self,
        key: _Key,
        proxy: httpx.URL | None,
        sni: str | None,
        pool_timeout: float | None,
        connect_timeout: float | None,
        read_timeout: float | None,
    ) -> _Connection:
        waited_for = await self._pool.slot(key, pool_timeout)
        if waited_for is not None:
            return waited_for
        scheme, host, port = key[0], key[1], key[2]
        conn = _Connection(self._pool, key)
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(connect_timeout):
                if proxy is None:
                    ctx = tls.loaded() if scheme == "https" else None
                    await loop.create_connection(
                        lambda: conn, host, port, ssl=ctx, server_hostname=(sni or host) if ctx else None
                    )
                else:
                    await self._tunnel(conn, proxy, scheme, host, port, sni, read_timeout)
        except BaseException as exc:
            if conn.transport is not None:
                conn.close()
            if conn.counted:  # its place is free now: a TLS upgrade cut short never reports connection_lost
                conn.counted = False
                self._pool.unslot()
            if isinstance(exc, TimeoutError):
                raise httpx.ConnectTimeout(f"no connection to {host}:{port} within the connect timeout") from None
            if isinstance(exc, OSError):  # refused, unreachable, DNS, and TLS (ssl.SSLError is an OSError)
                raise httpx.ConnectError(f"cannot connect to {host}:{port}: {exc}") from exc
            raise
        return conn

    async def _tunnel(
        self,
        conn: _Connection,
        proxy: httpx.URL,
        scheme: str,
        host: str,
        port: int,
        sni: str | None,
        read_timeout: float | None,
    ) -> None:
        """Connect through a forward proxy: plain requests go to it as they are; https goes through CONNECT."""
        loop = asyncio.get_running_loop()
        proxy_tls = proxy.scheme == "https"
        if proxy_tls and scheme == "https":
            raise httpx.ProxyError("an https proxy for an https upstream is not supported: use an http:// proxy")
        proxy_port = proxy.port or (443 if proxy_tls else 80)
        ctx = tls.loaded() if proxy_tls else None
        await loop.create_connection(
            lambda: conn, proxy.host, proxy_port, ssl=ctx, server_hostname=proxy.host if ctx else None
        )
        if scheme != "https":
            return
        authority = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        lines = [("host", authority)]
        auth = _proxy_authorization(proxy)
        if auth:
            lines.append(("proxy-authorization", auth))
        conn.send("CONNECT", (h1.request_head("CONNECT", authority, lines, None),), read_timeout)
        head = await conn.answer()
        if not 200 <= head.status < 300:
            raise httpx.ProxyError(f"proxy refused the tunnel to {authority}: {head.status} {head.reason}")
        assert conn.transport is not None
        conn.state = "idle"
        conn.transport = await loop.start_tls(conn.transport, conn, tls.loaded(), server_hostname=sni or host)

    async def aclose(self) -> None:
        self._pool.close()


_BODY_METHODS = frozenset(("POST", "PUT", "PATCH"))


def _proxy_authorization(proxy: httpx.URL) -> str | None:
    """Basic credentials from a proxy URL's userinfo (http://user:pass@proxy:3128), as httpx sends them."""
    if not proxy.userinfo:
        return None
    user, _, password = proxy.userinfo.partition(b":")
    raw = urllib.parse.unquote_to_bytes(user) + b":" + urllib.parse.unquote_to_bytes(password)
    return "Basic " + base64.b64encode(raw).decode("ascii")


_PARSED: dict[str, httpx.URL] = {}


def parsed_url(url: str) -> httpx.URL:
    """An upstream URL parsed once: httpx parses a string URL on every request (3% of a small request's
    time in issue 12's profile), while a proxy sends to the same few URLs all day."""
    found = _PARSED.get(url)
    if found is None:
        if len(_PARSED) >= 512:  # many distinct URLs (query strings): start over rather than grow
            _PARSED.clear()
        found = _PARSED[url] = httpx.URL(url)
    return found


async def post(
    client: httpx.AsyncClient, url: httpx.URL, headers: Mapping[str, str], body: bytes, timeout: httpx.Timeout
) -> UpstreamResponse:
    """POST through the client's Http1Transport on the lean path, or through httpx for any other transport.

    The client's default headers (Accept, Accept-Encoding, User-Agent...) go out under the request's own,
    as httpx merges them, so an upstream sees the same request either way."""
    transport = client._transport  # httpx has no public accessor; pinned <0.29
    if not isinstance(transport, Http1Transport):
        request = client.build_request("POST", url, headers=headers, content=body, timeout=timeout)
        return await client.send(request, stream=True)
    merged = transport.default_headers
    if merged is None:
        merged = transport.default_headers = {k.lower(): v for k, v in client.headers.items()}
    if headers:
        merged = merged.copy()
        for name, value in headers.items():
            merged[name.lower()] = value
    return await transport.post(url, list(merged.items()), body, timeout)
