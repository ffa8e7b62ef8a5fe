"""The serving process's long-lived parts, typed, in the one object every endpoint reaches them through.

ccm.serve.app makes it once per app: the config holder, the request log (metrics and the journal are its
sinks), metrics and the credential resolver at once; the upstream client, the dispatcher and the OAuth
token manager when the server starts (they belong to its event loop), until it stops.

    services.holder.current       # the config snapshot a request uses
    services.dispatcher.run(call) # RuntimeError before startup, never a silent None
    services.circuits()           # {provider: (closed|half_open|open, until)} for every configured provider
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import httpx

from ccm.api.client_limits import ClientLimits
from ccm.auth.credentials import Resolver
from ccm.auth.oauth.manager import TokenManager
from ccm.dispatch.failover import Dispatcher
from ccm.observe.metrics import Metrics
from ccm.observe.requestlog import RequestLog
from ccm.serve.state import ConfigHolder

CircuitStates = Mapping[str, tuple[str, float | None]]
"""Provider -> (closed | half_open | open, the epoch second an open circuit lets a probe in, or None)."""


@dataclass(slots=True)
class Running:
    """What exists only while the server runs."""

    client: httpx.AsyncClient
    dispatcher: Dispatcher
    oauth: TokenManager


@dataclass(slots=True)
class Services:
    holder: ConfigHolder
    requests: RequestLog
    metrics: Metrics
    credentials: Resolver
    started: float
    """When the proxy started (epoch seconds): /health's uptime."""
    breaker_view: Callable[[], CircuitStates] | None = None
    """The breaker's states, set at startup; a test may set its own. Unset: every provider shows closed."""
    running: Running | None = field(default=None)
    limits: ClientLimits = field(default_factory=ClientLimits)
    """The [[clients]] limits of this instance (in memory: each instance keeps its own)."""

    def _live(self) -> Running:
        if self.running is None:
            raise RuntimeError("the proxy has not started (or has stopped): no upstream client")
        return self.running

    @property
    def client(self) -> httpx.AsyncClient:
        """The process's one upstream client (ccm.upstream.client)."""
        return self._live().client

    @property
    def dispatcher(self) -> Dispatcher:
        return self._live().dispatcher

    @property
    def oauth(self) -> TokenManager:
        """ChatGPT tokens: one manager per proxy, so only one refresh is ever in flight per token."""
        return self._live().oauth

    def circuits(self) -> dict[str, tuple[str, float | None]]:
        """Every configured provider closed, overlaid with the breaker's view: for /api/metrics and /metrics."""
        out: dict[str, tuple[str, float | None]] = {
            p.name: ("closed", None) for p in self.holder.current.config.providers
        }
        if self.breaker_view is not None:
            out.update(self.breaker_view())
        return out

    def fresh_start(self, provider: str) -> None:
        """Close a provider's circuit: its failures were an old login's (a new OAuth token)."""
        if self.running is not None:
            self.running.dispatcher.breakers.reset(provider)
