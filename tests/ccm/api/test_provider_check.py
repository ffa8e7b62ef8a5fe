"""ccm.api.provider_check against real fake servers: the credential it is given, the provider's headers,
the 1-token fallback where a server has no model list, and passthrough checked for reachability only."""

from __future__ import annotations

import httpx

from ccm.api.provider_check import check_provider
from ccm.auth.credentials import Credential, api_key
from config.load import parse_config
from config.schema import ProviderConfig
from tests.fakes.upstream import FakeUpstream, Received, Reply, anthropic_message


def provider(url: str, ptype: str = "anthropic-compatible") -> ProviderConfig:
    text = f"""
[router]
default = "m"

[[providers]]
name = "up"
provider_type = "{ptype}"
base_url = "{url}"
headers = {{ "X-Team" = "t1" }}

[[models]]
name = "m"

[[models.mappings]]
provider = "up"
actual_model = "glm-4.6"
"""
    found = parse_config(text).config.provider("up")
    assert found is not None
    return found


async def check(p: ProviderConfig, credential: Credential, model: str | None = "glm-4.6") -> dict[str, object]:
    async with httpx.AsyncClient(trust_env=False) as client:
        result = await check_provider(client, p, credential, model=model, connect_s=5.0)
    return result.as_dict()


def _no_models(rec: Received) -> Reply:
    return Reply(405, body=b"") if rec.method == "GET" else Reply(200, json=anthropic_message("pong"))


async def test_anthropic_format_falls_back_to_one_token_with_its_own_key() -> None:
    with FakeUpstream() as up:
        up.script(Reply(handler=_no_models))
        result = await check(provider(up.url), api_key("sk-own-key-1234"))
    assert result["ok"] is True and result["status"] == 200
    assert [(r.method, r.path) for r in up.received] == [("GET", "/v1/models"), ("POST", "/v1/messages")]
    assert up.received[1].json == {
        "model": "glm-4.6",
        "max_tokens": 1,
        "messages": [{"role": "user", "content": "ping"}],
    }
    for r in up.received:
        assert r.headers["x-api-key"] == "sk-own-key-1234" and r.headers["x-team"] == "t1"
        assert r.headers["anthropic-version"] == "2023-06-01"


async def test_a_failure_names_the_url_and_the_upstreams_message() -> None:
    with FakeUpstream() as up:
        up.script(Reply.error(401, "invalid x-api-key", "authentication_error"))
        result = await check(provider(up.url), api_key("wrong"))
    assert result == {
        "ok": False,
        "status": 401,
        "latency_ms": result["latency_ms"],
        "message": f"GET {up.url}/v1/models: invalid x-api-key",
        "url": f"{up.url}/v1/models",
    }


async def test_no_model_list_and_no_model_says_so() -> None:
    with FakeUpstream() as up:
        up.script(Reply(404, body=b"Not Found"))
        result = await check(provider(f"{up.url}/v1", "openai-compatible"), api_key(None), model=None)
    assert result["ok"] is False
    assert result["message"] == f"{up.url}/v1/models: no model list (404), and no model maps to this provider to try"
    assert "authorization" not in up.received[0].headers  # keyless: no auth header at all


async def test_passthrough_is_reachability_only() -> None:
    """Its login is Claude Code's own: a 401 still proves the host answers; no key of ccm's is sent."""
    with FakeUpstream() as up:
        up.script(Reply.error(401, "missing credentials", "authentication_error"))
        result = await check(provider(up.url), Credential("passthrough"))
        assert result["ok"] is True and result["status"] == 401
        up.script(Reply.error(503, "down"))
        assert (await check(provider(up.url), Credential("passthrough")))["ok"] is False
    assert len(up.received) == 2 and "x-api-key" not in up.received[0].headers
