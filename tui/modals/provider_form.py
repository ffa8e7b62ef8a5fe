"""Add or edit a provider: type from the catalog (fills base URL and auth), key into the keyring.

The form never writes a typed key to the config: it returns it as `secret` and the Providers tab stores
it with config.secrets (keyring, else the 0600 file). A value written `$VAR` is a reference, not a
secret, and goes to the config file as `api_key = "$VAR"`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from textual import on
from textual.app import ComposeResult
from textual.containers import Grid, Horizontal, Vertical
from textual.widgets import Button, Checkbox, Input, Label, Select, Static

from config.catalog import CATALOG, lookup
from config.schema import ProviderConfig
from config.secrets import env_reference
from tui.modals.form import EditForm

PASSTHROUGH_TYPES = ("anthropic", "anthropic-compatible")
"""Types that may forward the client's own login (config.load allows passthrough only there)."""
NO_KEY_AUTH = ("oauth", "passthrough")


@dataclass(frozen=True, slots=True)
class ProviderEdit:
    name: str
    provider_type: str
    auth_type: str
    base_url: str | None
    """None: use the catalog's URL (nothing written to the file)."""
    enabled: bool
    api_key_ref: str | None
    """A "$VAR" to write as api_key; None leaves the file's api_key as it is."""
    secret: str | None
    """A typed key for the keyring (never the file); None when none was typed."""
    old_name: str | None


class ProviderForm(EditForm[ProviderEdit]):
    """`on_save` saves the edit and returns None, or returns why it was refused (the form stays open)."""

    def __init__(
        self,
        on_save: Callable[[ProviderEdit], str | None],
        provider: ProviderConfig | None = None,
        key_state: str = "",
    ) -> None:
        super().__init__(on_save)
        self.provider = provider
        self.key_state = key_state

    def compose(self) -> ComposeResult:
        p = self.provider
        ptype = p.provider_type if p else "anthropic"
        spec = CATALOG.get(ptype)
        types = [(f"{s.label}  ({s.type})", s.type) for s in CATALOG.values()]
        with Vertical(classes="dialog form"):
            yield Static(f"Edit provider {p.name}" if p else "Add a provider", classes="dialog-title", markup=False)
            with Grid(classes="form-grid"):
                yield Label("Name")
                yield Input(p.name if p else "", placeholder="e.g. zai", id="name", compact=True)
                yield Label("Type")
                yield Select(types, value=ptype, allow_blank=False, id="type", compact=True)
                yield Label("Base URL")
                url = (p.base_url if p and p.base_url else (spec.base_url if spec else "")) or ""
                yield Input(url, placeholder="required for this type", id="base_url", compact=True)
                yield Label("Auth")
                yield Select(
                    self._auth_options(ptype),
                    value=p.auth_type if p else "apikey",
                    allow_blank=False,
                    id="auth",
                    compact=True,
                )
                yield Label("API key")
                yield Input(password=True, placeholder=self._key_placeholder(), id="key", compact=True)
                yield Label("Enabled")
                yield Checkbox("send requests to this provider", p.enabled if p else True, id="enabled", compact=True)
            yield Static(id="type-notes", classes="form-note", markup=False)
            yield Static(id="form-error", classes="form-error", markup=False)
            with Horizontal(classes="dialog-buttons"):
                yield Button("Save", id="save", variant="primary")
                yield Button("Cancel", id="cancel")

    def on_mount(self) -> None:
        self.query_one("#name", Input).focus()
        self._describe(self.query_one("#type", Select).value)

    def _key_placeholder(self) -> str:
        if self.key_state:
            return f"{self.key_state} · type to replace"
        return "paste a key (kept in the OS keyring), or $ENV_VAR"

    @staticmethod
    def _auth_options(ptype: str) -> list[tuple[str, str]]:
        spec = lookup(ptype)
        options = [("API key", "apikey")]
        if spec is not None and spec.type in PASSTHROUGH_TYPES:
            options.append(("Claude Code's login (passthrough)", "passthrough"))
        if spec is not None and spec.oauth and spec.oauth_wire:  # a login ccm has (ChatGPT), not Claude's or Gemini's
            options.append(("OAuth (subscription)", "oauth"))
        return options

    def _describe(self, ptype: object) -> None:
        spec = lookup(str(ptype))
        notes = ""
        if spec is not None:
            notes = f"{spec.wire} format"
            if spec.notes:
                notes += f" · {spec.notes}"
            if spec.key_env:
                notes += f" · key also read from ${spec.key_env}"
        self.query_one("#type-notes", Static).update(notes)

    @on(Select.Changed, "#type")
    def _type_changed(self, event: Select.Changed) -> None:
        """A new type fills the base URL (unless the user typed their own) and the auth choices."""
        spec = lookup(str(event.value))
        if spec is None:
            return
        url = self.query_one("#base_url", Input)
        defaults = {s.base_url for s in CATALOG.values()}
        if not url.value or url.value in defaults:
            url.value = spec.base_url or ""
        auth = self.query_one("#auth", Select)
        current = auth.value
        options = self._auth_options(spec.type)
        auth.set_options(options)
        auth.value = current if current in {value for _, value in options} else "apikey"
        self._describe(spec.type)

    @on(Select.Changed, "#auth")
    def _auth_changed(self, event: Select.Changed) -> None:
        key = self.query_one("#key", Input)
        key.disabled = event.value in NO_KEY_AUTH

    def _edit(self) -> ProviderEdit | str:
        name = self.query_one("#name", Input).value.strip()
        if not name:
            return "a provider needs a name"
        if "," in name:
            return "a provider name cannot contain ',' (it separates provider and model)"
        ptype = str(self.query_one("#type", Select).value)
        spec = lookup(ptype)
        url = self.query_one("#base_url", Input).value.strip()
        if spec is not None and not url and spec.base_url is None:
            return f"{spec.label} needs a base URL"
        base_url = None if (spec is not None and url == (spec.base_url or "")) or not url else url
        key = self.query_one("#key", Input).value.strip()
        auth = str(self.query_one("#auth", Select).value)
        ref = key if env_reference(key) else None
        secret = key if key and ref is None and auth not in NO_KEY_AUTH else None
        return ProviderEdit(
            name=name,
            provider_type=ptype,
            auth_type=auth,
            base_url=base_url,
            enabled=self.query_one("#enabled", Checkbox).value,
            api_key_ref=ref,
            secret=secret,
            old_name=self.provider.name if self.provider else None,
        )
