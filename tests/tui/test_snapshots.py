"""Snapshots of every tab at 80x24 and 120x40 with the sample config (pytest-textual-snapshot).

Nothing on screen may change between runs: the clock and the time zone are fixed, paths read
`~/ccm-home/config.toml` (HOME is the test's tmp folder), the proxy is stopped (no pid, port or
uptime), requests and tokens are injected with fixed times, and cursors do not blink.
Update after a deliberate change with `pytest tests/tui/test_snapshots.py --snapshot-update`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Input

from config import secrets
from tests.tui.helpers import NOW, settle
from tui.app import CcmApp
from tui.console import ConsoleView, Exchange
from tui.oauth import OAuthView

SIZES = [(80, 24), (120, 40)]

REQUESTS = [
    {
        "id": 1,
        "time": NOW - 95,
        "model": "claude-sonnet-4-5",
        "route": "default",
        "routed_model": "glm-4.6",
        "provider": "zai",
        "actual_model": "glm-4.6",
        "status": 200,
        "attempts": 1,
        "latency_ms": 1834,
        "input_tokens": 18230,
        "output_tokens": 412,
        "stream": True,
        "error": None,
    },
    {
        "id": 2,
        "time": NOW - 61,
        "model": "claude-haiku-4-5",
        "route": "background",
        "routed_model": "glm-4.5-air",
        "provider": "zai",
        "actual_model": "glm-4.5-air",
        "status": 200,
        "attempts": 1,
        "latency_ms": 402,
        "input_tokens": 512,
        "output_tokens": 31,
        "stream": False,
        "error": None,
    },
    {
        "id": 3,
        "time": NOW - 30,
        "model": "claude-sonnet-4-5",
        "route": "think",
        "routed_model": "kimi-k2",
        "provider": "openrouter",
        "actual_model": "moonshotai/kimi-k2-thinking",
        "status": 200,
        "attempts": 2,
        "latency_ms": 12950,
        "input_tokens": 20110,
        "output_tokens": 1544,
        "stream": True,
        "error": None,
    },
    {
        "id": 4,
        "time": NOW - 4,
        "model": "claude-sonnet-4-5",
        "route": "default",
        "routed_model": "glm-4.6",
        "provider": None,
        "actual_model": None,
        "status": 529,
        "attempts": 2,
        "latency_ms": 733,
        "input_tokens": 0,
        "output_tokens": 0,
        "stream": True,
        "error": "zai glm-4.6: 529 overloaded; openrouter z-ai/glm-4.6: 529 overloaded",
    },
]


def no_blink(app: CcmApp) -> None:
    for widget in app.screen.query(Input):
        widget.cursor_blink = False


def before(key: str, extra: Callable[[CcmApp], None] | None = None) -> Callable[[Pilot[Any]], Awaitable[None]]:
    async def run(pilot: Pilot[Any]) -> None:
        app = pilot.app
        assert isinstance(app, CcmApp)
        app.add_requests(REQUESTS)
        await pilot.press(key)
        await settle(pilot)
        if extra is not None:
            extra(app)
        no_blink(app)
        await settle(pilot)

    return run


def show_tokens(app: CcmApp) -> None:
    view = app.query_one(OAuthView)
    view.tokens = [
        {"provider": "claude-max", "status": "active", "expires_at": NOW + 5 * 3600},
        {"provider": "chatgpt", "status": "needs_refresh", "expires_at": NOW + 240},
        {"provider": "gemini", "status": "expired", "expires_at": NOW - 86400},
    ]
    view._draw("Tokens as the proxy lists them; r refreshes one now, d deletes it.")


def show_answer(app: CcmApp) -> None:
    view = app.query_one(ConsoleView)
    app.query_one("#message", Input).value = "Write a haiku about failover"
    ex = Exchange()
    ex.started, ex.first_byte, ex.finished = 0.0, 0.412, 1.934
    ex.status = 200
    ex.headers = {
        "x-ccm-route": "default",
        "x-ccm-model": "glm-4.6",
        "x-ccm-provider": "zai",
        "x-ccm-actual-model": "glm-4.6",
        "x-ccm-attempts": "1",
    }
    ex.add_event(
        "content_block_delta",
        {
            "delta": {
                "type": "text_delta",
                "text": ("One door closes hard,\nthe second answers at once:\nthe prompt never knew."),
            }
        },
    )
    ex.usage = {"input_tokens": 23, "output_tokens": 19}
    ex.stop_reason = "end_turn"
    view._show(ex, done=True)


TABS = [
    ("overview", "f2", None),
    ("providers", "f3", None),
    ("models", "f4", None),
    ("router", "f5", None),
    ("oauth", "f6", show_tokens),
    ("console", "f7", show_answer),
    ("logs", "f8", None),
]


@pytest.fixture
def snapshot_app(home_as_tmp: Path, config_path: Path) -> Callable[[], CcmApp]:
    """The sample config with one key in the keyring (shown masked) and the clock fixed at NOW."""
    secrets.store().set("provider:openrouter", "sk-or-v1-0000000000000000a1b2")

    def make() -> CcmApp:
        return CcmApp(config_path, clock=lambda: NOW)

    return make


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize(("tab", "key", "extra"), TABS, ids=[t[0] for t in TABS])
def test_tab(
    snap_compare: Any, snapshot_app: Callable[[], CcmApp], tab: str, key: str, extra: Any, size: tuple[int, int]
) -> None:
    assert snap_compare(snapshot_app(), terminal_size=size, run_before=before(key, extra))


def test_provider_form(snap_compare: Any, snapshot_app: Callable[[], CcmApp]) -> None:
    async def run(pilot: Pilot[Any]) -> None:
        await pilot.press("f3")
        await settle(pilot)
        await pilot.press("e")
        await settle(pilot)
        no_blink(pilot.app)

    assert snap_compare(snapshot_app(), terminal_size=(80, 24), run_before=run)


def test_first_run_presets(snap_compare: Any, home_as_tmp: Path, isolated_env: Path) -> None:
    async def run(pilot: Pilot[Any]) -> None:
        await settle(pilot)

    assert snap_compare(CcmApp(clock=lambda: NOW), terminal_size=(120, 40), run_before=run)
