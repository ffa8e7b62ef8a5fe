"""`POST /v1/chat/completions`: an OpenAI Chat Completions client (aider, the openai SDK, any OpenAI client)
served by ccm's routing, failover and mappings, answered in Chat Completions whatever served it.

The same path as /v1/messages (ccm.api.messages): parse once, validate (a 400 naming the field), translate
to ccm's internal form (ccm.translate.openai.inbound_request), route on it (think = a `reasoning_effort`
other than none/minimal, websearch = `web_search_options`), dispatch with the same failover, retries,
breaker, records, metrics and x-ccm-* headers; the client's wire goes along (ccm.api.inbound.ChatWire), so
a Chat Completions mapping gets the client's own body and any other mapping a translation. Every error is
OpenAI-shaped (ccm.api.openai_errors).

Framework-free, like the Messages endpoints: ccm.serve.edge serves it on its lean path.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Protocol, TypeVar

import orjson

from ccm.api import clients, openai_errors
from ccm.api.inbound import ChatWire
from ccm.api.openai_validate import validate_chat
from ccm.dispatch.attempt import Call, Result
from ccm.serve.services import Services
from ccm.translate.openai.inbound_request import InboundError, from_chat

KIND = "chat_completions"
"""The request log's `kind` for these requests."""
Router = Callable[[str, Mapping[str, str], dict[str, Any], int, str, float], Call | Result]
"""ccm.api.messages' routing of a request in ccm's internal form: (kind, headers, body, size, query,
started) -> the Call to dispatch, or the routing error."""
Endpoint = Callable[[Mapping[str, str], bytes, str], Awaitable[Result]]


def parsed(raw: bytes) -> dict[str, Any] | Result:
    """The body as JSON, or the 400."""
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        return openai_errors.error_result(400, "invalid_request_error", f"request body is not valid JSON: {exc}")
    return (
        body
        if isinstance(body, dict)
        else openai_errors.error_result(400, "invalid_request_error", "request body must be a JSON object")
    )


def endpoint(route: Router, services: Services) -> Endpoint:
    async def chat(headers: Mapping[str, str], raw: bytes, query: str) -> Result:
        routed = routed_call(KIND, raw, validate_chat, from_chat, route, headers, query)
        if isinstance(routed, Result):
            return routed
        body, inbound, call = routed
        call.inbound = ChatWire(body, inbound, call.decision.model if call.client is not None else None)
        return await dispatched(services, call)

    return chat


class _Translated(Protocol):
    body: dict[str, Any]


In = TypeVar("In", bound=_Translated)


def routed_call(
    kind: str,
    raw: bytes,
    validate: Callable[[dict[str, Any]], str | None],
    translate: Callable[[dict[str, Any]], In],
    route: Router,
    headers: Mapping[str, str],
    query: str,
) -> tuple[dict[str, Any], In, Call] | Result:
    """The client's body, its translation to ccm's internal form and the routed Call, or the OpenAI-shaped
    error of the first step that refused it: the steps every OpenAI endpoint takes before its wire's own."""
    started = time.perf_counter()
    body = parsed(raw)
    if isinstance(body, Result):
        return body
    problem = validate(body)
    if problem is not None:
        return openai_errors.error_result(400, "invalid_request_error", problem)
    try:
        inbound = translate(body)
    except InboundError as exc:
        return openai_errors.error_result(400, "invalid_request_error", str(exc))
    call = route(kind, headers, inbound.body, len(raw), query, started)
    if isinstance(call, Result):
        return openai_errors.reshaped(call)
    return body, inbound, call


async def dispatched(services: Services, call: Call) -> Result:
    """The answer to an OpenAI client: errors in OpenAI's shape and, for a [[clients]] key, naming no
    provider (its globs and limits were checked when the request was routed)."""
    result = await services.dispatcher.run(call)
    if call.client is not None:
        result = clients.for_client(result, call.decision, stream_scrubbed=True)
    return openai_errors.reshaped(result)
