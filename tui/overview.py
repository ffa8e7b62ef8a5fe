"""Overview tab: is the proxy running (start, stop, restart it), what is configured, how each provider is
doing (tui.traffic: live counters, a sparkline, circuit states), what just happened.

Start and stop run `ccm start` / `ccm stop` in a worker, exactly as a user would in a terminal; the pid
file poll in the app notices the change within a second and every tab follows.
"""

from __future__ import annotations

from typing import Any, ClassVar

from rich.table import Table
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widget import Widget
from textual.widgets import Button, DataTable, Static

from config.schema import Config
from tui import format as fmt
from tui.base import CcmView
from tui.client import AdminError, ProxyUnreachable
from tui.proxy import ProxyState, run_ccm
from tui.traffic import TrafficPanel

RECENT_ROWS = 100
RECENT_COLUMNS = (
    ("Time", "time"),
    ("Status", "status"),
    ("Latency", "latency"),
    ("Rule", "rule"),
    ("Provider", "provider"),  # before the long model names: at 80 columns the model is what gets cut
    ("Model", "model"),
)


def _cell_len(cell: Any) -> int:
    """How many terminal cells a table cell takes (a str or a rich Text)."""
    return cell.cell_len if isinstance(cell, Text) else Text(str(cell)).cell_len


METRICS_POLLS = 5
"""/api/metrics is read every 5 pid-file polls (5 s by default; tests poll faster)."""


class OverviewView(CcmView):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("s", "start", "Start", id="overview.start", tooltip="Start the proxy (ccm start)"),
        Binding("x", "stop", "Stop", id="overview.stop", tooltip="Stop the proxy (ccm stop)"),
        Binding("r", "restart", "Restart", id="overview.restart", tooltip="Stop, then start the proxy"),
    ]

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self.oauth_tokens: int | None = None

    def compose(self) -> ComposeResult:
        with Horizontal(id="overview-top"):
            with Vertical(id="proxy-panel", classes="panel") as panel:
                panel.border_title = "Proxy"
                yield Static(id="proxy-state")
                yield Static(id="proxy-config", markup=False)
                yield Static(id="reload-state", markup=False)
                yield Static(id="counts")
                with Horizontal(id="proxy-buttons"):
                    yield Button("Start", id="start", variant="success", compact=True)
                    yield Button("Stop", id="stop", variant="error", compact=True)
                    yield Button("Restart", id="restart", compact=True)
            with Vertical(id="routing-panel", classes="panel") as panel:
                panel.border_title = "Routing"
                yield Static(id="routing-table")
        yield TrafficPanel(interval=METRICS_POLLS * self.ccm.poll_interval, id="traffic-panel", classes="panel")
        with Vertical(id="recent-panel", classes="panel") as panel:
            panel.border_title = "Last requests"
            yield DataTable(id="recent", cursor_type="row", zebra_stripes=True)

    def on_mount(self) -> None:
        self.ccm.config_changed.subscribe(self, self._config_changed)
        self.ccm.proxy_changed.subscribe(self, self._proxy_changed)
        self.ccm.requests_added.subscribe(self, self._requests_added)
        self.set_interval(1.0, self._tick)
        self.set_interval(METRICS_POLLS * self.ccm.poll_interval, self._poll_status)
        self.query_one("#reload-state").display = False
        self._proxy_changed(self.ccm.proxy_state)
        if self.ccm.config is not None:
            self._config_changed(self.ccm.config)
        self._render_recent()

    def default_focus(self) -> Widget | None:
        return self.query_one("#recent")

    # -- proxy panel --------------------------------------------------------------------------------------
    def _tick(self) -> None:
        if self.ccm.proxy_state.running:
            self._render_proxy()

    def _proxy_changed(self, state: ProxyState) -> None:
        self._render_proxy()
        self.oauth_tokens = None
        self._render_counts()
        if state.running:
            self._count_tokens()
        self._poll_status()
        self._render_recent()

    def _poll_status(self) -> None:
        if self.ccm.proxy_state.running:
            self._fetch_status()
        else:
            self.show_status(None)

    @work(exclusive=True, group="overview-status")
    async def _fetch_status(self) -> None:
        try:
            status: dict[str, Any] | None = await self.ccm.client.status()
        except (ProxyUnreachable, AdminError):
            status = None
        self.show_status(status)

    def show_status(self, status: dict[str, Any] | None) -> None:
        """A reload the proxy refused (the file, its first error, since when) and the config's warnings, from
        GET /api/status (None: no proxy, or one without the route)."""
        found = self.query("#reload-state")
        if not found:  # not composed yet, or already gone: nothing to draw on
            return
        widget = found.first(Static)
        refused = status.get("refused") if status else None
        warnings = [str(w) for w in (status.get("warnings") or [])] if status else []
        text = Text()
        if isinstance(refused, dict):
            since = fmt.clock_time(float(refused.get("since") or 0))
            text.append(f"⚠ reload refused since {since}: {fmt.display_path(str(refused.get('path')))}", "bold red")
            text.append(f"\n  {refused.get('error')}\n  the previous config keeps serving", "red")
        for warning in warnings:
            text.append(f"{chr(10) if text else ''}⚠ {warning}", "yellow")
        widget.update(text)
        widget.display = bool(text)

    @work(exclusive=True, group="overview-oauth")
    async def _count_tokens(self) -> None:
        try:
            self.oauth_tokens = len(await self.ccm.client.oauth_tokens())
        except (ProxyUnreachable, AdminError):
            self.oauth_tokens = None
        self._render_counts()

    def _render_proxy(self) -> None:
        state = self.ccm.proxy_state
        line = Text()
        if state.info is not None:
            uptime = fmt.duration(self.ccm.clock() - state.info.started_at)
            line.append("● running", style="bold green")
            line.append(f"  {state.url}  ", style="bold")
            line.append(f"pid {state.info.pid} · up {uptime}", style="dim")
        else:
            line.append("○ stopped", style="bold red")
            line.append("  start it here (s) or with `ccm start`", style="dim")
        self.query_one("#proxy-state", Static).update(line)
        path = fmt.display_path(self.ccm.store.path)
        config = f"config  {path}"
        if state.running and not state.serves(self.ccm.store.path) and state.info is not None:
            config += f"\n⚠ the proxy serves {fmt.display_path(state.info.config)}"
        self.query_one("#proxy-config", Static).update(config)
        self.query_one("#start", Button).disabled = state.running
        self.query_one("#stop", Button).disabled = not state.running

    @on(Button.Pressed, "#start")
    def action_start(self) -> None:
        self._lifecycle("start")

    @on(Button.Pressed, "#stop")
    def action_stop(self) -> None:
        self._lifecycle("stop")

    @on(Button.Pressed, "#restart")
    def action_restart(self) -> None:
        self._lifecycle("restart")

    @work(exclusive=True, group="lifecycle")
    async def _lifecycle(self, what: str) -> None:
        config = ["--config", str(self.ccm.store.path)]
        steps: list[list[str]] = {
            "start": [["start", *config]],
            "stop": [["stop"]],
            "restart": [["restart", *config]],  # checks the file before it stops anything
        }[what]
        if what == "stop" and not self.ccm.proxy_state.running:
            self.ccm.say("the proxy is not running", "info")
            return
        self.ccm.say(f"{what}ing the proxy…", "info")
        self.ccm.pause_feed()
        try:
            for args in steps:
                if args[0] == "stop" and not self.ccm.proxy_state.running:
                    continue
                code, output = await run_ccm(*args)
                self.ccm.poll()
                if code != 0:
                    last = output.splitlines()[-1] if output else f"exit code {code}"
                    self.ccm.say(f"`ccm {args[0]}` failed · {last}", "error")
                    return
        finally:
            self.ccm.resume_feed()
        self.ccm.say({"start": "proxy started", "stop": "proxy stopped", "restart": "proxy restarted"}[what], "ok")

    # -- routing at a glance ------------------------------------------------------------------------------
    def _config_changed(self, config: Config) -> None:
        router = config.router
        # Two label/model pairs a row, each pair half the box: the second pair lines up, whatever the names.
        grid = Table.grid(padding=(0, 2), expand=True)
        grid.add_column(style="bold", no_wrap=True)
        grid.add_column(ratio=1)
        grid.add_column(style="bold", no_wrap=True)
        grid.add_column(ratio=1)

        def model(name: str | None) -> Text:
            return Text(name) if name else Text("off", style="dim")

        grid.add_row("default", model(router.default), "think", model(router.think))
        grid.add_row("background", model(router.background), "websearch", model(router.websearch))
        long = model(router.long_context)
        if router.long_context:
            long.append(f" > {router.long_context_threshold:,} tokens", style="dim")
        grid.add_row("long context", long)
        self.query_one("#routing-table", Static).update(grid)
        self._render_counts()

    def _render_counts(self) -> None:
        config = self.ccm.config
        if config is None:
            return
        enabled = sum(1 for p in config.providers if p.enabled)
        tokens = "—" if self.oauth_tokens is None else str(self.oauth_tokens)
        counts = Text.assemble(
            (str(len(config.providers)), "bold"),
            f" providers ({enabled} on) · ",
            (str(len(config.models)), "bold"),
            " models · ",
            (tokens, "bold"),
            " OAuth tokens",
        )
        self.query_one("#counts", Static).update(counts)

    # -- last requests ------------------------------------------------------------------------------------
    def _requests_added(self, items: list[dict[str, Any]]) -> None:
        self._render_recent()

    def _render_recent(self) -> None:
        """The last requests, newest first. The columns are sized here from the rows (a hundred at most), not
        measured by the table when it is next idle: a table painted before that measurement kept showing
        its cells cut to the headers' widths ("15:2", "defa") until something else repainted it."""
        table = self.query_one("#recent", DataTable)
        recent = list(self.ccm.requests)[-RECENT_ROWS:]
        rows: list[tuple[Any, ...]] = []
        for item in reversed(recent):
            model = str(item.get("model") or "")
            routed = item.get("routed_model")
            if routed and routed != model:
                model = f"{model} → {routed}"
            rows.append(
                (
                    fmt.clock_time(float(item.get("time") or 0)),
                    fmt.status_text(item.get("status")),
                    fmt.latency(item.get("latency_ms")),
                    item.get("route") or "",
                    item.get("provider") or Text("none answered", style="dim"),
                    model,
                )
            )
        table.clear(columns=True)
        for index, (label, key) in enumerate(RECENT_COLUMNS):
            width = max([Text(label).cell_len, *(_cell_len(row[index]) for row in rows)])
            table.add_column(label, key=key, width=width)
        for row in rows:
            table.add_row(*row)
        panel = self.query_one("#recent-panel")
        if recent:
            panel.border_subtitle = "all of them: Logs (F8)"
        else:
            panel.border_subtitle = "none yet" if self.ccm.proxy_state.running else "the proxy is stopped"
