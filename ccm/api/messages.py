"""The two Messages endpoints: `POST /v1/messages` and `POST /v1/messages/count_tokens`.

Both share one path: authorize, parse once, validate, route, resolve the model's
mappings into a `Call` (ccm.dispatch.attempt), then dispatch it, or, for count_tokens, forward it to an
Anthropic-format first mapping or answer with the local estimate.

Framework-free (headers, body and query in; a `Result` out): ccm.serve.edge serves both past Quart.
"""

from __future__ import annotations

import functools
import importlib
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx
import orjson

from ccm.api import clients
from ccm.api.guard import CLIENT_HEADER, Refusal
from ccm.api.validate import validate_messages_request
from ccm.auth.credentials import CredentialError, Resolver
from ccm.dispatch.attempt import Call, error_result, prepare_body
from ccm.dispatch.failover import Result
from ccm.dispatch.relay import Done
from ccm.dispatch.window import fit, wants_1m
from ccm.observe.records import to_record
from ccm.providers.base import RequestContext
from ccm.routing import Candidate, RoutingDecision, resolve, route
from ccm.serve.services import Services
from ccm.serve.state import Snapshot
from ccm.tokens import estimate_input_tokens
from config.catalog import FORWARD_QUERY_TYPES
from config.errors import RoutingError
from config.schema import ClientConfig, Config

SESSION_HEADER = "x-claude-code-session-id"
"""Claude Code's session id: kept on the request's record, so `ccm statusline` can show that session's last route."""

Endpoint = Callable[[Mapping[str, str], bytes, str], Awaitable[Result]]


@dataclass(frozen=True, slots=True)
class Endpoints:
    """`answer` for POST /v1/messages, `count_tokens` for POST /v1/messages/count_tokens, and the OpenAI
    clients' two; the caller has refused web pages and checked the router key (ccm.serve.edge does both
    before it reads a body)."""

    answer: Endpoint
    count_tokens: Endpoint
    chat: Endpoint
    """POST /v1/chat/completions (ccm.api.openai_chat)."""
    responses: Endpoint
    """POST /v1/responses (ccm.api.openai_responses)."""


def make_endpoints(services: Services) -> Endpoints:

    def routed(kind: str, headers: Mapping[str, str], raw: bytes, query: str) -> Call | Result:
        """Parse, validate, route, apply the client's globs and limits, resolve: what both endpoints share.
        The key was checked by the caller (ccm.serve.edge, before it read the body), which named the client."""
        started = time.perf_counter()
        try:
            body = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            return error_result(400, "invalid_request_error", f"request body is not valid JSON: {exc}", {})
        # Validated once, before routing, for every wire; a 400 here carries no x-ccm-* headers: nothing was routed.
        problem = validate_messages_request(body, count_tokens=kind == "count_tokens")
        if problem is not None:
            return error_result(400, "invalid_request_error", problem, {})
        return dispatchable(services, kind, headers, body, len(raw), query, started)

    async def answer(headers: Mapping[str, str], raw: bytes, query: str) -> Result:
        """POST /v1/messages: the answer, a whole body or a stream."""
        call = routed("messages", headers, raw, query)
        if isinstance(call, Result):
            return call
        result = await services.dispatcher.run(call)
        return result if call.client is None else clients.for_client(result, call.decision)

    async def count_tokens(headers: Mapping[str, str], raw: bytes, query: str) -> Result:
        """POST /v1/messages/count_tokens: the first mapping's own count when it can give one, else ccm's."""
        call = routed("count_tokens", headers, raw, query)
        if isinstance(call, Result):
            return call
        first = call.candidates[0]
        counting = first.provider.wire == "anthropic" and first.provider.provider_type in FORWARD_QUERY_TYPES
        forwarded = await _forward_count(services.client, services.credentials, call, first) if counting else None
        answered = routing_headers(call.decision, attempts=int(counting)) | {"content-type": "application/json"}
        if forwarded is not None:
            if call.client is None:  # a client's answers name only the configured model (ccm.api.clients)
                answered |= {"x-ccm-provider": first.provider.name, "x-ccm-actual-model": first.actual_model}
            call.on_done(Done(200, 1, first.provider.name, first.actual_model))
            return Result(200, answered, forwarded)
        # No mapping answered: x-ccm-provider stays absent (no provider served it); the request log says "local".
        call.on_done(Done(200, int(counting), "local", "estimate"))
        return Result(200, answered, orjson.dumps({"input_tokens": estimate_input_tokens(call.body)}))

    routes = functools.partial(dispatchable, services)
    chat = _on_first_use("ccm.api.openai_chat", routes, services)
    responses = _on_first_use("ccm.api.openai_responses", routes, services)
    return Endpoints(answer, count_tokens, chat, responses)


def dispatchable(
    services: Services,
    kind: str,
    headers: Mapping[str, str],
    body: dict[str, Any],
    size: int,
    query: str,
    started: float,
) -> Call | Result:
    """Route, apply the client's globs and limits, resolve a valid request in ccm's internal form (an
    OpenAI client's, translated, too): the Call to dispatch, or the refusal or routing error. `size`:
    the raw body's length (the token estimate)."""
    snapshot = services.holder.current
    client, unknown = clients.caller(snapshot, headers)
    if unknown is not None:
        return refused(unknown, {})
    decision = route(body, snapshot.config, body_size=size)
    forwarded = client_headers(headers)
    session = (forwarded.get(SESSION_HEADER) or "")[:128] or None
    if client is not None:
        chosen = clients.within_globs(client, decision, snapshot.config)
        if isinstance(chosen, Refusal):
            recorder(services, kind, body, decision, started, snapshot.config, session, client)(
                Done(chosen.status, 0, error=chosen.message)
            )
            return refused(chosen, routing_headers(decision))
        decision = chosen
    on_done = recorder(services, kind, body, decision, started, snapshot.config, session, client)
    try:
        candidates = resolve(decision.model, snapshot.config, decision.original_model)
    except RoutingError as exc:
        on_done(Done(exc.status, 0, error=exc.message))
        return error_result(exc.status, exc.error_type, exc.message, routing_headers(decision))
    too_small: list[str] = []
    if kind != "count_tokens":  # mappings whose window the request does not fit are skipped
        one_m = wants_1m(headers.get("anthropic-beta"))
        candidates, too_small, too_long = fit(candidates, decision.estimated_tokens, one_m)
        if too_long is not None:
            on_done(Done(400, 0, error=too_long))
            return error_result(400, "invalid_request_error", too_long, routing_headers(decision))
    if client is not None:
        admitted = clients.admit(
            client, decision, candidates, snapshot.config, services.limits, counted=kind != "count_tokens"
        )
        if isinstance(admitted, Refusal):
            on_done(Done(admitted.status, 0, error=admitted.message))
            return refused(admitted, routing_headers(decision))
        candidates = admitted
    call = Call(body, decision, candidates, snapshot, forwarded, query, on_done, started)
    call.too_small = too_small
    call.client = client
    return call


def _on_first_use(module: str, *args: Any) -> Endpoint:
    """An endpoint whose module (and its translators) is imported by its first request: Claude Code's
    sessions never pay for the OpenAI clients' endpoints (~60 ms of imports at start)."""
    built: list[Endpoint] = []

    async def endpoint(headers: Mapping[str, str], raw: bytes, query: str) -> Result:
        if not built:
            built.append(importlib.import_module(module).endpoint(*args))
        return await built[0](headers, raw, query)

    return endpoint


def recorder(
    services: Services,
    kind: str,
    body: dict[str, Any],
    decision: RoutingDecision,
    started: float,
    config: Config,
    session: str | None = None,
    client: ClientConfig | None = None,
) -> Callable[[Done], None]:
    """What records a request once it is done: count_tokens in metrics only (Claude Code sends dozens at
    once, and they are no conversation), every Messages request in the request log and so its sinks."""
    requests, metrics = services.requests, services.metrics

    def on_done(done: Done) -> None:
        if kind == "count_tokens":
            metrics.count_tokens(decision.rule, decision.model, done.provider)
            return
        requests.add(
            to_record(
                done,
                record_id=requests.next_id(),
                time=time.time(),
                body=body,
                route=decision.rule,
                routed_model=decision.model,
                latency_ms=round((time.perf_counter() - started) * 1000),
                config=config,
                kind=kind,
                started=started,
                session=session,
                client=client.name if client is not None else None,
            )
        )

    return on_done


def refused(refusal: Refusal, headers: dict[str, str]) -> Result:
    return error_result(refusal.status, refusal.error_type, refusal.message, {**headers, **refusal.headers})


def routing_headers(decision: RoutingDecision, attempts: int = 0) -> dict[str, str]:
    return {
        "x-ccm-route": decision.rule,
        "x-ccm-model": decision.model,
        "x-ccm-attempts": str(attempts),
        "x-ccm-retries": "0",
    }


def client_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """The client's headers for the adapters: ccm's own (the router key's header, the client's name the
    edge set) never go on."""
    return {k.lower(): v for k, v in headers.items() if k.lower() not in _OWN_HEADERS}


_OWN_HEADERS = frozenset({"x-ccm-key", CLIENT_HEADER})


async def _forward_count(
    client: httpx.AsyncClient, credentials: Resolver, call: Call, candidate: Candidate
) -> bytes | None:
    """Ask an Anthropic-format upstream to count; None on any failure (the caller estimates locally).

    The credential comes from the one resolver (a key, or Claude Code's own login for passthrough); the
    request is built as a Messages call would be (ccm-signed thinking removed, the provider's headers,
    anthropic-version/-beta), then sent to the count_tokens endpoint. Never retried, never counted by the
    breaker: Claude Code fires ~27 at once and an estimate is a fine answer."""
    from ccm.providers.anthropic import ADAPTER

    snapshot: Snapshot = call.snapshot
    try:
        credential = await credentials.resolve(
            candidate.provider, snapshot.keys, call.client_headers, snapshot.router_key
        )
    except CredentialError:
        return None
    payload = prepare_body(call.body, call.decision, candidate)
    payload.pop("max_tokens", None)
    payload.pop("stream", None)
    upstream = ADAPTER.build(payload, RequestContext(candidate, credential, call.client_headers))
    url = candidate.provider.url("/v1/messages/count_tokens")
    if call.query:
        url = f"{url}?{call.query}"
    timeouts = snapshot.config.server.timeouts
    try:
        response = await client.post(
            url,
            content=upstream.body,
            headers=upstream.headers,
            timeout=httpx.Timeout(timeouts.connect_timeout_ms / 1000, read=5.0),
        )
    except (httpx.HTTPError, UnicodeEncodeError):  # a key httpx cannot send: estimate (never quote the error)
        return None
    if response.status_code != 200:
        return None
    try:
        data = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        return None
    return response.content if isinstance(data, dict) and "input_tokens" in data else None
