"""The Quart app: /v1/messages, count_tokens, /health, and the admin API (ccm.admin).

One process-wide httpx.AsyncClient (created before serving, closed after); the config is a snapshot taken
once per request (ccm.state). Quart defaults that would cut long streams or refuse Claude Code's large
bodies are overridden (FACTS.md section 3).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from quart import Quart, Response, request

from ccm import __version__
from ccm.adc import AdcTokens
from ccm.asgi import ProxyApp
from ccm.breaker import Breakers
from ccm.credentials import Resolver
from ccm.dispatch import Dispatcher
from ccm.http import anthropic_error, authorized, browser_refusal, json_response
from ccm.journal import Journal
from ccm.metrics import Metrics
from ccm.oauth.manager import TokenManager
from ccm.requestlog import RequestLog
from ccm.state import ConfigHolder
from ccm.transport import AiohttpTransport
from config import paths
from config.schema import Config

log = logging.getLogger("ccm.app")

MAX_BODY = 32 * 1024 * 1024  # Anthropic's own limit for Messages and count_tokens


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
    limits = httpx.Limits(max_connections=100, keepalive_expiry=30)
    client = httpx.AsyncClient(
        transport=AiohttpTransport(limits),
        timeout=httpx.Timeout(connect=10.0, read=600.0, write=60.0, pool=30.0),
        follow_redirects=False,
    )
    client._cookies = _NoCookies()  # httpx has no public switch for this (pinned <0.29)
    return client


def create_app(config_path: Path, *, holder: ConfigHolder | None = None, watch: bool = True) -> ProxyApp:
    """Build the proxy app for a config file (loaded now: a ConfigError here is fatal): the Quart app
    behind ccm.asgi's lean path for POST /v1/messages."""
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
        client = state["client"] = upstream_client()
        dispatcher = state["dispatcher"] = Dispatcher(client, credentials)
        holder.listeners.append(lambda old, new: close_changed_circuits(dispatcher.breakers, old, new))
        state["circuits"] = dispatcher.breakers.states  # read by /api/metrics and /metrics
        state["oauth"] = credentials.oauth = TokenManager(client)  # ChatGPT tokens, one manager per proxy
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
        client = state.pop("client", None)
        if client is not None:
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
        why = browser_refusal(holder.current, request.headers, request.scope)
        return None if why is None else anthropic_error(403, "permission_error", why)

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

    from ccm.messages import register_messages

    register_messages(app, holder, state, requests, metrics, credentials)

    from ccm.admin import register_admin

    register_admin(app, holder, requests, state, authorized, metrics)
    return ProxyApp(app, holder, state, MAX_BODY)


def _canonical_model(holder: ConfigHolder) -> Callable[[str], str | None]:
    """A routed name as the live config spells it, or None when it is not a configured model (metrics labels)."""

    def canonical(name: str) -> str | None:
        model = holder.current.config.model(name)
        return model.name if model is not None else None

    return canonical
