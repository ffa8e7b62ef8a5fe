"""Providers tab: add, edit, rename, delete, toggle, keys into the keyring only, connection test."""

from __future__ import annotations

import threading
import tomllib
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from textual.widgets import Checkbox, DataTable, Select

from config import secrets
from tests.conftest import MemoryKeyring
from tests.fakes.upstream import FakeUpstream, Reply, anthropic_message
from tests.tui.conftest import RunningProxy
from tests.tui.helpers import open_tab as show_tab
from tests.tui.helpers import provider_block, proxied_config, settle, type_into, wait_for
from tui.app import CcmApp
from tui.modals.confirm import ConfirmScreen
from tui.modals.provider_form import ProviderForm
from tui.providers import ProvidersView


def status(app: CcmApp) -> str:
    return str(app.query_one("#status-message").render())


def table(app: CcmApp) -> DataTable[object]:
    return app.query_one("#providers-table", DataTable)


async def open_tab(pilot, app: CcmApp) -> ProvidersView:  # type: ignore[no-untyped-def]
    await show_tab(pilot, "f3", "providers")
    return app.query_one(ProvidersView)


async def test_add_provider_stores_key_in_keyring_never_in_file(
    make_app: Callable[..., CcmApp], config_path: Path, memory_keyring: MemoryKeyring
) -> None:
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await open_tab(pilot, app)
        await pilot.press("a")
        await settle(pilot)
        form = app.screen
        assert isinstance(form, ProviderForm)
        await type_into(pilot, "#name", "deepseek")
        form.query_one("#type", Select).value = "deepseek"
        await pilot.pause()
        assert form.query_one("#base_url").value == "https://api.deepseek.com/v1"  # filled from the catalog
        await type_into(pilot, "#key", "sk-deepseek-secret-a1b2")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert not isinstance(app.screen, ProviderForm)
        assert "provider deepseek added · key stored in the OS keyring · saved" in status(app)
        assert "sk-…a1b2" in str(table(app).get_row("deepseek"))  # masked, never in full
        assert "sk-deepseek-secret-a1b2" not in str(table(app).get_row("deepseek"))
    text = config_path.read_text()
    assert "sk-deepseek-secret" not in text
    entry = tomllib.loads(text)["providers"][-1]
    assert entry == {"name": "deepseek", "provider_type": "deepseek"}  # defaults stay unwritten
    assert memory_keyring.store[("ccm", "provider:deepseek")] == "sk-deepseek-secret-a1b2"
    assert "# My ccm config: GLM first" in text and 'api_key = "$ZAI_API_KEY"   # from the environment' in text


async def test_invalid_provider_is_refused_and_form_stays_open(
    make_app: Callable[..., CcmApp], config_path: Path
) -> None:
    before = config_path.read_text()
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await open_tab(pilot, app)
        await pilot.press("a")
        await settle(pilot)
        form = app.screen
        await type_into(pilot, "#name", "zai")  # already exists
        await pilot.press("enter")
        await settle(pilot)
        assert app.screen is form
        assert "already exists" in str(form.query_one("#form-error").render())
        await type_into(pilot, "#name", "mine")
        form.query_one("#type", Select).value = "openai-compatible"  # needs a base URL
        await pilot.pause()
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert "needs a base URL" in str(form.query_one("#form-error").render())
        await type_into(pilot, "#base_url", "ftp://nope")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert "must start with http" in str(form.query_one("#form-error").render())
        await pilot.press("escape")
    assert config_path.read_text() == before


async def test_edit_rename_moves_key_and_mappings(
    make_app: Callable[..., CcmApp], config_path: Path, memory_keyring: MemoryKeyring
) -> None:
    secrets.store().set("provider:openrouter", "sk-or-v1-0123456789abcd")
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await open_tab(pilot, app)
        t = table(app)
        t.move_cursor(row=t.get_row_index("openrouter"))
        await wait_for(pilot, lambda: "sk-…abcd" in str(t.get_row("openrouter")))
        await pilot.press("e")
        await settle(pilot)
        form = app.screen
        assert isinstance(form, ProviderForm)
        await type_into(pilot, "#name", "or")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert "provider or updated" in status(app)
        await wait_for(pilot, lambda: ("ccm", "provider:or") in memory_keyring.store)
    data = tomllib.loads(config_path.read_text())
    assert [p["name"] for p in data["providers"]] == ["zai", "or", "local"]
    assert data["models"][0]["mappings"][1]["provider"] == "or"
    assert memory_keyring.store[("ccm", "provider:or")] == "sk-or-v1-0123456789abcd"
    assert ("ccm", "provider:openrouter") not in memory_keyring.store


async def test_delete_asks_first_and_removes_mappings(
    make_app: Callable[..., CcmApp], config_path: Path, memory_keyring: MemoryKeyring
) -> None:
    secrets.store().set("provider:openrouter", "sk-or-v1-0123456789abcd")
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await open_tab(pilot, app)
        t = table(app)
        t.move_cursor(row=t.get_row_index("openrouter"))
        await pilot.press("d")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("n")  # changed my mind
        await settle(pilot)
        assert "openrouter" in [p.name for p in app.config.providers]  # type: ignore[union-attr]
        await pilot.press("d")
        await settle(pilot)
        await pilot.press("y")
        await settle(pilot)
        assert "openrouter" not in t.rows
    data = tomllib.loads(config_path.read_text())
    assert [p["name"] for p in data["providers"]] == ["zai", "local"]
    assert data["models"][0]["mappings"] == [{"provider": "zai", "actual_model": "glm-4.6", "priority": 1}]
    assert data["models"][2]["name"] == "kimi-k2" and data["models"][2]["mappings"] == []
    assert ("ccm", "provider:openrouter") not in memory_keyring.store


async def test_toggle_enabled_and_form_switch(make_app: Callable[..., CcmApp], config_path: Path) -> None:
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await open_tab(pilot, app)
        t = table(app)
        t.move_cursor(row=t.get_row_index("local"))
        await pilot.press("space")
        await settle(pilot)
        assert "provider local enabled" in status(app)
        assert tomllib.loads(config_path.read_text())["providers"][2]["enabled"] is True
        await pilot.press("enter")  # edit
        await settle(pilot)
        form = app.screen
        form.query_one("#enabled", Checkbox).value = False
        await pilot.press("ctrl+s")
        await settle(pilot)
    entry = tomllib.loads(config_path.read_text())["providers"][2]
    assert entry == {
        "name": "local",
        "provider_type": "openai-compatible",
        "base_url": "http://localhost:11434/v1",
        "enabled": False,
    }


async def test_env_reference_goes_to_file(make_app: Callable[..., CcmApp], config_path: Path) -> None:
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await open_tab(pilot, app)
        t = table(app)
        t.move_cursor(row=t.get_row_index("openrouter"))
        await pilot.press("e")
        await settle(pilot)
        await type_into(pilot, "#key", "$OPENROUTER_API_KEY")
        await pilot.press("enter")
        await settle(pilot)
        assert "$OPENROUTER_API_KEY unset" in str(t.get_row("openrouter"))
    assert tomllib.loads(config_path.read_text())["providers"][1]["api_key"] == "$OPENROUTER_API_KEY"


async def test_connection_test_through_running_proxy(
    make_app: Callable[..., CcmApp],
    config_path: Path,
    upstream: FakeUpstream,
    proxy_in_thread: Callable[[Path], RunningProxy],
) -> None:
    with config_path.open("a") as fh:
        fh.write(provider_block("fake", upstream.url))
    upstream.script(Reply(200, json=anthropic_message("pong")), Reply.error(401, "bad key", "authentication_error"))
    proxy_in_thread(config_path)
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await open_tab(pilot, app)
        t = table(app)
        t.move_cursor(row=t.get_row_index("fake"))
        await pilot.press("t")
        await wait_for(pilot, lambda: "✓" in str(t.get_cell("fake", "check")))  # the check runs in the proxy
        assert "fake: ok" in status(app)
        await pilot.press("t")
        await wait_for(pilot, lambda: "✗ 401" in str(t.get_cell("fake", "check")))
        assert "fake: failed" in status(app)
    assert upstream.received[0].path == "/v1/models"  # the model list: the cheapest real request


async def test_a_claude_provider_can_be_set_to_claude_codes_own_login(
    make_app: Callable[..., CcmApp], config_path: Path, memory_keyring: MemoryKeyring
) -> None:
    config_path.write_text(config_path.read_text() + '\n[[providers]]\nname = "claude"\nprovider_type = "anthropic"\n')
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await open_tab(pilot, app)
        table(app).move_cursor(row=table(app).get_row_index("claude"))
        await pilot.press("e")
        await settle(pilot)
        form = app.screen
        assert isinstance(form, ProviderForm)
        auth = form.query_one("#auth", Select)
        auth.value = "passthrough"
        await pilot.pause()
        assert form.query_one("#key").disabled  # no key: Claude Code's own login is forwarded
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert "provider claude updated · saved" in status(app)
        assert "Claude Code's login" in str(table(app).get_row("claude"))
        await pilot.press("e")  # a passthrough provider opens again (its auth is one of the choices)
        await settle(pilot)
        assert app.screen.query_one("#auth", Select).value == "passthrough"
    assert tomllib.loads(config_path.read_text())["providers"][-1]["auth_type"] == "passthrough"
    assert not memory_keyring.store


async def test_saving_an_unchanged_form_changes_nothing(make_app: Callable[..., CcmApp], config_path: Path) -> None:
    before = config_path.read_text()
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await open_tab(pilot, app)
        for name in ("zai", "openrouter"):
            t = table(app)
            t.move_cursor(row=t.get_row_index(name))
            await pilot.press("e")
            await settle(pilot)
            assert isinstance(app.screen, ProviderForm)
            assert app.screen.focused is app.screen.query_one("#name")  # the first field, not the key
            await pilot.press("ctrl+s")
            await settle(pilot)
            assert not isinstance(app.screen, ProviderForm)
    assert config_path.read_text() == before


async def test_key_sources_are_named_as_keys_list_names_them(
    make_app: Callable[..., CcmApp], config_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A literal key reads "config file" (not "in file"); the delete dialog says where the key really is."""
    config_path.write_text(config_path.read_text().replace('api_key = "$ZAI_API_KEY"', 'api_key = "zai-literal-0123"'))
    secrets.store().set("provider:openrouter", "sk-or-v1-0123456789abcd")
    app = make_app()
    async with app.run_test(size=(120, 30)) as pilot:
        await open_tab(pilot, app)
        t = table(app)
        await wait_for(pilot, lambda: "keyring" in str(t.get_row("openrouter")))
        assert "zai…0123 config file" in str(t.get_row("zai"))
        for name, says in (("zai", "goes with it"), ("openrouter", "leaves the keyring")):
            t.move_cursor(row=t.get_row_index(name))
            await pilot.press("d")
            await settle(pilot)
            assert isinstance(app.screen, ConfirmScreen)
            assert says in str(app.screen.query_one(".dialog-detail").render()), name
            await pilot.press("n")
            await settle(pilot)


async def test_a_typed_key_is_stored_before_the_proxy_reloads(
    make_app: Callable[..., CcmApp],
    isolated_env: Path,
    upstream: FakeUpstream,
    proxy_in_thread: Callable[[Path], RunningProxy],
    memory_keyring: MemoryKeyring,
) -> None:
    """A keyring that takes its time (a desktop prompt): the reload waits for the key, so the proxy has it."""
    config = proxied_config(isolated_env / "config.toml", upstream.url)
    config.write_text(config.read_text().replace(f'api_key = "sk-test-{"k" * 16}"\n', ""))
    proxy = proxy_in_thread(config)
    answered = threading.Event()
    store = memory_keyring.set_password

    def slow_set(service: str, username: str, password: str) -> None:
        answered.wait(10)
        store(service, username, password)

    memory_keyring.set_password = slow_set  # type: ignore[method-assign]
    app = make_app(config)
    async with app.run_test(size=(120, 30)) as pilot:
        await open_tab(pilot, app)
        t = table(app)
        t.move_cursor(row=t.get_row_index("fake"))
        await pilot.press("e")
        await settle(pilot)
        await type_into(pilot, "#key", "sk-typed-key-0123456789")
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: "reload" in status(app) or "storing the key" in status(app))
        answered.set()  # the user answers the keyring's prompt
        await wait_for(pilot, lambda: "reloaded" in status(app))
        view = httpx.get(f"{proxy.url}/api/config/json", trust_env=False).json()
        assert [p["key"] for p in view["providers"] if p["name"] == "fake"] == ["sk-…6789"]
        assert "key stored in the OS keyring" in status(app)
