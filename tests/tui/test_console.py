"""Test tab against a real proxy subprocess (`python -m ccm serve`) and a fake upstream: the answer
streams in, then the proxy's route, provider, attempts, latency and usage are shown."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from textual.widgets import Checkbox, Input, Select

from tests.fakes.upstream import FakeUpstream, Reply, anthropic_message, anthropic_stream
from tests.tui.conftest import RunningProxy
from tests.tui.helpers import proxied_config, settle, type_into, wait_for
from tui.app import CcmApp


def text_of(app: CcmApp, selector: str) -> str:
    return str(app.query_one(selector).render())


async def test_console_streams_through_a_real_proxy_process(
    make_app: Callable[..., CcmApp],
    isolated_env: Path,
    upstream: FakeUpstream,
    proxy_process: Callable[[Path], RunningProxy],
) -> None:
    config = proxied_config(isolated_env / "config.toml", upstream.url)
    upstream.script(
        Reply.stream(anthropic_stream("Hello from the fake upstream", model="fake-fast", pieces=4)),
        Reply(200, json=anthropic_message("thought it through", model="fake-deep", input_tokens=12, output_tokens=3)),
        Reply.error(529, "overloaded", "overloaded_error"),
    )
    proxy_process(config)
    app = make_app(config)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        assert app.proxy_state.running
        await pilot.press("f7")
        await settle(pilot)
        assert app.focused is not None and app.focused.id == "message"

        # 1. As Claude Code would: a claude-* name, auto-mapped to the default model, streamed.
        await type_into(pilot, "#message", "Say hello")
        await pilot.press("enter")
        await wait_for(pilot, lambda: "rule" in text_of(app, "#console-meta"))
        assert text_of(app, "#answer") == "Hello from the fake upstream"
        meta = text_of(app, "#console-meta")
        assert "status 200" in meta and "rule default" in meta and "model fast" in meta
        assert "provider fake · fake-fast" in meta and "attempts 1" in meta and "out 5" in meta
        sent = upstream.received[0].json
        assert sent["model"] == "fake-fast" and sent["stream"] is True
        assert sent["messages"] == [{"role": "user", "content": "Say hello"}]
        message = app.query_one("#message", Input)
        assert message.value == ""  # cleared: the next message is not glued to this one
        await pilot.press("up")
        assert message.value == "Say hello"  # the history, as in a shell
        await pilot.press("down")
        assert message.value == ""

        # 2. Thinking on, streaming off: the think rule fires, the JSON answer is shown.
        app.query_one("#thinking", Checkbox).value = True
        app.query_one("#stream", Checkbox).value = False
        await type_into(pilot, "#message", "Think")
        await pilot.press("enter")
        await wait_for(pilot, lambda: "rule think" in text_of(app, "#console-meta"))
        assert text_of(app, "#answer") == "thought it through"
        assert "in 12 · out 3" in text_of(app, "#console-meta")
        assert upstream.received[1].json["thinking"] == {"type": "enabled", "budget_tokens": 1024}
        await pilot.press("up", "up")
        assert message.value == "Say hello"
        await pilot.press("down")
        assert message.value == "Think"

        # 3. A configured model by name, and an upstream failure: the proxy's error and headers are shown.
        app.query_one("#thinking", Checkbox).value = False
        app.query_one("#console-model", Select).value = "fast"
        await type_into(pilot, "#message", "again")
        await pilot.press("enter")
        await wait_for(pilot, lambda: "status 529" in text_of(app, "#console-meta"))
        assert "overloaded" in text_of(app, "#answer")
        assert "attempts 1" in text_of(app, "#console-meta")

        # The Logs tab saw all three through /api/requests/stream.
        await wait_for(pilot, lambda: len(app.requests) == 3)
        assert [i["status"] for i in app.requests] == [200, 200, 529]


async def test_console_says_when_the_proxy_is_stopped(make_app: Callable[..., CcmApp]) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("f7")
        await settle(pilot)
        await type_into(pilot, "#message", "hello")
        await pilot.press("enter")
        await settle(pilot)
        assert "start the proxy first" in text_of(app, "#status-message")


async def test_after_a_tab_press_typing_and_enter_still_send(
    make_app: Callable[..., CcmApp],
    isolated_env: Path,
    upstream: FakeUpstream,
    proxy_in_thread: Callable[[Path], RunningProxy],
) -> None:
    config = proxied_config(isolated_env / "config.toml", upstream.url)
    upstream.script(Reply(200, json=anthropic_message("first")), Reply(200, json=anthropic_message("second")))
    proxy_in_thread(config)
    app = make_app(config)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("f7")
        await settle(pilot)
        assert app.focused is not None and app.focused.id == "message"
        await pilot.press("tab")  # the focus leaves the message line, for the Send button
        assert app.focused is not None and app.focused.id == "send"
        await pilot.press(*"hi")  # typing still reaches the message line
        assert app.query_one("#message", Input).value == "hi"
        await pilot.press("tab", "tab")
        assert app.focused is not None and app.focused.id == "answer-scroll"
        await pilot.press("enter")  # and Enter sends, wherever the focus is in the tab
        await wait_for(pilot, lambda: text_of(app, "#answer") == "first")
        assert app.focused is not None and app.focused.id == "answer-scroll"
        await pilot.press(*"again")  # from the answer too
        assert app.query_one("#message", Input).value == "again"
        await pilot.press("tab")
        await pilot.press("enter")  # the Send button
        await wait_for(pilot, lambda: text_of(app, "#answer") == "second")
        assert len(upstream.received) == 2
