"""Overview tab: is the proxy running (start, stop, restart it), what is configured, what just happened.

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
from tui.proxy import ProxyState, run_ccm

RECENT_ROWS = 12


class OverviewView(CcmView):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("s", "start", "Start", id="overview.start", tooltip="Start the proxy (ccm start)"),
        Binding("x", "stop", "Stop", id="overview.stop", tooltip="Stop the proxy (ccm stop)"),
        Binding("r", "restart", "Restart", id="overview.restart", tooltip="Stop, then start the proxy"),
    ]

    def compose(self) -> ComposeResult:
        with Horizontal(id="overview-top"):
            with Vertical(id="proxy-panel", classes="panel") as panel:
                panel.border_title = "Proxy"
                yield Static(id="proxy-state")
                yield Static(id="proxy-config", markup=False)
                with Horizontal(id="proxy-buttons"):
                    yield Button("Start", id="start", variant="success", compact=True)
                    yield Button("Stop", id="stop", variant="error", compact=True)
                    yield Button("Restart", id="restart", compact=True)
            with Vertical(id="routing-panel", classes="panel") as panel:
                panel.border_title = "Routing"
                yield Static(id="routing-table")
        with Vertical(id="recent-panel", classes="panel") as panel:
            panel.border_title = "Last requests"
            yield DataTable(id="recent", cursor_type="row", zebra_stripes=True)

    def on_mount(self) -> None:
        table = self.query_one("#recent", DataTable)
        for label, key in (
            ("Time", "time"),
            ("Status", "status"),
            ("Rule", "rule"),
            ("Model", "model"),
            ("Provider", "provider"),
            ("Latency", "latency"),
        ):
            table.add_column(label, key=key)
        self.ccm.config_changed.subscribe(self, self._config_changed)
        self.ccm.proxy_changed.subscribe(self, self._proxy_changed)
        self.ccm.requests_added.subscribe(self, self._requests_added)
        self.set_interval(1.0, self._tick)
        self._render_proxy()
        if self.ccm.config is not None:
            self._config_changed(self.ccm.config)
        self._render_recent()

    def default_focus(self) -> Widget | None:
        return self.query_one("#start" if not self.ccm.proxy_state.running else "#recent")

    # -- proxy panel --------------------------------------------------------------------------------------
    def _tick(self) -> None:
        if self.ccm.proxy_state.running:
            self._render_proxy()

    def _proxy_changed(self, state: ProxyState) -> None:
        self._render_proxy()

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
            "restart": [["stop"], ["start", *config]],
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
        grid = Table.grid(padding=(0, 1))
        grid.add_column(style="bold")
        grid.add_column()
        grid.add_column(style="dim")
        router = config.router
        slots: list[tuple[str, str | None, str]] = [
            ("default", router.default, ""),
            ("think", router.think, "thinking on"),
            ("background", router.background, router.background_regex),
            ("websearch", router.websearch, "web_search tool"),
            ("long context", router.long_context, f"> {router.long_context_threshold:,} tokens"),
        ]
        for label, model, when in slots:
            grid.add_row(label, model or Text("off", style="dim"), when if model else "")
        oauth = sum(1 for p in config.providers if p.auth_type == "oauth")
        enabled = sum(1 for p in config.providers if p.enabled)
        counts = Text.assemble(
            (f"{len(config.providers)}", "bold"),
            f" providers ({enabled} on) · ",
            (f"{len(config.models)}", "bold"),
            " models · ",
            (f"{oauth}", "bold"),
            " OAuth",
            style="",
        )
        outer = Table.grid()
        outer.add_row(counts)
        outer.add_row(grid)
        self.query_one("#routing-table", Static).update(outer)

    # -- last requests ------------------------------------------------------------------------------------
    def _requests_added(self, items: list[dict[str, Any]]) -> None:
        self._render_recent()

    def _render_recent(self) -> None:
        table = self.query_one("#recent", DataTable)
        table.clear()
        recent = list(self.ccm.requests)[-RECENT_ROWS:]
        for item in reversed(recent):
            model = str(item.get("model") or "")
            routed = item.get("routed_model")
            if routed and routed != model:
                model = f"{model} → {routed}"
            provider = item.get("provider") or ""
            if item.get("actual_model"):
                provider = f"{provider}:{item['actual_model']}"
            table.add_row(
                fmt.clock_time(float(item.get("time") or 0)),
                fmt.status_text(item.get("status")),
                item.get("route") or "",
                model,
                provider,
                fmt.latency(item.get("latency_ms")),
            )
        if not recent:
            hint = "no requests yet" if self.ccm.proxy_state.running else "the proxy is stopped"
            table.add_row("", "", Text(hint, style="dim"), "", "", "")
