"""The proxy's one upstream client: httpx's API, on aiohttp's transport (ccm.upstream.aio).

    client = make_client()                      # once per process (ccm.serve.app's startup)
    answer = await post(client, url, headers, body, timeout)   # the proxy's hot call: an Answer
    await client.post(url, json=...)            # everything else (OAuth, provider checks): httpx's API

Why aiohttp's transport under httpx's API: see the module's CHANGELOG entry and bench/results-upstream.txt.
"""

from __future__ import annotations

import http.cookiejar
import os
import urllib.request
from collections.abc import Iterable, Mapping

import httpx

from ccm.upstream import proxies, tls
from ccm.upstream.answer import Answer

ACCEPT_ENCODING = "gzip, deflate"  # the codings the transport decodes within bounds


class _NoCookies(http.cookiejar.CookieJar):
    """A proxy keeps no cookie from upstreams: one provider's cookie never rides on a later request, and an
    answer skips http.cookiejar's parsing."""

    def extract_cookies(self, response: object, request: urllib.request.Request) -> None:
        return None

    def set_cookie(self, cookie: http.cookiejar.Cookie) -> None:
        return None


class UpstreamClient(httpx.AsyncClient):
    """httpx.AsyncClient on ccm's upstream transport, which `post` sends through directly."""

    def __init__(self, transport: httpx.AsyncBaseTransport, lean: object) -> None:
        super().__init__(
            transport=transport,
            headers={"accept-encoding": ACCEPT_ENCODING},
            timeout=httpx.Timeout(connect=10.0, read=600.0, write=60.0, pool=30.0),
            follow_redirects=False,
            cookies=_NoCookies(),
        )
        self.lean = lean
        self.default_headers = {k.lower(): v for k, v in self.headers.items()}


def make_client(max_connections: int = 100) -> UpstreamClient:
    if os.environ.get("CCM_UPSTREAM_LIB") == "httpx":
        from ccm.upstream.hx import HxTransport

        hx = HxTransport()
        return UpstreamClient(hx, hx)
    from ccm.upstream.aio import AiohttpTransport

    transport = AiohttpTransport(
        max_connections=max_connections, keepalive_s=30.0, ssl_context=tls.loaded, proxy_for=proxies.Proxies().for_url
    )
    return UpstreamClient(transport, transport)


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
    own, as httpx merges them."""
    assert isinstance(client, UpstreamClient)
    merged = client.default_headers
    if headers:
        merged = merged.copy()
        for name, value in headers.items():
            merged[name.lower()] = value
    return await client.lean.send("POST", url, list(merged.items()), body, timeout)  # type: ignore[attr-defined,no-any-return]
