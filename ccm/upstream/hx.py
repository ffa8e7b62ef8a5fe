"""PROTOTYPE for the benchmark only: httpx's own transport (httpcore + h11) under the same Answer."""

from __future__ import annotations

from collections.abc import Sequence

import httpx

from ccm.upstream import tls
from ccm.upstream.answer import Answer


class HxAnswer(Answer):
    __slots__ = ("_it", "_response")

    def __init__(self, response: httpx.Response) -> None:
        super().__init__(response.status_code, response.headers)
        self._response = response
        self._it = response.aiter_raw()

    async def read(self) -> bytes:
        return await anext(self._it, b"")

    async def aclose(self) -> None:
        await self._response.aclose()


class HxTransport(httpx.AsyncHTTPTransport):
    def __init__(self) -> None:
        super().__init__(
            verify=tls.context(),
            limits=httpx.Limits(max_connections=100, max_keepalive_connections=100, keepalive_expiry=30),
            trust_env=True,
        )

    async def send(
        self, method: str, url: httpx.URL, headers: Sequence[tuple[str, str]], body: bytes, timeout: httpx.Timeout
    ) -> Answer:
        request = httpx.Request(
            method, url, headers=[("host", url.netloc.decode()), *headers], content=body,
            extensions={"timeout": timeout.as_dict()},
        )
        response = await self.handle_async_request(request)
        return HxAnswer(response)
