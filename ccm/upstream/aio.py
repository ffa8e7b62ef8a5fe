"""httpx's transport interface over aiohttp's client: the glue that maps requests, answers and exceptions.

aiohttp does the HTTP: connections and their pool, TLS, the llhttp parser, chunked framing, bounded
decompression, proxies (http:// and https://, CONNECT tunnels). This module only translates: an httpx
request or ccm's lean `send` into one `ClientSession.request` call, aiohttp's response into an `Answer` (or
an httpx.Response for httpx's API), and aiohttp's exceptions into httpx's, which every caller above maps.
Why aiohttp's transport under httpx's API rather than httpx's own: see `ccm.upstream.client`.

Read against aiohttp 3.14.5; tests/ccm/upstream (test_client.py, test_hostile.py) pin each behaviour this
module relies on, so a release that moves one fails there first.

What it adds on top of aiohttp, and why each is here rather than in aiohttp:
- the checks llhttp's lenient response mode skips (aiohttp parses answers leniently unless Python runs in
  development mode): a status outside 100-599, a control character in a header value, a transfer coding
  other than chunked, a content coding aiohttp did not decode. Each makes the answer an InvalidAnswer,
  never something read on (a header name that is not a token llhttp refuses itself);
- a request aiohttp could not write (its connection was closing: typically a kept-alive connection the
  upstream closed as it idled, whose close the loop had not read yet when the pool handed it out) goes
  once more, on a fresh connection. That is the only resend: a request written whole is never sent again
  here, whatever happens after (the upstream may have acted on it: an LLM call is billed); a retry then is
  ccm.dispatch's decision, counted in `x-ccm-retries`. aiohttp itself resends only idempotent methods, and
  no POST is one.
"""

from __future__ import annotations

import asyncio
import os
import re
import socket
import ssl
import sys
from collections.abc import AsyncIterator, Callable, Sequence

import aiohttp
import httpx
from multidict import CIMultiDict
from yarl import URL

from ccm.upstream import tls
from ccm.upstream.answer import Answer, InvalidAnswer
from ccm.upstream.proxies import Proxy

_CONTROL = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")  # tab is allowed in a field value, nothing else below 0x20
_DECODED = frozenset(("", "identity", "gzip", "deflate"))  # what ccm asks for and aiohttp decodes
_TOKEN_STR = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_UNSAFE_VALUE = re.compile(r"[^\t\x20-\x7e]")  # a request header value is visible ASCII, spaces and tabs
_GOOD_REQUEST_NAMES: set[str] = set()
_MAX_FIELD = 64 * 1024  # a header line; aiohttp's default (8 KiB) is below what some gateways send


class AioAnswer(Answer):
    """An aiohttp response as an Answer: reads from its buffer (aiohttp bounds it and pauses the socket)."""

    __slots__ = ("_response",)

    def __init__(self, response: aiohttp.ClientResponse) -> None:
        super().__init__(response.status, response.headers)
        self._response = response

    async def read(self) -> bytes:
        try:
            return await self._response.content.readany()
        except (TimeoutError, aiohttp.ClientError) as exc:
            self._response.close()
            raise mapped(exc) from exc

    async def aclose(self) -> None:
        self._response.release()  # read to its end: back to the pool; otherwise aiohttp closes it


class AioStream(httpx.AsyncByteStream):
    """An Answer's body as an httpx stream, for httpx.Response."""

    def __init__(self, answer: Answer) -> None:
        self._answer = answer

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while chunk := await self._answer.read():
            yield chunk

    async def aclose(self) -> None:
        await self._answer.aclose()


class AiohttpTransport(httpx.AsyncBaseTransport):
    """One aiohttp ClientSession (made on first use, on the running loop) behind httpx's interface."""

    def __init__(
        self,
        *,
        max_connections: int,
        keepalive_s: float,
        ssl_context: Callable[[], ssl.SSLContext],
        proxy_for: Callable[[httpx.URL], Proxy | None],
    ) -> None:
        self._max, self._keepalive = max_connections, keepalive_s
        self._ssl = ssl_context
        self._proxy_for = proxy_for
        self._session: aiohttp.ClientSession | None = None
        self._urls: dict[str, URL] = {}

    def _open(self) -> aiohttp.ClientSession:
        session = self._session
        if session is None or session.closed:
            connector = aiohttp.TCPConnector(
                limit=self._max,
                limit_per_host=0,
                keepalive_timeout=self._keepalive,
                # Before these Pythons, asyncio leaked a TLS connection whose peer never finished the TLS
                # shutdown (https://github.com/python/cpython/pull/118960): aiohttp then aborts it itself.
                enable_cleanup_closed=sys.version_info < (3, 12, 8) or (3, 13, 0) <= sys.version_info < (3, 13, 1),
            )
            session = self._session = aiohttp.ClientSession(
                connector=connector,
                cookie_jar=aiohttp.DummyCookieJar(),  # a proxy keeps no upstream's cookie for the next request
                skip_auto_headers=("User-Agent", "Content-Type", "Accept", "Accept-Encoding"),
                auto_decompress=True,
                trust_env=False,  # proxies are read once (ccm.upstream.proxies), not on every request
                max_line_size=_MAX_FIELD,
                max_field_size=_MAX_FIELD,
            )
        return session

    async def send(
        self, method: str, url: httpx.URL, headers: Sequence[tuple[str, str]], body: bytes, timeout: httpx.Timeout
    ) -> Answer:
        """Send one request; the Answer once its status line and headers are in (its body still to read)."""
        _check_request(headers)
        session = self._open()
        https = url.scheme == "https"
        proxy = self._proxy_for(url)
        sent = CIMultiDict(headers)
        for framing in ("content-length", "transfer-encoding"):  # aiohttp frames the body it sends itself
            sent.popall(framing, None)
        kwargs: dict[str, object] = {
            "data": body if body or method in ("POST", "PUT", "PATCH") else None,
            "headers": sent,
            "allow_redirects": False,
            "timeout": _timeout(timeout),
            "proxy": proxy.url if proxy is not None else None,
            "proxy_headers": proxy.headers if proxy is not None else None,
            "ssl": self._ssl() if https or (proxy is not None and proxy.url.startswith("https:")) else True,
        }
        target = self._url(url)
        for again in (True, False):
            try:
                response = await session.request(method, target, **kwargs)  # type: ignore[arg-type]
            except (TimeoutError, aiohttp.ClientError, ValueError) as exc:
                if again and _not_written(exc):
                    continue
                raise mapped(exc) from exc
            break
        try:
            _check(response)
        except InvalidAnswer:
            response.close()
            raise
        return AioAnswer(response)

    def _url(self, url: httpx.URL) -> URL:
        """aiohttp's URL for httpx's, made once per URL: httpx has already percent-encoded it."""
        text = str(url)
        found = self._urls.get(text)
        if found is None:
            if len(self._urls) >= 512:
                self._urls.clear()
            found = self._urls[text] = URL(text, encoded=True)
        return found

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        timeout = httpx.Timeout(**request.extensions.get("timeout", {}))
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in request.headers.raw]
        try:
            answer = await self.send(request.method, request.url, headers, await request.aread(), timeout)
        except httpx.RequestError as exc:
            exc.request = request
            raise
        headers = list(answer.headers.items())
        if _decoded(request.method, answer):  # the body comes decoded: its coding and length no longer apply
            headers = [(k, v) for k, v in headers if k.lower() not in ("content-encoding", "content-length")]
        return httpx.Response(answer.status_code, headers=headers, stream=AioStream(answer), request=request)

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


def _decoded(method: str, answer: Answer) -> bool:
    """Whether aiohttp decoded the answer's body (it has one, and a content coding)."""
    if method == "HEAD" or answer.status_code in (204, 304) or answer.status_code < 200:
        return False
    return answer.headers.get("content-encoding", "").strip().lower() in ("gzip", "deflate")


_TIMEOUTS: dict[tuple[float | None, float | None, float | None], aiohttp.ClientTimeout] = {}


def _timeout(timeout: httpx.Timeout) -> aiohttp.ClientTimeout:
    """`_timeouts`, made once per set of values (a proxy uses a handful all day)."""
    key = (timeout.connect, timeout.pool, timeout.read)
    found = _TIMEOUTS.get(key)
    if found is None:
        if len(_TIMEOUTS) >= 64:
            _TIMEOUTS.clear()
        found = _TIMEOUTS[key] = _timeouts(timeout)
    return found


def _timeouts(timeout: httpx.Timeout) -> aiohttp.ClientTimeout:
    """httpx's timeouts in aiohttp's terms: `connect` bounds the TCP and TLS handshake (and a proxy's
    CONNECT); waiting for a free connection adds `pool` to it; `read` bounds each silence of the upstream,
    for the answer's head and between reads of its body. aiohttp has no write timeout: the dispatcher's
    bound on the whole wait for the answer's head covers a request body the upstream never takes."""
    connect = timeout.connect
    pool = timeout.pool
    total_connect = None if connect is None else connect + (pool or 0.0)
    return aiohttp.ClientTimeout(total=None, connect=total_connect, sock_connect=connect, sock_read=timeout.read)


def _not_written(exc: BaseException) -> bool:
    """aiohttp could not write the request: its connection was closing already (the upstream's close had
    arrived) or was lost while the body went out. Nothing, or not all, of the request reached the upstream."""
    return isinstance(exc, aiohttp.ClientConnectionResetError) or isinstance(
        exc.__cause__, aiohttp.ClientConnectionResetError
    )


def _check_request(headers: Sequence[tuple[str, str]]) -> None:
    """A header HTTP cannot carry is refused before anything is sent, as h11 refuses it, and never quoted
    (it is usually a key with a stray newline or a non-ASCII character pasted in)."""
    for name, _ in headers:
        if name not in _GOOD_REQUEST_NAMES:
            if not _TOKEN_STR.fullmatch(name):
                raise httpx.LocalProtocolError("invalid header name")
            if len(_GOOD_REQUEST_NAMES) < 1024:
                _GOOD_REQUEST_NAMES.add(name)
    if _UNSAFE_VALUE.search("\t".join(value for _, value in headers)):
        raise httpx.LocalProtocolError("invalid header value")


def _check(response: aiohttp.ClientResponse) -> None:
    """What llhttp's lenient mode lets through and HTTP forbids (RFC 9110 5.5, 15; RFC 9112 6.1). A header
    name that is not a token llhttp refuses even then (tests/ccm/upstream/test_hostile.py pins it)."""
    if not 100 <= response.status <= 599:
        raise InvalidAnswer(f"status {response.status} from upstream is not an HTTP status")
    if _CONTROL.search(b"\t".join([value for _, value in response.raw_headers])):
        raise InvalidAnswer("a header from upstream has a control character")
    headers = response.headers
    coding = headers.get("transfer-encoding")
    if coding is not None and coding.strip().lower() != "chunked":
        raise InvalidAnswer(f"transfer coding {coding!r} from upstream: ccm decodes chunked only")
    coding = headers.get("content-encoding", "").strip().lower()
    if coding not in _DECODED:
        raise InvalidAnswer(f"content coding {coding!r} from upstream: ccm asked for gzip or deflate")


def os_words(error: OSError) -> str:
    """An OS error as a person reads it: "connection refused", "Name or service not known", not
    asyncio's "[Errno 111] Connect call failed ('127.0.0.1', 443)" (the address is said already)."""
    if isinstance(error, socket.gaierror) or not error.errno or error.errno < 0:
        return str(error.strerror or error)
    return os.strerror(error.errno).lower()


def mapped(exc: BaseException) -> httpx.HTTPError:
    """aiohttp's exception as httpx's (the message never quotes a request header: it may be a key)."""
    name = type(exc).__name__
    if isinstance(exc, httpx.HTTPError):
        return exc
    if isinstance(exc, aiohttp.ClientHttpProxyError):
        return httpx.ProxyError(f"the proxy refused the tunnel: {exc.status} {exc.message}")
    if isinstance(exc, aiohttp.ClientProxyConnectionError):
        return httpx.ProxyError(f"cannot connect to the proxy: {os_words(exc.os_error)}")
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        note = "".join(f" ({line})" for line in tls.problems)  # a CA setting that was ignored may be why
        return httpx.ConnectError(f"cannot connect to {exc.host}:{exc.port}: {exc.certificate_error}{note}")
    if isinstance(exc, aiohttp.ClientConnectorError):  # refused, unreachable, DNS, TLS
        return httpx.ConnectError(f"cannot connect to {exc.host}:{exc.port}: {os_words(exc.os_error)}")
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        return httpx.ConnectTimeout("no connection within the connect timeout")
    if isinstance(exc, asyncio.TimeoutError):  # aiohttp's SocketTimeoutError: a silence past `read`
        return httpx.ReadTimeout("upstream sent nothing within the read timeout")
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return httpx.RemoteProtocolError("upstream closed the connection without an answer")
    if isinstance(exc, aiohttp.ClientPayloadError):
        return httpx.ReadError(f"the answer was cut short: {exc}")
    if isinstance(exc, aiohttp.ClientResponseError):  # the parser refused the answer's head
        return InvalidAnswer(f"malformed answer from upstream: {exc.message}")
    if isinstance(exc, aiohttp.ClientOSError):
        return httpx.ReadError(f"{name}: {exc}")
    if isinstance(exc, aiohttp.InvalidURL):
        return httpx.UnsupportedProtocol(f"invalid upstream URL: {exc}")
    if isinstance(exc, ValueError):  # a header aiohttp will not send (a newline in a value)
        return httpx.LocalProtocolError("invalid header value")
    return httpx.TransportError(f"{name}: {exc}")
