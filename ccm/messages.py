"""The two Messages endpoints: `POST /v1/messages` and `POST /v1/messages/count_tokens`.

Both share one path (DESIGN's picture): authorize, parse once, validate, route, resolve the model's
mappings into a `Call` (ccm.attempt), then dispatch it, or, for count_tokens, forward it to an
Anthropic-format first mapping or answer with the local estimate.
"""

from __future__ import annotations

import time
from typing import Any

import httpx
import orjson
from quart import Quart, Response, request

from ccm.attempt import Call, prepare_body
from ccm.credentials import CredentialError, Resolver
from ccm.dispatch import Result
from ccm.http import anthropic_error, authorized, json_response
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

    async def routed(kind: str) -> Call | Response:
        """Authorize, parse, validate, route and resolve: what both endpoints share."""
        started = time.perf_counter()
        snapshot = holder.current
        if not authorized(snapshot):
            return anthropic_error(401, "authentication_error", "invalid or missing router key (server.api_key)")
        raw: bytes = await request.get_data(as_text=False)  # type: ignore[assignment]
        try:
            body = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            return anthropic_error(400, "invalid_request_error", f"request body is not valid JSON: {exc}")
        # Validated once, before routing, for every wire; a 400 here carries no x-ccm-* headers (DESIGN).
        problem = validate_messages_request(body, count_tokens=kind == "count_tokens")
        if problem is not None:
            return anthropic_error(400, "invalid_request_error", problem)
        decision = route(body, snapshot.config, body_size=len(raw))
        on_done = record(kind, body, decision, started, snapshot.config)
        try:
            attempts = resolve(decision.model, snapshot.config)
        except RoutingError as exc:
            on_done(Done(exc.status, 0, error=exc.message))
            return anthropic_error(exc.status, exc.error_type, exc.message, routing_headers(decision))
        query = request.query_string.decode()
        return Call(body, decision, attempts, snapshot, client_headers(), query, on_done, started)

    @app.post("/v1/messages")
    async def messages() -> Response:
        call = await routed("messages")
        if isinstance(call, Response):
            return call
        return to_response(await state["dispatcher"].run(call))

    @app.post("/v1/messages/count_tokens")
    async def count_tokens() -> Response:
        call = await routed("count_tokens")
        if isinstance(call, Response):
            return call
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


def client_headers() -> dict[str, str]:
    """The client's headers for the adapters: the router key's own header is ccm's and never goes on."""
    return {k.lower(): v for k, v in request.headers.items() if k.lower() != "x-ccm-key"}


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
