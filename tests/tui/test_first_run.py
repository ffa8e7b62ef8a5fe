"""The first-run screen at 80x24: the buttons are in view without scrolling, the list's titles are whole,
the preview keeps each line of the file on one row, and the presets are `ccm config init`'s."""

from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual.widget import Widget
from textual.widgets import OptionList

from cli import wizard
from tests.tui.helpers import settle
from tui.app import CcmApp
from tui.modals.presets import PresetScreen, presets


def test_the_presets_are_the_ones_ccm_config_init_offers() -> None:
    assert [(p.name, p.title) for p in presets()] == [(p.name, p.title) for p in wizard.PRESETS]


async def test_the_buttons_are_in_view_at_80x24(isolated_env: Path) -> None:
    app = CcmApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, PresetScreen)
        for button in ("#write", "#cancel"):
            region = app.screen.query_one(button).region  # empty when scrolled out of view
            assert region.height >= 1 and region.bottom <= 24, (button, region)
        options = app.screen.query_one(OptionList)
        widest = max(Text.from_markup(p.title).cell_len for p in presets())
        assert options.scrollable_content_region.width >= widest  # no title wraps


async def test_the_preview_keeps_each_line_whole(isolated_env: Path) -> None:
    """A soft-wrapped comment's second half reads like a line of its own (and like TOML, which it is not)."""
    app = CcmApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        preview = app.screen.query_one("#preset-text", Widget)
        assert preview.size.height >= 4
        chosen = next(p for p in presets() if p.name == "apikeys")
        lines = chosen.text().splitlines()
        shown = [preview.render_line(y).text.rstrip() for y in range(preview.size.height)]
        assert shown[0].startswith("# ccm config: API keys")
        for row in filter(None, shown):
            assert any(line.startswith(row.strip()) for line in lines), row
