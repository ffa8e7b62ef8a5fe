"""Providers tab: the table, add/edit/delete through a form, enable toggle, and a connection test.

Key states come from config.secrets, which may block on the OS keyring (D-Bus, a Keychain prompt): they
are read and written in thread workers, and the table shows "…" until they arrive. Only masked keys
are ever shown (`sk-…a1b2`).
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.widget import Widget
from textual.widgets import DataTable, Static

from config import secrets
from config.schema import Config, ProviderConfig
from tui import format as fmt
from tui.base import CcmView
from tui.client import AdminError, ProxyUnreachable
from tui.modals.confirm import ConfirmScreen
from tui.modals.provider_form import ProviderEdit, ProviderForm
from tui.store import ConfigStore

#: Name, state and key first: a URL too long for 80 columns is the one that runs off the edge (it is in the
#: detail line too). No Auth column: the Key column already says "oauth token" or "Claude Code's login".
COLUMNS = (
    ("Name", "name"),
    ("On", "enabled"),
    ("Type", "type"),
    ("Key", "key"),
    ("Check", "check"),  # before the URL: a long URL is what runs off the edge, not the check
    ("Base URL", "url"),
)

AUTH_WORDS = {"apikey": "API key", "oauth": "OAuth login", "passthrough": "Claude Code's login"}


def key_state(provider: ProviderConfig) -> tuple[str, str]:
    """The key masked with its source, as `ccm keys list` names it (`sk-…a1b2 keyring`, `… config file`,
    `… secrets.json`, `$ZAI_API_KEY unset`), and the source alone (blocks on the keyring)."""
    if provider.auth_type == "oauth":
        return "oauth token", "oauth"
    if provider.auth_type == "passthrough":
        return "Claude Code's login", "passthrough"
    value, source = secrets.provider_key(provider.name, provider.api_key, provider.key_env)
    if value is None:
        var = secrets.env_reference(provider.api_key)
        return (f"${var} unset" if var else "missing"), "missing"
    return f"{secrets.mask(value)} {source}", source


def _leaves(source: str | None) -> str:
    """What deleting a provider does to its key, by where the key is."""
    if source == secrets.SOURCE_KEYRING:
        return "Its key leaves the keyring."
    if source == secrets.SOURCE_FILE:
        return "Its key leaves secrets.json."
    if source == secrets.SOURCE_CONFIG:
        return "Its key, written in the config file, goes with it."
    if source and source.startswith("$"):
        return f"Its key stays in {source} (ccm does not change your environment)."
    return ""


class ProvidersView(CcmView):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("a", "add", "Add", id="providers.add", tooltip="Add a provider"),
        Binding("e", "edit", "Edit", id="providers.edit", tooltip="Edit the selected provider"),
        Binding("d", "delete", "Delete", id="providers.delete", tooltip="Delete the selected provider"),
        Binding("space", "toggle_enabled", "On/off", id="providers.toggle", tooltip="Enable or disable the provider"),
        Binding("t", "test", "Test", id="providers.test", tooltip="Test the connection through the running proxy"),
    ]

    def __init__(self, **kw: object) -> None:
        super().__init__(**kw)  # type: ignore[arg-type]
        self.keys: dict[str, str] = {}
        self.key_sources: dict[str, str] = {}
        self.checks: dict[str, Text] = {}

    def compose(self) -> ComposeResult:
        with Horizontal(id="providers-columns"):
            yield DataTable(id="providers-table", cursor_type="row", zebra_stripes=True)
            yield Static(id="provider-detail")

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        for label, key in COLUMNS:
            table.add_column(label, key=key)
        self.ccm.config_changed.subscribe(self, self._draw)
        if self.ccm.config is not None:
            self._draw(self.ccm.config)

    def default_focus(self) -> Widget | None:
        return self.query_one(DataTable)

    @property
    def table(self) -> DataTable[object]:
        return self.query_one(DataTable)

    def selected(self) -> ProviderConfig | None:
        table = self.table
        if self.ccm.config is None or table.row_count == 0:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return self.ccm.config.provider(str(key)) if key else None

    def _draw(self, config: Config) -> None:
        table = self.table
        current = self.selected()
        table.clear()
        for p in config.providers:
            table.add_row(
                p.name,
                Text("✓", style="green") if p.enabled else Text("✗", style="red"),
                p.provider_type,
                self.keys.get(p.name, "…"),
                self.checks.get(p.name, ""),
                fmt.short_url(secrets.shown_url(p.effective_base_url)) or Text("(none)", style="red"),
                key=p.name,
            )
        if current is not None and config.provider(current.name) is not None:
            table.move_cursor(row=table.get_row_index(config.provider(current.name).name))  # type: ignore[union-attr]
        self._describe()
        self._load_keys(config)

    @work(thread=True, exclusive=True, group="provider-keys")
    def _load_keys(self, config: Config) -> None:
        states = {p.name: key_state(p) for p in config.providers}
        self.app.call_from_thread(self._show_keys, states)

    def _show_keys(self, found: dict[str, tuple[str, str]]) -> None:
        self.keys = {name: state for name, (state, _) in found.items()}
        self.key_sources = {name: source for name, (_, source) in found.items()}
        states = self.keys
        table = self.table
        for name, state in states.items():
            if name in table.rows:
                style = "red" if state.endswith(("missing", "unset")) else ""
                table.update_cell(name, "key", Text(state, style=style), update_width=True)
        self._describe()

    @on(DataTable.RowHighlighted)
    def _describe(self) -> None:
        """The selected provider in full: what the catalog knows, where its key comes from, who uses it."""
        p = self.selected()
        detail = self.query_one("#provider-detail", Static)
        if p is None:
            detail.update("No providers yet: press a to add one.")
            return
        used = self.ccm.store.provider_usage(p.name)
        state = self.keys.get(p.name, "…")
        if not self.screen.has_class("-xwide"):  # two lines under the table
            detail.update(
                Text.assemble(
                    (p.name, "bold"),
                    f": {p.spec.label}, {p.wire} format, {AUTH_WORDS.get(p.auth_type, p.auth_type)}, "
                    f"{secrets.shown_url(p.effective_base_url) or 'no base URL'}\n",
                    f"key: {state} · used by: {', '.join(used) or 'no model yet'}",
                )
            )
            return
        out = Text()
        out.append(p.name, style="bold")
        out.append(f"  {p.spec.label}" + ("" if p.enabled else " (disabled)"), style="dim")

        def line(label: str, value: str | Text) -> None:
            out.append(f"\n{label:<9}", style="dim")
            out.append(value)

        line("format", f"{p.wire} · {p.auth_type}")
        line("url", secrets.shown_url(p.effective_base_url) or Text("none: set a base URL", style="red"))
        line("key", Text(state, style="red" if state.endswith(("missing", "unset")) else ""))
        line("used by", ", ".join(used) or Text("no model yet (Models tab)", style="dim"))
        if p.name in self.checks:
            line("check", self.checks[p.name])
        if p.spec.notes:
            line("notes", Text(p.spec.notes, style="dim"))
        detail.update(out)

    def on_resize(self) -> None:
        self._describe()

    # -- add / edit / delete ----------------------------------------------------------------------------
    def action_add(self) -> None:
        self.app.push_screen(ProviderForm(self._save))

    @on(DataTable.RowSelected)
    def action_edit(self) -> None:
        p = self.selected()
        if p is not None:
            self.app.push_screen(ProviderForm(self._save, p, self.keys.get(p.name, "")))

    def _save(self, edit: ProviderEdit) -> str | None:
        fields: dict[str, object] = {
            "provider_type": edit.provider_type,
            "enabled": edit.enabled,
            "auth_type": edit.auth_type,
            "base_url": edit.base_url,
        }
        if edit.api_key_ref is not None:
            fields["api_key"] = edit.api_key_ref
        elif edit.secret is not None:
            fields["api_key"] = None  # the keyring holds it now; a literal or $VAR would take precedence

        def change(store: ConfigStore) -> None:
            store.save_provider(edit.name, fields, old_name=edit.old_name)

        done = f"provider {edit.name} {'added' if edit.old_name is None else 'updated'}"
        renamed = bool(edit.old_name and edit.old_name != edit.name)
        key_work = edit.secret is not None or renamed
        error = self.ccm.apply(change, done, reload=not key_work)
        if error is None and key_work:
            self._store_key(edit.name, edit.secret, edit.old_name if renamed else None, done)
        return error

    @work(thread=True, group="provider-keys-write")
    def _store_key(self, name: str, secret: str | None, old_name: str | None, done: str) -> None:
        """Store a typed key or move a renamed provider's key (keyring calls may block), then reload: the
        proxy must find the key when it reloads."""
        store = secrets.store()
        where: str | None = None
        if secret is not None:
            where = store.set(secrets.key_name(name), secret)
            if old_name:
                store.delete(secrets.key_name(old_name))
        elif old_name:
            store.move(secrets.key_name(old_name), secrets.key_name(name))
        if where is not None:
            place = "the OS keyring" if where == "keyring" else f"{store.file.path.name} (no OS keyring)"
            done = f"{done} · key stored in {place}"
        self.app.call_from_thread(self.ccm.saved, done)
        if self.ccm.config is not None:
            states = {p.name: key_state(p) for p in self.ccm.config.providers}
            self.app.call_from_thread(self._show_keys, states)

    def action_delete(self) -> None:
        p = self.selected()
        if p is None:
            return
        used = self.ccm.store.provider_usage(p.name)
        detail = f"Its mappings in {', '.join(used)} are removed too. " if used else ""
        detail += _leaves(self.key_sources.get(p.name))

        def answer(yes: bool | None) -> None:
            if yes:
                error = self.ccm.apply(lambda store: store.delete_provider(p.name), f"provider {p.name} deleted")
                if error is None:
                    self._forget_key(p.name)

        self.app.push_screen(ConfirmScreen(f"Delete provider {p.name}?", detail), answer)

    @work(thread=True, group="provider-keys-write")
    def _forget_key(self, name: str) -> None:
        secrets.store().delete(secrets.key_name(name))

    def action_toggle_enabled(self) -> None:
        p = self.selected()
        if p is None:
            return
        state = "disabled" if p.enabled else "enabled"
        self.ccm.apply(
            lambda store: store.save_provider(p.name, {"enabled": not p.enabled}, old_name=p.name),
            f"provider {p.name} {state}",
        )

    # -- connection test --------------------------------------------------------------------------------
    def action_test(self) -> None:
        p = self.selected()
        if p is None:
            return
        if not self.ccm.proxy_state.running:
            self.ccm.say("start the proxy first (Overview, s): the test runs through it", "warning")
            return
        self._set_check(p.name, Text("testing…", style="dim"))
        self._test(p.name)

    @work(group="provider-test")
    async def _test(self, name: str) -> None:
        try:
            result = await self.ccm.client.test_provider(name)
        except (ProxyUnreachable, AdminError) as exc:
            self._set_check(name, Text("✗ error", style="red"))
            self.ccm.say(f"test of {name} failed · {exc.message}", "error")
            return
        ok = bool(result.get("ok"))
        status = result.get("status")
        latency = fmt.latency(result.get("latency_ms"))
        label = f"✓ {latency}" if ok else f"✗ {status or 'error'}"
        self._set_check(name, Text(label, style="green" if ok else "red"))
        message = str(result.get("message") or "")
        extra = f" · {message}" if message and message.lower() != "ok" else ""
        self.ccm.say(f"{name}: {'ok' if ok else 'failed'} · {latency}{extra}", "ok" if ok else "error")

    def _set_check(self, name: str, value: Text) -> None:
        self.checks[name] = value
        if name in self.table.rows:
            self.table.update_cell(name, "check", value, update_width=True)
        self._describe()
