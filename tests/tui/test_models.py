"""Models tab: add a model, add a fallback, edit and reorder mappings, delete; the file after each edit."""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from textual.widgets import DataTable, Select

from tests.tui.helpers import open_tab as show_tab
from tests.tui.helpers import settle, type_into
from tui.app import CcmApp
from tui.modals.confirm import ConfirmScreen
from tui.modals.model_form import ModelForm
from tui.models import ModelsView


def status(app: CcmApp) -> str:
    return str(app.query_one("#status-message").render())


def model_in_file(path: Path, name: str) -> dict[str, Any]:
    return next(m for m in tomllib.loads(path.read_text())["models"] if m["name"] == name)


async def open_tab(pilot, app: CcmApp) -> ModelsView:  # type: ignore[no-untyped-def]
    await show_tab(pilot, "f4", "models")
    return app.query_one(ModelsView)


async def select_model(pilot, view: ModelsView, name: str) -> None:  # type: ignore[no-untyped-def]
    table = view.models_table
    table.focus()
    table.move_cursor(row=table.get_row_index(name))
    await settle(pilot)


async def test_add_model_then_a_fallback(make_app: Callable[..., CcmApp], config_path: Path) -> None:
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        view = await open_tab(pilot, app)
        await pilot.press("a")
        await settle(pilot)
        form = app.screen
        assert isinstance(form, ModelForm)
        assert form.focused is form.query_one("#name")
        await type_into(pilot, "#name", "deepseek-chat")
        form.query_one("#provider", Select).value = "openrouter"
        await type_into(pilot, "#actual_model", "deepseek/deepseek-chat")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert "model deepseek-chat added · saved" in status(app)
        assert view.selected_model() is not None and view.selected_model().name == "deepseek-chat"  # type: ignore[union-attr]
        await pilot.press("f")
        await settle(pilot)
        form = app.screen
        form.query_one("#provider", Select).value = "zai"
        await type_into(pilot, "#actual_model", "deepseek-v3")
        await type_into(pilot, "#max_output_tokens", "8192")
        await pilot.press("enter")
        await settle(pilot)
        assert view.mappings_table.row_count == 2
        assert view.mappings_table.get_row_at(1)[2] == "deepseek-v3"
    assert model_in_file(config_path, "deepseek-chat")["mappings"] == [
        {"provider": "openrouter", "actual_model": "deepseek/deepseek-chat", "priority": 1},
        {"provider": "zai", "actual_model": "deepseek-v3", "priority": 2, "max_output_tokens": 8192},
    ]
    text = config_path.read_text()
    assert 'name = "kimi-k2"  # thinking model' in text and "# --- providers ---" in text


async def test_duplicate_or_empty_model_is_refused(make_app: Callable[..., CcmApp], config_path: Path) -> None:
    before = config_path.read_text()
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await open_tab(pilot, app)
        await pilot.press("a")
        await settle(pilot)
        form = app.screen
        await type_into(pilot, "#name", "GLM-4.6")  # names compare case-insensitively
        await type_into(pilot, "#actual_model", "x")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.screen is form
        assert "already exists" in str(form.query_one("#form-error").render())
        await type_into(pilot, "#actual_model", "")
        await type_into(pilot, "#name", "new")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert "actual model" in str(form.query_one("#form-error").render())
        await pilot.press("escape")
        await settle(pilot)
    assert config_path.read_text() == before


async def test_move_mapping_renumbers_priorities(make_app: Callable[..., CcmApp], config_path: Path) -> None:
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        view = await open_tab(pilot, app)
        await select_model(pilot, view, "glm-4.6")
        view.mappings_table.focus()
        view.mappings_table.move_cursor(row=1)
        await pilot.press("shift+up")
        await settle(pilot)
        assert "openrouter:z-ai/glm-4.6 is now #1 for glm-4.6" in status(app)
        assert view.mappings_table.cursor_row == 0  # the cursor follows the moved mapping
        assert [str(view.mappings_table.get_row_at(i)[1]) for i in range(2)] == ["openrouter", "zai"]
        assert model_in_file(config_path, "glm-4.6")["mappings"] == [
            {"provider": "openrouter", "actual_model": "z-ai/glm-4.6", "priority": 1},
            {"provider": "zai", "actual_model": "glm-4.6", "priority": 2},
        ]
        await pilot.press("shift+up")  # already first: nothing changes
        await pilot.press("shift+down")
        await settle(pilot)
    assert [m["provider"] for m in model_in_file(config_path, "glm-4.6")["mappings"]] == ["zai", "openrouter"]
    assert app.config.model("glm-4.6").mappings[0].provider == "zai"  # type: ignore[union-attr]


async def test_edit_mapping_and_rename_model(make_app: Callable[..., CcmApp], config_path: Path) -> None:
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        view = await open_tab(pilot, app)
        await select_model(pilot, view, "glm-4.5-air")
        view.mappings_table.focus()
        await pilot.press("e")
        await settle(pilot)
        form = app.screen
        assert isinstance(form, ModelForm) and form.mode == "mapping"
        assert form.focused is form.query_one("#provider")  # the first field, not "Actual model"
        await type_into(pilot, "#actual_model", "glm-4.5-air-0711")
        await pilot.press("ctrl+s")
        await settle(pilot)
        view.models_table.focus()
        await pilot.press("e")
        await settle(pilot)
        await type_into(pilot, "#name", "air")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert "model renamed to air" in status(app)
    data = tomllib.loads(config_path.read_text())
    assert data["router"]["background"] == "air"  # the router follows the rename
    assert model_in_file(config_path, "air")["mappings"] == [
        {"provider": "zai", "actual_model": "glm-4.5-air-0711", "priority": 1}
    ]


async def test_delete_mapping_and_model(make_app: Callable[..., CcmApp], config_path: Path) -> None:
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        view = await open_tab(pilot, app)
        await select_model(pilot, view, "glm-4.6")
        view.mappings_table.focus()
        await pilot.press("d")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("y")
        await settle(pilot)
        assert [m["provider"] for m in model_in_file(config_path, "glm-4.6")["mappings"]] == ["openrouter"]
        await select_model(pilot, view, "glm-4.6")
        await pilot.press("d")  # the router's default cannot go
        await settle(pilot)
        assert not isinstance(app.screen, ConfirmScreen)
        assert "pick another default first" in status(app)
        await select_model(pilot, view, "kimi-k2")
        await pilot.press("d")
        await settle(pilot)
        assert "router slots think" in str(app.screen.query_one(".dialog-detail").render())
        await pilot.press("y")
        await settle(pilot)
        assert "kimi-k2" not in view.models_table.rows
    data = tomllib.loads(config_path.read_text())
    assert [m["name"] for m in data["models"]] == ["glm-4.6", "glm-4.5-air"]
    assert data["router"]["think"] == ""
    assert 'think = ""' in config_path.read_text()


async def test_table_columns(make_app: Callable[..., CcmApp]) -> None:
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        view = await open_tab(pilot, app)
        table: DataTable[Any] = view.models_table
        assert table.get_row("glm-4.6") == ["glm-4.6", "2", "default"]
        assert table.get_row("kimi-k2") == ["kimi-k2", "1", "think"]
        assert "glm-4.6 → zai:glm-4.6 ▸ openrouter:z-ai/glm-4.6" in str(app.query_one("#models-hint").render())


async def test_the_model_form_lists_the_providers_models_and_takes_prices(
    make_app: Callable[..., CcmApp], isolated_env: Path, upstream: Any, proxy_in_thread: Any
) -> None:
    from tests.fakes.upstream import Reply
    from tests.tui.helpers import proxied_config, wait_for

    config = proxied_config(isolated_env / "config.toml", upstream.url)
    upstream.script(Reply(200, json={"data": [{"id": "fake-large"}, {"id": "fake-small"}], "has_more": False}))
    proxy_in_thread(config)
    for size in ((80, 24), (120, 40)):
        app = make_app(config)
        async with app.run_test(size=size) as pilot:
            await open_tab(pilot, app)
            await pilot.press("a")
            await settle(pilot)
            form = app.screen
            assert isinstance(form, ModelForm)
            listing: Select[str] = form.query_one("#model-list", Select)
            await wait_for(
                pilot, lambda s=listing: s._options[1:] == [("fake-large", "fake-large"), ("fake-small", "fake-small")]
            )  # type: ignore[misc]
            for widget in ("#model-list", "#price_in", "#price_out", "#save"):
                region = form.query_one(widget).region
                assert region.height > 0 and region.right <= size[0] and region.bottom <= size[1], (widget, region)
            if size == (80, 24):
                continue
            await type_into(pilot, "#name", "picked")
            listing.value = "fake-small"
            await settle(pilot)
            assert form.query_one("#actual_model").value == "fake-small"  # type: ignore[attr-defined]
            await type_into(pilot, "#price_in", "0.5")
            await type_into(pilot, "#price_out", "2")
            await pilot.press("ctrl+s")
            await settle(pilot)
            assert "model picked added" in status(app)
    mapping = model_in_file(config, "picked")["mappings"][0]
    assert (mapping["actual_model"], mapping["price_in"], mapping["price_out"]) == ("fake-small", 0.5, 2.0)
