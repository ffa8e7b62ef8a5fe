"""Local servers (Ollama, LM Studio, vLLM) usually need no key: the *-compatible types work without one."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from tests.e2e.harness import InProcessProxy, make_config
from tests.fakes.upstream import FakeUpstream, Reply, anthropic_message, openai_completion


def test_openai_compatible_without_a_key(
    upstreams: Callable[[], FakeUpstream], proxy: Callable[[str], InProcessProxy]
) -> None:
    up = upstreams().script(Reply(200, json=openai_completion("local answer")))
    cfg = make_config(
        [{"name": "ollama", "provider_type": "openai-compatible", "base_url": f"{up.url}/v1"}],
        {"m": [("ollama", "qwen3:8b")]},
    )
    p = proxy(cfg)
    body = {"model": "m", "max_tokens": 20, "messages": [{"role": "user", "content": "q"}]}
    response = httpx.post(f"{p.url}/v1/messages", json=body, trust_env=False)
    assert response.status_code == 200, response.text
    assert response.json()["content"][0]["text"] == "local answer"
    assert up.received[0].path == "/v1/chat/completions"
    assert "authorization" not in up.received[0].headers


def test_anthropic_compatible_without_a_key(
    upstreams: Callable[[], FakeUpstream], proxy: Callable[[str], InProcessProxy]
) -> None:
    up = upstreams().script(Reply(200, json=anthropic_message("ok")))
    cfg = make_config(
        [{"name": "local", "provider_type": "anthropic-compatible", "base_url": up.url}], {"m": [("local", "x")]}
    )
    p = proxy(cfg)
    body = {"model": "m", "max_tokens": 20, "messages": [{"role": "user", "content": "q"}]}
    assert httpx.post(f"{p.url}/v1/messages", json=body, trust_env=False).status_code == 200
    assert "x-api-key" not in up.received[0].headers
