"""Helpers for the TUI tests: the sample config, and ways to wait for the app without sleeping."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from textual.pilot import Pilot
from textual.widgets import Input
from textual.worker import WorkerCancelled

#: 2025-01-15 12:00:00 UTC: every time on screen in a test is relative to this.
NOW = 1736942400.0

SAMPLE = """\
# My ccm config: GLM first, OpenRouter as the safety net.

[server]
host = "127.0.0.1"
port = 13456

[router]
default = "glm-4.6"        # what Claude Code's main requests become
think = "kimi-k2"
background = "glm-4.5-air"
websearch = ""
long_context = ""
long_context_threshold = 60000
auto_map_regex = "^claude-"
background_regex = "(?i)claude.*haiku"

# --- providers ---
[[providers]]
name = "zai"
provider_type = "z.ai"
api_key = "$ZAI_API_KEY"   # from the environment

[[providers]]
name = "openrouter"
provider_type = "openrouter"

[[providers]]
name = "local"
provider_type = "openai-compatible"
base_url = "http://localhost:11434/v1"
enabled = false

# --- models ---
[[models]]
name = "glm-4.6"

[[models.mappings]]
provider = "zai"
actual_model = "glm-4.6"
priority = 1

[[models.mappings]]
provider = "openrouter"
actual_model = "z-ai/glm-4.6"
priority = 2

[[models]]
name = "glm-4.5-air"

[[models.mappings]]
provider = "zai"
actual_model = "glm-4.5-air"
priority = 1

[[models]]
name = "kimi-k2"  # thinking model

[[models.mappings]]
provider = "openrouter"
actual_model = "moonshotai/kimi-k2-thinking"
priority = 1
"""


async def settle(pilot: Pilot[Any]) -> None:
    """Let messages, lazy mounts and workers finish (waits on work, never on a fixed time); the request feed
    is a worker that runs for the app's whole life, so it is left out."""
    await pilot.pause()
    for _ in range(3):  # a finished worker may start another (save -> reload the proxy)
        busy = [w for w in pilot.app.workers if w.group != "feed" and not w.is_finished]
        if not busy:
            break
        # A poller replaced by its next run (an exclusive worker) ends cancelled: that is finished too.
        with contextlib.suppress(WorkerCancelled):
            await pilot.app.workers.wait_for_complete(busy)
        await pilot.pause()


async def open_tab(pilot: Pilot[Any], key: str, tab: str) -> None:
    """Press a tab's key once the tabs exist, and wait until that tab is shown with the focus inside it (a
    key pressed while the app still loads its config would be lost)."""
    from textual.widgets import TabbedContent

    await wait_for(pilot, lambda: bool(pilot.app.query(TabbedContent)))
    await settle(pilot)
    await pilot.press(key)

    def shown() -> bool:
        tabs = pilot.app.query_one(TabbedContent)
        focused = pilot.app.focused
        return tabs.active == tab and focused is not None and tabs.get_pane(tab) in focused.ancestors_with_self

    await wait_for(pilot, shown)
    await settle(pilot)


async def type_into(pilot: Pilot[Any], selector: str, text: str) -> None:
    """Focus an input and put text in it: the first character as a key press (so the focus is proven),
    the rest inserted at once (a key press per character costs a refresh each)."""
    widget = pilot.app.screen.query_one(selector, Input)
    widget.focus()
    widget.value = ""
    await pilot.pause()
    if text:
        await pilot.press(text[0] if text[0] != " " else "space")
        widget.insert_text_at_cursor(text[1:])
        await pilot.pause()
    assert widget.value == text, f"{selector} holds {widget.value!r}"


async def wait_for(pilot: Pilot[Any], predicate: Callable[[], bool], timeout: float = 30.0) -> None:
    """Poll a condition with a deadline (for things that happen in another process or thread); the deadline
    is generous, since a loaded 2-core machine is slow, and a condition met returns at once."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await pilot.pause(0.02)


def provider_block(name: str, url: str, key: str = "sk-test-" + "k" * 16) -> str:
    """A [[providers]] entry pointing at a fake upstream (Anthropic format)."""
    return (
        f'\n[[providers]]\nname = "{name}"\nprovider_type = "anthropic-compatible"\n'
        f'base_url = "{url}"\napi_key = "{key}"\n'
    )


def proxied_config(path: Path, upstream_url: str, server_extra: str = "") -> Path:
    """A small config whose every model goes to the fake upstream; `server_extra` adds [server] lines."""
    path.write_text(
        f'# served by the test proxy\n[server]\nhost = "127.0.0.1"\n{server_extra}\n[router]\ndefault = "fast"\n'
        'think = "deep"\n'
        + provider_block("fake", upstream_url)
        + '\n[[models]]\nname = "fast"\n\n[[models.mappings]]\nprovider = "fake"\nactual_model = "fake-fast"\n'
        'priority = 1\n\n[[models]]\nname = "deep"\n\n[[models.mappings]]\nprovider = "fake"\n'
        'actual_model = "fake-deep"\npriority = 1\n'
        "\n[failover]\nmax_retries = 0  # each scripted failure is one attempt\n"
    )
    return path
