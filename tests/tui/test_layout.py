"""80x24 stays readable: no panel of the Overview is crushed (it scrolls instead), and the providers
table's Check column is on screen (the long base URL is what runs off the edge)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

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
