"""80x24 stays readable: no panel of the Overview is crushed (it scrolls instead), and the providers
table's Check column is on screen (the long base URL is what runs off the edge)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from textual.widgets import DataTable

from tests.fakes.upstream import FakeUpstream
from tests.tui.conftest import RunningProxy
from tests.tui.helpers import open_tab, proxied_config, settle, wait_for
from tui.app import CcmApp


async def test_the_check_column_fits_at_80_columns(make_app: Callable[..., CcmApp]) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_tab(pilot, "f3", "providers")
        table = app.query_one("#providers-table", DataTable)
        widths = [(str(c.label), c.get_render_width(table)) for c in table.columns.values()]
        labels = [label for label, _ in widths]
        through_check = sum(width for _, width in widths[: labels.index("Check") + 1])
        assert through_check <= table.size.width, widths


async def test_the_overview_panels_are_whole_at_80x24(
    make_app: Callable[..., CcmApp],
    isolated_env: Path,
    upstream: FakeUpstream,
    proxy_in_thread: Callable[[Path], RunningProxy],
) -> None:
    config = proxied_config(isolated_env / "config.toml", upstream.url)
    proxy_in_thread(config)
    app = make_app(config, poll_interval=0.1)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await wait_for(pilot, lambda: app.query_one("#provider-metrics", DataTable).row_count == 1)
        await settle(pilot)
        assert app.query_one("#provider-metrics").size.height >= 2  # the header and the provider's row
        assert app.query_one("#traffic").size.height == 1
        assert app.query_one("#recent").size.height >= 3
        assert app.query_one("#proxy-buttons").size.height == 1


# -- every tab readable at 80x24 -------------------------------------------------------------------------
def columns_through(table: DataTable[object], last: str) -> tuple[int, int]:
    """(cells the columns up to `last` take, cells the table shows beside its scrollbar)."""
    widths = [(str(c.label), c.get_render_width(table)) for c in table.columns.values()]
    labels = [label for label, _ in widths]
    return sum(width for _, width in widths[: labels.index(last) + 1]), table.scrollable_content_region.width


def log_item(request_id: int, route: str, tokens_in: int) -> dict[str, object]:
    return {
        "id": request_id,
        "time": 1736942400.0 - request_id,
        "model": "claude-sonnet-4-5",
        "route": route,
        "routed_model": "glm-4.5-air",
        "provider": "fake",
        "actual_model": "some-long-model-name-4",
        "status": 529,
        "attempts": [{"provider": "fake", "model": "a", "outcome": "overloaded", "status": 529, "ms": 3}] * 2,
        "latency_ms": 1834,
        "input_tokens": tokens_in,
        "output_tokens": 412,
        "stream": True,
        "error": None,
    }


async def test_the_providers_table_fits_at_80_columns(make_app: Callable[..., CcmApp], isolated_env: Path) -> None:
    app = make_app(proxied_config(isolated_env / "config.toml", "http://127.0.0.1:41234"))
    async with app.run_test(size=(80, 24)) as pilot:
        await open_tab(pilot, "f3", "providers")
        table = app.query_one("#providers-table", DataTable)
        await wait_for(pilot, lambda: "config file" in str(table.get_row("fake")))
        await settle(pilot)
        used, room = columns_through(table, "Base URL")
        assert used <= room, [(str(c.label), c.get_render_width(table)) for c in table.columns.values()]


async def test_the_logs_table_keeps_tries_and_tokens_in_view(make_app: Callable[..., CcmApp]) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        app.add_requests([log_item(1, "background", 182_300), log_item(2, "default", 512)])
        await open_tab(pilot, "f8", "logs")
        table = app.query_one("#logs-table", DataTable)
        assert "fake" in [str(cell) for cell in table.get_row_at(0)]  # the provider whole, not `fake:som`
        used, room = columns_through(table, "Tokens")
        assert used <= room, [(str(c.label), c.get_render_width(table)) for c in table.columns.values()]
        assert "some-long-model-name-4" in str(app.query_one("#log-detail").render())  # its model: below


async def test_the_models_tab_title_is_whole(make_app: Callable[..., CcmApp]) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_tab(pilot, "f4", "models")
        panel = app.query_one("#mappings-panel")
        assert len(str(panel.border_title)) + 6 <= panel.size.width  # corners, spaces: not cut with "…"


@pytest.mark.parametrize(
    ("key", "tab"),
    [("f2", "overview"), ("f3", "providers"), ("f4", "models"), ("f6", "oauth"), ("f7", "console"), ("f8", "logs")],
)
async def test_every_key_of_the_footer_is_in_view(make_app: Callable[..., CcmApp], key: str, tab: str) -> None:
    from textual.widgets._footer import FooterKey

    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_tab(pilot, key, tab)
        keys = [(k.description, k.region, k.outer_size.width) for k in app.screen.query(FooterKey)]
        assert {"Quit", "Help"} <= {d for d, _, _ in keys}
        for description, region, width in keys:  # whole: not clipped by the edge, not under another key
            assert region.width == width and region.right <= 80, (description, region)
            assert not any(region.overlaps(other) for d, other, _ in keys if d != description), description


async def test_the_fallback_form_at_80x24(make_app: Callable[..., CcmApp]) -> None:
    from textual.widgets import Input, Static

    from tui.modals.model_form import ModelForm

    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_tab(pilot, "f4", "models")
        app.query_one("#models-table", DataTable).move_cursor(row=1)  # glm-4.5-air: one mapping
        await settle(pilot)
        await pilot.press("f")
        await settle(pilot)
        form = app.screen
        assert isinstance(form, ModelForm)
        title = str(form.query_one(".dialog-title", Static).render())
        assert "(s)" not in title and "after its 1 mapping" in title
        for field in form.query(Input):
            assert len(field.placeholder) <= field.content_region.width, (field.id, field.placeholder)


async def test_the_routing_box_has_columns(make_app: Callable[..., CcmApp], isolated_env: Path) -> None:
    import re

    app = make_app(proxied_config(isolated_env / "config.toml", "http://127.0.0.1:41234"))  # short names
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        box = app.query_one("#routing-table")
        rows = [box.render_line(y).text for y in range(box.size.height)]
        assert re.search(r"fast {3,}think", rows[0]), rows
        assert rows[0].index("think") == rows[1].index("websearch"), rows  # the second pair lines up


async def test_the_test_tabs_controls_line_up(make_app: Callable[..., CcmApp]) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_tab(pilot, "f7", "console")
        picker, message = app.query_one("#console-model").region, app.query_one("#message").region
        assert picker.x == message.x >= 1
