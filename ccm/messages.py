"""The two Messages endpoints: `POST /v1/messages` and `POST /v1/messages/count_tokens`.

Both share one path (DESIGN's picture): authorize, parse once, validate, route, resolve the model's
mappings into a `Call` (ccm.attempt), then dispatch it, or, for count_tokens, forward it to an
Anthropic-format first mapping or answer with the local estimate.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import httpx
import orjson
from quart import Quart, Response, request

from ccm.attempt import Call, error_result, prepare_body
from ccm.credentials import CredentialError, Resolver
from ccm.dispatch import Dispatcher, Result
from ccm.http import authorized, joined_headers, json_response
from ccm.metrics import Metrics
from ccm.providers.base import RequestContext
from ccm.records import to_record
from ccm.relay import Done
from ccm.requestlog import RequestLog
from ccm.routing import Attempt, RoutingDecision, resolve, route
from ccm.state import ConfigHolder, Snapshot
from ccm.tokens import estimate_input_tokens
from ccm.validate import validate_messages_request
from config.catalog import FORWARD_QUERY_TYPES
from config.errors import RoutingError
from config.schema import Config


def register_messages(
    app: Quart,
    holder: ConfigHolder,
    state: dict[str, Any],
    requests: RequestLog,
    metrics: Metrics,
    credentials: Resolver,
) -> None:
    def record(kind: str, body: dict[str, Any], decision: RoutingDecision, started: float, config: Config) -> Any:
        def on_done(done: Done) -> None:
            if kind == "count_tokens":  # DESIGN: counted in metrics only, never in the request log or feed
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
                )
            )

        return on_done

    def routed(kind: str, headers: Mapping[str, str], raw: bytes, query: str) -> Call | Result:
        """Authorize, parse, validate, route and resolve: what both endpoints share.

        Framework-free (headers, body, query in; a Call or an answer out), so the lean ASGI path of
        ccm.asgi and the Quart routes run the very same code."""
        started = time.perf_counter()
        snapshot = holder.current
        if not authorized(snapshot, headers):
            return error_result(401, "authentication_error", "invalid or missing router key (server.api_key)", {})
        try:
            body = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            return error_result(400, "invalid_request_error", f"request body is not valid JSON: {exc}", {})
        # Validated once, before routing, for every wire; a 400 here carries no x-ccm-* headers (DESIGN).
        problem = validate_messages_request(body, count_tokens=kind == "count_tokens")
        if problem is not None:
            return error_result(400, "invalid_request_error", problem, {})
        decision = route(body, snapshot.config, body_size=len(raw))
        on_done = record(kind, body, decision, started, snapshot.config)
        try:
            attempts = resolve(decision.model, snapshot.config)
        except RoutingError as exc:
            on_done(Done(exc.status, 0, error=exc.message))
            return error_result(exc.status, exc.error_type, exc.message, routing_headers(decision))
        return Call(body, decision, attempts, snapshot, client_headers(headers), query, on_done, started)

    async def answer(headers: Mapping[str, str], raw: bytes, query: str) -> Result:
        """POST /v1/messages: the answer, a whole body or a stream."""
        call = routed("messages", headers, raw, query)
        if isinstance(call, Result):
            return call
        dispatcher: Dispatcher = state["dispatcher"]
        return await dispatcher.run(call)

    state["answer"] = answer  # ccm.asgi serves POST /v1/messages with it, past Quart

    @app.post("/v1/messages")
    async def messages() -> Response:
        raw: bytes = await request.get_data(as_text=False)  # type: ignore[assignment]
        return to_response(await answer(lowered(request.headers), raw, request.query_string.decode()))

    @app.post("/v1/messages/count_tokens")
    async def count_tokens() -> Response:
        raw: bytes = await request.get_data(as_text=False)  # type: ignore[assignment]
        call = routed("count_tokens", lowered(request.headers), raw, request.query_string.decode())
        if isinstance(call, Result):
            return to_response(call)
        first = call.attempts[0]
        counting = first.provider.wire == "anthropic" and first.provider.provider_type in FORWARD_QUERY_TYPES
        forwarded = await _forward_count(state["client"], credentials, call, first) if counting else None
        headers = routing_headers(call.decision, attempts=int(counting))
        if forwarded is not None:
            headers |= {"x-ccm-provider": first.provider.name, "x-ccm-actual-model": first.actual_model}
            call.on_done(Done(200, 1, first.provider.name, first.actual_model))
            return Response(forwarded, 200, headers, content_type="application/json")
        # No mapping answered: x-ccm-provider stays absent (DESIGN); the request log says "local".
        call.on_done(Done(200, int(counting), "local", "estimate"))
        return json_response({"input_tokens": estimate_input_tokens(call.body)}, 200, headers)


def routing_headers(decision: RoutingDecision, attempts: int = 0) -> dict[str, str]:
    return {
        "x-ccm-route": decision.rule,
        "x-ccm-model": decision.model,
        "x-ccm-attempts": str(attempts),
        "x-ccm-retries": "0",
    }


def to_response(result: Result) -> Response:
    if result.stream is not None:
        response = Response(result.stream, status=result.status, headers=result.headers)
        response.timeout = None  # a healthy stream may run as long as it keeps talking
        return response
    return Response(result.body, status=result.status, headers=result.headers)


def lowered(headers: Any) -> dict[str, str]:
    """A Quart request's headers as ccm.asgi passes them (ccm.http.joined_headers)."""
    return joined_headers(headers.items())


def client_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """The client's headers for the adapters: the router key's own header is ccm's and never goes on."""
    return {k.lower(): v for k, v in headers.items() if k.lower() != "x-ccm-key"}


async def _forward_count(
    client: httpx.AsyncClient, credentials: Resolver, call: Call, attempt: Attempt
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
            attempt.provider, snapshot.keys, call.client_headers, snapshot.router_key
        )
    except CredentialError:
        return None
    payload = prepare_body(call.body, call.decision, attempt)
    payload.pop("max_tokens", None)
    payload.pop("stream", None)
    upstream = ADAPTER.build(payload, RequestContext(attempt, credential, call.client_headers))
    url = attempt.provider.url("/v1/messages/count_tokens")
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
