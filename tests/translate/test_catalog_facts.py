"""Catalog facts the translators apply: DeepSeek V4's output limit, GPT-6.x reasoning and sampling rules,
through the real adapters (the Chat Completions and Responses wires)."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from ccm.providers.openai import ADAPTER as CHAT
from ccm.translate.profile import profile_for
from tests.translate.helpers import make_ctx as chat_ctx
from tests.translate.responses_helpers import build, make_ctx, user

CLAUDE_CODE = {
    "model": "claude-opus-5-5",
    "max_tokens": 128000,
    "temperature": 1,
    "top_p": 0.9,
    "thinking": {"type": "adaptive"},
    "output_config": {"effort": "high"},
    "messages": [user("hi")],
}


def chat(provider_type: str, model: str, body: dict[str, Any]) -> dict[str, Any]:
    sent: dict[str, Any] = orjson.loads(CHAT.build(body, chat_ctx(provider_type, model)).body)
    return sent


@pytest.mark.parametrize("model", ["deepseek-v4-pro", "deepseek-v4-flash", "deepseek-flash"])
def test_deepseek_v4_is_not_clamped_to_8192(model: str) -> None:
    assert chat("deepseek", model, {**CLAUDE_CODE, "max_tokens": 64000})["max_tokens"] == 64000
    assert chat("deepseek", model, {**CLAUDE_CODE, "max_tokens": 500_000})["max_tokens"] == 384_000
    assert profile_for("deepseek", model).max_output_tokens == 384_000


def test_deepseeks_retired_names_keep_working_with_their_old_limits() -> None:
    assert chat("deepseek", "deepseek-chat", CLAUDE_CODE)["max_tokens"] == 8192
    assert chat("deepseek", "deepseek-reasoner", CLAUDE_CODE)["max_tokens"] == 65536


@pytest.mark.parametrize("model", ["gpt-6", "gpt-6.1", "gpt-6.1-mini"])
def test_gpt6_on_chat_completions_follows_gpt5s_rules(model: str) -> None:
    sent = chat("openai", model, CLAUDE_CODE)
    like = chat("openai", "gpt-5.1", CLAUDE_CODE)
    assert "temperature" not in sent and "top_p" not in sent
    assert sent["reasoning_effort"] == like["reasoning_effort"] == "high"
    assert "max_completion_tokens" in sent and "max_tokens" not in sent
    off = chat("openai", model, {**CLAUDE_CODE, "thinking": {"type": "disabled"}})
    assert off["reasoning_effort"] == "none"


@pytest.mark.parametrize("model", ["gpt-6", "gpt-6.1"])
def test_gpt6_on_the_responses_api_follows_gpt5s_rules(model: str) -> None:
    _, sent = build(CLAUDE_CODE, make_ctx(backend=False, model=model))
    _, like = build(CLAUDE_CODE, make_ctx(backend=False, model="gpt-5.1"))
    assert "temperature" not in sent and "top_p" not in sent
    assert sent["reasoning"] == like["reasoning"] and sent["reasoning"]["effort"] == "high"
    _, off = build({**CLAUDE_CODE, "thinking": {"type": "disabled"}}, make_ctx(backend=False, model=model))
    assert off["reasoning"]["effort"] == "none"
