"""`ccm tui`: the Textual app. Holds the shared state; each tab lives in its own module.

State the tabs share, and the signals that announce changes to it:

    app.store / app.config      the config file being edited and its last valid Config  (config_changed)
    app.proxy_state             the running proxy from its pid file, polled every second  (proxy_changed)
    app.requests                the proxy's request log, followed live over SSE          (requests_added)
    app.client                  the admin API client (one httpx.AsyncClient, trust_env=False)

Every edit goes through `app.apply(...)`: validated and saved by config/ (an invalid edit never reaches
the file), then the running proxy is asked to reload, and the status bar says "saved · reloaded".
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, ClassVar

from textual import work
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Container
from textual.signal import Signal
from textual.widget import Widget
from textual.widgets import Footer, Header, Static, TabbedContent, TabPane

from config import paths
from config.atomic import backup_path
from config.errors import ConfigError, Problem
from config.schema import Config
from config.secrets import interpolate
from tui.base import CcmView
from tui.client import AdminClient, AdminError, ProxyUnreachable
from tui.console import ConsoleView
from tui.feed import RequestItem, RequestLog, follow
from tui.format import display_path
from tui.logs import LogsView
from tui.models import ModelsView
from tui.oauth import OAuthView
from tui.overview import OverviewView
from tui.providers import ProvidersView
from tui.proxy import ProxyState, probe
from tui.router import RouterView
from tui.status import StatusBar, StatusLogHandler
from tui.store import ConfigStore, first_problem

#: (pane id, tab title, body class), in tab order: F2.. and alt+1.. follow it.
TABS: tuple[tuple[str, str, type[CcmView]], ...] = (
    ("overview", "Overview", OverviewView),
    ("providers", "Providers", ProvidersView),
    ("models", "Models", ModelsView),
    ("router", "Router", RouterView),
    ("oauth", "OAuth", OAuthView),
    ("console", "Test", ConsoleView),
    ("logs", "Logs", LogsView),
)


def _tab_bindings() -> list[Binding]:
    out = []
    for i, (tab, title, _) in enumerate(TABS):
        action = f"show_tab('{tab}')"
        out.append(Binding(f"f{i + 2}", action, title, show=False, id=f"tab.{tab}", tooltip=f"Show the {title} tab"))
        out.append(Binding(f"alt+{i + 1}", action, title, show=False, id=f"tab.{tab}.alt"))
    return out


class MainTabs(Container):
    """The tabs. Only the first tab's body is built before the first paint; the others are built the
    first time they are shown (each draws itself from the app's state when it mounts)."""

    def __init__(self, initial: str = "overview", **kw: Any) -> None:
        super().__init__(**kw)
        self.initial = initial

    def compose(self) -> ComposeResult:
        with TabbedContent(id="tabs", initial=self.initial):
            for tab, title, view in TABS:
                yield TabPane(title, *([view(id=f"{tab}-view")] if tab == self.initial else []), id=tab)

    def on_tabbed_content_tab_activated(self, event: TabbedContent.TabActivated) -> None:
        pane = event.pane
        if pane.id and not pane.children:
            view = dict((tab, view) for tab, _, view in TABS)[pane.id]
            pane.mount(view(id=f"{pane.id}-view"))


class CcmApp(App[None]):
    """The ccm manager. `config_path=None` edits the running proxy's config, else $CCM_HOME/config.toml."""

    TITLE = "ccm"
    SUB_TITLE = "Claude Code Mux"
    CSS_PATH = "app.tcss"
    #: Screen classes by width: -narrow stacks panels (80x24 must stay readable), -wide puts them side by
    #: side, -xwide adds side panels for details.
    #: (Unannotated: Textual declares it `ClassVar[...] | None`, which mypy reads as an instance variable.)
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (110, "-wide"), (160, "-xwide")]  # noqa: RUF012
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f1", "help", "Help", id="help", tooltip="Keys and tips for every tab"),
        Binding("ctrl+q", "quit", "Quit", id="quit", priority=True, tooltip="Leave ccm tui (the proxy keeps running)"),
        *_tab_bindings(),
    ]

    def __init__(
        self,
        config_path: Path | None = None,
        *,
        clock: Callable[[], float] = time.time,
        poll_interval: float = 1.0,
    ) -> None:
        super().__init__()
        self.clock = clock
        """Wall-clock seconds; tests inject a fixed one so uptimes and expiries do not move."""
        self.poll_interval = poll_interval
        self.proxy_state = probe()
        self.store = ConfigStore(self._pick_config(config_path))
        self.load_error: ConfigError | None = None
        self.requests = RequestLog()
        self.client = AdminClient()
        self.config_changed: Signal[Config] = Signal(self, "config-changed")
        self.proxy_changed: Signal[ProxyState] = Signal(self, "proxy-changed")
        self.requests_added: Signal[list[RequestItem]] = Signal(self, "requests-added")
        self._proxy_up = asyncio.Event()
        self._tab: str | None = None
        """The tab shown, once the tabs exist: a move to another one clears the status bar."""
        if self.store.exists():
            try:
                self.store.load()
            except ConfigError as exc:
                self.load_error = exc
        elif self.store.path.exists():  # a directory (or a socket...) where the config file should be
            what = "a directory" if self.store.path.is_dir() else "not a regular file"
            self.load_error = ConfigError(
                [
                    Problem(
                        f"this is {what}, not a config file: move it away, or pass --config FILE",
                        file=str(self.store.path),
                    )
                ]
            )
        self._sync_target()  # now: the tabs mount (and call the proxy) before the app's own on_mount

    def _pick_config(self, explicit: Path | None) -> Path:
        """--config, else $CCM_CONFIG, else the file the running proxy serves, else $CCM_HOME/config.toml."""
        if explicit is not None:
            return explicit.expanduser()
        if os.environ.get("CCM_CONFIG"):
            return paths.config_path()
        if self.proxy_state.info is not None and self.proxy_state.info.config:
            return Path(self.proxy_state.info.config)
        return paths.config_path()

    @property
    def config(self) -> Config | None:
        return self.store.config

    # -- layout ---------------------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield Header(icon="◆")
        with Container(id="body"):
            if self.config is not None:
                yield self._tabs()
            else:
                yield Static(self._no_config_text(), id="no-config", markup=False)
        yield StatusBar(id="status")
        yield Footer(show_command_palette=False)  # ctrl+p still opens it; 80 columns need the room for keys

    def _tabs(self, initial: str = "overview") -> Widget:
        return MainTabs(initial, id="main")

    def _no_config_text(self) -> str:
        if self.load_error is not None:
            problems = "\n".join(f"  {p}" for p in self.load_error.problems)
            backup = backup_path(self.store.path)
            restore = (
                f", or put back the version before ccm's last save ({display_path(backup)})" if backup.is_file() else ""
            )
            return (
                f"The config file {display_path(self.store.path)} cannot be used:\n\n{problems}\n\n"
                f"Fix it in an editor{restore}: this screen reloads it as soon as it is valid."
            )
        return f"No config file at {display_path(self.store.path)} yet."

    def on_mount(self) -> None:
        self._log_handler = StatusLogHandler(self)
        logger = logging.getLogger("ccm")
        logger.addHandler(self._log_handler)
        logger.propagate = False  # stderr would scribble over the screen
        self._sync_target()
        self._show_proxy_state()
        self.set_interval(self.poll_interval, self.poll)
        self.call_after_refresh(self._follow_requests)  # after the first paint: it imports httpx
        if self.config is None and self.load_error is None:
            self._offer_presets()

    async def on_unmount(self) -> None:
        logger = logging.getLogger("ccm")
        logger.removeHandler(self._log_handler)
        logger.propagate = True
        await self.client.aclose()

    # -- config -----------------------------------------------------------------------------------------
    def apply(self, change: Callable[[ConfigStore], object], done: str, *, reload: bool = True) -> str | None:
        """Run one edit through the store; None when saved, else the reason (also shown in the status bar).

        `reload=False` when the caller has more to do before the proxy may reload (store a typed key: a
        reload before it would miss the key); it calls `saved(done)` itself afterwards."""
        try:
            change(self.store)
        except ConfigError as exc:
            reason = first_problem(exc)
            self.say(f"not saved · {reason}", "error")
            return reason
        except OSError as exc:
            self.say(f"not saved · {exc}", "error")
            return str(exc)
        assert self.config is not None
        self.config_changed.publish(self.config)
        self._sync_target()
        if reload:
            self.saved(done)
        else:
            self.say(f"{done} · saved · storing the key…", "ok")
        return None

    def saved(self, done: str) -> None:
        """Say that an edit was saved, and have the running proxy reload it."""
        if not self.proxy_state.running:
            self.say(f"{done} · saved (the proxy is not running)", "ok")
        elif not self.proxy_state.serves(self.store.path):
            self.say(f"{done} · saved (the running proxy serves another config file)", "warning")
        else:
            self.say(f"{done} · saved · reloading…", "ok")
            self._reload_proxy(done)

    @work(exclusive=True, group="reload")
    async def _reload_proxy(self, done: str) -> None:
        try:
            answer = await self.client.reload()
        except AdminError as exc:
            self.say(f"{done} · saved · the proxy kept its old config: {exc.message}", "error")
            return
        except ProxyUnreachable:
            self.say(f"{done} · saved · the proxy is not answering; it will reload when it is back", "warning")
            return
        restart = answer.get("restart_required")
        if restart:
            what = ", ".join(map(str, restart)) if isinstance(restart, list) else str(restart)
            self.say(f"{done} · saved · reloaded ({what} needs a proxy restart: Overview, r)", "warning")
            return
        self.say(f"{done} · saved · reloaded", "ok")

    def _config_ready(self, initial: str = "overview") -> None:
        """Mount the tabs once a valid config exists (after a preset was chosen or the file was fixed)."""
        body = self.query_one("#body", Container)
        body.remove_children()
        body.mount(self._tabs(initial))
        self._sync_target()

    def _offer_presets(self) -> None:
        from tui.modals.presets import PresetScreen

        def chosen(text: str | None) -> None:
            if text is None:
                self.exit(message=f"No config was written; `ccm config init` creates one at {self.store.path}.")
                return
            try:
                self.store.create(text)
            except (ConfigError, OSError) as exc:
                self.say(f"not written · {exc}", "error")
                self._offer_presets()
                return
            self._config_ready(initial="providers")  # the next step: keys
            self.say(f"wrote {self.store.path} · next: give each provider its key (e on a row)", "ok")

        self.push_screen(PresetScreen(self.store.path), chosen)

    # -- proxy ------------------------------------------------------------------------------------------
    def poll(self) -> None:
        """Every second: is the proxy (still) running, and did someone else change the config file?"""
        state = probe()
        if state != self.proxy_state:
            self.proxy_state = state
            self._sync_target()
            self._show_proxy_state()
            self.proxy_changed.publish(state)
            if state.running:  # reconnect now rather than at the end of the back-off
                self._follow_requests()
        if self.store.exists() and self.store.changed_on_disk():
            self._reload_from_disk()

    def _reload_from_disk(self) -> None:
        had_config = self.config is not None
        try:
            config = self.store.load()
        except ConfigError as exc:
            if had_config:
                self.say(
                    f"the config file changed on disk and is invalid (kept the last good one) · {first_problem(exc)}",
                    "error",
                )
            else:
                self.load_error = exc
                self.query_one("#no-config", Static).update(self._no_config_text())
            return
        self.load_error = None
        if not had_config:
            self._config_ready()
        else:
            self.config_changed.publish(config)
        self.say("the config file changed on disk · reloaded it", "info")

    def _sync_target(self) -> None:
        key = interpolate(self.config.server.api_key) if self.config is not None else None
        self.client.target(self.proxy_state.url, key)
        if self.proxy_state.running:
            self._proxy_up.set()
        else:
            self._proxy_up.clear()

    def _show_proxy_state(self) -> None:
        state = self.proxy_state
        self.sub_title = f"● proxy running · {state.url}" if state.running else "○ proxy stopped"

    def pause_feed(self) -> None:
        """Close the request stream (before stopping the proxy: an open stream is an in-flight request,
        and the proxy's graceful shutdown would wait for it)."""
        self.workers.cancel_group(self, "feed")

    def resume_feed(self) -> None:
        self._follow_requests()

    @work(exclusive=True, group="feed")
    async def _follow_requests(self) -> None:
        await follow(self.client, self._proxy_up, self.add_requests)

    def add_requests(self, items: Iterable[RequestItem]) -> None:
        """Append log items (oldest first), skipping ones already seen, and tell the tabs."""
        new = self.requests.add(items)
        if new:
            self.requests_added.publish(new)

    # -- actions ----------------------------------------------------------------------------------------
    def say(self, message: str, kind: str = "info", *, append: bool = False, detail: str | None = None) -> None:
        """Show the outcome of an action in the status bar (kinds: info, ok, warning, error); `detail`, the
        longer version (paths, backend names), is kept for F1 help."""
        self.query_one(StatusBar).say(message, kind, append=append, detail=detail)

    def withdraw(self, prefix: str) -> None:
        """Clear the status bar if it still shows a message starting with `prefix` (an error the user has
        since fixed, e.g. "not saved · background_regex: …"), so it does not linger on every tab."""
        bar = self.query_one(StatusBar)
        if bar.message.startswith(prefix):
            bar.clear()

    def action_show_tab(self, tab: str) -> None:
        tabs = self.query(TabbedContent)
        if tabs and tabs.first().active != tab:  # no tabs yet while there is no config; the tab shown keeps its focus
            # Let go of the focus first: Textual moves focus off a hidden widget to a neighbour in the same
            # (now hidden) pane, and focus inside a pane switches back to that pane.
            self.screen.set_focus(None)
            tabs.first().active = tab

    def on_tabbed_content_tab_activated(self, event: TabbedContent.TabActivated) -> None:
        if event.pane.id:
            if self._tab is not None and event.pane.id != self._tab:  # the last tab's news is stale here
                self.query_one(StatusBar).clear()
            self._tab = event.pane.id
            self.call_after_refresh(self._focus_tab, event.pane.id)

    def _focus_tab(self, tab: str) -> None:
        """Focus the tab's main widget, unless the user has moved on to another tab meanwhile (focusing a
        widget in a hidden pane would switch back to it)."""
        tabs = self.query(TabbedContent)
        if not tabs or tabs.first().active != tab:
            return
        views = self.query(f"#{tab}-view")
        if not views:  # a Lazy body not mounted yet: try again after the next refresh
            self.call_after_refresh(self._focus_tab, tab)
            return
        focused = self.focused
        if focused is not None and views.first() in focused.ancestors:
            return
        target = views.first(CcmView).default_focus()
        if target is not None:  # not scrolled to: a small terminal's view still opens at its top
            target.focus(scroll_visible=False)

    def action_help(self) -> None:
        from tui.modals.help import HelpScreen

        self.push_screen(HelpScreen(self.query_one(StatusBar).history))


def run(config_path: Path | None = None) -> None:
    """Entry point of `ccm tui [--config PATH]`."""
    CcmApp(config_path).run()
