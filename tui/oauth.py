"""OAuth tab: the proxy's OAuth tokens (active / needs refresh / expired), refresh and delete.

The list comes from the running proxy (`GET /api/oauth/tokens`), which owns the tokens and refreshes
them; providers configured with `auth_type = "oauth"` but without a token are listed too, so the user
sees what still needs a login. Logging in happens in a terminal for now (`ccm oauth login NAME`).
"""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widget import Widget
from textual.widgets import DataTable, Static

from config.schema import Config
from tui import format as fmt
from tui.base import CcmView
from tui.client import AdminError, ProxyUnreachable
from tui.modals.confirm import ConfirmScreen
from tui.proxy import ProxyState

STATUS_STYLE = {"active": "green", "needs_refresh": "yellow", "expired": "red"}


class OAuthView(CcmView):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("l", "login", "Login", id="oauth.login", tooltip="How to log in to this provider"),
        Binding("r", "refresh", "Refresh", id="oauth.refresh", tooltip="Refresh the selected token now"),
        Binding("d", "delete", "Delete", id="oauth.delete", tooltip="Delete the selected token"),
        Binding("g", "reload", "Reload list", id="oauth.reload", tooltip="Ask the proxy for the tokens again"),
    ]

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self.tokens: list[dict[str, Any]] = []

    def compose(self) -> ComposeResult:
        yield DataTable(id="oauth-table", cursor_type="row", zebra_stripes=True)
        yield Static(id="oauth-hint", markup=False)

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        for label, key in (("Provider", "provider"), ("Status", "status"), ("Expires", "expires"), ("In", "in")):
            table.add_column(label, key=key)
        self.ccm.proxy_changed.subscribe(self, self._proxy_changed)
        self.ccm.config_changed.subscribe(self, self._config_changed)
        self.action_reload()

    def default_focus(self) -> Widget | None:
        return self.query_one(DataTable)

    def _proxy_changed(self, state: ProxyState) -> None:
        self.action_reload()

    def _config_changed(self, config: Config) -> None:
        self._draw()

    def action_reload(self) -> None:
        if not self.ccm.proxy_state.running:
            self.tokens = []
            self._draw("The proxy is not running: start it (Overview, s) to see its OAuth tokens.")
            return
        self._fetch()

    @work(exclusive=True, group="oauth")
    async def _fetch(self) -> None:
        try:
            self.tokens = await self.ccm.client.oauth_tokens()
        except (ProxyUnreachable, AdminError) as exc:
            self.tokens = []
            self._draw(f"Could not list the tokens: {exc.message}")
            return
        self._draw()

    def _draw(self, note: str = "") -> None:
        table = self.query_one(DataTable)
        table.clear()
        now = self.ccm.clock()
        seen = set()
        for token in self.tokens:
            name = str(token.get("provider", "?"))
            seen.add(name.lower())
            status = str(token.get("status", "?"))
            expires = token.get("expires_at")
            when = fmt.date_time(float(expires)) if expires else "—"
            left = float(expires) - now if expires else None
            relative = (
                "—" if left is None else (f"in {fmt.duration(left)}" if left > 0 else f"{fmt.duration(-left)} ago")
            )
            label = Text(status.replace("_", " "), style=STATUS_STYLE.get(status, ""))
            table.add_row(name, label, when, relative, key=name)
        config = self.ccm.config
        waiting = []
        if config is not None:
            for p in config.providers:
                token_name = p.oauth_provider or p.name
                if p.auth_type == "oauth" and token_name.lower() not in seen:
                    waiting.append(token_name)
                    table.add_row(token_name, Text("no token", style="dim"), "—", "—", key=token_name)
        if not note:
            if waiting:
                note = f"Log in with `ccm oauth login {waiting[0]}` in a terminal; the proxy picks the token up."
            elif not self.tokens:
                note = 'No OAuth tokens. Providers with auth_type = "oauth" (Claude Pro/Max, ChatGPT) get one by logging in.'
            else:
                note = "The proxy refreshes tokens by itself before they expire; r refreshes one now."
        self.query_one("#oauth-hint", Static).update(note)

    def _selected(self) -> str | None:
        table = self.query_one(DataTable)
        if table.row_count == 0:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return str(key) if key else None

    def _has_token(self, name: str) -> bool:
        return any(str(t.get("provider", "")).lower() == name.lower() for t in self.tokens)

    def action_login(self) -> None:
        name = self._selected() or "NAME"
        self.ccm.say(f"run `ccm oauth login {name}` in a terminal (login from the TUI comes later)", "info")

    def action_refresh(self) -> None:
        name = self._selected()
        if name is None or not self._has_token(name):
            self.ccm.say("no token to refresh: log in first (l)", "warning")
            return
        self._call("refresh", name)

    def action_delete(self) -> None:
        name = self._selected()
        if name is None or not self._has_token(name):
            return

        def answer(yes: bool | None) -> None:
            if yes:
                self._call("delete", name)

        detail = "Requests to this provider fail until you log in again."
        self.app.push_screen(ConfirmScreen(f"Delete the OAuth token of {name}?", detail), answer)

    @work(exclusive=True, group="oauth")
    async def _call(self, what: str, name: str) -> None:
        client = self.ccm.client
        try:
            if what == "refresh":
                await client.oauth_refresh(name)
            else:
                await client.oauth_delete(name)
            self.tokens = await client.oauth_tokens()
        except (ProxyUnreachable, AdminError) as exc:
            self.ccm.say(f"{what} of {name}'s token failed · {exc.message}", "error")
            return
        self._draw()
        self.ccm.say(f"token of {name} {'refreshed' if what == 'refresh' else 'deleted'}", "ok")
