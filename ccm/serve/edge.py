"""The ASGI app Hypercorn serves: Claude Code's endpoints on a lean path of their own, the rest by Quart.

Why: Claude Code's traffic is nearly all `POST /v1/messages` (and bursts of count_tokens), and for a
small request Quart's machinery (a Request object and two tasks per request, the request and app
contexts, URL matching, before/after hooks, a Response object, a `wait_for` around the send) was a fifth
of the proxy's own time in issue 12's profile. The lean path runs ccm.api.messages' endpoints (authorize,
parse, validate, route, dispatch) and only replaces the framework around them: the body read with
Quart's limits (32 MiB, 120 s), the browser check every route gets, and the answer sent as it comes, a
stream chunk by chunk. A client that hangs up cancels the request, as Quart did, so the upstream is closed.

`/health` and `/api/hello` are answered here too, and the lifespan (startup, shutdown) is ccm's own: so
Quart (and Flask and Werkzeug under it, a third of the imports) is built only when the first other
request comes (the admin API, /metrics, a 404), and `ccm start` serves sooner.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson

from ccm import __version__
from ccm.api.guard import UNAUTHORIZED, authorized, browser_refusal, joined_headers
from ccm.api.messages import Endpoints
from ccm.dispatch.attempt import Result, error_result
from ccm.serve.state import ConfigHolder, Snapshot

if TYPE_CHECKING:
    from quart import Quart

log = logging.getLogger("ccm.serve.edge")

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
Answer = Callable[[Mapping[str, str], bytes, str], Awaitable[Result]]


@dataclass
class Lifespan:
    """What runs once the server listens (`startup`) and once it stops (`shutdown`)."""

    startup: Callable[[], Awaitable[None]]
    shutdown: Callable[[], Awaitable[None]]


class ProxyApp:
    """ccm's ASGI app: the lean endpoints, and Quart behind them for everything else.

    Attribute reads it does not have fall through to the Quart app (`config`, `test_client`, ...), built
    on that first read."""

    def __init__(
        self,
        holder: ConfigHolder,
        endpoints: Endpoints,
        lifespan: Lifespan,
        build_quart: Callable[[], Quart],
        extensions: dict[str, Any],
        max_body: int,
        body_timeout: float,
        started: float,
    ) -> None:
        self._holder = holder
        self._lean: dict[str, Answer] = {
            "/v1/messages": endpoints.answer,
            "/v1/messages/count_tokens": endpoints.count_tokens,
        }
        self._lifespan_hooks = lifespan
        self._build_quart = build_quart
        self._quart: Quart | None = None
        self._quart_started: asyncio.Task[None] | None = None
        self.extensions = extensions
        self._max_body = max_body
        self._body_timeout = body_timeout
        self._started = started
        self._active = 0  # requests on the lean path being answered now

    @property
    def quart(self) -> Quart:
        if self._quart is None:
            self._quart = self._build_quart()
        return self._quart

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):  # never build Quart for a missing private attribute (copy, pickle)
            raise AttributeError(name)
        return getattr(self.quart, name)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            path = scope["path"]
            endpoint = self._lean.get(path)
            if endpoint is not None:
                await self._messages(endpoint, scope, receive, send)
                return
            if path in ("/health", "/api/hello"):
                await self._small(path, scope, send)
                return
        elif kind == "lifespan":
            await self._lifespan(receive, send)
            return
        elif kind == "websocket":  # ccm serves none: refused before the handshake (Hypercorn answers 403)
            await send({"type": "websocket.close", "code": 1008})
            return
        quart = self.quart
        if self._quart_started is None:  # Quart's own startup, once, for the first request it serves
            self._quart_started = asyncio.get_running_loop().create_task(quart.startup())
        await asyncio.shield(self._quart_started)
        await quart(scope, receive, send)  # type: ignore[arg-type]

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await self._lifespan_hooks.startup()
                except Exception as exc:
                    log.exception("startup failed")
                    await send({"type": "lifespan.startup.failed", "message": f"{type(exc).__name__}: {exc}"})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                try:
                    if self._quart_started is not None:
                        await self._quart_started
                        await self.quart.shutdown()
                finally:
                    await self._lifespan_hooks.shutdown()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _small(self, path: str, scope: Scope, send: Send) -> None:
        """/health (what `ccm start` and health checks poll) and /api/hello (Claude Code's start-up probe)."""
        headers = joined_headers((name.decode("latin-1"), value.decode("latin-1")) for name, value in scope["headers"])
        snapshot = self._holder.current
        if await _refused(send, snapshot, headers, scope, ("GET", "HEAD"), authorize=False):
            return
        data: dict[str, Any] = {}
        if path == "/health":
            data = {
                "status": "ok",
                "version": __version__,
                "pid": os.getpid(),
                "uptime_s": round(time.time() - self._started, 1),
                "config": str(self._holder.path),
                "generation": snapshot.generation,
            }
        body = b"" if scope["method"] == "HEAD" else orjson.dumps(data)
        await _send_whole(send, Result(200, {"content-type": "application/json"}, body), length=len(orjson.dumps(data)))

    async def _messages(self, answer: Answer, scope: Scope, receive: Receive, send: Send) -> None:
        headers = joined_headers((name.decode("latin-1"), value.decode("latin-1")) for name, value in scope["headers"])
        if await _refused(send, self._holder.current, headers, scope, ("POST",), authorize=True):
            return
        raw = await self._body(receive, send, headers)
        if raw is None:
            return
        task = asyncio.current_task()
        assert task is not None
        left = False
        self._active += 1

        async def watch() -> None:
            nonlocal left
            while (await receive())["type"] != "http.disconnect":
                pass
            left = True
            task.cancel()  # as Quart does: the handler stops, the relay's `finally` closes the upstream

        watcher = asyncio.get_running_loop().create_task(watch())
        started = False

        async def sending(message: dict[str, Any]) -> None:
            nonlocal started
            await send(message)
            started = True  # Hypercorn took the status line and headers: too late for an error answer

        try:
            result = await answer(headers, raw, scope["query_string"].decode("latin-1"))
            if result.stream is None:
                await _send_whole(sending, result)
            else:
                await _send_stream(sending, result, lambda: self._active == 1)
        except asyncio.CancelledError:
            if not left:
                raise
            task.uncancel()  # the client is gone: nothing to send, nothing to raise into Hypercorn
        except Exception as exc:
            log.exception("POST %s failed: a bug in ccm", scope["path"])
            if not started:  # the client still gets an Anthropic error, never a traceback or a hang
                message = f"ccm failed to handle this request ({type(exc).__name__})"
                await _send_whole(send, error_result(500, "api_error", message, {}))
        finally:
            self._active -= 1
            watcher.cancel()

    async def _body(self, receive: Receive, send: Send, headers: Mapping[str, str]) -> bytes | None:
        """The whole request body, or None after answering 413/408 (or when the client left)."""
        length = headers.get("content-length", "")
        too_large = f"request body is larger than {self._max_body // 2**20} MiB"
        if length.isdigit() and int(length) > self._max_body:
            await _send_whole(send, error_result(413, "request_too_large", too_large, {}))
            return None
        parts: list[bytes] = []
        size = 0
        try:
            async with asyncio.timeout(self._body_timeout):
                while True:
                    message = await receive()
                    if message["type"] == "http.disconnect":
                        return None
                    part = message.get("body", b"")
                    size += len(part)
                    if size > self._max_body:
                        await _send_whole(send, error_result(413, "request_too_large", too_large, {}))
                        return None
                    parts.append(part)
                    if not message.get("more_body", False):
                        return parts[0] if len(parts) == 1 else b"".join(parts)
        except TimeoutError:
            message_text = f"the request body did not arrive within {self._body_timeout:g} s"
            await _send_whole(send, error_result(408, "timeout_error", message_text, {}))
            return None


async def _refused(
    send: Send, snapshot: Snapshot, headers: Mapping[str, str], scope: Scope, methods: tuple[str, ...], authorize: bool
) -> bool:
    """Answer a request the lean path must refuse, in the order the Quart routes had: a web page's (403),
    then a method the endpoint does not take (405), then, where the router key guards the endpoint, a
    missing key (401) before a byte of the body is read. True when it answered."""
    why = browser_refusal(snapshot, headers, scope)
    if why is not None:
        await _send_whole(send, error_result(403, "permission_error", why, {}))
        return True
    method = scope["method"]
    if method not in methods:
        message = f"method {method} not allowed on {scope['path']}"
        await _send_whole(send, error_result(405, "invalid_request_error", message, {"allow": ", ".join(methods)}))
        return True
    if authorize and not authorized(snapshot, headers):
        await _send_whole(send, error_result(401, "authentication_error", UNAUTHORIZED, {}))
        return True
    return False


def _head(result: Result, extra: list[tuple[bytes, bytes]]) -> dict[str, Any]:
    headers = [(k.lower().encode(), v.encode()) for k, v in result.headers.items()]
    return {"type": "http.response.start", "status": result.status, "headers": headers + extra}


async def _send_whole(send: Send, result: Result, length: int | None = None) -> None:
    """The answer in one piece; `length`: the content-length of a HEAD answer's missing body."""
    body = result.body
    size = len(body) if length is None else length
    await send(_head(result, [(b"content-length", str(size).encode())]))
    await send({"type": "http.response.body", "body": body, "more_body": False})


async def _send_stream(send: Send, result: Result, alone: Callable[[], bool]) -> None:
    stream = result.stream
    assert stream is not None
    try:
        await send(_head(result, []))
        first = True
        async for chunk in stream:
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
            if first:
                first = False
                if alone():
                    # The head and the first frames (the first text) leave now, in one write (ccm.serve.hypercorn_fixes
                    # writes once per loop turn), and the rest of the read they came in is translated
                    # after. Only with nothing else in flight: under load the loop turns over anyway, and
                    # a second write per stream cost a sixth of the streams per second at c=32.
                    await asyncio.sleep(0)
        await send({"type": "http.response.body", "body": b"", "more_body": False})
    finally:
        aclose = getattr(stream, "aclose", None)
        if aclose is not None:
            await aclose()  # a stream left early (the client went, a send failed) closes its upstream now
