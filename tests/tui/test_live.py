"""Overview, Logs and OAuth against a real proxy (Hypercorn in a thread, found through its pid file):
live requests, filters, a proxy that dies mid-session and comes back, the OAuth token API."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from textual.widgets import Checkbox, DataTable, Select

from tests.e2e.harness import free_port
from tests.fakes.upstream import FakeUpstream, Reply, anthropic_message
from tests.tui.conftest import RunningProxy
from tests.tui.helpers import proxied_config, settle, wait_for
from tui.app import CcmApp
from tui.oauth import OAuthView


def text_of(app: CcmApp, selector: str) -> str:
    return str(app.query_one(selector).render())


def _send(url: str, model: str, key: str | None) -> int:
    body = {"model": model, "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]}
    headers = {"anthropic-version": "2023-06-01", **({"x-api-key": key} if key else {})}
    return httpx.post(f"{url}/v1/messages", json=body, headers=headers, trust_env=False).status_code


async def send(url: str, model: str = "claude-sonnet-4-5", key: str | None = None) -> int:
    """One request as Claude Code sends it, from a thread (the app's loop keeps running meanwhile)."""
    return await asyncio.to_thread(_send, url, model, key)


async def test_overview_and_logs_follow_a_live_proxy(
    make_app: Callable[..., CcmApp],
    isolated_env: Path,
    upstream: FakeUpstream,
    proxy_in_thread: Callable[[Path], RunningProxy],
) -> None:
    config = proxied_config(isolated_env / "config.toml", upstream.url)
    upstream.script(
        Reply(200, json=anthropic_message("ok")), Reply.error(500, "boom"), Reply(200, json=anthropic_message())
    )
    proxy = proxy_in_thread(config)
    app = make_app(config, poll_interval=0.1)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        state = text_of(app, "#proxy-state")
        assert "● running" in state and proxy.url in state and "pid 4242 · up 1m 15s" in state
        assert "proxy running" in app.sub_title

        assert await send(proxy.url) == 200
        assert await send(proxy.url, "deep") == 500
        recent = app.query_one("#recent", DataTable)
        await wait_for(pilot, lambda: recent.row_count == 2)
        assert str(recent.get_row_at(0)[1]) == "500" and str(recent.get_row_at(1)[1]) == "200"  # newest first
        assert recent.get_row_at(1)[5] == "claude-sonnet-4-5 → fast"
        # sized from the rows themselves, never left at the headers' widths for a repaint to fix
        widths = {str(c.label): (c.auto_width, c.width) for c in recent.columns.values()}
        assert widths["Model"] == (False, len("claude-sonnet-4-5 → fast"))
        assert not any(auto for auto, _ in widths.values())

        await pilot.press("f8")
        await settle(pilot)
        logs = app.query_one("#logs-table", DataTable)
        assert logs.row_count == 2 and logs.cursor_row == 1  # follow mode: the newest row
        assert "boom" in text_of(app, "#log-detail")
        app.query_one("#status-filter", Select).value = "error"
        await settle(pilot)
        assert logs.row_count == 1
        app.query_one("#status-filter", Select).value = "ok"
        await settle(pilot)
        assert logs.row_count == 1 and logs.get_row_at(0)[3] == "fast"
        app.query_one("#status-filter", Select).value = "all"
        app.query_one("#provider-filter", Select).value = "fake"
        await settle(pilot)
        assert logs.row_count == 1  # the provider that answered; the failed request has none
        app.query_one("#provider-filter", Select).clear()
        await settle(pilot)

        # The proxy dies: the app notices within a poll and says so; nothing hangs.
        proxy.stop()
        await wait_for(pilot, lambda: not app.proxy_state.running)
        await settle(pilot)
        assert "proxy stopped" in app.sub_title
        assert logs.row_count == 2  # what was seen stays

        # It comes back (on another port): the feed reconnects and new requests show up live.
        again = proxy_in_thread(config)
        await wait_for(pilot, lambda: app.proxy_state.running)
        assert await send(again.url) == 200
        await wait_for(pilot, lambda: logs.row_count == 3)
        assert logs.cursor_row == 2  # still following
        await pilot.press("f")
        assert app.query_one("#follow", Checkbox).value is False
        await pilot.press("f2")
        await settle(pilot)
        assert again.url in text_of(app, "#proxy-state")


async def test_saving_reloads_the_running_proxy(
    make_app: Callable[..., CcmApp],
    isolated_env: Path,
    upstream: FakeUpstream,
    proxy_in_thread: Callable[[Path], RunningProxy],
) -> None:
    config = proxied_config(isolated_env / "config.toml", upstream.url)
    proxy = proxy_in_thread(config)
    app = make_app(config)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        app.apply(lambda store: store.set_router("think", "fast"), "router think → fast")
        await settle(pilot)
        assert text_of(app, "#status-message") == "router think → fast · saved · reloaded"
        async with httpx.AsyncClient(trust_env=False) as client:
            view = (await client.get(f"{proxy.url}/api/config/json")).json()
        assert view["router"]["think"] == "fast"


async def test_oauth_tab_lists_tokens_from_the_admin_api(
    make_app: Callable[..., CcmApp],
    isolated_env: Path,
    upstream: FakeUpstream,
    proxy_in_thread: Callable[[Path], RunningProxy],
) -> None:
    config = proxied_config(isolated_env / "config.toml", upstream.url)
    with config.open("a") as fh:
        fh.write('\n[[providers]]\nname = "claude-max"\nprovider_type = "openai"\nauth_type = "oauth"\n')
    proxy_in_thread(config)
    app = make_app(config)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("f6")
        await settle(pilot)
        view = app.query_one(OAuthView)
        assert view.tokens == []  # the proxy's list (empty until logins exist)
        table = app.query_one("#oauth-table", DataTable)
        assert [str(c) for c in table.get_row("claude-max")] == ["claude-max", "no token", "—", "—"]
        assert "ccm oauth login claude-max" in text_of(app, "#oauth-hint")
        await pilot.press("r")
        await settle(pilot)
        assert "log in first" in text_of(app, "#status-message")
        # refresh and delete reach the admin API; the proxy answers that it has no such token
        try:
            await app.client.oauth_refresh("claude-max")
        except Exception as exc:  # AdminError
            assert "404" in str(exc) and "no OAuth token" in str(exc)
        else:
            raise AssertionError("refresh of a missing token should fail")


async def test_overview_counts_oauth_tokens_of_a_proxy_already_running(
    make_app: Callable[..., CcmApp],
    isolated_env: Path,
    upstream: FakeUpstream,
    proxy_in_thread: Callable[[Path], RunningProxy],
) -> None:
    """The usual case: the proxy runs before `ccm tui` opens. The count must come, not stay at "—"."""
    config = proxied_config(isolated_env / "config.toml", upstream.url)
    proxy_in_thread(config)
    app = make_app(config)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await wait_for(pilot, lambda: "0 OAuth tokens" in text_of(app, "#counts"))


async def test_oauth_statuses_are_coloured_with_expiry(make_app: Callable[..., CcmApp]) -> None:
    """What the tab draws for each token status (rows as the admin API returns them)."""
    from tests.tui.helpers import NOW

    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("f6")
        await settle(pilot)
        assert "No OAuth tokens" in text_of(app, "#oauth-hint")  # no proxy: read from the keyring
        view = app.query_one(OAuthView)
        view.tokens = [
            {"provider": "claude-max", "status": "active", "expires_at": NOW + 3 * 3600},
            {"provider": "chatgpt", "status": "needs_refresh", "expires_at": NOW + 120},
            {"provider": "gemini", "status": "expired", "expires_at": NOW - 7200},
        ]
        view._draw()
        table = app.query_one("#oauth-table", DataTable)
        row = table.get_row("claude-max")
        assert str(row[1]) == "active" and row[1].style == "green" and row[3] == "in 3h 00m"
        assert row[2] == "2025-01-15 15:00"
        row = table.get_row("chatgpt")
        assert str(row[1]) == "needs refresh" and row[1].style == "yellow" and row[3] == "in 2m 00s"
        row = table.get_row("gemini")
        assert row[1].style == "red" and row[3] == "2h 00m ago"


async def test_start_and_stop_from_the_overview(
    make_app: Callable[..., CcmApp],
    isolated_env: Path,
    upstream: FakeUpstream,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`s` and `x` run the real `ccm start` / `ccm stop` (subprocesses, as a user would type them)."""
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")  # for the children only
    port = free_port()
    config = proxied_config(isolated_env / "config.toml", upstream.url, f"port = {port}\n")
    app = make_app(config, poll_interval=0.1)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        assert "○ stopped" in text_of(app, "#proxy-state")
        await pilot.press("s")
        await settle(pilot)
        assert text_of(app, "#status-message") == "proxy started"
        await wait_for(pilot, lambda: app.proxy_state.running)
        assert f"http://127.0.0.1:{port}" in text_of(app, "#proxy-state")
        assert app.proxy_state.info is not None and Path(app.proxy_state.info.config) == config.resolve()
        first = app.proxy_state.info.pid
        await pilot.press("r")
        await settle(pilot)
        assert text_of(app, "#status-message") == "proxy restarted"
        await wait_for(pilot, lambda: app.proxy_state.info is not None and app.proxy_state.info.pid != first)
        await pilot.press("x")
        await settle(pilot)
        assert text_of(app, "#status-message") == "proxy stopped"
        await wait_for(pilot, lambda: not app.proxy_state.running)


async def test_restart_from_the_overview_keeps_the_proxy_when_the_file_is_invalid(
    make_app: Callable[..., CcmApp],
    isolated_env: Path,
    upstream: FakeUpstream,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`r` while the file is mid-edit in an editor (invalid): the running proxy is left alone."""
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")  # for the children only
    port = free_port()
    config = proxied_config(isolated_env / "config.toml", upstream.url, f"port = {port}\n")
    app = make_app(config, poll_interval=0.1)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("s")
        await settle(pilot)
        await wait_for(pilot, lambda: app.proxy_state.running)
        assert app.proxy_state.info is not None
        first = app.proxy_state.info.pid
        config.write_text(config.read_text() + "\n[router\n")
        await pilot.press("r")
        await settle(pilot)
        await wait_for(pilot, lambda: "failed" in text_of(app, "#status-message"))
        assert "not valid TOML" in text_of(app, "#status-message")
        assert app.proxy_state.running and app.proxy_state.info is not None and app.proxy_state.info.pid == first
        await pilot.press("x")
        await settle(pilot)
        await wait_for(pilot, lambda: not app.proxy_state.running)


async def test_router_key_is_sent_to_the_admin_api(
    make_app: Callable[..., CcmApp],
    isolated_env: Path,
    upstream: FakeUpstream,
    proxy_in_thread: Callable[[Path], RunningProxy],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With `server.api_key = "$VAR"` the proxy refuses anonymous admin calls; the TUI resolves and sends it."""
    monkeypatch.setenv("ROUTER_KEY", "router-secret-0123456789")
    upstream.script(Reply(200, json=anthropic_message("ok")))
    config = proxied_config(isolated_env / "config.toml", upstream.url, 'api_key = "$ROUTER_KEY"\n')
    proxy = proxy_in_thread(config)
    async with httpx.AsyncClient(trust_env=False) as client:
        assert (await client.get(f"{proxy.url}/api/requests")).status_code == 401
    app = make_app(config)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        app.apply(lambda store: store.set_router("think", "fast"), "router think → fast")
        await settle(pilot)
        assert text_of(app, "#status-message") == "router think → fast · saved · reloaded"
        assert await send(proxy.url) == 401  # without the key Claude Code is refused
        assert await send(proxy.url, key="router-secret-0123456789") == 200
        await wait_for(pilot, lambda: len(app.requests) == 1)  # the TUI's feed (with the key) saw it


async def test_overview_names_a_refused_reload_and_the_config_warnings(
    make_app: Callable[..., CcmApp],
    isolated_env: Path,
    upstream: FakeUpstream,
    proxy_in_thread: Callable[[Path], RunningProxy],
) -> None:
    """A hand edit the proxy refused is on the Overview (the file, its first error, since when) until a
    good file loads; the config's warnings are listed beside it (GET /api/status)."""
    import os

    config = proxied_config(isolated_env / "config.toml", upstream.url, "prot = 1\n")
    proxy_in_thread(config)
    app = make_app(config, poll_interval=0.1)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await wait_for(pilot, lambda: "prot" in text_of(app, "#reload-state"))
        assert "reload refused" not in text_of(app, "#reload-state")
        good = config.read_text()
        broken = config.with_name("broken.toml")
        broken.write_text(good.replace('name = "deep"', 'name = "deep"\nweight = [1,'))
        os.replace(broken, config)
        await wait_for(pilot, lambda: "reload refused" in text_of(app, "#reload-state"))
        shown = text_of(app, "#reload-state")
        assert "config.toml" in shown and "since" in shown
        fixed = config.with_name("fixed.toml")
        fixed.write_text(good.replace("prot = 1\n", ""))
        os.replace(fixed, config)
        await wait_for(pilot, lambda: not app.query_one("#reload-state").display)
