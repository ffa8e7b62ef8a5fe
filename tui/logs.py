"""Logs tab: the proxy's request log, live, filtered by status and provider.

The app follows `/api/requests/stream` and keeps the last 1,000 requests; this tab shows them oldest
first like `tail -f`, and in follow mode keeps the newest row in view. The selected row's details
(the model asked for, the provider's model, attempts, error message) show below the table.
"""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.widget import Widget
from textual.widgets import Checkbox, DataTable, Select, Static

from config.schema import Config
from tui import format as fmt
from tui.base import CcmView
from tui.proxy import ProxyState

STATUS_FILTERS: tuple[tuple[str, str], ...] = (
    ("all statuses", "all"),
    ("ok (2xx)", "ok"),
    ("errors (4xx, 5xx)", "error"),
    ("4xx", "4xx"),
    ("5xx", "5xx"),
)


def status_matches(status: Any, wanted: str) -> bool:
    code = status if isinstance(status, int) else 0
    return {
        "all": True,
        "ok": 200 <= code < 300,
        "error": code >= 400 or code == 0,
        "4xx": 400 <= code < 500,
        "5xx": code >= 500 or code == 0,
    }.get(wanted, True)


class LogsView(CcmView):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f", "follow", "Follow", id="logs.follow", tooltip="Keep the newest request in view"),
    ]

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self.shown: list[dict[str, Any]] = []
        self.by_client = False
        """A Client column, shown once the config has [[clients]] (a team's gateway): who sent each request."""

    def compose(self) -> ComposeResult:
        with Horizontal(id="logs-filters"):
            yield Select(STATUS_FILTERS, value="all", allow_blank=False, id="status-filter", compact=True)
            yield Select([], id="provider-filter", compact=True, prompt="all providers")
            yield Checkbox("Follow", True, id="follow", compact=True)
        yield DataTable(id="logs-table", cursor_type="row", zebra_stripes=True)
        yield Static(id="log-detail", markup=False)

    def on_mount(self) -> None:
        self._columns()
        self.ccm.requests_added.subscribe(self, self._added)
        self.ccm.config_changed.subscribe(self, self._config_changed)
        self.ccm.proxy_changed.subscribe(self, self._proxy_changed)
        if self.ccm.config is not None:
            self._config_changed(self.ccm.config)
        self._rebuild()

    def default_focus(self) -> Widget | None:
        return self.query_one(DataTable)

    def _columns(self) -> None:
        """The table's columns, by how much a glance needs them: at 80 columns everything up to Tokens is in
        view and the rule and the model Claude Code asked for scroll off (both are in the detail line). A
        gateway's Client comes right after the time, so that it stays in view too."""
        table = self.query_one(DataTable)
        table.clear(columns=True)
        client = [("Client", "client")] if self.by_client else []
        for label, key in (
            ("Time", "time"),
            *client,
            ("Status", "status"),
            ("Latency", "latency"),
            ("Model", "routed"),
            ("Provider", "provider"),
            ("Tries", "attempts"),
            ("Tokens", "tokens"),
            ("Rule", "rule"),
            ("Asked", "model"),
        ):
            table.add_column(label, key=key)

    def _config_changed(self, config: Config) -> None:
        if config.clients and not self.by_client:
            self.by_client = True
            self._columns()
            self._rebuild()
        select: Select[str] = self.query_one("#provider-filter", Select)
        current = select.value
        names = sorted(
            {p.name for p in config.providers} | {str(i["provider"]) for i in self.ccm.requests if i.get("provider")}
        )
        select.set_options([(n, n) for n in names])
        if current in names:
            select.value = current

    def _proxy_changed(self, state: ProxyState) -> None:
        self._describe()

    def _matches(self, item: dict[str, Any]) -> bool:
        status = self.query_one("#status-filter", Select).value
        provider = self.query_one("#provider-filter", Select).value
        if not status_matches(item.get("status"), str(status)):
            return False
        return provider is Select.NULL or str(item.get("provider") or "").lower() == str(provider).lower()

    @on(Select.Changed)
    def _rebuild(self) -> None:
        table = self.query_one(DataTable)
        table.clear()
        self.shown = []
        self._append([i for i in self.ccm.requests if self._matches(i)])

    def _added(self, items: list[dict[str, Any]]) -> None:
        self._append([i for i in items if self._matches(i)])

    def _append(self, items: list[dict[str, Any]]) -> None:
        table = self.query_one(DataTable)
        for item in items:
            self.shown.append(item)
            usage = f"{fmt.tokens(item.get('input_tokens'))}/{fmt.tokens(item.get('output_tokens'))}"
            cells: list[Any] = [
                fmt.clock_time(float(item.get("time") or 0)),
                *([str(item.get("client") or "-")] if self.by_client else []),
                fmt.status_text(item.get("status")),
                fmt.latency(item.get("latency_ms")),
                str(item.get("routed_model") or ""),
                str(item.get("provider") or ""),
                fmt.attempts(item.get("attempts")),
                usage,
                item.get("route") or "",
                str(item.get("model") or ""),
            ]
            table.add_row(*cells)
        if items and self.query_one("#follow", Checkbox).value:
            table.move_cursor(row=table.row_count - 1)
        self._describe()

    def action_follow(self) -> None:
        box = self.query_one("#follow", Checkbox)
        box.value = not box.value

    @on(Checkbox.Changed, "#follow")
    def _follow_changed(self, event: Checkbox.Changed) -> None:
        table = self.query_one(DataTable)
        if event.value and table.row_count:
            table.move_cursor(row=table.row_count - 1)

    @on(DataTable.RowHighlighted)
    def _describe(self) -> None:
        detail = self.query_one("#log-detail", Static)
        table = self.query_one(DataTable)
        if not self.shown:
            if not self.ccm.proxy_state.running:
                detail.update("The proxy is not running: start it (Overview, s); its requests show up here live.")
            else:
                detail.update("No requests yet. Send one from the Test tab, or point Claude Code at the proxy.")
            return
        item = self.shown[min(table.cursor_row, len(self.shown) - 1)]
        text = Text()
        text.append(f"{item.get('model')} → {item.get('routed_model') or '?'} ({item.get('route') or '?'})")
        if item.get("provider"):
            text.append(f" · {item['provider']} · {item.get('actual_model') or '?'}")
        text.append(f" · {'stream' if item.get('stream') else 'json'}", style="dim")
        if item.get("client") not in (None, "-"):
            text.append(f" · client {item['client']}", style="dim")
        tried = item.get("attempts")
        if isinstance(tried, list) and tried:
            steps = " → ".join(
                f"{a.get('provider')}/{a.get('model')} {a.get('outcome')} ({a.get('status')}, {a.get('ms')} ms)"
                for a in tried
                if isinstance(a, dict)
            )
            text.append(f"\n{steps}", style="dim")
        if item.get("error"):
            text.append(f"\n✗ {item['error']}", style="red")
        detail.update(text)
