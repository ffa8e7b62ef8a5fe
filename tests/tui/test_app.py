"""The app around the tabs: first run without a config, a broken config, keys that work from inside an
input, help, edits made outside the TUI, remappable bindings, and no secret on screen."""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from pathlib import Path

from textual.widgets import DataTable, Input, OptionList, TabbedContent, TextArea

from config import secrets
from tests.tui.helpers import SAMPLE, open_tab, settle, type_into, wait_for
from tui.app import CcmApp
from tui.modals.help import HelpScreen
from tui.modals.presets import PresetScreen, presets


def text_of(app: CcmApp, selector: str) -> str:
    return str(app.query_one(selector).render())


async def test_first_run_offers_presets_and_writes_the_chosen_one(isolated_env: Path) -> None:
    path = isolated_env / "config.toml"
    app = CcmApp()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, PresetScreen)
        options = app.screen.query_one(OptionList)
        assert options.option_count == len(presets()) >= 1
        assert "[router]" in app.screen.query_one("#preset-text", TextArea).text  # a preview of what will be written
        await pilot.press("enter")
        await settle(pilot)
        assert not isinstance(app.screen, PresetScreen)
        assert app.query(TabbedContent)  # the tabs appear once a config exists
        assert f"wrote {path}" in text_of(app, "#status-message")
        assert app.query_one(TabbedContent).active == "providers"  # next step: keys
    assert "written by `ccm config init --preset apikeys`" in path.read_text()  # the wizard's default, highlighted


async def test_first_run_can_be_left_without_writing(isolated_env: Path) -> None:
    app = CcmApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("escape")
        await settle(pilot)
    assert app.return_code == 0
    assert not (isolated_env / "config.toml").exists()


async def test_broken_config_is_explained_then_picked_up_when_fixed(isolated_env: Path) -> None:
    path = isolated_env / "config.toml"
    path.write_text('[router]\ndefault = "nope"\n')
    app = CcmApp(clock=lambda: 0.0, poll_interval=0.05)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        shown = text_of(app, "#no-config")
        assert "cannot be used" in shown and "config.toml:2: router.default: names model 'nope'" in shown
        path.write_text(SAMPLE)
        await wait_for(pilot, lambda: bool(app.query(TabbedContent)))
        await settle(pilot)
        assert "changed on disk · reloaded" in text_of(app, "#status-message")


async def test_tab_keys_work_while_an_input_has_focus(make_app: Callable[..., CcmApp]) -> None:
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await open_tab(pilot, "f7", "console")
        tabs = app.query_one(TabbedContent)
        assert tabs.active == "console" and isinstance(app.focused, Input)
        await pilot.press("h", "i")  # printable keys go to the input...
        assert app.focused.value == "hi"
        await pilot.press("f3")  # ...function keys still switch tabs
        await settle(pilot)
        assert tabs.active == "providers"
        await pilot.press("f7")
        await settle(pilot)
        await pilot.press("alt+4")
        await settle(pilot)
        assert tabs.active == "router"
        await pilot.press("f2")
        await settle(pilot)
        assert tabs.active == "overview"


async def test_help_and_remapped_bindings(make_app: Callable[..., CcmApp]) -> None:
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("f1")
        await settle(pilot)
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        await settle(pilot)
        app.set_keymap({"tab.logs": "ctrl+l"})  # bindings have ids, so users can remap them
        await pilot.press("ctrl+l")
        await settle(pilot)
        assert app.query_one(TabbedContent).active == "logs"


async def test_outside_edits_are_picked_up_and_never_overwritten(
    make_app: Callable[..., CcmApp], config_path: Path
) -> None:
    app = make_app(poll_interval=0.05)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("f5")
        await settle(pilot)
        edited = config_path.read_text().replace('websearch = ""', 'websearch = "glm-4.6"  # set in vim')
        config_path.write_text(edited)
        await wait_for(pilot, lambda: app.config is not None and app.config.router.websearch == "glm-4.6")
        assert "changed on disk" in text_of(app, "#status-message")
        await type_into(pilot, "#long_context_threshold", "1234")
        await pilot.press("enter")
        await settle(pilot)
        saved = config_path.read_text()
        config_path.write_text("[router\n")  # someone saves a broken file: the last good config stays
        await wait_for(pilot, lambda: "invalid" in text_of(app, "#status-message"))
        assert app.config is not None and app.config.router.long_context_threshold == 1234
    # the TUI's edit went on top of the outside edit, which kept its comment
    assert 'websearch = "glm-4.6"  # set in vim' in saved
    assert tomllib.loads(saved)["router"]["long_context_threshold"] == 1234


async def test_no_secret_in_full_on_any_tab(make_app: Callable[..., CcmApp], monkeypatch) -> None:  # type: ignore[no-untyped-def]
    secret = "sk-or-v1-supersecretvalue9876"
    secrets.store().set("provider:openrouter", secret)
    monkeypatch.setenv("ZAI_API_KEY", "zai-key-0000000000abcd")
    app = make_app()
    async with app.run_test(size=(160, 50)) as pilot:
        for key in ("f2", "f3", "f4", "f5", "f6", "f7", "f8"):
            await pilot.press(key)
            await settle(pilot)
            if key == "f3":  # keys are read in a thread: wait until they are on screen
                table = app.query_one("#providers-table", DataTable)
                await wait_for(pilot, lambda t=table: "sk-…9876" in str(t.get_row("openrouter")))
            screen = app.export_screenshot()
            assert "supersecret" not in screen and "0000000000abcd" not in screen
        await pilot.press("f3")
        await settle(pilot)
        row = [str(c) for c in app.query_one("#providers-table").get_row("openrouter")]
        assert "sk-…9876 keyring" in row
        row = [str(c) for c in app.query_one("#providers-table").get_row("zai")]
        assert "zai…abcd $ZAI_API_KEY" in row


async def test_a_directory_named_config_toml_is_explained(isolated_env: Path) -> None:
    """Not "no config file yet" and a wizard that fails on a cut-off errno line: say what is wrong."""
    path = isolated_env / "config.toml"
    path.mkdir()
    app = CcmApp(clock=lambda: 0.0)
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        assert not isinstance(app.screen, PresetScreen)
        shown = text_of(app, "#no-config")
        assert f"{path}: this is a directory, not a config file: move it away, or pass --config FILE" in shown
        assert "No config file" not in shown


async def test_the_proxys_own_warnings_show_on_the_overview(make_app: Callable[..., CcmApp]) -> None:
    from tui.overview import OverviewView

    refused = {"path": "/x/config.toml", "error": "config.toml:3: router.default: is required", "since": 0}
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        view = app.query_one(OverviewView)
        view.show_status({"refused": refused, "warnings": ["config.toml:2: server.prot: unknown key"]})
        await pilot.pause()
        shown = str(app.query_one("#reload-state").render())
        assert "reload refused" in shown and "router.default: is required" in shown
        assert "server.prot: unknown key" in shown
        view.show_status({"status": "ok"})  # a proxy without the route's fields: nothing to say
        await pilot.pause()
        assert not app.query_one("#reload-state").display
        view.show_status(None)
        await pilot.pause()
        assert not app.query_one("#reload-state").display


async def test_a_broken_config_names_its_own_backup_only_when_there_is_one(isolated_env: Path) -> None:
    path = isolated_env / "bad1.toml"
    path.write_text('[router]\ndefault = "nope"\n')
    async with CcmApp(path, clock=lambda: 0.0).run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        shown = text_of(pilot.app, "#no-config")  # type: ignore[arg-type]
        assert "bad1.toml" in shown and ".bak" not in shown  # no backup to offer
    path.with_name("bad1.toml.bak").write_text('[router]\ndefault = ""\n')
    async with CcmApp(path, clock=lambda: 0.0).run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        shown = text_of(pilot.app, "#no-config")  # type: ignore[arg-type]
        assert "bad1.toml.bak" in shown and "config.toml.bak" not in shown
