"""Context windows on the real request path: a request that does not fit a mapping skips it (nothing is
sent there), one that fits none is Anthropic's "prompt is too long", and hosts' own context-length 400s are
rewritten to that text, so Claude Code compacts."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import anthropic
import httpx
import pytest

from ccm.routing import BYTES_PER_TOKEN
from tests.e2e.harness import InProcessProxy, anthropic_provider, make_config
from tests.fakes.upstream import FakeUpstream, Reply, anthropic_message, openai_completion, openai_error

Up = Callable[[], FakeUpstream]
Px = Callable[[str], InProcessProxy]


def config(small: FakeUpstream, big: FakeUpstream, small_window: int = 2_000, big_window: int | None = 20_000) -> str:
    text = make_config(
        [
            anthropic_provider("small", small.url),
            {**anthropic_provider("big", f"{big.url}/v1"), "provider_type": "openai-compatible"},
        ],
        {"m": [("small", "small-model"), ("big", "big-model")]},
    )
    text = text.replace(
        'actual_model = "small-model"', f'actual_model = "small-model"\ncontext_window = {small_window}'
    )
    if big_window:
        text = text.replace('actual_model = "big-model"', f'actual_model = "big-model"\ncontext_window = {big_window}')
    return text


def request(tokens: int) -> dict[str, Any]:
    """A body whose estimate is about `tokens`."""
    return {
        "model": "claude-opus-5-5",
        "max_tokens": 16,
        "messages": [{"role": "user", "content": "x" * int(tokens * BYTES_PER_TOKEN)}],
    }


def post(proxy: InProcessProxy, body: dict[str, Any]) -> httpx.Response:
    return httpx.post(f"{proxy.url}/v1/messages", json=body, trust_env=False, timeout=30)


def test_a_request_too_big_for_a_mapping_skips_it(upstreams: Up, proxy: Px) -> None:
    small, big = upstreams(), upstreams()
    small.script(Reply(200, json=anthropic_message("small")))
    big.script(Reply(200, json=openai_completion("big")))
    served = proxy(config(small, big))
    fits = post(served, request(1_000))
    assert (fits.status_code, fits.headers["x-ccm-provider"]) == (200, "small")
    skipped = post(served, request(5_000))
    assert (skipped.status_code, skipped.headers["x-ccm-provider"], skipped.headers["x-ccm-attempts"]) == (
        200,
        "big",
        "1",
    )
    assert len(small.received) == 1  # the skipped mapping was never sent the big request
    log = httpx.get(f"{served.url}/api/requests?limit=1", trust_env=False).json()[0]
    assert [a["provider"] for a in log["attempts"]] == ["big"]  # not an attempt


def test_a_request_no_window_takes_is_anthropics_prompt_is_too_long(upstreams: Up, proxy: Px) -> None:
    small, big = upstreams(), upstreams()
    served = proxy(config(small, big))
    client = anthropic.Anthropic(base_url=served.url, api_key="ccm", max_retries=0)
    with pytest.raises(anthropic.BadRequestError) as caught:
        client.messages.create(**request(30_000))
    message = caught.value.body["error"]["message"]  # type: ignore[index]
    assert message.startswith("prompt is too long: ") and message.endswith(" tokens > 20000 maximum")
    assert small.received == [] and big.received == []
    # Within 10% over the largest window the estimate may be wrong: that mapping is tried.
    big.script(Reply(200, json=openai_completion("big")))
    assert post(served, request(21_000)).headers["x-ccm-provider"] == "big"


OPENAI_OVERFLOW = (
    "This model's maximum context length is 128000 tokens. However, your messages resulted in 130524 tokens."
)


def test_a_hosts_context_length_400_is_rewritten_for_claude_code(upstreams: Up, proxy: Px) -> None:
    """An OpenAI-format host's own words, its own figures."""
    big = upstreams().script(openai_error(400, OPENAI_OVERFLOW, code="context_length_exceeded"))
    text = make_config(
        [{**anthropic_provider("big", f"{big.url}/v1"), "provider_type": "openai-compatible"}],
        {"m": [("big", "big-model")]},
    )
    answer = post(proxy(text), request(1_000))
    assert answer.status_code == 400
    assert answer.json()["error"] == {
        "type": "invalid_request_error",
        "message": "prompt is too long: 130524 tokens > 128000 maximum",
    }


def test_every_mapping_out_of_room_ends_in_anthropics_words(upstreams: Up, proxy: Px) -> None:
    """The OpenAI-format mapping fails over on its overflow; the Anthropic-format host names no figures:
    the answer is its window, and a count above it."""
    small, big = upstreams(), upstreams()
    big.script(openai_error(400, OPENAI_OVERFLOW, code="context_length_exceeded"))
    small.script(Reply.error(400, "Prompt exceeds max length", "invalid_request_error"))
    text = make_config(
        [
            {**anthropic_provider("big", f"{big.url}/v1"), "provider_type": "openai-compatible"},
            anthropic_provider("small", small.url),
        ],
        {"m": [("big", "big-model"), ("small", "small-model")]},
    ).replace('actual_model = "small-model"', 'actual_model = "small-model"\ncontext_window = 200000')
    answer = post(proxy(text), request(1_000))
    assert (answer.status_code, len(big.received), len(small.received)) == (400, 1, 1)
    assert answer.json()["error"]["message"] == "prompt is too long: 200001 tokens > 200000 maximum"


def test_a_skipped_mapping_is_named_when_the_rest_fail(upstreams: Up, proxy: Px) -> None:
    small, big = upstreams(), upstreams()
    big.script(openai_error(500, "boom"))
    served = proxy(config(small, big))
    answer = post(served, request(5_000))
    assert answer.status_code == 500
    assert "skipped (context window): small/small-model (~" in answer.json()["error"]["message"]
    assert small.received == []
