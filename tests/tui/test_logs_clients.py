"""The Logs tab on a team's gateway: once the config has [[clients]], each request names the client whose key
sent it (a Client column, and the detail line); a config without clients keeps the table as it was."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from textual.widgets import DataTable

from tests.tui.helpers import NOW, SAMPLE, settle
from tui.app import CcmApp

CLIENTS = '\n[[clients]]\nname = "alice"\napi_key = "alice-key-0123456789"\n'


def item(request_id: int, client: str) -> dict[str, object]:
    return {
        "id": request_id,
        "time": NOW,
        "model": "claude-sonnet-4-5",
        "route": "default",
        "routed_model": "glm-4.6",
        "provider": "zai",
        "actual_model": "glm-4.6",
        "status": 200,
        "attempts": [],
        "latency_ms": 120,
        "input_tokens": 10,
        "output_tokens": 5,
        "client": client,
    }


async def test_logs_name_the_client_when_the_config_has_clients(
    make_app: Callable[..., CcmApp], config_path: Path
) -> None:
    config_path.write_text(
        SAMPLE.replace("port = 13456\n", 'port = 13456\napi_key = "router-key-0123456789"\n') + CLIENTS
    )
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        app.add_requests([item(1, "alice"), item(2, "-")])
        await pilot.press("f8")
        await settle(pilot)
        table = app.query_one("#logs-table", DataTable)
        # right after the time: in view on an 80-column terminal, where the last columns scroll off
        assert [str(c.label) for c in table.columns.values()][:2] == ["Time", "Client"]
        assert [table.get_row_at(i)[1] for i in range(table.row_count)] == ["alice", "-"]
        assert "alice" in app.export_screenshot()
        table.move_cursor(row=0)
        await settle(pilot)
        assert "client alice" in str(app.query_one("#log-detail").render())


async def test_logs_without_clients_have_no_client_column(make_app: Callable[..., CcmApp]) -> None:
    app = make_app()
    async with app.run_test(size=(160, 40)) as pilot:
        await settle(pilot)
        app.add_requests([item(1, "-")])
        await pilot.press("f8")
        await settle(pilot)
        table = app.query_one("#logs-table", DataTable)
        assert "Client" not in [str(c.label) for c in table.columns.values()]
