"""The running proxy's admin API, as the TUI uses it: one shared httpx.AsyncClient, typed answers.

The client never trusts proxy variables from the environment (`trust_env=False`): a corporate
HTTP_PROXY would otherwise receive our calls to 127.0.0.1. The target (URL and router key) changes when
the proxy starts, stops or moves, so every call builds an absolute URL instead of using `base_url`.

    client = AdminClient()
    client.target("http://127.0.0.1:13456", api_key=None)
    items = await client.requests(limit=200)          # newest first
    async for item in client.follow_requests(): ...   # one dict per finished request
    await client.aclose()

Failures are two exceptions: ProxyUnreachable (nothing answers) and AdminError (an HTTP error answer).
httpx (~45 ms of imports) is loaded on the first call, after the TUI's first paint.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from ccm.sse import SSEParser
from config.errors import CcmError

if TYPE_CHECKING:
    import httpx

ANTHROPIC_VERSION = "2023-06-01"


class ProxyUnreachable(CcmError):
    """No proxy answers at the target URL (stopped, starting, or died)."""


class AdminError(CcmError):
    """The proxy answered with an error status; `message` is its Anthropic-style error message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status


def error_message(response: httpx.Response) -> str:
    """The message of an Anthropic-shaped error body, else the body's start."""
    try:
        data = response.json()
    except ValueError:
        return response.text[:200] or response.reason_phrase
    if isinstance(data, dict):
        err = data.get("error")
        if isinstance(err, dict) and err.get("message"):
            return str(err["message"])
        for key in ("message", "detail", "errors"):
            if data.get(key):
                value = data[key]
                return "; ".join(map(str, value)) if isinstance(value, list) else str(value)
    return str(data)[:200]


class AdminClient:
    """See the module docstring. Open on mount, `aclose()` on unmount."""

    def __init__(self, timeout: float = 10.0) -> None:
        self._timeout = timeout
        self._client: httpx.AsyncClient | None = None
        self.url: str | None = None
        self._key: str | None = None

    @property
    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            import httpx

            self._client = httpx.AsyncClient(trust_env=False, timeout=httpx.Timeout(self._timeout, connect=2.0))
        return self._client

    def target(self, url: str | None, api_key: str | None = None) -> None:
        self.url = url.rstrip("/") if url else None
        self._key = api_key

    @property
    def headers(self) -> dict[str, str]:
        return {"x-api-key": self._key} if self._key else {}

    def _url(self, path: str) -> str:
        if not self.url:
            raise ProxyUnreachable("the proxy is not running")
        return self.url + path

    async def _call(self, method: str, path: str, **kw: Any) -> Any:
        import httpx

        try:
            response = await self._http.request(method, self._url(path), headers=self.headers, **kw)
        except httpx.TransportError as exc:
            raise ProxyUnreachable(f"the proxy at {self.url} does not answer ({type(exc).__name__})") from None
        if response.status_code >= 400:
            raise AdminError(response.status_code, error_message(response))
        return response.json() if response.content else None

    async def health(self) -> dict[str, Any]:
        return dict(await self._call("GET", "/health", timeout=2.0))

    async def provider_models(self, name: str) -> list[str] | None:
        """The provider's own model list, asked by the proxy with the provider's credential; None when its
        API has none (or the proxy is older than this route)."""
        from urllib.parse import quote

        try:
            data = await self._call("GET", f"/api/providers/{quote(name, safe='')}/models", timeout=40.0)
        except AdminError as exc:
            if exc.status in (404, 405):
                return None
            raise
        models = data.get("models") if isinstance(data, dict) else None
        return [str(m) for m in models] if isinstance(models, list) else None

    async def status(self) -> dict[str, Any] | None:
        """GET /api/status (the proxy's own state: a refused reload, warnings); None from a proxy without it."""
        try:
            data = await self._call("GET", "/api/status", timeout=5.0)
        except AdminError as exc:
            if exc.status in (404, 405):
                return None
            raise
        return dict(data) if isinstance(data, dict) else None

    async def reload(self) -> dict[str, Any]:
        """Ask the proxy to re-read its config now (it also polls the file by itself)."""
        return dict(await self._call("POST", "/api/config/reload") or {})

    async def requests(self, limit: int = 200) -> list[dict[str, Any]]:
        data = await self._call("GET", "/api/requests", params={"limit": limit})
        items = data.get("requests", data) if isinstance(data, dict) else data
        return [i for i in items if isinstance(i, dict)] if isinstance(items, list) else []

    async def follow_requests(self) -> AsyncIterator[dict[str, Any]]:
        """Each finished request as the proxy logs it, until the connection ends."""
        import httpx

        timeout = httpx.Timeout(10.0, connect=2.0, read=None)
        try:
            async with self._http.stream(
                "GET", self._url("/api/requests/stream"), headers=self.headers, timeout=timeout
            ) as response:
                if response.status_code >= 400:
                    await response.aread()
                    raise AdminError(response.status_code, error_message(response))
                parser = SSEParser()
                async for chunk in response.aiter_bytes():
                    for event in parser.feed(chunk):
                        if event.event in ("request", "message"):
                            try:
                                item = event.json()
                            except ValueError:
                                continue
                            if isinstance(item, dict):
                                yield item
        except httpx.TransportError as exc:
            raise ProxyUnreachable(f"the request stream ended ({type(exc).__name__})") from None

    async def metrics(self) -> dict[str, Any]:
        """The proxy's since-start counters (GET /api/metrics, ccm.observe.metrics' JSON shape)."""
        return dict(await self._call("GET", "/api/metrics", timeout=5.0) or {})

    async def test_provider(self, name: str) -> dict[str, Any]:
        path = f"/api/providers/{quote(name, safe='')}/test"
        return dict(await self._call("POST", path, timeout=30.0))

    async def oauth_tokens(self) -> list[dict[str, Any]]:
        data = await self._call("GET", "/api/oauth/tokens")
        tokens = data.get("tokens", []) if isinstance(data, dict) else []
        return [t for t in tokens if isinstance(t, dict)]

    async def oauth_refresh(self, provider: str) -> dict[str, Any]:
        return dict(await self._call("POST", "/api/oauth/tokens/refresh", json={"provider": provider}, timeout=30.0))

    async def oauth_reload(self, provider: str) -> dict[str, Any]:
        """Tell the proxy a new login was stored (it drops its cached token)."""
        return dict(await self._call("POST", "/api/oauth/tokens/reload", json={"provider_id": provider}) or {})

    async def oauth_delete(self, provider: str) -> dict[str, Any]:
        return dict(await self._call("POST", "/api/oauth/tokens/delete", json={"provider": provider}) or {})

    @asynccontextmanager
    async def messages(self, body: dict[str, Any]) -> AsyncIterator[httpx.Response]:
        """POST /v1/messages as Claude Code would; the response is streamed (read it or iterate it)."""
        import httpx

        headers = {**self.headers, "anthropic-version": ANTHROPIC_VERSION, "content-type": "application/json"}
        timeout = httpx.Timeout(10.0, connect=2.0, read=600.0)
        try:
            async with self._http.stream(
                "POST", self._url("/v1/messages"), json=body, headers=headers, timeout=timeout
            ) as response:
                yield response
        except httpx.TransportError as exc:
            raise ProxyUnreachable(f"the proxy at {self.url} does not answer ({type(exc).__name__})") from None

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
