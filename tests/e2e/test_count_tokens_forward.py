"""count_tokens forwarded to an Anthropic upstream gets the same request a Messages call would: ccm-signed
thinking removed (the real API rejects a signature it did not make, which silently turned every such count
into the local estimate) and the provider's own headers."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from tests.e2e.harness import InProcessProxy, anthropic_provider, make_config
from tests.fakes.upstream import FakeUpstream, Reply

Up = Callable[[], FakeUpstream]
Px = Callable[[str], InProcessProxy]


def test_count_tokens_forward_is_built_like_a_messages_request(upstreams: Up, proxy: Px) -> None:
    up = upstreams().script(Reply(200, json={"input_tokens": 4242}))
    provider = anthropic_provider("a", up.url, ptype="anthropic", headers={"X-Org": "team-1"})
    p = proxy(make_config([provider], {"m": [("a", "x")]}))
    history = [
        {"role": "user", "content": "q1"},
        {
            "role": "assistant",
            "content": [
                {"type": "thinking", "thinking": "from deepseek", "signature": "ccm1:abc"},
                {"type": "text", "text": "a1"},
            ],
        },
        {"role": "user", "content": "q2"},
    ]
    body = {"model": "m", "messages": history}
    response = httpx.post(f"{p.url}/v1/messages/count_tokens", json=body, trust_env=False)
    assert response.json() == {"input_tokens": 4242}
    sent = up.received[0]
    assert sent.path == "/v1/messages/count_tokens"
    assert "ccm1:" not in sent.body.decode()
    assert sent.json["messages"][1]["content"] == [{"type": "text", "text": "a1"}]
    assert sent.headers["x-org"] == "team-1"
