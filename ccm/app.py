"""The Quart app: /v1/messages, count_tokens, /health, and the admin API (ccm.admin).

One process-wide httpx.AsyncClient (created before serving, closed after); the config is a snapshot taken
once per request (ccm.state). Quart defaults that would cut long streams or refuse Claude Code's large
bodies are overridden (FACTS.md section 3).
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson
from quart import Quart, Response, request

from ccm import __version__
from ccm.adc import AdcTokens
from ccm.breaker import Breakers
from ccm.credentials import CredentialError, Resolver
from ccm.dispatch import Call, Dispatcher, Result
from ccm.journal import Journal
from ccm.metrics import Metrics
from ccm.oauth.manager import TokenManager
from ccm.origin import refusal
from ccm.providers.base import error_body
from ccm.records import to_record
from ccm.relay import Done
from ccm.requestlog import RequestLog
from ccm.routing import Attempt, RoutingDecision, resolve, route
from ccm.state import ConfigHolder, Snapshot
from ccm.tokens import estimate_input_tokens
from ccm.validate import validate_messages_request
from config import paths
from config.errors import RoutingError
from config.schema import Config

log = logging.getLogger("ccm.app")

MAX_BODY = 32 * 1024 * 1024  # Anthropic's own limit for Messages and count_tokens
UPSTREAM_CLIENTS = 8  # see Dispatcher: small pools keep httpx's per-request bookkeeping cheap


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(data), status=status, headers=headers, content_type="application/json")


def anthropic_error(status: int, error_type: str, message: str, headers: dict[str, str] | None = None) -> Response:
    return json_response(error_body(error_type, message), status, headers)


def authorized(snapshot: Snapshot) -> bool:
    """When server.api_key is set, clients must send it as x-ccm-key, x-api-key or Authorization: Bearer
    (with a passthrough provider Claude Code's own login travels in Authorization, the key in x-ccm-key)."""
    expected = snapshot.router_key
    if not expected:
        return True
    offered = [request.headers.get("x-ccm-key") or "", request.headers.get("x-api-key") or ""]
    auth = request.headers.get("authorization") or ""
    if auth.lower().startswith("bearer "):
        offered.append(auth[7:].strip())
    # Either header may carry it (Claude Code sends one or the other; a stale one beside it is no reason
    # to refuse). compare_digest on every candidate: no early exit that times which one matched.
    return any([hmac.compare_digest(given.encode(), expected.encode()) for given in offered])


def close_changed_circuits(breakers: Breakers, old: Config, new: Config) -> None:
    """A reload that changes a provider (a new key or URL, `ccm providers enable`) gives it a fresh start."""
    before = {p.name.lower(): p for p in old.providers}
    for provider in new.providers:
        if before.get(provider.name.lower()) != provider:
            breakers.reset(provider.name)


class _NoCookies(httpx.Cookies):
    """A proxy keeps no cookies from upstreams: one provider's cookie never rides on a later request, and
    each response skips http.cookiejar's parsing (~0.1 ms, measured in bench/latency.py's profile)."""

    def extract_cookies(self, response: httpx.Response) -> None:
        return None


def upstream_client() -> httpx.AsyncClient:
    client = httpx.AsyncClient(
        limits=httpx.Limits(max_connections=100, max_keepalive_connections=8, keepalive_expiry=30),
        timeout=httpx.Timeout(connect=10.0, read=600.0, write=60.0, pool=30.0),
        follow_redirects=False,
    )
    client._cookies = _NoCookies()  # httpx has no public switch for this (pinned <0.29)
    return client


def create_app(config_path: Path, *, holder: ConfigHolder | None = None, watch: bool = True) -> Quart:
    """Build the proxy app for a config file (loaded now: a ConfigError here is fatal)."""
    app = Quart("ccm")
    app.config.update(RESPONSE_TIMEOUT=None, BODY_TIMEOUT=120, MAX_CONTENT_LENGTH=MAX_BODY)
    holder = holder or ConfigHolder(Path(config_path))
    if holder._snapshot is None:
        holder.load()
    requests = RequestLog()
    credentials = Resolver()
    state: dict[str, Any] = {"started": time.time(), "credentials": credentials}
    metrics = Metrics(_canonical_model(holder), started_at=state["started"])
    journal = Journal(paths.requests_path())
    requests.sinks += [metrics.observe, journal.append]
    app.extensions["ccm"] = {"holder": holder, "requests": requests, "state": state, "metrics": metrics}

    @app.before_serving
    async def startup() -> None:
        clients = [upstream_client() for _ in range(UPSTREAM_CLIENTS)]
        state["clients"] = clients
        state["client"] = clients[0]
        dispatcher = state["dispatcher"] = Dispatcher(clients, credentials)
        holder.listeners.append(lambda old, new: close_changed_circuits(dispatcher.breakers, old, new))
        state["circuits"] = dispatcher.breakers.states  # read by /api/metrics and /metrics
        state["oauth"] = credentials.oauth = TokenManager(clients[0])  # ChatGPT tokens, one manager per proxy
        credentials.adc = AdcTokens()  # Google tokens for vertex-ai (google-auth is imported on first use)
        if watch:
            state["watcher"] = asyncio.get_running_loop().create_task(holder.watch())
        journal.start()

    @app.after_serving
    async def shutdown() -> None:
        watcher = state.pop("watcher", None)
        if watcher is not None:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
        state.pop("client", None)
        for client in state.pop("clients", []):
            await client.aclose()
        await journal.close()

    @app.errorhandler(413)
    async def too_large(_: Exception) -> Response:
        return anthropic_error(413, "request_too_large", f"request body is larger than {MAX_BODY // 2**20} MiB")

    @app.errorhandler(404)
    async def not_found(_: Exception) -> Response:
        return anthropic_error(404, "not_found_error", f"no such endpoint: {request.method} {request.path}")

    @app.errorhandler(405)
    async def not_allowed(_: Exception) -> Response:
        return anthropic_error(405, "invalid_request_error", f"method {request.method} not allowed on {request.path}")

    @app.errorhandler(500)
    async def internal_error(error: Exception) -> Response:
        # Quart logged the traceback; the client still gets an Anthropic error, not an HTML page. The
        # exception's text stays out of it (it may quote a header value, and so a key).
        original = getattr(error, "original_exception", None) or error
        return anthropic_error(500, "api_error", f"ccm failed to handle this request ({type(original).__name__})")

    @app.before_request
    async def refuse_browsers() -> Response | None:
        # Every route, /health included (ccm/origin.py says why); before the admin API's own key check.
        snapshot = holder.current
        server = request.scope.get("server") or ("", 0)
        why = refusal(
            request.headers.get("origin"), request.headers.get("host"), (snapshot.config.server.host, server[0])
        )
        if why is None or (snapshot.router_key and authorized(snapshot)):
            return None
        return anthropic_error(403, "permission_error", why)

    @app.get("/health")
    async def health() -> Response:
        return json_response(
            {
                "status": "ok",
                "version": __version__,
                "pid": os.getpid(),
                "uptime_s": round(time.time() - state["started"], 1),
                "config": str(holder.path),
                "generation": holder.current.generation,
            }
        )

    @app.route("/api/hello", methods=["GET", "HEAD"])
    async def hello() -> Response:
        # Claude Code's TUI probes this at start; a 200 is kinder than a 404.
        return json_response({})

    async def parse_messages_body() -> tuple[Snapshot, bytes, dict[str, Any]] | Response:
        snapshot = holder.current
        if not authorized(snapshot):
            return anthropic_error(401, "authentication_error", "invalid or missing router key (server.api_key)")
        raw: bytes = await request.get_data(as_text=False)  # type: ignore[assignment]
        try:
            body = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            return anthropic_error(400, "invalid_request_error", f"request body is not valid JSON: {exc}")
        # Validated once, before routing, for every wire; a 400 here carries no x-ccm-* headers (DESIGN).
        problem = validate_messages_request(body, count_tokens=request.path.endswith("/count_tokens"))
        if problem is not None:
            return anthropic_error(400, "invalid_request_error", problem)
        return snapshot, raw, body

    def record(
        kind: str, body: dict[str, Any], decision: RoutingDecision | None, started: float, config: Config | None = None
    ) -> Any:
        route, routed_model = (decision.rule, decision.model) if decision else ("-", "-")

        def on_done(done: Done) -> None:
            if kind == "count_tokens":  # DESIGN: counted in metrics only, never in the request log or feed
                metrics.count_tokens(route, routed_model, done.provider)
                return
            latency_ms = round((time.perf_counter() - started) * 1000)
            requests.add(
                to_record(
                    done,
                    record_id=requests.next_id(),
                    time=time.time(),
                    body=body,
                    route=route,
                    routed_model=routed_model,
                    latency_ms=latency_ms,
                    config=config,
                    kind=kind,
                    started=started,
                )
            )

        return on_done

    def to_response(result: Result) -> Response:
        if result.stream is not None:
            response = Response(result.stream, status=result.status, headers=result.headers)
            response.timeout = None
            return response
        return Response(result.body, status=result.status, headers=result.headers)

    async def routed(kind: str) -> Routed | Response:
        """Parse, authorize, route and resolve a request: what both Messages endpoints share."""
        started = time.perf_counter()
        parsed = await parse_messages_body()
        if isinstance(parsed, Response):
            return parsed
        snapshot, raw, body = parsed
        decision = route(body, snapshot.config, body_size=len(raw))
        on_done = record(kind, body, decision, started, snapshot.config)
        headers = {"x-ccm-route": decision.rule, "x-ccm-model": decision.model, "x-ccm-attempts": "0"}
        try:
            attempts = resolve(decision.model, snapshot.config)
        except RoutingError as exc:
            on_done(Done(exc.status, 0, error=exc.message))
            return anthropic_error(exc.status, exc.error_type, exc.message, headers)
        return Routed(snapshot, body, decision, attempts, headers, on_done)

    @app.post("/v1/messages")
    async def messages() -> Response:
        r = await routed("messages")
        if isinstance(r, Response):
            return r
        call = Call(
            r.body, r.decision, r.attempts, r.snapshot, _client_headers(), request.query_string.decode(), r.on_done
        )
        return to_response(await state["dispatcher"].run(call))

    @app.post("/v1/messages/count_tokens")
    async def count_tokens() -> Response:
        r = await routed("count_tokens")
        if isinstance(r, Response):
            return r
        first = r.attempts[0]
        forwarded: bytes | None = None
        if first.provider.wire == "anthropic" and first.provider.provider_type in _COUNTING_TYPES:
            forwarded = await _forward_count(state["client"], credentials, r, first)
        if forwarded is not None:
            headers = r.headers | {
                "x-ccm-provider": first.provider.name,
                "x-ccm-actual-model": first.actual_model,
                "x-ccm-attempts": "1",
            }
            r.on_done(Done(200, 1, first.provider.name, first.actual_model))
            return Response(forwarded, 200, headers, content_type="application/json")
        # No mapping answered: x-ccm-provider stays absent (DESIGN); the request log says "local".
        attempted = int(first.provider.provider_type in _COUNTING_TYPES)
        r.on_done(Done(200, attempted, "local", "estimate"))
        return json_response(
            {"input_tokens": estimate_input_tokens(r.body)}, 200, r.headers | {"x-ccm-attempts": str(attempted)}
        )

    from ccm.admin import register_admin

    register_admin(app, holder, requests, state, authorized, metrics)
    return app


def _canonical_model(holder: ConfigHolder) -> Callable[[str], str | None]:
    """A routed name as the live config spells it, or None when it is not a configured model (metrics labels)."""

    def canonical(name: str) -> str | None:
        model = holder.current.config.model(name)
        return model.name if model is not None else None

    return canonical


@dataclass(frozen=True, slots=True)
class Routed:
    """A request that has been parsed, routed and resolved, ready to dispatch."""

    snapshot: Snapshot
    body: dict[str, Any]
    decision: RoutingDecision
    attempts: list[Attempt]
    headers: dict[str, str]
    on_done: Callable[[Done], None]


def _client_headers() -> dict[str, str]:
    """The client's headers for the adapters: the router key's own header is ccm's and never goes on."""
    return {k.lower(): v for k, v in request.headers.items() if k.lower() != "x-ccm-key"}


#: The Anthropic-format types whose APIs have /v1/messages/count_tokens.
_COUNTING_TYPES = frozenset({"anthropic", "anthropic-compatible"})


async def _forward_count(client: httpx.AsyncClient, credentials: Resolver, r: Routed, attempt: Attempt) -> bytes | None:
    """Ask an Anthropic-format upstream to count; None on any failure (the caller estimates locally).

    The credential comes from the one resolver (a key, or Claude Code's own login for passthrough); the
    request is built as a Messages call would be (ccm-signed thinking removed, the provider's headers,
    anthropic-version/-beta), then sent to the count_tokens endpoint. Never retried, never counted by the
    breaker: Claude Code fires ~27 at once and an estimate is a fine answer."""
    from ccm.dispatch import prepare_body
    from ccm.providers.anthropic import ADAPTER
    from ccm.providers.base import RequestContext

    headers = _client_headers()
    try:
        credential = await credentials.resolve(attempt.provider, r.snapshot.keys, headers, r.snapshot.router_key)
    except CredentialError:
        return None
    payload = prepare_body(r.body, r.decision, attempt)
    payload.pop("max_tokens", None)
    payload.pop("stream", None)
    upstream = ADAPTER.build(payload, RequestContext(attempt, credential, headers))
    url = attempt.provider.url("/v1/messages/count_tokens")
    query = request.query_string.decode()
    if query:
        url = f"{url}?{query}"
    timeouts = r.snapshot.config.server.timeouts
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
