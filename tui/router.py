"""Router tab: which model each rule sends to, the two regexes, and a live "which rule fires" preview.

Slots save as soon as a new model is picked. Regexes are checked on every keystroke (with the same
compiler the proxy uses, so Rust-style `^(?i)claude` is fine) and saved on Enter or when the field is
left, only when valid. The preview runs ccm.routing on a request built from the flags, against the
config as saved, so it shows exactly what the proxy will do.
"""

from __future__ import annotations

import re
from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Grid, Horizontal, Vertical, VerticalScroll
from textual.validation import Function, Integer
from textual.widget import Widget
from textual.widgets import Checkbox, Input, Label, Select, Static

from ccm.routing import BYTES_PER_TOKEN, resolve, route
from config.errors import RoutingError
from config.load import compile_regex
from config.schema import DEFAULT_AUTO_MAP, DEFAULT_BACKGROUND, Config
from tui.base import CcmView

SLOTS: tuple[tuple[str, str, str], ...] = (
    ("default", "Default", "every request no other rule takes"),
    ("think", "Think", "thinking enabled (plan mode)"),
    ("background", "Background", "model matches the background regex"),
    ("websearch", "Web search", "a web_search tool is offered"),
    ("long_context", "Long context", "input above the threshold"),
)
REGEXES = (
    ("auto_map_regex", "Auto-map regex", DEFAULT_AUTO_MAP),
    ("background_regex", "Background regex", DEFAULT_BACKGROUND),
)


def regex_problem(pattern: str) -> str | None:
    """Why a router regex would be refused, or None ("" means the default and is fine)."""
    try:
        compile_regex(pattern)
    except re.error as exc:
        return str(exc)
    return None


class RouterView(CcmView):
    def compose(self) -> ComposeResult:
        config = self.ccm.config
        names = [(n, n) for n in config.model_names] if config else []
        with VerticalScroll(id="router-columns"):
            with Vertical(id="router-rules", classes="panel") as rules:
                rules.border_title = "Rules"
                with Grid(classes="form-grid"):
                    for slot, label, _ in SLOTS:
                        yield Label(label)
                        yield Select(
                            names,
                            id=f"slot-{slot}",
                            compact=True,
                            allow_blank=slot != "default",
                            prompt="off",
                            tooltip=dict((s, h) for s, _, h in SLOTS)[slot],
                        )
                    yield Label("Threshold")
                    yield Input(
                        id="long_context_threshold",
                        compact=True,
                        type="integer",
                        validators=[Integer(minimum=1)],
                        tooltip="long context: estimated input tokens above this",
                    )
                    for key, label, default in REGEXES:
                        yield Label(label)
                        yield Input(
                            id=key,
                            compact=True,
                            placeholder=default,
                            validators=[Function(lambda v: regex_problem(v) is None, "invalid regex")],
                        )
                yield Static(id="regex-status", markup=False)
            with Vertical(id="router-preview", classes="panel") as preview:
                preview.border_title = "Which rule fires?"
                with Grid(classes="form-grid"):
                    yield Label("Model asked")
                    yield Input("claude-opus-5-5", id="preview-model", compact=True)
                    yield Label("Tokens")
                    yield Input("1000", id="preview-tokens", compact=True, type="integer")
                    yield Label("Subagent tag")
                    yield Select([], id="preview-subagent", compact=True, prompt="none")
                with Horizontal(id="preview-flags"):
                    yield Checkbox("Thinking", id="preview-thinking", compact=True)
                    yield Checkbox("Web search", id="preview-websearch", compact=True)
                yield Static(id="preview-result")

    def on_mount(self) -> None:
        self.ccm.config_changed.subscribe(self, self._draw)
        if self.ccm.config is not None:
            self._draw(self.ccm.config)

    def default_focus(self) -> Widget | None:
        return self.query_one("#slot-default")

    def _draw(self, config: Config) -> None:
        """Show the saved values (a value that is not a model name, like `provider,model`, is kept)."""
        names = config.model_names
        router = config.router
        for slot, _, _ in SLOTS:
            select: Select[str] = self.query_one(f"#slot-{slot}", Select)
            value = getattr(router, slot) or None
            options = [(n, n) for n in names]
            if value and value not in names:
                options.append((value, value))
            select.set_options(options)
            if value:
                select.value = value
            elif slot != "default":
                select.clear()
        self._set_input("long_context_threshold", str(router.long_context_threshold))
        self._set_input("auto_map_regex", router.auto_map_regex)
        self._set_input("background_regex", router.background_regex)
        subagent: Select[str] = self.query_one("#preview-subagent", Select)
        current = subagent.value
        subagent.set_options([(n, n) for n in names])
        if current in names:
            subagent.value = current
        self._preview()

    def _set_input(self, key: str, value: str) -> None:
        widget = self.query_one(f"#{key}", Input)
        if widget.value != value and not widget.has_focus:
            widget.value = value

    # -- saving -------------------------------------------------------------------------------------------
    @on(Select.Changed, ".form-grid Select")
    def _slot_changed(self, event: Select.Changed) -> None:
        widget_id = event.select.id or ""
        if not widget_id.startswith("slot-") or self.ccm.config is None:
            self._preview()
            return
        slot = widget_id.removeprefix("slot-")
        # The select's value now, not the event's: redrawing (set_options, then value) posts intermediate
        # Changed events that must not be saved.
        selected = event.select.value
        value = "" if selected is Select.NULL else str(selected)
        current = getattr(self.ccm.config.router, slot) or ""
        if value == current:
            return
        shown = value or "off"
        self.ccm.apply(lambda store: store.set_router(slot, value), f"router {slot} → {shown}")

    @on(Input.Changed, "#auto_map_regex, #background_regex")
    def _regex_typed(self, event: Input.Changed) -> None:
        problem = regex_problem(event.value)
        status = self.query_one("#regex-status", Static)
        if problem:
            status.update(Text(f"✗ {event.input.id}: {problem} (not saved)", style="red"))
        else:
            status.update("")
            self.ccm.withdraw(f"not saved · {event.input.id}: ")
        status.display = bool(problem)

    @on(Input.Submitted, "#auto_map_regex, #background_regex, #long_context_threshold")
    @on(Input.Blurred, "#auto_map_regex, #background_regex, #long_context_threshold")
    def _commit(self, event: Input.Submitted | Input.Blurred) -> None:
        config = self.ccm.config
        key = event.input.id or ""
        if config is None:
            return
        value: str | int = event.value.strip()
        if key == "long_context_threshold":
            if not str(value).isdigit() or int(value) < 1:
                self.ccm.say("not saved · the threshold must be a whole number of tokens above 0", "error")
                return
            self.ccm.withdraw("not saved · the threshold")
            value = int(value)
            if value == config.router.long_context_threshold:
                return
        else:
            problem = regex_problem(str(value))
            if problem:
                self.ccm.say(f"not saved · {key}: invalid regex: {problem}", "error")
                return
            if value == getattr(config.router, key) or (
                value == "" and getattr(config.router, key) in (DEFAULT_AUTO_MAP, DEFAULT_BACKGROUND)
            ):
                return
        self.ccm.apply(lambda store: store.set_router(key, value), f"router {key} = {value!r}")

    # -- preview ------------------------------------------------------------------------------------------
    @on(Input.Changed, "#preview-model, #preview-tokens")
    @on(Checkbox.Changed)
    def _preview(self) -> None:
        config = self.ccm.config
        if config is None:
            return
        result = self.query_one("#preview-result", Static)
        body, size = self._preview_request()
        try:
            decision = route(body, config, body_size=size)
        except RoutingError as exc:
            result.update(Text(f"✗ {exc.message}", style="red"))
            return
        out = Text()
        out.append("rule   ", style="dim")
        out.append(decision.rule, style="bold magenta")
        out.append("\nmodel  ", style="dim")
        out.append(decision.model, style="bold")
        try:
            chain = resolve(decision.model, config, decision.original_model)
        except RoutingError as exc:
            out.append(f"\n✗ {exc.message}", style="red")
        else:
            for i, attempt in enumerate(chain, start=1):
                out.append(f"\n{i}. ", style="dim")
                out.append(attempt.provider.name, style="cyan")
                out.append(f" · {attempt.actual_model}")
        result.update(out)

    def _preview_request(self) -> tuple[dict[str, Any], int]:
        """A /v1/messages body with the chosen flags, and a body size giving the chosen token estimate."""
        body: dict[str, Any] = {
            "model": self.query_one("#preview-model", Input).value.strip(),
            "messages": [{"role": "user", "content": "hi"}],
        }
        if self.query_one("#preview-thinking", Checkbox).value:
            body["thinking"] = {"type": "enabled", "budget_tokens": 1024}
        if self.query_one("#preview-websearch", Checkbox).value:
            body["tools"] = [{"type": "web_search_20250305", "name": "web_search"}]
        subagent = self.query_one("#preview-subagent", Select).value
        if subagent is not Select.NULL:
            body["system"] = f"<CCM-SUBAGENT-MODEL>{subagent}</CCM-SUBAGENT-MODEL>"
        raw = self.query_one("#preview-tokens", Input).value.strip()
        tokens = min(int(raw), 10**9) if raw.isdigit() else 0  # a pasted 400-digit count is too big for a float
        return body, int((tokens + 1) * BYTES_PER_TOKEN)
