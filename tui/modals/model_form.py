"""Add a model (with its first mapping), rename one, or add/edit one mapping.

One form, two uses: `ModelForm(mode="model")` asks for a name (and, for a new model, the first
mapping); `ModelForm(mode="mapping")` asks for a mapping only. The provider is chosen from the
configured providers, so a mapping can never name one that does not exist. While a proxy runs, the
provider's own model list (asked with its credential) is offered to pick the actual model from; prices
are optional (empty: the maintained price table prices the mapping, where it knows the model).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Grid, Horizontal, Vertical
from textual.validation import Integer
from textual.widgets import Button, Input, Label, Select, Static

from tui.modals.form import EditForm

PRICE_FIELDS = (
    ("price_in", "Price in", "USD / 1M input tokens (empty: price table)"),
    ("price_out", "Price out", "USD / 1M output tokens (empty: price table)"),
)
KEPT_KEYS = ("weight", "price_cache_read", "price_cache_write")
"""A mapping's keys this form does not show: an edit keeps them as written."""


@dataclass(frozen=True, slots=True)
class ModelEdit:
    name: str
    """The model's name (unchanged in mapping mode)."""
    mapping: dict[str, object] | None
    """{"provider", "actual_model", "max_output_tokens"?}, or None when only the name was edited."""


class ModelForm(EditForm[ModelEdit]):
    """`on_save` saves and returns None, or returns why it was refused (the form stays open)."""

    def __init__(
        self,
        on_save: Callable[[ModelEdit], str | None],
        providers: list[str],
        *,
        mode: Literal["model", "mapping"] = "model",
        name: str = "",
        mapping: dict[str, object] | None = None,
        title: str = "",
    ) -> None:
        super().__init__(on_save)
        self.providers = providers
        self.mode = mode
        self.model_name = name
        self.mapping = mapping
        self.with_mapping = mode == "mapping" or not name
        self.title_text = title

    def compose(self) -> ComposeResult:
        m = self.mapping or {}
        provider = str(m.get("provider") or (self.providers[0] if self.providers else ""))
        options = [(p, p) for p in self.providers]
        if provider and provider not in self.providers:
            options.append((provider, provider))
        with Vertical(classes="dialog form"):
            yield Static(self.title_text or "Add a model", classes="dialog-title", markup=False)
            with Grid(classes="form-grid"):
                if self.mode == "model":
                    yield Label("Name")
                    yield Input(
                        self.model_name,
                        placeholder="what Claude Code asks for, e.g. glm-4.6",
                        id="name",
                        compact=True,
                    )
                if self.with_mapping:
                    yield Label("Provider")
                    yield Select(
                        options,
                        value=provider or Select.NULL,
                        allow_blank=not options,
                        id="provider",
                        compact=True,
                        prompt="add a provider first",
                    )
                    yield Label("Actual model")
                    yield Input(
                        str(m.get("actual_model") or ""),
                        placeholder="the provider's model id",
                        id="actual_model",
                        compact=True,
                    )
                    yield Label("Its models")
                    yield Select(
                        [], id="model-list", compact=True, prompt="(the provider's list, while the proxy runs)"
                    )
                    yield Label("Max output")
                    max_out = m.get("max_output_tokens")
                    yield Input(
                        str(max_out) if max_out else "",
                        placeholder="optional: clamp max_tokens",
                        id="max_output_tokens",
                        compact=True,
                        type="integer",
                        validators=[Integer(minimum=1)],
                    )
                    for key, label, hint in PRICE_FIELDS:
                        yield Label(label)
                        value = m.get(key)
                        yield Input(
                            "" if value is None else f"{value:g}" if isinstance(value, float) else str(value),
                            placeholder=hint,
                            id=key,
                            compact=True,
                            type="number",
                        )
            yield Static(id="form-error", classes="form-error", markup=False)
            with Horizontal(classes="dialog-buttons"):
                yield Button("Save", id="save", variant="primary")
                yield Button("Cancel", id="cancel")

    def on_mount(self) -> None:
        self.query_one("#name" if self.mode == "model" else "#provider").focus()
        if self.with_mapping:
            self._list_models()

    @on(Select.Changed, "#provider")
    def _provider_changed(self) -> None:
        self._list_models()

    @work(exclusive=True, group="model-list")
    async def _list_models(self) -> None:
        from tui.client import AdminError, ProxyUnreachable

        provider = self.query_one("#provider", Select).value
        select: Select[str] = self.query_one("#model-list", Select)
        select.set_options([])
        if provider is Select.NULL or not getattr(self.app, "proxy_state", None) or not self.app.proxy_state.running:  # type: ignore[attr-defined]
            return
        try:
            models = await self.app.client.provider_models(str(provider))  # type: ignore[attr-defined]
        except (ProxyUnreachable, AdminError):
            models = None
        select.set_options([(m, m) for m in models or []])

    @on(Select.Changed, "#model-list")
    def _model_picked(self, event: Select.Changed) -> None:
        if event.value is not Select.NULL:
            self.query_one("#actual_model", Input).value = str(event.value)

    def _edit(self) -> ModelEdit | str:
        name = self.model_name
        if self.mode == "model":
            name = self.query_one("#name", Input).value.strip()
            if not name:
                return "a model needs a name"
            if "," in name:
                return "a model name cannot contain ',' (that selects a provider explicitly)"
        if not self.with_mapping:
            return ModelEdit(name, None)
        provider = self.query_one("#provider", Select).value
        if provider is Select.NULL:
            return "add a provider first (Providers tab)"
        actual = self.query_one("#actual_model", Input).value.strip()
        if not actual:
            return "which model of the provider? (actual model)"
        kept = {k: v for k, v in (self.mapping or {}).items() if k in KEPT_KEYS and v is not None}
        mapping: dict[str, object] = {"provider": str(provider), "actual_model": actual, **kept}
        for key, label, _hint in PRICE_FIELDS:
            raw = self.query_one(f"#{key}", Input).value.strip()
            if raw:
                try:
                    price = float(raw)
                except ValueError:
                    return f"{label.lower()} must be a number (USD per million tokens)"
                if price < 0 or price != price or price == float("inf"):
                    return f"{label.lower()} must be a number >= 0"
                mapping[key] = price
        raw_max = self.query_one("#max_output_tokens", Input).value.strip()
        if raw_max:
            if not raw_max.isdigit() or int(raw_max) < 1:
                return "max output must be a whole number of tokens"
            mapping["max_output_tokens"] = int(raw_max)
        return ModelEdit(name, mapping)
