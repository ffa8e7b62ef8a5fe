"""A credential ccm holds, refused upstream, reaches Claude Code as 403.

Claude Code retries a 401 like a 5xx, eleven times over about three minutes, then says "Failed to
authenticate" as if its own login were broken; a 403 stops it at once with the message. So a wrong API key
(or a lost OAuth login, ADC, no key at all) is a 403 `permission_error` that names the provider and the fix.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import anthropic
import httpx
import pytest

from tests.e2e.harness import InProcessProxy, anthropic_provider, make_config
from tests.fakes.upstream import FakeUpstream, Reply, openai_completion

Up = Callable[[], FakeUpstream]
Px = Callable[[str], InProcessProxy]
BODY = {"model": "m", "max_tokens": 20, "messages": [{"role": "user", "content": "q"}]}


@pytest.mark.parametrize("status", [401, 403])
def test_a_wrong_key_is_a_403_after_one_upstream_attempt(status: int, upstreams: Up, proxy: Px) -> None:
    up = upstreams().script(Reply.error(status, "invalid x-api-key", "authentication_error"))
    p = proxy(make_config([anthropic_provider("zai", up.url, ptype="z.ai")], {"m": [("zai", "glm-5.1")]}))
    client = anthropic.Anthropic(base_url=p.url, api_key="ccm")  # the SDK's own retries left on
    started = time.monotonic()
    with pytest.raises(anthropic.PermissionDeniedError) as caught:
        client.messages.create(**BODY)  # type: ignore[arg-type]
    assert time.monotonic() - started < 10
    assert len(up.received) == 1  # no retry by ccm, none by the SDK
    message = caught.value.body["error"]["message"]  # type: ignore[index]
    assert caught.value.body["error"]["type"] == "permission_error"  # type: ignore[index]
    assert "provider 'zai' refused its API key" in message and "ccm keys set zai" in message
    assert "invalid x-api-key" in message  # the upstream's own words, in the summary


def test_a_wrong_key_on_a_translated_wire_is_a_403_too(upstreams: Up, proxy: Px) -> None:
    up = upstreams().script(Reply.error(401, "Incorrect API key provided", "invalid_request_error"))
    provider = {"name": "oai", "provider_type": "openai", "base_url": f"{up.url}/v1", "api_key": "$OAI_KEY"}
    p = proxy(make_config([provider], {"m": [("oai", "gpt-6.1")]}).replace("$OAI_KEY", "sk-wrong-0123456789"))
    response = httpx.post(f"{p.url}/v1/messages", json=BODY, trust_env=False)
    assert response.status_code == 403 and "provider 'oai' refused its API key" in response.text
    assert len(up.received) == 1


def test_a_key_problem_wins_over_a_refusal_and_a_transient_failure_over_both(upstreams: Up, proxy: Px) -> None:
    bad_key = upstreams().script(Reply.error(401, "bad key", "authentication_error"))
    refusing = upstreams().script(Reply.error(400, "not here", "invalid_request_error"))
    busy = upstreams().script(Reply.error(529, "overloaded", "overloaded_error"))
    providers = [anthropic_provider(n, u.url) for n, u in (("a", bad_key), ("b", refusing), ("c", busy))]
    p = proxy(make_config(providers, {"m": [("a", "x"), ("b", "y")], "n": [("a", "x"), ("b", "y"), ("c", "z")]}))
    two = httpx.post(f"{p.url}/v1/messages", json=BODY, trust_env=False)
    assert two.status_code == 403 and "a/x: HTTP 401" in two.text and "b/y: HTTP 400" in two.text
    three = httpx.post(f"{p.url}/v1/messages", json={**BODY, "model": "n"}, trust_env=False)
    assert three.status_code == 529  # Claude Code backs off and tries again


def test_a_provider_with_no_key_is_a_403_naming_the_fix(upstreams: Up, proxy: Px) -> None:
    p = proxy(make_config([{"name": "ds", "provider_type": "deepseek-anthropic"}], {"m": [("ds", "deepseek-v4-pro")]}))
    response = httpx.post(f"{p.url}/v1/messages", json=BODY, trust_env=False)
    assert response.status_code == 403 and response.json()["error"]["type"] == "permission_error"
    assert "run `ccm keys set ds` or set DS_API_KEY" in response.json()["error"]["message"]


def test_a_passthrough_401_is_still_returned_at_once(upstreams: Up, proxy: Px) -> None:
    """Claude Code's own login expired: it must see the 401 to refresh it, and nothing else is tried."""
    claude = upstreams().script(Reply.error(401, "OAuth token has expired", "authentication_error"))
    other = upstreams().script(Reply(200, json=openai_completion()))
    providers = [
        {"name": "claude", "provider_type": "anthropic", "auth_type": "passthrough", "base_url": claude.url},
        anthropic_provider("glm", other.url),
    ]
    p = proxy(make_config(providers, {"m": [("claude", "claude-opus-5-5"), ("glm", "glm")]}))
    response = httpx.post(
        f"{p.url}/v1/messages", json=BODY, headers={"authorization": "Bearer sk-ant-oat01-x"}, trust_env=False
    )
    assert response.status_code == 401 and other.received == []
