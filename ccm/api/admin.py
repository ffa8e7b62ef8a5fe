"""The admin API: config view, status and reload, request log, metrics, provider test; OAuth tokens in
ccm.api.admin_oauth.

Every route here (and /metrics) needs the router key when `server.api_key` is set (from any address), and
is refused altogether while ccm serves beyond loopback with none: the config view masks secrets, but even
provider names and request history are nobody else's business. ccm.api.guard enforces both, at the edge.

Circuit states in /api/metrics and /metrics come from `Services.circuits()`: {provider name: (state,
until)} with state "closed" | "half_open" | "open" and until the epoch second an open circuit lets a probe
through (None otherwise).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import orjson
from quart import Quart, Response, request

from ccm.api.admin_oauth import register_oauth
from ccm.api.provider_check import check_provider, list_models
from ccm.api.quart_json import anthropic_error as _error
from ccm.api.quart_json import json_response as _json
from ccm.auth.credentials import Credential, CredentialError, Resolver
from ccm.serve.services import Services
from ccm.serve.state import Snapshot
from config.catalog import CLAUDE_CODE_HAIKU
from config.view import masked_view


def config_view(snapshot: Snapshot) -> dict[str, Any]:
    """The live config with every secret masked, and which generation of it is serving."""
    keys = {name: (value, None) for name, value in snapshot.keys.items()}
    return {**masked_view(snapshot.config, keys), "generation": snapshot.generation}


def register_admin(app: Quart, services: Services) -> None:
    _register_config(app, services)
    _register_metrics(app, services)
    _register_requests(app, services)
    _register_providers(app, services)
    register_oauth(app, services)


def _register_config(app: Quart, services: Services) -> None:
    """The live config (masked), its reload state, and a reload on demand."""
    holder = services.holder

    @app.get("/api/config/json")
    async def config_json() -> Response:
        return _json(config_view(holder.current))

    @app.get("/api/status")
    async def config_status() -> Response:
        """The config in use and the reload state: a refused file shows here until a good one loads."""
        return _json(holder.status())

    @app.post("/api/config/reload")
    async def config_reload() -> Response:
        outcome = await holder.reload()
        if not outcome.ok:
            return _json({"status": "invalid", "errors": outcome.problems}, 422)
        body: dict[str, Any] = {"status": "reloaded", "generation": holder.current.generation}
        if outcome.restart_required:
            body["restart_required"] = outcome.restart_required
        return _json(body)


def _register_metrics(app: Quart, services: Services) -> None:
    metrics = services.metrics

    @app.get("/api/metrics")
    async def metrics_json() -> Response:
        return _json(metrics.snapshot(services.circuits()))

    @app.get("/metrics")
    async def metrics_text() -> Response:
        from prometheus_client import CONTENT_TYPE_LATEST

        return Response(metrics.prometheus(services.circuits()), content_type=CONTENT_TYPE_LATEST)


def _register_requests(app: Quart, services: Services) -> None:
    """The request log: the recent records, and a live feed of each one as it is made."""
    requests = services.requests

    @app.get("/api/statusline")
    async def statusline() -> Response:
        """What `ccm statusline` shows: a session's last request and the providers whose circuit is open."""
        last = requests.last_of(request.args.get("session", ""))
        opened = sorted(name for name, (state_, _until) in services.circuits().items() if state_ == "open")
        return _json({"last": last.as_dict() if last is not None else None, "open_circuits": opened})

    @app.get("/api/requests")
    async def recent_requests() -> Response:
        try:
            limit = max(0, min(1000, int(request.args.get("limit", "100"))))
        except ValueError:
            return _error(400, "invalid_request_error", "limit must be an integer")
        return _json(requests.recent(limit))

    @app.get("/api/requests/stream")
    async def request_stream() -> Response:
        queue = requests.subscribe()

        async def events() -> AsyncIterator[bytes]:
            try:
                yield b": connected\n\n"
                while True:
                    try:
                        record = await asyncio.wait_for(queue.get(), timeout=15)
                    except TimeoutError:
                        yield b": keep-alive\n\n"
                        continue
                    if record is None:
                        return
                    yield b"event: request\ndata: " + orjson.dumps(record.as_dict()) + b"\n\n"
            finally:
                requests.unsubscribe(queue)

        response = Response(events(), content_type="text/event-stream", headers={"cache-control": "no-cache"})
        response.timeout = None
        return response


def _register_providers(app: Quart, services: Services) -> None:
    @app.post("/api/providers/<name>/test")
    async def provider_test(name: str) -> Response:
        snapshot = services.holder.current
        provider = snapshot.config.provider(name)
        if provider is None:
            return _error(404, "not_found_error", f"provider '{name}' is not configured")
        return _json(await _test_provider(services.client, services.credentials, snapshot, provider.name))

    @app.get("/api/providers/<name>/models")
    async def provider_models(name: str) -> Response:
        snapshot = services.holder.current
        provider = snapshot.config.provider(name)
        if provider is None:
            return _error(404, "not_found_error", f"provider '{name}' is not configured")
        try:
            credential = await services.credentials.resolve(provider, snapshot.keys, {}, snapshot.router_key)
        except CredentialError as exc:
            return _json({"models": None, "message": exc.message})
        connect_s = snapshot.config.server.timeouts.connect_timeout_ms / 1000
        models = await list_models(services.client, provider, credential, connect_s=connect_s)
        return _json({"models": models})


async def _test_provider(
    client: httpx.AsyncClient, credentials: Resolver, snapshot: Snapshot, name: str
) -> dict[str, Any]:
    """The provider check (ccm.api.provider_check) with the provider's own credential, from the one resolver
    (a passthrough provider is checked for reachability only: there is no client login to forward)."""
    config = snapshot.config
    provider = config.provider(name)
    assert provider is not None
    if provider.auth_type == "passthrough":
        credential = Credential("passthrough")
    else:
        try:
            credential = await credentials.resolve(provider, snapshot.keys, {}, snapshot.router_key)
        except CredentialError as exc:
            return {"ok": False, "status": None, "latency_ms": 0, "message": exc.message}
    model = next(
        (
            CLAUDE_CODE_HAIKU if m.as_asked else m.actual_model  # "*": a Claude name it serves, the cheapest
            for entry in config.models
            for m in entry.mappings
            if m.provider.lower() == provider.name.lower()
        ),
        None,
    )
    connect_s = config.server.timeouts.connect_timeout_ms / 1000
    result = await check_provider(client, provider, credential, model=model, connect_s=connect_s)
    return result.as_dict()
