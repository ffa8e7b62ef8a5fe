"""Claude Pro/Max through Claude Code's own login (`auth_type = "passthrough"`).

ccm forwards the client's own Authorization and identity headers to an `auth_type = "passthrough"`
provider, never the router key; a 401 goes back to Claude Code (it refreshes its own login); a 429 or an
account-level 400 fails over; a request without a login fails over with a message saying how to log in.
"""

from __future__ import annotations

from collections.abc import Callable

import httpx

from tests.e2e.harness import InProcessProxy, anthropic_provider, make_config
from tests.fakes.upstream import FakeUpstream, Reply, anthropic_message

Up = Callable[[], FakeUpstream]
Px = Callable[[str], InProcessProxy]
BODY = {"model": "m", "max_tokens": 20, "messages": [{"role": "user", "content": "q"}]}
OAT = "sk-ant-oat01-" + "x" * 40
ROUTER_KEY = "router-key-0123456789"
CLAUDE_CODE = {
    "authorization": f"Bearer {OAT}",
    "anthropic-beta": "claude-code-20250219,oauth-2025-04-20",
    "anthropic-version": "2023-06-01",
    "x-app": "cli",
    "user-agent": "claude-cli/2.1.329 (external, cli)",
    "x-stainless-lang": "js",
    "x-claude-code-session-id": "sess-1",
}


def cfg(claude: str, other: str | None = None, router_key: bool = False) -> str:
    providers = [{"name": "claude", "provider_type": "anthropic", "auth_type": "passthrough", "base_url": claude}]
    maps = [("claude", "claude-opus-5-5")]
    if other:
        providers.append(anthropic_provider("glm", other))
        maps.append(("glm", "glm-4.6"))
    server = {"api_key": ROUTER_KEY} if router_key else {}
    return make_config(providers, {"m": maps}, server=server)


def post(p: InProcessProxy, headers: dict[str, str]) -> httpx.Response:
    return httpx.post(f"{p.url}/v1/messages?beta=true", json=BODY, headers=headers, trust_env=False, timeout=30)


def test_claude_codes_login_and_identity_reach_anthropic_untouched(upstreams: Up, proxy: Px) -> None:
    up = upstreams().script(Reply(200, json=anthropic_message("from Max")))
    p = proxy(cfg(up.url, router_key=True))
    response = post(p, {**CLAUDE_CODE, "x-ccm-key": ROUTER_KEY})
    assert response.status_code == 200 and response.json()["content"][0]["text"] == "from Max"
    seen = up.received[0]
    assert seen.headers["authorization"] == f"Bearer {OAT}"
    for name in ("anthropic-beta", "x-app", "user-agent", "x-stainless-lang", "x-claude-code-session-id"):
        assert seen.headers[name] == CLAUDE_CODE[name]
    assert ROUTER_KEY not in str(seen.headers) and "x-ccm-key" not in seen.headers
    assert seen.path == "/v1/messages?beta=true"


def test_the_router_key_in_authorization_is_never_forwarded(upstreams: Up, proxy: Px) -> None:
    up = upstreams().script(Reply(200, json=anthropic_message()))
    p = proxy(cfg(up.url, router_key=True))
    response = post(p, {"authorization": f"Bearer {ROUTER_KEY}"})  # the router key, and no Claude login
    assert response.status_code == 401 and "claude /login" in response.json()["error"]["message"]
    assert up.received == []


def test_the_router_key_sent_twice_beside_the_login_is_never_forwarded(upstreams: Up, proxy: Px) -> None:
    """Two x-api-key lines (the router key and a stale one) arrive joined; only the stale one may go on."""
    up = upstreams().script(Reply(200, json=anthropic_message("from Max")))
    p = proxy(cfg(up.url, router_key=True))
    headers = [(k, v) for k, v in CLAUDE_CODE.items()]
    headers += [("x-api-key", "sk-ant-stale"), ("x-api-key", ROUTER_KEY), ("authorization", f"Bearer {ROUTER_KEY}")]
    response = httpx.post(f"{p.url}/v1/messages", json=BODY, headers=headers, trust_env=False, timeout=30)
    assert response.status_code == 200, response.text
    seen = up.received[0]
    assert ROUTER_KEY not in str(seen.headers)
    assert seen.headers["x-api-key"] == "sk-ant-stale"
    assert seen.headers["authorization"] == f"Bearer {OAT}"


def test_a_401_goes_back_to_claude_code_and_does_not_fail_over(upstreams: Up, proxy: Px) -> None:
    claude, glm = upstreams(), upstreams()
    claude.script(Reply.error(401, "OAuth token has expired", "authentication_error"))
    glm.script(Reply(200, json=anthropic_message("glm")))
    p = proxy(cfg(claude.url, glm.url))
    response = post(p, CLAUDE_CODE)
    assert response.status_code == 401 and response.json()["error"]["type"] == "authentication_error"
    assert glm.received == []


def test_max_limit_429_and_out_of_usage_400_fail_over_to_the_next_provider(upstreams: Up, proxy: Px) -> None:
    claude, glm = upstreams(), upstreams()
    claim = {"anthropic-ratelimit-unified-representative-claim": "five_hour"}
    claude.script(
        Reply.error(429, "rate limited", "rate_limit_error", headers=claim),
        Reply.error(400, "You're out of extra usage. Add more at claude.ai", "invalid_request_error"),
    )
    glm.script(Reply(200, json=anthropic_message("glm carries on")))
    p = proxy(cfg(claude.url, glm.url))
    for _ in range(2):
        response = post(p, CLAUDE_CODE)
        assert response.status_code == 200 and response.headers["x-ccm-provider"] == "glm"
    assert "authorization" not in glm.received[0].headers or OAT not in glm.received[0].headers["authorization"]
    assert glm.received[0].headers.get("x-api-key") != OAT


def test_no_login_fails_over_with_how_to_log_in(upstreams: Up, proxy: Px) -> None:
    claude, glm = upstreams(), upstreams()
    glm.script(Reply(200, json=anthropic_message("glm")))
    p = proxy(cfg(claude.url, glm.url))
    assert post(p, {}).headers["x-ccm-provider"] == "glm"
    only = proxy(cfg(claude.url))
    response = post(only, {})
    assert response.status_code == 401 and "claude /login" in response.json()["error"]["message"]
    assert claude.received == []


def test_other_providers_never_see_the_clients_credential(upstreams: Up, proxy: Px) -> None:
    glm = upstreams().script(Reply(200, json=anthropic_message()))
    p = proxy(make_config([anthropic_provider("glm", glm.url, key="glm-key-123456")], {"m": [("glm", "x")]}))
    post(p, CLAUDE_CODE)
    headers = glm.received[0].headers
    assert OAT not in str(headers) and headers["x-api-key"] == "glm-key-123456"
    assert headers["user-agent"] == CLAUDE_CODE["user-agent"]  # the Anthropic wire forwards the user-agent
