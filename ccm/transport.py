"""httpx's API on aiohttp's connection pool and C HTTP parser: the upstream transport of the proxy.

Why: on loopback httpx's own transport (httpcore + h11, pure Python) costs 2-3x aiohttp per request and
4-10x at c=32 (FACTS.md), which is most of what ccm adds to a small request (issue 12's profile). The
httpx layer stays (requests, responses, timeouts, the exceptions every caller maps), so nothing above this
module changes. httpx-aiohttp does the same job, but maps every `ClientConnectionError` to `ConnectTimeout`
(a reset mid-stream would read as a connect timeout and be retried as one) and reads in 16 KiB chunks
instead of as data arrives; the mapping here is ccm's own, and small.

Timeouts follow httpx's meaning: `connect` for the TCP/TLS handshake, `read` for each silence between
reads, `pool` for the wait for a free connection. A read that is cut short, or a response closed before its
end, closes that connection instead of returning it to the pool, so a half-read answer never reaches the
next request.
"""

from __future__ import annotations

import asyncio
import urllib.request
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import contextmanager

import httpx

from ccm import tls

with tls.aiohttp_defaults_shared():  # ccm/tls.py: ~70 ms less at start
    import aiohttp
    from aiohttp import client_exceptions as ce

# The most specific class first: aiohttp's timeouts are also TimeoutError, its connect errors
# also OSError, and every one of them a ClientConnectionError.
_MAP: tuple[tuple[type[BaseException], type[httpx.TransportError]], ...] = (
    (ce.ConnectionTimeoutError, httpx.ConnectTimeout),
    (ce.SocketTimeoutError, httpx.ReadTimeout),
    (ce.ServerTimeoutError, httpx.ReadTimeout),
    (ce.ClientProxyConnectionError, httpx.ProxyError),
    (ce.ClientHttpProxyError, httpx.ProxyError),
    (ce.ClientConnectorError, httpx.ConnectError),
    (ce.ServerDisconnectedError, httpx.RemoteProtocolError),
    (ce.ClientPayloadError, httpx.RemoteProtocolError),
    (ce.ClientResponseError, httpx.RemoteProtocolError),  # a malformed status line or header from upstream
    (ce.InvalidUrlClientError, httpx.UnsupportedProtocol),
    (ce.NonHttpUrlClientError, httpx.UnsupportedProtocol),
    (ce.ClientConnectionError, httpx.ReadError),
    (TimeoutError, httpx.PoolTimeout),  # aiohttp's `connect` budget: the wait for a pool slot
)


@contextmanager
def _mapped(request: httpx.Request | None) -> Iterator[None]:
    try:
        yield
    except httpx.HTTPError:
        raise
    except (TimeoutError, aiohttp.ClientError) as exc:
        for source, target in _MAP:
            if isinstance(exc, source):
                raise target(str(exc) or type(exc).__name__, request=request) from exc
        raise httpx.ReadError(str(exc) or type(exc).__name__, request=request) from exc
    except ValueError as exc:
        # aiohttp refuses a header value with CR/LF; the message may quote the value (a key): never pass it on.
        raise httpx.LocalProtocolError("invalid header value", request=request) from exc


class _Body(httpx.AsyncByteStream):
    def __init__(self, response: aiohttp.ClientResponse, request: httpx.Request | None) -> None:
        self._response = response
        self._request = request

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while chunk := await self.read():
            yield chunk

    async def read(self) -> bytes:
        """What has arrived (b"" at the end). Cancel-safe: aiohttp keeps the bytes for the next call."""
        with _mapped(self._request):
            return await self._response.content.readany()

    async def read_all(self) -> bytes:
        with _mapped(self._request):
            return await self._response.read()

    async def aclose(self) -> None:
        response = self._response
        if response.content.at_eof() and not response.content.exception():
            response.release()  # read to its end: the connection goes back to the pool
        else:
            response.close()  # cut short by the reader: that connection is never reused


class Upstream:
    """An upstream's answer from `AiohttpTransport.post`: the parts of httpx.Response that ccm.attempt
    and ccm.relay read (status_code, case-insensitive headers, aread, aclose), and nothing else."""

    __slots__ = ("body", "headers", "status_code")

    def __init__(self, status_code: int, headers: Mapping[str, str], body: _Body) -> None:
        self.status_code = status_code
        self.headers = headers
        self.body = body

    async def aread(self) -> bytes:
        return await self.body.read_all()

    async def aclose(self) -> None:
        await self.body.aclose()


#: What ccm.attempt sends through and reads back: the lean path's answer, or httpx's for any other transport.
UpstreamResponse = Upstream | httpx.Response


class Reads:
    """A body's reads as they arrive, for the relay: `next()` may be cancelled (the ping timer's wait) and
    called again without losing a byte, so a stream needs no task per chunk to ping while it waits.

    A response from AiohttpTransport reads aiohttp's buffer directly (cancel-safe by itself); any other
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


class AiohttpTransport(httpx.AsyncBaseTransport):
    """One aiohttp session per transport, made on first use (it must be made inside the running loop)."""

    def __init__(self, limits: httpx.Limits) -> None:
        self._limits = limits
        self._session: aiohttp.ClientSession | None = None
        # HTTPS_PROXY / NO_PROXY, read once. aiohttp's own trust_env looks them (and ~/.netrc) up again in
        # a worker thread on every request: two thread hops, 15% of a small request's time in the profile.
        self._env_proxies = urllib.request.getproxies_environment()
        self._proxy_for: dict[tuple[str, str], str | None] = {}
        self._timeouts: dict[tuple[float | None, ...], aiohttp.ClientTimeout] = {}
        self.default_headers: dict[str, str] | None = None  # the client's, lowercased: see `post`

    def _proxy(self, url: httpx.URL) -> str | None:
        """The proxy for `url`, with the CA store loaded first whenever TLS could be involved (ccm/tls.py)."""
        key = (url.scheme, url.host)
        if key not in self._proxy_for:
            proxies = self._env_proxies
            bypass = not proxies or urllib.request.proxy_bypass_environment(url.host, proxies)  # type: ignore[attr-defined]  # public, not in typeshed
            self._proxy_for[key] = None if bypass else proxies.get(url.scheme) or proxies.get("all")
        proxy = self._proxy_for[key]
        if url.scheme != "http" or proxy is not None:
            tls.loaded()
        return proxy

    def _timeout(self, pool: float | None, connect: float | None, read: float | None) -> aiohttp.ClientTimeout:
        """httpx's meaning of each timeout (see the module's docstring) as aiohttp's, made once per set."""
        key = (pool, connect, read)
        found = self._timeouts.get(key)
        if found is None:
            found = self._timeouts[key] = aiohttp.ClientTimeout(
                total=None, connect=pool, sock_connect=connect, sock_read=read
            )
        return found

    async def post(
        self, url: httpx.URL, headers: list[tuple[str, str]], body: bytes, timeout: httpx.Timeout
    ) -> Upstream:
        """POST `body` and return once the status line and headers are in: the proxy's one hot call.

        Why not `httpx.AsyncClient.send`: building an httpx Request and Response around aiohttp's cost
        a fifth of a small request's time in issue 12's profile (header normalization twice, a request
        object, auth and redirect machinery that a proxy never uses). The rules stay httpx's: the same
        exceptions (`_mapped`), a header value httpx would refuse (not ASCII, or CR/LF) is refused the
        same way (LocalProtocolError, never quoting the value), no redirects followed, no cookies."""
        if not all(value.isascii() for _, value in headers):
            raise httpx.LocalProtocolError("invalid header value")
        session = self._session
        if session is None:
            session = self._session = self._open()
        with _mapped(None):
            response = await session.request(
                "POST",
                str(url),
                headers=headers,
                data=body or None,
                allow_redirects=False,
                compress=None,
                timeout=self._timeout(timeout.pool, timeout.connect, timeout.read),
                proxy=self._proxy(url),
            )
        return Upstream(response.status, response.headers, _Body(response, None))

    def _open(self) -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(
            limit=self._limits.max_connections or 0,
            limit_per_host=0,
            keepalive_timeout=self._limits.keepalive_expiry or 15.0,
            ssl=tls.context(),
        )
        return aiohttp.ClientSession(
            connector=connector,
            cookie_jar=aiohttp.DummyCookieJar(),  # a proxy keeps no upstream cookies
            auto_decompress=True,  # in C, and before Reads sees the bytes; httpx is told the body is plain
            skip_auto_headers=("User-Agent", "Accept", "Accept-Encoding", "Content-Type"),  # httpx's own go out
            read_bufsize=2**16,
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        session = self._session
        if session is None:
            session = self._session = self._open()
        timeout = request.extensions.get("timeout", {})
        try:
            body = request.content
        except httpx.RequestNotRead:
            body = await request.aread()
        with _mapped(request):
            response = await session.request(
                request.method,
                str(request.url),
                headers=request.headers.multi_items(),
                data=body or None,
                allow_redirects=False,
                compress=None,
                timeout=self._timeout(timeout.get("pool"), timeout.get("connect"), timeout.get("read")),
                server_hostname=request.extensions.get("sni_hostname"),
                proxy=self._proxy(request.url),
            )
        headers = response.raw_headers
        if response.headers.get("content-encoding", "identity") != "identity":  # aiohttp decodes it
            headers = tuple((k, v) for k, v in headers if k.lower() not in (b"content-encoding", b"content-length"))
        stream = _Body(response, request)
        return httpx.Response(
            status_code=response.status,
            headers=headers,
            stream=stream,
            request=request,
            extensions={
                "http_version": b"HTTP/1.1",
                "reason_phrase": (response.reason or "").encode(),
                "ccm.body": stream,
            },
        )

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


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
    """POST through the client's AiohttpTransport on the lean path, or through httpx for any other transport.

    The client's default headers (Accept, Accept-Encoding, User-Agent...) go out under the request's own,
    as httpx merges them, so an upstream sees the same request either way."""
    transport = client._transport  # httpx has no public accessor; pinned <0.29
    if not isinstance(transport, AiohttpTransport):
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
