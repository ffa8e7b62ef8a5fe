"""The shipped presets on the real request path: the Claude model Claude Code asks for is the one served.

Each preset's [router] and [[models]] are used as `ccm config init` writes them; only the providers are
pointed at fake upstreams (the ChatGPT login becomes a key on a fake OpenAI-format server: its model
names stay the preset's). Requests go through the official `anthropic` SDK, as Claude Code's do.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import anthropic
import pytest
import tomlkit

from cli import wizard
from tests.e2e.harness import InProcessProxy
from tests.fakes.upstream import FakeUpstream, Reply, anthropic_message, openai_completion

Up = Callable[[], FakeUpstream]
Px = Callable[[str], InProcessProxy]
KEY = "key-" + "x" * 16
OAT = "sk-ant-oat01-" + "y" * 40


def preset_on_fakes(name: str, anthropic_url: str, other_url: str) -> str:
    """The preset as written, its providers pointed at the fakes (the Claude one keeps its type and auth)."""
    doc: Any = tomlkit.parse(wizard.preset(name).text())
    doc["failover"] = {"max_retries": 0}
    for provider in doc["providers"]:
        if provider["provider_type"] == "anthropic":
            provider["base_url"] = anthropic_url
            if provider.get("auth_type") != "passthrough":
                provider["api_key"] = KEY
        else:  # ChatGPT's login or an OpenAI/z.ai key: a keyed fake of the same wire
            wire = "anthropic-compatible" if provider["provider_type"] == "z.ai" else "openai-compatible"
            provider["provider_type"] = wire
            provider["auth_type"] = "apikey"
            provider["api_key"] = KEY
            provider["base_url"] = other_url if wire == "anthropic-compatible" else f"{other_url}/v1"
    return tomlkit.dumps(doc)


def ask(proxy: InProcessProxy, model: str) -> tuple[dict[str, str], Any]:
    client = anthropic.Anthropic(
        base_url=proxy.url, api_key="ccm", max_retries=0, default_headers={"authorization": f"Bearer {OAT}"}
    )
    raw = client.messages.with_raw_response.create(
        model=model, max_tokens=64, messages=[{"role": "user", "content": "hi"}]
    )
    return dict(raw.headers), raw.parse()


@pytest.mark.parametrize(
    ("preset", "fallback", "cheap"), [("subscriptions", "gpt-5.5", "gpt-5.4-mini"), ("apikeys", "gpt-5", "gpt-5-mini")]
)
def test_claude_names_are_served_as_asked_with_the_fallback_behind(
    upstreams: Up, proxy: Px, preset: str, fallback: str, cheap: str
) -> None:
    claude, other = upstreams(), upstreams()
    claude.script(Reply(200, json=anthropic_message("from claude")))
    other.script(Reply(200, json=openai_completion("from fallback")))
    running = proxy(preset_on_fakes(preset, claude.url, other.url))
    for asked, rule in [
        ("claude-opus-5-5", "default"),
        ("claude-sonnet-5-5", "default"),
        ("claude-fable-5-2", "default"),
        ("claude-haiku-5-5", "background"),
    ]:
        headers, message = ask(running, asked)
        assert (headers["x-ccm-route"], headers["x-ccm-actual-model"]) == (rule, asked)
        assert claude.received[-1].json["model"] == asked and message.model == asked
    assert other.received == []
    # The plan's limit (or an outage): the fallback takes over, with the preset's own model names.
    claude.script(Reply.error(529, "overloaded", "overloaded_error"))
    headers, _ = ask(running, "claude-opus-5-5")
    assert (headers["x-ccm-route"], headers["x-ccm-actual-model"]) == ("default", fallback)
    headers, _ = ask(running, "claude-haiku-5-5")
    assert (headers["x-ccm-route"], headers["x-ccm-actual-model"]) == ("background", cheap)
    assert [r.json["model"] for r in other.received] == [fallback, cheap]


def test_cost_sends_background_to_its_cheap_model_and_claude_names_stay_themselves(upstreams: Up, proxy: Px) -> None:
    claude, glm = upstreams(), upstreams()
    claude.script(Reply(200, json=anthropic_message("from claude")))
    glm.script(Reply(200, json=anthropic_message("from glm")))
    running = proxy(preset_on_fakes("cost", claude.url, glm.url))
    headers, _ = ask(running, "claude-haiku-5-5")
    assert (headers["x-ccm-route"], headers["x-ccm-model"], headers["x-ccm-actual-model"]) == (
        "background",
        "glm-air",
        "glm-4.5-air",
    )
    glm.script(Reply.error(529, "overloaded", "overloaded_error"))
    headers, _ = ask(running, "claude-opus-5-5")
    assert headers["x-ccm-actual-model"] == "claude-opus-5-5"  # the quality fallback: never an older Claude
    assert claude.received[-1].json["model"] == "claude-opus-5-5"


@pytest.mark.parametrize("preset", [p.name for p in wizard.PRESETS])
def test_no_preset_names_a_claude_model_or_a_think_slot_that_never_fires(preset: str) -> None:
    """Claude Code uses adaptive thinking (never `think`), and a fixed Claude model would downgrade newer
    ones: every Claude mapping of a preset sends the name as asked."""
    doc: Any = tomlkit.parse(wizard.preset(preset).text())
    assert not doc["router"].get("think")
    for model in doc.get("models", []):
        for mapping in model["mappings"]:
            assert not str(mapping["actual_model"]).startswith("claude-"), (preset, model["name"])
