"""The admin API: config view and reload, request log, provider test, OAuth tokens.

Every route here needs the router key when `server.api_key` is set (from any address): the config view
masks secrets, but even provider names and request history are nobody else's business.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import orjson
from quart import Quart, Response, request

from ccm.requestlog import RequestLog
from ccm.state import ConfigHolder, Snapshot
from config import secrets
from config.catalog import BUILT_WIRES
from config.schema import ProviderConfig
from config.view import masked_view


def _json(data: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(data), status=status, content_type="application/json")


def _error(status: int, error_type: str, message: str) -> Response:
    return _json({"type": "error", "error": {"type": error_type, "message": message}}, status)


def config_view(snapshot: Snapshot) -> dict[str, Any]:
    """The live config with every secret masked, and which generation of it is serving."""
    keys = {name: (value, None) for name, value in snapshot.keys.items()}
    return {**masked_view(snapshot.config, keys), "generation": snapshot.generation}


def register_admin(
    app: Quart,
    holder: ConfigHolder,
    requests: RequestLog,
    state: dict[str, Any],
    authorized: Callable[[Snapshot], bool],
) -> None:
    @app.before_request
    async def guard() -> Response | None:
        if request.path.startswith("/api/") and request.path != "/api/hello" and not authorized(holder.current):
            return _error(401, "authentication_error", "invalid or missing router key (server.api_key)")
        return None

    @app.get("/api/config/json")
    async def config_json() -> Response:
        return _json(config_view(holder.current))

    @app.post("/api/config/reload")
    async def config_reload() -> Response:
        outcome = await holder.reload()
        if not outcome.ok:
            return _json({"status": "invalid", "errors": outcome.problems}, 422)
        body: dict[str, Any] = {"status": "reloaded", "generation": holder.current.generation}
        if outcome.restart_required:
            body["restart_required"] = outcome.restart_required
        return _json(body)

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

    @app.post("/api/providers/<name>/test")
    async def provider_test(name: str) -> Response:
        snapshot = holder.current
        provider = snapshot.config.provider(name)
        if provider is None:
            return _error(404, "not_found_error", f"provider '{name}' is not configured")
        return _json(await _test_provider(state["client"], snapshot, provider.name))

    @app.get("/api/oauth/tokens")
    async def oauth_tokens() -> Response:
        return _json({"tokens": []})

    @app.post("/api/oauth/tokens/refresh")
    async def oauth_refresh() -> Response:
        name = await _provider_arg()
        if not name:
            return _error(400, "invalid_request_error", 'the body needs {"provider": NAME}')
        return _error(
            404, "not_found_error", f"no OAuth token for provider '{name}' (OAuth login is not available yet)"
        )

    @app.post("/api/oauth/tokens/delete")
    async def oauth_delete() -> Response:
        name = await _provider_arg()
        if not name:
            return _error(400, "invalid_request_error", 'the body needs {"provider": NAME}')
        removed = await asyncio.to_thread(secrets.store().delete, f"oauth:{name}")
        if not removed:
            return _error(404, "not_found_error", f"no OAuth token for provider '{name}'")
        return _json({"status": "deleted", "provider": name})


async def _provider_arg() -> str:
    try:
        data = orjson.loads(await request.get_data())
    except orjson.JSONDecodeError:
        data = {}
    return str(data.get("provider") or "") if isinstance(data, dict) else ""


async def _vertex_ping(
    client: httpx.AsyncClient, provider: ProviderConfig, model: str, token: str, timeout: httpx.Timeout
) -> httpx.Response:
    """Vertex has no per-project model list for publishers' models: a 1-token request to the mapped model."""
    from ccm.credentials import Credential
    from ccm.providers.base import RequestContext
    from ccm.providers.vertex import ADAPTER
    from ccm.routing import Attempt

    ctx = RequestContext(Attempt(provider, model, None), Credential("adc", token), {}, requested_model=model)
    body = {"model": model, "max_tokens": 1, "messages": [{"role": "user", "content": "ping"}]}
    request = ADAPTER.build(body, ctx)
    return await client.post(request.url, content=request.body, headers=request.headers, timeout=timeout)


async def _test_provider(client: httpx.AsyncClient, snapshot: Snapshot, name: str) -> dict[str, Any]:
    """A cheap check: the model list where the API has one (OpenAI format), else a 1-token request."""
    config = snapshot.config
    provider = config.provider(name)
    assert provider is not None
    key = snapshot.keys.get(provider.name.lower())
    if provider.wire not in BUILT_WIRES:
        return {
            "ok": False,
            "status": None,
            "latency_ms": 0,
            "message": f"the {provider.wire} wire format is not supported yet",
        }
    if not key:
        return {
            "ok": False,
            "status": None,
            "latency_ms": 0,
            "message": f"no API key: run `ccm keys set {provider.name}` or set {provider.key_env}",
        }
    model = next(
        (
            m.actual_model
            for entry in config.models
            for m in entry.mappings
            if m.provider.lower() == provider.name.lower()
        ),
        None,
    )
    timeout = httpx.Timeout(config.server.timeouts.connect_timeout_ms / 1000, read=30.0)
    started = time.perf_counter()
    try:
        if provider.wire == "openai":
            response = await client.get(
                provider.url("/models"), headers={"authorization": f"Bearer {key}"}, timeout=timeout
            )
        elif provider.wire == "gemini":
            response = await client.get(provider.url("/models"), headers={"x-goog-api-key": key}, timeout=timeout)
        elif provider.wire == "vertex":
            response = await _vertex_ping(client, provider, model or "gemini-2.5-flash", key, timeout)
        else:
            from ccm.providers.anthropic import auth_headers

            body = {
                "model": model or "claude-haiku-4-5",
                "max_tokens": 1,
                "messages": [{"role": "user", "content": "ping"}],
            }
            headers = {
                "content-type": "application/json",
                "anthropic-version": "2023-06-01",
                **auth_headers(provider.spec.auth, key),
            }
            response = await client.post(
                provider.url("/v1/messages"), content=orjson.dumps(body), headers=headers, timeout=timeout
            )
    except (httpx.HTTPError, UnicodeEncodeError) as exc:
        bad_header = isinstance(exc, httpx.LocalProtocolError | UnicodeEncodeError)
        return {
            "ok": False,
            "status": None,
            "latency_ms": round((time.perf_counter() - started) * 1000),
            "message": "the API key or a header has a character HTTP cannot send"
            if bad_header
            else f"connection failed: {type(exc).__name__}",
        }
    latency = round((time.perf_counter() - started) * 1000)
    ok = 200 <= response.status_code < 300
    message = "ok" if ok else response.text[:300]
    return {"ok": ok, "status": response.status_code, "latency_ms": latency, "message": message}
