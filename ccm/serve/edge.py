"""The ASGI app Hypercorn serves: the one edge every request passes, Claude Code's endpoints on a lean path
of their own, the rest by Quart.

Every HTTP request first meets ccm.api.guard's rules (framing, browsers, the admin API beyond loopback,
the router key), answered here whichever route it is for. Then Claude Code's traffic, nearly all `POST
/v1/messages` (and bursts of count_tokens), takes the lean path: for a small request Quart's machinery (a
Request object and two tasks per request, the request and app contexts, URL matching, before/after
hooks, a Response object, a `wait_for` around the send) was a fifth of the proxy's own time
(bench/profile.py). The lean path runs ccm.api.messages' endpoints (parse, validate, route, dispatch), and
the OpenAI clients' two (`/v1/chat/completions`, `/v1/responses`, whose refusals are OpenAI-shaped), and
only replaces the framework around them: the body read with the same limits as Quart's (32 MiB, 120 s),
and the answer sent as it comes, a stream chunk by chunk. A client that hangs up cancels the request, as
Quart did, so the upstream is closed.

`/health`, `/api/hello` and `GET /v1/models` (Claude Code asks for all three at start) are answered here
too, and the lifespan (startup, shutdown) is ccm's own: so Quart (and Flask and Werkzeug under it, a third
of the imports) is built only when the first other request comes (the admin API, /metrics, a 404), and
`ccm start` serves sooner.
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
from ccm.api import guard, models, openai_errors
from ccm.api.browser import is_loopback
from ccm.api.guard import Caller, Refusal, joined_headers
from ccm.api.messages import Endpoints
from ccm.dispatch.attempt import Result, error_result
from ccm.serve.services import Services
from ccm.serve.state import Snapshot

if TYPE_CHECKING:
    from quart import Quart

log = logging.getLogger("ccm.serve.edge")

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
Answer = Callable[[Mapping[str, str], bytes, str], Awaitable[Result]]
OPENAI_PATHS = frozenset({"/v1/chat/completions", "/v1/responses"})
"""The OpenAI clients' endpoints (ccm.api.openai_chat, ccm.api.openai_responses): their refusals are OpenAI's."""


@dataclass
class Lifespan:
    """What runs once the server listens (`startup`) and once it stops (`shutdown`)."""

    startup: Callable[[], Awaitable[None]]
    shutdown: Callable[[], Awaitable[None]]


class ProxyApp:
    """ccm's ASGI app: the lean endpoints, and Quart behind them for everything else.

    Attribute reads it does not have fall through to the Quart app (`config`, `test_client`, ...), built
    on that first read. `listen_host`: the address the server listens on (`ccm serve` sets it; else
    server.host), which decides whether ccm serves beyond this machine."""

    listen_host: str | None = None

    def __init__(
        self,
        services: Services,
        endpoints: Endpoints,
        lifespan: Lifespan,
        build_quart: Callable[[], Quart],
        max_body: int,
        body_timeout: float,
    ) -> None:
        self.services = services
        self._holder = services.holder
        self._lean: dict[str, Answer] = {
            "/v1/messages": endpoints.answer,
            "/v1/messages/count_tokens": endpoints.count_tokens,
            "/v1/chat/completions": endpoints.chat,
            "/v1/responses": endpoints.responses,
        }
        self._lifespan_hooks = lifespan
        self._build_quart = build_quart
        self._quart: Quart | None = None
        self._quart_started: asyncio.Task[None] | None = None
        self._max_body = max_body
        self._body_timeout = body_timeout

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
            small = path in ("/health", "/api/hello")
            listing = models.serves(path)
            methods = ("POST",) if endpoint is not None else ("GET", "HEAD") if small or listing else None
            headers = joined_headers((k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"])
            snapshot = self._holder.current
            verdict = guard.admit(snapshot, headers, scope, self.listen_host or snapshot.config.server.host, methods)
            if isinstance(verdict, Refusal):
                verdict = guard.unread(verdict, headers)
            if isinstance(verdict, Refusal) and listing:  # in the shape of the client that asked
                await _send_whole(send, models.refused(headers, verdict))
                return
            if isinstance(verdict, Refusal):
                await _send_whole(send, _shape(path)(verdict))
                return
            if endpoint is not None:
                # the key's own header parts consumed, the client named (ccm.api.guard.forwarded)
                await self._messages(endpoint, scope, receive, send, guard.forwarded(headers, verdict))
                return
            if small:
                await self._small(path, scope, send, snapshot, verdict)
                return
            if listing:  # Claude Code's start-up discovery
                await self._models(scope, send, headers, snapshot, verdict.client)
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

    async def _small(self, path: str, scope: Scope, send: Send, snapshot: Snapshot, caller: Caller) -> None:
        """/health (what `ccm start` and health checks poll) and /api/hello (Claude Code's start-up probe).
        /health names the process and its config file (a path in someone's home) only to this machine or
        the operator: a gateway's health check from elsewhere learns that it is up, and its version."""
        data: dict[str, Any] = {}
        if path == "/health":
            data = {"status": "ok", "version": __version__}
            peer = (scope.get("client") or ("", 0))[0]
            if is_loopback(peer) or (caller.keyed and caller.client is None):
                data.update(
                    pid=os.getpid(),
                    uptime_s=round(time.time() - self.services.started, 1),
                    config=str(self._holder.path),
                    generation=snapshot.generation,
                )
        body = b"" if scope["method"] == "HEAD" else orjson.dumps(data)
        await _send_whole(send, Result(200, {"content-type": "application/json"}, body), length=len(orjson.dumps(data)))

    async def _models(
        self, scope: Scope, send: Send, headers: Mapping[str, str], snapshot: Snapshot, client: str | None
    ) -> None:
        """GET /v1/models[/{id}] (ccm.api.models): the answer is small and whole; a HEAD gets its head only.
        `client`: the [[clients]] name that asked (it sees only the models its globs allow)."""
        query = scope["query_string"].decode("latin-1")
        result = models.answer(snapshot, headers, scope["path"], query, client)
        head = scope["method"] == "HEAD"
        await _send_whole(send, Result(result.status, result.headers, b"" if head else result.body), len(result.body))

    async def _messages(
        self, answer: Answer, scope: Scope, receive: Receive, send: Send, headers: Mapping[str, str]
    ) -> None:
        shape = _shape(scope["path"])
        raw = await self._body(receive, send, headers, shape)
        if raw is None:
            return
        task = asyncio.current_task()
        assert task is not None
        left = False

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
                await _send_stream(sending, result)
        except asyncio.CancelledError:
            if not left:
                raise
            task.uncancel()  # the client is gone: nothing to send, nothing to raise into Hypercorn
        except Exception as exc:
            log.exception("POST %s failed: a bug in ccm", scope["path"])
            if not started:  # the client still gets an error in its shape, never a traceback or a hang
                await _send_whole(send, shape(guard.failed(exc)))
        finally:
            watcher.cancel()

    async def _body(
        self, receive: Receive, send: Send, headers: Mapping[str, str], shape: Callable[[Refusal], Result]
    ) -> bytes | None:
        """The whole request body, or None after answering 413/408 (or when the client left); those answers
        say `connection: close`, since what is left of the body is never read."""
        length = headers.get("content-length", "")
        if length.isdigit() and int(length) > self._max_body:
            await _send_whole(send, shape(guard.unread(guard.too_large(self._max_body), headers)))
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
                        await _send_whole(send, shape(guard.unread(guard.too_large(self._max_body), headers)))
                        return None
                    parts.append(part)
                    if not message.get("more_body", False):
                        return parts[0] if len(parts) == 1 else b"".join(parts)
        except TimeoutError:
            await _send_whole(send, shape(guard.unread(guard.body_too_slow(self._body_timeout), headers)))
            return None


def _anthropic(refusal: Refusal) -> Result:
    return error_result(refusal.status, refusal.error_type, refusal.message, refusal.headers)


def _shape(path: str) -> Callable[[Refusal], Result]:
    """How a refusal reads for the client of a path: OpenAI's shape for the OpenAI clients' endpoints."""
    return openai_errors.refused if path in OPENAI_PATHS else _anthropic


def _head(result: Result, extra: list[tuple[bytes, bytes]]) -> dict[str, Any]:
    headers = [(k.lower().encode(), v.encode()) for k, v in result.headers.items()]
    return {"type": "http.response.start", "status": result.status, "headers": headers + extra}


async def _send_whole(send: Send, result: Result, length: int | None = None) -> None:
    """The answer in one piece; `length`: the content-length of a HEAD answer's missing body."""
    body = result.body
    size = len(body) if length is None else length
    await send(_head(result, [(b"content-length", str(size).encode())]))
    await send({"type": "http.response.body", "body": body, "more_body": False})


async def _send_stream(send: Send, result: Result) -> None:
    stream = result.stream
    assert stream is not None
    try:
        await send(_head(result, []))
        async for chunk in stream:
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})
    finally:
        aclose = getattr(stream, "aclose", None)
        if aclose is not None:
            await aclose()  # a stream left early (the client went, a send failed) closes its upstream now
