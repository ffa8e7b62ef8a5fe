"""The ASGI app Hypercorn serves: `POST /v1/messages` on a lean path of its own, everything else by Quart.

Why: Claude Code's traffic is nearly all `POST /v1/messages`, and for a small request Quart's machinery
(a Request object and two tasks per request, the request and app contexts, URL matching, before/after
hooks, a Response object, a `wait_for` around the send) was a fifth of the proxy's own time in issue 12's
profile. The lean path runs the very same code as the Quart route (ccm.messages' `answer`: authorize,
parse, validate, route, dispatch) and only replaces the framework around it: the body read with Quart's
limits (32 MiB, 120 s), the browser check every route gets, and the answer sent as it comes, a stream
chunk by chunk. A client that hangs up cancels the request, as Quart did, so the upstream is closed.
Anything else (other paths, other methods, websockets, lifespan) goes to Quart unchanged.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from quart import Quart

from ccm.attempt import Result, error_result
from ccm.http import browser_refusal, joined_headers
from ccm.state import ConfigHolder

log = logging.getLogger("ccm.asgi")

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
Answer = Callable[[Mapping[str, str], bytes, str], Awaitable[Result]]


class ProxyApp:
    """Quart's app behind a fast lane for the one endpoint that carries the traffic.

    Attribute reads fall through to the Quart app (`extensions`, `config`, ...), so everything that knew
    the Quart app keeps working with this one."""

    def __init__(self, quart: Quart, holder: ConfigHolder, state: dict[str, Any], max_body: int) -> None:
        self.quart = quart
        self._holder = holder
        self._state = state
        self._max_body = max_body
        self._body_timeout = float(quart.config["BODY_TIMEOUT"])

    def __getattr__(self, name: str) -> Any:
        return getattr(self.quart, name)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == "/v1/messages" and scope["method"] == "POST":
            await self._messages(scope, receive, send)
        else:
            await self.quart(scope, receive, send)  # type: ignore[arg-type]

    async def _messages(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = joined_headers((name.decode("latin-1"), value.decode("latin-1")) for name, value in scope["headers"])
        why = browser_refusal(self._holder.current, headers, scope)
        if why is not None:
            await _send_whole(send, error_result(403, "permission_error", why, {}))
            return
        raw = await self._body(receive, send, headers)
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
            answer: Answer = self._state["answer"]
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
            log.exception("POST /v1/messages failed: a bug in ccm")
            if not started:  # the client still gets an Anthropic error, never a traceback or a hang
                message = f"ccm failed to handle this request ({type(exc).__name__})"
                await _send_whole(send, error_result(500, "api_error", message, {}))
        finally:
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


def _head(result: Result, extra: list[tuple[bytes, bytes]]) -> dict[str, Any]:
    headers = [(k.lower().encode(), v.encode()) for k, v in result.headers.items()]
    return {"type": "http.response.start", "status": result.status, "headers": headers + extra}


async def _send_whole(send: Send, result: Result) -> None:
    body = result.body
    await send(_head(result, [(b"content-length", str(len(body)).encode())]))
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
