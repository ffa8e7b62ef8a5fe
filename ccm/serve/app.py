"""The proxy app: ccm.serve.edge's lean endpoints (/v1/messages, count_tokens, /health) over the Quart app of
ccm.serve.quart_app (the admin API, /metrics), which is built on its first request.

One process-wide upstream client (ccm.upstream.client: created at startup, closed at shutdown); the config
is a snapshot taken once per request (ccm.serve.state).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from ccm.api.client_limits import ClientLimits
from ccm.api.messages import make_endpoints
from ccm.auth.adc import AdcTokens
from ccm.auth.credentials import Resolver
from ccm.auth.oauth.manager import TokenManager
from ccm.dispatch.breaker import Breakers
from ccm.dispatch.failover import Dispatcher
from ccm.observe import prices
from ccm.observe.journal import Journal
from ccm.observe.journal import read as journal_records
from ccm.observe.metrics import Metrics
from ccm.observe.requestlog import RequestLog, RequestRecord
from ccm.serve.edge import Lifespan, ProxyApp
from ccm.serve.services import Running, Services
from ccm.serve.state import ConfigHolder
from ccm.upstream import client as upstream
from config import paths
from config.schema import Config

if TYPE_CHECKING:
    from quart import Quart

    from ccm.observe.otel import Telemetry

log = logging.getLogger("ccm.serve.app")

MAX_BODY = 32 * 1024 * 1024  # Anthropic's own limit for Messages and count_tokens
BODY_TIMEOUT = 120.0  # seconds for a request body to arrive (Quart's BODY_TIMEOUT, on both paths)


def close_changed_circuits(breakers: Breakers, old: Config, new: Config) -> None:
    """A reload that changes a provider (a new key or URL, `ccm providers enable`) gives it a fresh start."""
    before = {p.name.lower(): p for p in old.providers}
    for provider in new.providers:
        if before.get(provider.name.lower()) != provider:
            breakers.reset(provider.name)


def preload_tls(config: Config) -> None:
    upstream.preload(p.effective_base_url for p in config.providers)


def create_app(config_path: Path, *, holder: ConfigHolder | None = None, watch: bool = True) -> ProxyApp:
    """Build the proxy app for a config file (loaded now: a ConfigError here is fatal): ccm.serve.edge's lean
    endpoints, with the Quart app (the admin API, /metrics) built behind them on first use."""
    holder = holder or ConfigHolder(Path(config_path))
    if holder._snapshot is None:
        holder.load()
    started = time.time()
    metrics = Metrics(_canonical_model(holder), started_at=started)
    services = Services(holder, RequestLog(), metrics, Resolver(), started)
    journal = Journal(paths.requests_path(), on_dropped=metrics.dropped)
    limits = services.limits
    services.requests.sinks += [metrics.observe, journal.append, limits.observe]
    telemetry = start_telemetry(holder)
    if telemetry is not None:
        services.requests.sinks.append(telemetry.observe)
    watcher: asyncio.Task[None] | None = None

    async def startup() -> None:
        nonlocal watcher
        client = upstream.make_client()
        credentials = services.credentials
        dispatcher = Dispatcher(client, credentials)
        holder.listeners.append(lambda old, new: close_changed_circuits(dispatcher.breakers, old, new))
        services.breaker_view = dispatcher.breakers.states
        credentials.oauth = oauth = TokenManager(client)  # ChatGPT tokens, one manager per proxy
        credentials.adc = AdcTokens()  # Google tokens for vertex-ai (google-auth is imported on first use)
        services.running = Running(client, dispatcher, oauth)
        if watch:
            watcher = asyncio.get_running_loop().create_task(holder.watch())
        journal.on_priced = on_priced(metrics, limits, asyncio.get_running_loop())
        journal.start()
        if any(c.limited for c in holder.current.config.clients):
            await asyncio.to_thread(rebuild_limits, limits, holder.current.config)
        preload_tls(holder.current.config)
        holder.listeners.append(lambda old, new: preload_tls(new))
        holder.listeners.append(lambda old, new: warm_prices(new))

    async def shutdown() -> None:
        nonlocal watcher
        if watcher is not None:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
            watcher = None
        running, services.running = services.running, None
        if running is not None:
            await running.client.aclose()
        await journal.close()
        if telemetry is not None:
            await asyncio.to_thread(telemetry.shutdown)

    def build_quart() -> Quart:
        from ccm.serve.quart_app import build_quart

        return build_quart(services, MAX_BODY, BODY_TIMEOUT)

    lifespan = Lifespan(startup, shutdown)
    return ProxyApp(services, make_endpoints(services), lifespan, build_quart, MAX_BODY, BODY_TIMEOUT)


OTEL_ENDPOINTS = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")


def telemetry_endpoint(config: Config) -> tuple[bool, str | None]:
    """Whether OpenTelemetry export is asked for, and the base URL to give the exporters: None when the
    standard variables name it (the exporters read them, per signal too). OTEL_SDK_DISABLED=true wins."""
    if os.environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False, None
    if any(os.environ.get(name) for name in OTEL_ENDPOINTS):
        return True, None
    endpoint = config.telemetry.otlp_endpoint
    return (True, endpoint) if endpoint else (False, None)


def start_telemetry(holder: ConfigHolder) -> Telemetry | None:
    """The OpenTelemetry exporter when configured; its module (and the SDK) is imported only then."""
    wanted, base_url = telemetry_endpoint(holder.current.config)
    if not wanted:
        return None
    try:
        from ccm.observe.otel import Telemetry
    except ImportError as exc:
        log.warning(
            "OpenTelemetry export is configured but the otel extra is not installed (%s): pip install 'ccm[otel]'; "
            "nothing is exported",
            exc.name,
        )
        return None
    telemetry = Telemetry(base_url, lambda: holder.current.config)
    log.info("OpenTelemetry: traces and metrics go to %s over OTLP/HTTP", base_url or "$OTEL_EXPORTER_OTLP_ENDPOINT")
    return telemetry


def on_priced(
    metrics: Metrics, limits: ClientLimits, loop: asyncio.AbstractEventLoop
) -> Callable[[RequestRecord], None]:
    """What the journal's writer thread tells of a record the price table priced: the cost counters, and
    the client's monthly budget (charged on the serving loop, which owns the limits)."""

    def priced(record: RequestRecord) -> None:
        metrics.add_cost(record)
        if record.client != "-" and record.cost_usd:
            loop.call_soon_threadsafe(limits.charge, record.client, 0, record.cost_usd)

    return priced


def budgeted(config: Config) -> bool:
    return any(c.monthly_usd for c in config.clients)


def warm_prices(config: Config) -> None:
    """A reload that brings a budgeted client: the price table loads beside the serving loop, not in the
    first request's path (a budget asks it which mappings have a price)."""
    if budgeted(config):
        threading.Thread(target=prices.load_table, daemon=True).start()


def rebuild_limits(limits: ClientLimits, config: Config) -> None:
    """The clients' spending this month, from requests.jsonl (best effort: an unreadable file is skipped),
    and the price table loaded when a client has a budget (its first lookup would be a request's: ~0.4 s)."""
    if budgeted(config):
        prices.load_table()
    try:
        charged = limits.rebuild(journal_records(paths.requests_path()), config.clients)
    except OSError as exc:
        log.warning("client limits start from zero: cannot read the request log (%s)", exc)
        return
    log.info("client limits: %d earlier requests of this month counted", charged)


def _canonical_model(holder: ConfigHolder) -> Callable[[str], str | None]:
    """A routed name as the live config spells it, or None when it is not a configured model (metrics labels)."""

    def canonical(name: str) -> str | None:
        model = holder.current.config.model(name)
        return model.name if model is not None else None

    return canonical
