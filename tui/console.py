"""Test tab: send one message through the running proxy and watch it come back.

The request is what Claude Code would send (POST /v1/messages, anthropic-version, the router key when
one is set), so what you see is what Claude Code gets: the streamed answer, then the proxy's `x-ccm-*`
headers (rule, routed model, provider, attempts), the latency and the token usage.
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.widget import Widget
from textual.widgets import Button, Checkbox, Input, Select, Static

from ccm.sse import SSEParser
from config.schema import Config
from tui import format as fmt
from tui.base import CcmView
from tui.client import ProxyUnreachable, error_message

if TYPE_CHECKING:
    import httpx

#: What Claude Code asks for: its main model and its background (haiku) model; the router maps them.
CLAUDE_CODE_MODELS = (
    ("as Claude Code would · claude-opus-5-5", "claude-opus-5-5"),
    ("as Claude Code's background tasks · claude-haiku-4-5", "claude-haiku-4-5"),
)


class Exchange:
    """One request's answer as it arrives: text, thinking, usage, timing, and the proxy's headers."""

    def __init__(self) -> None:
        self.started = time.monotonic()
        self.first_byte: float | None = None
        self.finished: float | None = None
        self.text = Text()
        self.usage: dict[str, int] = {}
        self.stop_reason: str | None = None
        self.error: str | None = None
        self.headers: dict[str, str] = {}
        self.status: int | None = None

    def mark_first(self) -> None:
        if self.first_byte is None:
            self.first_byte = time.monotonic()

    def add_event(self, name: str, data: dict[str, Any]) -> None:
        """Fold one Anthropic stream event into the answer."""
        if name == "message_start":
            self.usage.update(data.get("message", {}).get("usage") or {})
        elif name == "content_block_start":
            block = data.get("content_block") or {}
            if self.text and block.get("type") in ("text", "thinking"):
                self.text.append("\n\n")
        elif name == "content_block_delta":
            delta = data.get("delta") or {}
            if delta.get("type") == "text_delta":
                self.mark_first()
                self.text.append(str(delta.get("text", "")))
            elif delta.get("type") == "thinking_delta":
                self.mark_first()
                self.text.append(str(delta.get("thinking", "")), style="dim italic")
        elif name == "message_delta":
            self.usage.update(data.get("usage") or {})
            self.stop_reason = (data.get("delta") or {}).get("stop_reason") or self.stop_reason
        elif name == "error":
            self.error = str((data.get("error") or {}).get("message") or data)

    def add_message(self, data: dict[str, Any]) -> None:
        """A whole (non-streaming) answer."""
        self.mark_first()
        for i, block in enumerate(data.get("content") or []):
            if i:
                self.text.append("\n\n")
            if block.get("type") == "thinking":
                self.text.append(str(block.get("thinking", "")), style="dim italic")
            elif block.get("type") == "text":
                self.text.append(str(block.get("text", "")))
        self.usage.update(data.get("usage") or {})
        self.stop_reason = data.get("stop_reason")

    def summary(self) -> Text:
        h = self.headers
        out = Text()

        def field(label: str, value: object, style: str = "bold") -> None:
            if out:
                out.append("  ")
            out.append(f"{label} ", style="dim")
            out.append(str(value), style=style)

        if self.status is not None:
            field("status", self.status, "bold green" if self.status < 400 else "bold red")
        field("rule", h.get("x-ccm-route", "?"), "bold magenta")
        field("model", h.get("x-ccm-model", "?"))
        provider = h.get("x-ccm-provider")
        if provider:
            field("provider", f"{provider} · {h.get('x-ccm-actual-model', '?')}", "bold cyan")
        field("attempts", h.get("x-ccm-attempts", "?"))
        end = self.finished or time.monotonic()
        if self.first_byte is not None:
            field("first token", fmt.latency((self.first_byte - self.started) * 1000), "")
        field("total", fmt.latency((end - self.started) * 1000), "")
        if self.usage:
            field(
                "tokens",
                f"in {fmt.tokens(self.usage.get('input_tokens'))} · out {fmt.tokens(self.usage.get('output_tokens'))}",
                "",
            )
        if self.stop_reason:
            field("stop", self.stop_reason, "")
        return out


class MessageInput(Input):
    """The message line: cleared after each send, with the messages sent so far on ↑ / ↓ (as a shell)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "history(-1)", "Previous", show=False),
        Binding("down", "history(1)", "Next", show=False),
    ]

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self.history: list[str] = []
        self._at = 0
        """Where ↑/↓ is in the history; len(history) is the fresh line."""

    def sent(self, text: str) -> None:
        """Remember a sent message and clear the line for the next one."""
        if not self.history or self.history[-1] != text:
            self.history.append(text)
        self._at = len(self.history)
        self.value = ""

    def action_history(self, step: int) -> None:
        if not self.history:
            return
        self._at = max(0, min(len(self.history), self._at + step))
        self.value = self.history[self._at] if self._at < len(self.history) else ""
        self.cursor_position = len(self.value)


class ConsoleView(CcmView):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+t", "flip('thinking')", "Thinking", id="console.thinking", tooltip="Ask for thinking"),
        Binding("ctrl+o", "flip('stream')", "Stream", id="console.stream", tooltip="Stream the answer"),
    ]

    def compose(self) -> ComposeResult:
        with Horizontal(id="console-controls"):
            yield Select(
                self._options(self.ccm.config),
                value=CLAUDE_CODE_MODELS[0][1],
                allow_blank=False,
                id="console-model",
                compact=True,
            )
            yield Checkbox("Thinking", id="thinking", compact=True)
            yield Checkbox("Stream", True, id="stream", compact=True)
        with Horizontal(id="console-input"):
            yield MessageInput(
                placeholder="Type a message and press Enter (↑ for the last ones)",
                id="message",
                compact=True,
                select_on_focus=False,  # a key typed elsewhere in the tab lands here, and is not replaced
            )
            yield Button("Send", id="send", variant="primary", compact=True)
        with VerticalScroll(id="answer-scroll", classes="panel") as scroll:
            scroll.border_title = "Answer"
            yield Static(id="answer")
        yield Static(id="console-meta")

    def on_mount(self) -> None:
        self.ccm.config_changed.subscribe(self, self._config_changed)
        self.query_one("#answer", Static).update(Text("Answers appear here.", style="dim"))

    def default_focus(self) -> Widget | None:
        return self.query_one("#message")

    def on_key(self, event: events.Key) -> None:
        """Wherever the focus is in this tab (one Tab press takes it off the message line), typing goes on
        in the message line and Enter sends: the tab never goes silently dead."""
        focused = self.app.focused
        message = self.query_one("#message", MessageInput)
        if focused is message or isinstance(focused, Input | Select):  # these take their own keys
            return
        if event.key == "enter" and not isinstance(focused, Button | Checkbox):  # those press and tick
            event.stop()
            event.prevent_default()
            self.send()
        elif event.is_printable and event.character:
            event.stop()
            event.prevent_default()
            message.focus()
            message.insert_text_at_cursor(event.character)

    @staticmethod
    def _options(config: Config | None) -> list[tuple[str, str]]:
        models = [(f"{n}", n) for n in config.model_names] if config else []
        return [*CLAUDE_CODE_MODELS, *models]

    def _config_changed(self, config: Config) -> None:
        select: Select[str] = self.query_one("#console-model", Select)
        current = select.value
        select.set_options(self._options(config))
        values = [v for _, v in self._options(config)]
        select.value = current if current in values else CLAUDE_CODE_MODELS[0][1]

    def action_flip(self, which: str) -> None:
        box = self.query_one(f"#{which}", Checkbox)
        box.value = not box.value

    @on(Input.Submitted, "#message")
    @on(Button.Pressed, "#send")
    def send(self) -> None:
        message = self.query_one("#message", Input)
        text = message.value.strip()
        if not text:
            message.focus()
            self.ccm.say("type a message first (it is sent with Enter)", "info")
            return
        if not self.ccm.proxy_state.running:
            self.ccm.say("start the proxy first (Overview, s): the test goes through it", "warning")
            return
        thinking = self.query_one("#thinking", Checkbox).value
        body: dict[str, Any] = {
            "model": str(self.query_one("#console-model", Select).value),
            "max_tokens": 2048 if thinking else 1024,
            "messages": [{"role": "user", "content": text}],
            "stream": self.query_one("#stream", Checkbox).value,
        }
        if thinking:
            body["thinking"] = {"type": "enabled", "budget_tokens": 1024}
        self.query_one("#message", MessageInput).sent(text)
        self.query_one("#answer", Static).update(Text("…", style="dim"))
        self.query_one("#console-meta", Static).update(Text(f"sending to {body['model']}…", style="dim"))
        self._send(body)

    @work(exclusive=True, group="console")
    async def _send(self, body: dict[str, Any]) -> None:
        ex = Exchange()
        try:
            async with self.ccm.client.messages(body) as response:
                ex.status = response.status_code
                ex.headers = {k.lower(): v for k, v in response.headers.items() if k.lower().startswith("x-ccm-")}
                if response.status_code >= 400:
                    await response.aread()
                    ex.error = error_message(response)
                elif "text/event-stream" in response.headers.get("content-type", ""):
                    await self._stream(response, ex)
                else:
                    ex.add_message(json.loads(await response.aread()))
        except ProxyUnreachable as exc:
            ex.error = exc.message
        except ValueError as exc:
            ex.error = f"the proxy's answer is not valid JSON: {exc}"
        ex.finished = time.monotonic()
        self._show(ex, done=True)

    async def _stream(self, response: httpx.Response, ex: Exchange) -> None:
        parser = SSEParser()
        async for chunk in response.aiter_bytes():
            for event in parser.feed(chunk):
                try:
                    data = event.json()
                except ValueError:
                    continue
                if isinstance(data, dict):
                    ex.add_event(event.event, data)
            self._show(ex)

    def _show(self, ex: Exchange, done: bool = False) -> None:
        answer = ex.text.copy()
        if ex.error:
            if answer:
                answer.append("\n\n")
            answer.append(f"✗ {ex.error}", style="bold red")
        self.query_one("#answer", Static).update(answer if answer else Text("(empty answer)", style="dim"))
        self.query_one("#answer-scroll", VerticalScroll).scroll_end(animate=False)
        if done:
            self.query_one("#console-meta", Static).update(ex.summary())
