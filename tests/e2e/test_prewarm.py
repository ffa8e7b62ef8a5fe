"""`max_tokens: 0`, Anthropic's prompt-cache pre-warm: forwarded to `anthropic` and passthrough providers,
answered by ccm itself everywhere else (an empty message, no upstream call, cost 0, outcome `prewarm`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import anthropic
import httpx
import pytest

from ccm.sse import SSEParser
from tests.e2e.harness import InProcessProxy, anthropic_provider, make_config
from tests.fakes.upstream import FakeUpstream, Reply, anthropic_message, sse

Up = Callable[[], FakeUpstream]
Px = Callable[[str], InProcessProxy]
PROMPT = [{"role": "user", "content": "a long prompt worth caching " * 40}]


def empty_answer() -> dict[str, Any]:
    return {**anthropic_message("", "claude-opus-5-5"), "content": [], "stop_reason": "max_tokens"}


def empty_stream() -> list[bytes]:
    start = {"type": "message_start", "message": {**empty_answer(), "stop_reason": None}}
    delta = {
        "type": "message_delta",
        "delta": {"stop_reason": "max_tokens", "stop_sequence": None},
        "usage": {"output_tokens": 0},
    }
    return [sse("message_start", start), sse("message_delta", delta), sse("message_stop", {"type": "message_stop"})]


def served(proxy: Px, up: FakeUpstream, provider: dict[str, Any]) -> InProcessProxy:
    text = make_config([provider], {"m": [(provider["name"], "actual-model")]})
    return proxy(text.replace("priority = 1\n", "priority = 1\nprice_in = 3.0\nprice_out = 15.0\n", 1))


def sdk(p: InProcessProxy, **headers: str) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=p.url, api_key="ccm", max_retries=0, default_headers=headers)


PROVIDERS = {
    "anthropic": lambda url: anthropic_provider("claude", url, ptype="anthropic"),
    "passthrough": lambda url: {
        "name": "claude",
        "provider_type": "anthropic-compatible",
        "auth_type": "passthrough",
        "base_url": url,
    },
}


@pytest.mark.parametrize("kind", list(PROVIDERS))
@pytest.mark.parametrize("stream", [False, True])
def test_anthropic_and_passthrough_get_the_prewarm(kind: str, stream: bool, upstreams: Up, proxy: Px) -> None:
    up = upstreams().script(Reply.stream(empty_stream()) if stream else Reply(200, json=empty_answer()))
    p = served(proxy, up, PROVIDERS[kind](up.url))
    client = sdk(p)
    if stream:
        with client.messages.stream(model="m", max_tokens=0, messages=PROMPT) as s:  # type: ignore[arg-type]
            message = s.get_final_message()
    else:
        message = client.messages.create(model="m", max_tokens=0, messages=PROMPT)  # type: ignore[arg-type]
    assert message.content == [] and message.stop_reason == "max_tokens"
    assert len(up.received) == 1 and up.received[0].json["max_tokens"] == 0


@pytest.mark.parametrize(
    "provider",
    [
        lambda url: {"name": "oai", "provider_type": "openai-compatible", "base_url": f"{url}/v1", "api_key": "k" * 16},
        lambda url: anthropic_provider("glm", url, ptype="z.ai"),
        lambda url: anthropic_provider("gw", url),  # anthropic-compatible with a key of ccm's own
    ],
    ids=["openai-wire", "z.ai", "anthropic-compatible"],
)
@pytest.mark.parametrize("stream", [False, True])
def test_every_other_mapping_is_answered_by_ccm(provider: Any, stream: bool, upstreams: Up, proxy: Px) -> None:
    up = upstreams().script(Reply.error(400, "max_tokens: must be at least 1"))
    p = served(proxy, up, provider(up.url))
    client = sdk(p)
    if stream:
        with client.messages.with_streaming_response.create(
            model="m",
            max_tokens=0,
            messages=PROMPT,
            stream=True,  # type: ignore[arg-type]
        ) as raw:
            body = b"".join(raw.iter_bytes())
            headers = raw.headers
        assert [e.event for e in SSEParser().feed(body)] == ["message_start", "message_delta", "message_stop"]
        with client.messages.stream(model="m", max_tokens=0, messages=PROMPT) as s:  # type: ignore[arg-type]
            message = s.get_final_message()
    else:
        raw_answer = client.messages.with_raw_response.create(model="m", max_tokens=0, messages=PROMPT)  # type: ignore[arg-type]
        headers, message = raw_answer.headers, raw_answer.parse()
    assert message.content == [] and message.stop_reason == "max_tokens" and message.model == "m"
    assert message.usage.input_tokens > 100 and message.usage.output_tokens == 0
    assert up.received == []  # no upstream call at all
    assert headers["x-ccm-attempts"] == "0" and "x-ccm-provider" not in headers
    record = httpx.get(f"{p.url}/api/requests", trust_env=False).json()[0]
    assert record["outcome"] == "prewarm" and record["cost_usd"] == 0 and record["status"] == 200
    assert record["input_tokens"] == message.usage.input_tokens and record["attempts"] == []


def test_after_anthropic_fails_the_next_mapping_answers_locally(upstreams: Up, proxy: Px) -> None:
    down = upstreams().script(Reply.error(529, "overloaded", "overloaded_error"))
    other = upstreams()
    providers = [
        anthropic_provider("claude", down.url, ptype="anthropic"),
        anthropic_provider("glm", other.url, ptype="z.ai"),
    ]
    p = proxy(make_config(providers, {"m": [("claude", "claude-opus-5-5"), ("glm", "glm-5.1")]}))
    raw = sdk(p).messages.with_raw_response.create(model="m", max_tokens=0, messages=PROMPT)  # type: ignore[arg-type]
    assert raw.parse().stop_reason == "max_tokens" and raw.headers["x-ccm-attempts"] == "1"
    assert len(down.received) == 1 and other.received == []
