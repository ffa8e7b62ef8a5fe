"""OAuth tab: ChatGPT logins (log in, expiry, refresh, log out); Claude and Gemini explained.

Tokens come from the running proxy (`GET /api/oauth/tokens`) when there is one, which owns them and is
the only process that refreshes or deletes them then; with no proxy, straight from the keyring. A login
runs here either way: the tab starts the callback server, shows the URL, opens the browser and waits in a
worker; the new token goes to the keyring and a running proxy is told to read it. Providers configured
with `auth_type = "oauth"` but without a token are listed too, so the user sees what still needs a login.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widget import Widget
from textual.widgets import DataTable, Input, Static

from ccm.auth.credentials import CredentialError
from ccm.auth.oauth import local, tokens
from ccm.auth.oauth.flow import BrowserLogin, LoginError, code_from_paste
from config.schema import Config, ProviderConfig
from tui import format as fmt
from tui.base import CcmView
from tui.client import AdminError, ProxyUnreachable
from tui.modals.confirm import ConfirmScreen
from tui.proxy import ProxyState

STATUS_STYLE = {"active": "green", "needs_refresh": "yellow", "expired": "red"}


def open_in_browser(url: str) -> bool:
    import webbrowser

    try:
        return bool(webbrowser.open(url))
    except webbrowser.Error:
        return False


class OAuthView(CcmView):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("l", "login", "Login", id="oauth.login", tooltip="Log in to the selected provider (ChatGPT)"),
        Binding("c", "cancel", "Cancel", id="oauth.cancel", tooltip="Stop waiting for the browser"),
        Binding("r", "refresh", "Refresh", id="oauth.refresh", tooltip="Refresh the selected token now"),
        Binding("d", "delete", "Log out", id="oauth.delete", tooltip="Delete the selected token"),
        Binding("g", "reload", "Reload", id="oauth.reload", tooltip="Read the tokens again"),
    ]

    open_url: Callable[[str], bool] = staticmethod(open_in_browser)
    """Opens the login URL (tests play the browser here); called from a worker thread."""

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self.tokens: list[dict[str, Any]] = []
        self.login: BrowserLogin | None = None

    def compose(self) -> ComposeResult:
        yield DataTable(id="oauth-table", cursor_type="row", zebra_stripes=True)
        yield Static(id="oauth-hint", markup=False)
        with Vertical(id="oauth-login"):  # shown while a login waits: the whole URL, and where to paste
            yield Static(id="oauth-url", markup=False)
            yield Input(
                placeholder="…or paste the URL the browser was sent to (or just the code) and press Enter",
                id="oauth-paste",
                compact=True,
            )

    def on_mount(self) -> None:
        self.query_one("#oauth-login").display = False
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
        self._fetch()

    @work(exclusive=True, group="oauth")
    async def _fetch(self) -> None:
        try:
            if self.ccm.proxy_state.running:
                self.tokens = await self.ccm.client.oauth_tokens()
            else:
                config = self.ccm.config
                self.tokens = await asyncio.to_thread(local.views, config) if config is not None else []
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
                token_name = tokens.token_id(p)
                if p.auth_type == "oauth" and token_name.lower() not in seen:
                    waiting.append(token_name)
                    seen.add(token_name.lower())
                    table.add_row(token_name, Text("no token", style="dim"), "—", "—", key=token_name)
        if not note:
            if waiting:
                note = f"l logs in to {waiting[0]} (or `ccm oauth login {waiting[0]}` in a terminal)."
            elif not self.tokens:
                note = (
                    'No OAuth tokens. Providers with auth_type = "oauth" (ChatGPT Plus/Pro) get one by logging in (l).'
                )
            else:
                note = "Tokens are refreshed before they expire; r refreshes one now, d logs out."
        self._hint(note)

    def _hint(self, text: str) -> None:
        self.query_one("#oauth-hint", Static).update(text)

    def _selected(self) -> str | None:
        table = self.query_one(DataTable)
        if table.row_count == 0:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return str(key) if key else None

    def _provider(self, name: str) -> ProviderConfig | None:
        config = self.ccm.config
        if config is None:
            return None
        return config.provider(name) or next((p for p in config.providers if tokens.token_id(p) == name), None)

    def _has_token(self, name: str) -> bool:
        return any(str(t.get("provider", "")).lower() == name.lower() for t in self.tokens)

    # -- login -------------------------------------------------------------------------------------------
    def action_login(self) -> None:
        name = self._selected()
        provider = self._provider(name) if name else None
        if provider is None:
            self._hint(
                'To log in to ChatGPT Plus/Pro: add a provider of type openai with Auth "OAuth (subscription)" '
                "(Providers tab, a), then press l here."
            )
            self.ccm.say("nothing to log in to yet: add a ChatGPT provider first (how: below)", "warning")
            return
        kind = local.login_kind(provider)
        if kind == "claude":
            self._hint(local.CLAUDE_WHY)
            self.ccm.say("Claude: log in inside Claude Code (`claude /login`); ccm passes that login through", "info")
        elif kind == "google":
            self._hint(local.GEMINI_WHY.format(name=provider.name))
            self.ccm.say("Gemini: use an API key or vertex-ai, not a login", "warning")
        elif kind != "chatgpt":
            self.ccm.say(
                f'{provider.name} has no ChatGPT login (set auth_type = "oauth" on an openai provider)', "warning"
            )
        elif self.login is not None:
            self.ccm.say("a login is already waiting for the browser (c cancels it)", "warning")
        else:
            self._login(provider)

    def action_cancel(self) -> None:
        if self.login is not None and self.login.server is not None:
            self.login.server.cancel()

    @work(exclusive=True, group="oauth-login")
    async def _login(self, provider: ProviderConfig) -> None:
        import httpx

        try:
            login = BrowserLogin.start()
        except LoginError as exc:
            self.ccm.say(f"login of {provider.name} failed · {exc.message}", "error")
            return
        self.login = login
        self._pasted = asyncio.get_running_loop().create_future()
        self._hint("Log in to ChatGPT in the browser (c cancels; 5 minutes). The login URL, whole (select it to copy):")
        self.query_one("#oauth-url", Static).update(Text(login.url, overflow="fold"))
        self.query_one("#oauth-login").display = True
        try:
            if not await asyncio.to_thread(self.open_url, login.url):
                self.ccm.say("could not open a browser: open the URL shown below the table", "warning")
            code = await self._code(login, self._pasted)
            async with httpx.AsyncClient() as client:
                token = await login.finish(client, code)
            tid = tokens.token_id(provider)
            await asyncio.to_thread(tokens.save, tid, token)
        except LoginError as exc:
            cancelled = login.server is not None and login.server.error == "cancelled"
            self.ccm.say(
                "login cancelled" if cancelled else f"login of {provider.name} failed · {exc.message}", "error"
            )
            self._draw()
            return
        finally:
            login.close()
            self.login = None
            self.query_one("#oauth-login").display = False
            self.query_one("#oauth-paste", Input).value = ""
        if self.ccm.proxy_state.running:
            try:
                await self.ccm.client.oauth_reload(tid)
            except (ProxyUnreachable, AdminError) as exc:
                self.ccm.say(f"logged in, but the proxy was not told · {exc.message}", "warning")
        self.ccm.say(f"logged in to {provider.name}", "ok")
        self.action_reload()

    @staticmethod
    async def _code(login: BrowserLogin, pasted: asyncio.Future[str]) -> str:
        """The code from whichever comes first: the browser's redirect to the callback server, or a paste
        (a browser on another machine, whose redirect to localhost cannot load)."""
        waiting = asyncio.ensure_future(login.wait_code())
        try:
            done, _ = await asyncio.wait({waiting, pasted}, return_when=asyncio.FIRST_COMPLETED)
            return (waiting if waiting in done else pasted).result()
        finally:
            if not waiting.done() and login.server is not None:
                login.server.cancel()  # ends the callback server's wait: its thread returns at once
                with contextlib.suppress(LoginError, asyncio.CancelledError):
                    await waiting

    @on(Input.Submitted, "#oauth-paste")
    def _paste(self, event: Input.Submitted) -> None:
        login, pasted = self.login, getattr(self, "_pasted", None)
        if login is None or pasted is None or pasted.done():
            return
        try:
            pasted.set_result(code_from_paste(event.value, login.state))
        except LoginError as exc:
            self.ccm.say(f"{exc.message}" + (f" · {exc.hint}" if exc.hint else ""), "error")

    # -- refresh and log out -----------------------------------------------------------------------------
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
        self.app.push_screen(ConfirmScreen(f"Log out of {name} (delete its token)?", detail), answer)

    @work(exclusive=True, group="oauth")
    async def _call(self, what: str, name: str) -> None:
        client = self.ccm.client
        try:
            if self.ccm.proxy_state.running:  # the proxy owns the tokens while it runs
                await (client.oauth_refresh(name) if what == "refresh" else client.oauth_delete(name))
            elif what == "refresh":
                await local.refresh(name, name)
            else:
                await asyncio.to_thread(tokens.delete, name)
        except (ProxyUnreachable, AdminError) as exc:
            self.ccm.say(f"{what} of {name}'s token failed · {exc.message}", "error")
            return
        except CredentialError as exc:
            self.ccm.say(f"{what} of {name}'s token failed · {exc.message}", "error")
            return
        self.ccm.say(f"token of {name} {'refreshed' if what == 'refresh' else 'deleted'}", "ok")
        self._fetch()
