"""Router tab: slots save on change, regexes are checked as typed and an invalid one never reaches the
file, and the preview shows the rule, the routed model and its provider chain."""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from pathlib import Path

from textual.widgets import Checkbox, Input, Select

from tests.tui.helpers import settle, type_into
from tui.app import CcmApp
from tui.router import RouterView


def status(app: CcmApp) -> str:
    return str(app.query_one("#status-message").render())


def preview(app: CcmApp) -> str:
    return str(app.query_one("#preview-result").render())


async def open_tab(pilot, app: CcmApp) -> RouterView:  # type: ignore[no-untyped-def]
    await pilot.press("f5")
    await settle(pilot)
    return app.query_one(RouterView)


async def test_slot_change_is_saved_and_off_clears(make_app: Callable[..., CcmApp], config_path: Path) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        view = await open_tab(pilot, app)
        view.query_one("#slot-websearch", Select).value = "glm-4.6"
        await settle(pilot)
        assert "router websearch → glm-4.6 · saved" in status(app)
        assert tomllib.loads(config_path.read_text())["router"]["websearch"] == "glm-4.6"
        view.query_one("#slot-think", Select).clear()
        await settle(pilot)
        assert "router think → off" in status(app)
    text = config_path.read_text()
    assert 'think = ""' in text
    assert 'default = "glm-4.6"        # what Claude Code\'s main requests become' in text  # comment kept


async def test_invalid_regex_is_shown_and_never_saved(make_app: Callable[..., CcmApp], config_path: Path) -> None:
    before = config_path.read_text()
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        view = await open_tab(pilot, app)
        await type_into(pilot, "#background_regex", "(?i)claude.*haiku(")
        await settle(pilot)
        assert "unterminated subpattern" in str(view.query_one("#regex-status").render())
        assert not view.query_one("#background_regex", Input).is_valid
        await pilot.press("enter")
        await settle(pilot)
        assert "not saved" in status(app)
        assert config_path.read_text() == before
        await pilot.press("tab")  # leaving the field does not save it either
        await settle(pilot)
        assert config_path.read_text() == before
        await type_into(pilot, "#background_regex", "^(?i)claude-3-5-haiku")  # Rust-style flag: accepted
        await settle(pilot)
        assert str(view.query_one("#regex-status").render()) == ""
        await pilot.press("enter")
        await settle(pilot)
        assert "saved" in status(app)
    assert tomllib.loads(config_path.read_text())["router"]["background_regex"] == "^(?i)claude-3-5-haiku"


async def test_a_fixed_regex_clears_the_error(make_app: Callable[..., CcmApp], config_path: Path) -> None:
    """Back to the saved value (nothing to save): the "not saved" error leaves the status bar."""
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        view = await open_tab(pilot, app)
        saved = view.query_one("#background_regex", Input).value
        await type_into(pilot, "#background_regex", saved + "(")
        await pilot.press("enter")
        await settle(pilot)
        assert "not saved · background_regex: invalid regex" in status(app)
        await type_into(pilot, "#background_regex", saved)
        await pilot.press("enter")
        await settle(pilot)
        assert "not saved" not in status(app)
        await pilot.press("f3")
        await settle(pilot)
        assert "not saved" not in status(app)


async def test_threshold_must_be_a_positive_number(make_app: Callable[..., CcmApp], config_path: Path) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await open_tab(pilot, app)
        await type_into(pilot, "#long_context_threshold", "0")
        await pilot.press("enter")
        await settle(pilot)
        assert "not saved" in status(app)
        await type_into(pilot, "#long_context_threshold", "32000")
        await pilot.press("enter")
        await settle(pilot)
    assert tomllib.loads(config_path.read_text())["router"]["long_context_threshold"] == 32000


async def test_preview_follows_flags_and_config(make_app: Callable[..., CcmApp]) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        view = await open_tab(pilot, app)
        assert "rule   default" in preview(app)
        assert "model  glm-4.6" in preview(app)
        assert "1. zai · glm-4.6" in preview(app) and "2. openrouter · z-ai/glm-4.6" in preview(app)
        view.query_one("#preview-thinking", Checkbox).value = True
        await settle(pilot)
        assert "rule   think" in preview(app) and "moonshotai/kimi-k2-thinking" in preview(app)
        await type_into(pilot, "#preview-model", "claude-haiku-4-5")
        view.query_one("#preview-thinking", Checkbox).value = False
        await settle(pilot)
        assert "rule   background" in preview(app) and "glm-4.5-air" in preview(app)
        view.query_one("#preview-websearch", Checkbox).value = True
        await settle(pilot)
        assert "rule   background" in preview(app)  # websearch slot is empty: the rule is skipped
        view.query_one("#slot-websearch", Select).value = "kimi-k2"
        await settle(pilot)
        assert "rule   websearch" in preview(app)  # the preview follows the saved config
        view.query_one("#preview-subagent", Select).value = "glm-4.6"
        view.query_one("#preview-websearch", Checkbox).value = False
        await settle(pilot)
        assert "rule   subagent" in preview(app)
        await type_into(pilot, "#preview-model", "nope,x")
        await settle(pilot)
        assert "provider 'nope' is not configured" in preview(app)


async def test_preview_survives_an_absurd_token_count(make_app: Callable[..., CcmApp]) -> None:
    """A pasted 400-digit count is too big for a float: the preview still answers (long context, or not)."""
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await open_tab(pilot, app)
        await type_into(pilot, "#preview-tokens", "9" * 400)
        await settle(pilot)
        assert "rule   " in preview(app)


async def test_preview_shows_the_name_a_star_mapping_sends(make_app: Callable[..., CcmApp], tmp_path: Path) -> None:
    """`actual_model = "*"` sends the name asked for: the preview shows that name, never the star."""
    from cli import wizard

    path = tmp_path / "apikeys.toml"
    path.write_text(wizard.preset("apikeys").text())
    app = make_app(path)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_tab(pilot, app)
        await type_into(pilot, "#preview-model", "claude-opus-5-5")
        await settle(pilot)
        assert "rule   default" in preview(app)
        assert "1. anthropic · claude-opus-5-5" in preview(app) and "2. openai · gpt-5" in preview(app)
