"""The Overview's live metrics: a sparkline of requests over the last minutes and one row per provider.

Both come from GET /api/metrics, polled in a worker (never on the event loop's critical path). The
proxy's counters are since-start totals, so the sparkline plots the difference between two polls; a
total that goes down means the proxy restarted, and the history starts again.

    panel = TrafficPanel(interval=5.0)     # inside OverviewView
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING, Any, cast

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import DataTable, Sparkline, Static

from tui import format as fmt
from tui.client import AdminError, ProxyUnreachable

if TYPE_CHECKING:
    from tui.app import CcmApp

HISTORY = 60
"""Polls the sparkline remembers: 5 minutes at the default 5 s."""
PLAN_AUTH = ("passthrough", "oauth")
"""Subscriptions (Claude Pro/Max, ChatGPT Plus/Pro): their cost column says "plan", not a price."""
CIRCUIT_STYLES = {"closed": "green", "half_open": "yellow", "open": "bold red"}
COLUMNS = (
    ("Provider", "provider"),
    ("Requests", "requests"),
    ("Errors", "errors"),
    ("p50", "p50"),
    ("Cost", "cost"),
    ("Circuit", "circuit"),
)


def circuit_text(state: str, until: float | None, now: float) -> Text:
    label = state.replace("_", "-")
    if state == "open" and until:
        label += f" {max(0, round(until - now))} s"
    return Text(label, style=CIRCUIT_STYLES.get(state, ""))


def cost_text(value: float | None) -> str:
    if not value:
        return "—"
    return f"${value:.4f}" if value < 1 else f"${value:,.2f}"


class TrafficPanel(Vertical):
    """See the module docstring; polls only while a proxy runs."""

    def __init__(self, interval: float = 5.0, **kw: Any) -> None:
        super().__init__(**kw)
        self.interval = interval
        self.history: deque[float] = deque([0.0] * HISTORY, maxlen=HISTORY)
        self.last: dict[str, Any] | None = None
        self._previous_total: int | None = None

    @property
    def ccm(self) -> CcmApp:
        return cast("CcmApp", self.app)

    def compose(self) -> ComposeResult:
        yield Static(id="traffic-title", markup=False)
        yield Sparkline(list(self.history), id="traffic")
        yield DataTable(id="provider-metrics", cursor_type="none", zebra_stripes=True, show_cursor=False)

    def on_mount(self) -> None:
        self.border_title = "Providers since start"
        table = self.query_one("#provider-metrics", DataTable)
        for label, key in COLUMNS:
            table.add_column(label, key=key)
        self.set_interval(self.interval, self.refresh_metrics)
        self.ccm.proxy_changed.subscribe(self, lambda _state: self.refresh_metrics())
        self.refresh_metrics()

    def refresh_metrics(self) -> None:
        running = self.ccm.proxy_state.running
        self.set_class(not running, "-stopped")
        if running:
            self._poll()
        else:
            self._previous_total = None
            self.query_one("#traffic-title", Static).update("the proxy is stopped: no live figures")

    @work(exclusive=True, group="overview-metrics")
    async def _poll(self) -> None:
        try:
            data = await self.ccm.client.metrics()
        except (ProxyUnreachable, AdminError) as exc:
            self.query_one("#traffic-title", Static).update(f"metrics unavailable: {exc.message}")
            return
        self.show(data)

    def show(self, data: dict[str, Any]) -> None:
        """Draw one /api/metrics answer (also called by tests with a fixed one)."""
        self.last = data
        total = int((data.get("requests") or {}).get("total") or 0)
        if self._previous_total is not None and total >= self._previous_total:
            self.history.append(float(total - self._previous_total))
        self._previous_total = total
        self.query_one("#traffic", Sparkline).data = list(self.history)
        minutes = HISTORY * self.interval / 60
        self.query_one("#traffic-title", Static).update(
            f"{total} requests · {fmt.tokens(sum((data.get('tokens') or {}).values()))} tokens · "
            f"{cost_text(data.get('cost_usd'))} · last {minutes:g} min:"
        )
        table = self.query_one("#provider-metrics", DataTable)
        table.clear()
        now = self.ccm.clock()
        config = self.ccm.config
        for name, p in sorted((data.get("providers") or {}).items()):
            errors = int(p.get("errors") or 0)
            provider = config.provider(name) if config is not None else None
            plan = provider is not None and provider.auth_type in PLAN_AUTH
            table.add_row(
                name,
                str(p.get("requests", 0)),
                Text(str(errors), style="red" if errors else ""),
                fmt.latency((p.get("latency_ms") or {}).get("p50")),
                "plan" if plan else cost_text(p.get("cost_usd")),
                circuit_text(str(p.get("circuit") or "closed"), p.get("circuit_until"), now),
                key=name,
            )
