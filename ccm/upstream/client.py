"""The proxy's one upstream client: httpx's API, on aiohttp's transport (ccm.upstream.aio).

    client = make_client()                                    # once per process (ccm.serve.app's startup)
    answer = await post(client, url, headers, body, timeout)  # the proxy's hot call: an Answer
    await client.post(url, json=...)                          # everything else (OAuth, checks): httpx's API

Why aiohttp's transport under httpx's API, and not httpx's own (httpcore and h11): measured side by side
on bench/compare.py (bench/results-upstream.txt), httpx's own transport took a "hello" request through the
proxy at 0.73x claude-code-router's rate at 32 concurrent requests, aiohttp's at 2.25x (the bar is 1.25x),
and cost 1.8x aiohttp's CPU per request. httpx's API stays: its requests, responses, timeouts and
exceptions are what every caller above is written against.
"""

from __future__ import annotations

import asyncio
import http.cookiejar
import urllib.request
from collections.abc import Iterable, Mapping

import httpx

from ccm.upstream import proxies, tls
from ccm.upstream.aio import AiohttpTransport
from ccm.upstream.answer import Answer

ACCEPT_ENCODING = "gzip, deflate"  # the codings aiohttp decodes within bounds, whatever else is installed


class _NoCookies(http.cookiejar.CookieJar):
    """A proxy keeps no cookie from upstreams: one provider's cookie never rides on a later request, and an
    answer skips http.cookiejar's parsing."""

    def extract_cookies(self, response: object, request: urllib.request.Request) -> None:
        return None

    def set_cookie(self, cookie: http.cookiejar.Cookie) -> None:
        return None


class UpstreamClient(httpx.AsyncClient):
    """httpx.AsyncClient on ccm's upstream transport, which `post` also sends through directly."""

    def __init__(self, transport: AiohttpTransport) -> None:
        super().__init__(
            transport=transport,
            headers={"accept-encoding": ACCEPT_ENCODING},
            timeout=httpx.Timeout(connect=10.0, read=600.0, write=60.0, pool=30.0),
            follow_redirects=False,
            cookies=_NoCookies(),
        )
        self.upstream = transport
        self.default_headers = {k.lower(): v for k, v in self.headers.items()}


class HttpxAnswer(Answer):
    """An httpx.Response as an Answer, for a client `make_client` did not make. Its reads are shielded from
    a cancelled wait (the relay's ping timer), so no byte is lost; its decompression is httpx's."""

    __slots__ = ("_chunks", "_pending", "_response")

    def __init__(self, response: httpx.Response) -> None:
        super().__init__(response.status_code, response.headers)
        self._response = response
        self._chunks = aiter(response.aiter_bytes())
        self._pending: asyncio.Future[bytes] | None = None

    async def read(self) -> bytes:
        if self._pending is None:
            self._pending = asyncio.ensure_future(anext(self._chunks, b""))
        chunk = await asyncio.shield(self._pending)
        self._pending = None
        return chunk

    async def aclose(self) -> None:
        if self._pending is not None:
            self._pending.cancel()
        await self._response.aclose()


def make_client(max_connections: int = 100) -> UpstreamClient:
    """The client, with HTTPS_PROXY / HTTP_PROXY / NO_PROXY read now (a setting it cannot use is logged)."""
    transport = AiohttpTransport(
        max_connections=max_connections, keepalive_s=30.0, ssl_context=tls.loaded, proxy_for=proxies.Proxies().for_url
    )
    return UpstreamClient(transport)


def preload(base_urls: Iterable[str]) -> None:
    """Some upstream speaks https: the trust store loads beside the start, not in its path (ccm.upstream.tls)."""
    if any(not url.startswith("http://") for url in base_urls):
        tls.preload()


_PARSED: dict[str, httpx.URL] = {}


def parsed_url(url: str) -> httpx.URL:
    """An upstream URL parsed once: a proxy sends to the same few URLs all day."""
    found = _PARSED.get(url)
    if found is None:
        if len(_PARSED) >= 512:  # many distinct URLs (query strings): start over rather than grow
            _PARSED.clear()
        found = _PARSED[url] = httpx.URL(url)
    return found


async def post(
    client: httpx.AsyncClient, url: httpx.URL, headers: Mapping[str, str], body: bytes, timeout: httpx.Timeout
) -> Answer:
    """POST `body`; the Answer once its head is in. The client's default headers go out under the request's
    own, as httpx merges them, so an upstream sees the same request either way.

    Why not `client.send`: building an httpx Request and Response, with its auth, redirect and cookie steps
    that a proxy never uses, would cost time on every request for nothing."""
    if not isinstance(client, UpstreamClient):  # any other httpx client (a test's): through httpx's API
        request = client.build_request("POST", url, headers=headers, content=body, timeout=timeout)
        return HttpxAnswer(await client.send(request, stream=True))
    merged = client.default_headers
    if headers:
        merged = merged.copy()
        for name, value in headers.items():
            merged[name.lower()] = value
    return await client.upstream.send("POST", url, list(merged.items()), body, timeout)
