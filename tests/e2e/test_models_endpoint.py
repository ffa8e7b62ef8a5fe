"""GET /v1/models and /v1/models/{id} through both official SDKs, on the real proxy (in-process Hypercorn)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import anthropic
import httpx
import openai
import pytest

from tests.e2e.harness import InProcessProxy, anthropic_provider, make_config

Px = Callable[[str], InProcessProxy]
ROUTER_KEY = "router-key-0123456789"


def config(**server: Any) -> str:
    providers = [
        anthropic_provider("gw", "http://127.0.0.1:9"),
        {"name": "oai", "provider_type": "openai", "api_key": "k-" + "x" * 20},
    ]
    models = {
        "glm": [("gw", "glm-5"), ("oai", "gpt-5")],  # gpt-5: 272k in the catalog; glm-5: given below
        "claude-custom": [("gw", "claude-sonnet-4-5-20250929")],
        "mystery": [("gw", "unknown-model")],
    }
    text = make_config(providers, models, server=server)
    return text.replace('actual_model = "glm-5"', 'actual_model = "glm-5"\ncontext_window = 200000')


@pytest.fixture
def served(proxy: Px) -> InProcessProxy:
    return proxy(config())


def test_anthropic_sdk_lists_every_name_and_the_discovery_aliases(served: InProcessProxy) -> None:
    client = anthropic.Anthropic(base_url=served.url, api_key="ccm", max_retries=0)
    page = client.models.list(limit=1000)
    assert [m.id for m in page.data] == [
        "glm",
        "claude-via-ccm/glm",
        "claude-custom",
        "mystery",
        "claude-via-ccm/mystery",
    ]
    by_id = {m.id: m for m in page.data}
    assert by_id["claude-via-ccm/glm"].display_name == "glm"
    assert (by_id["glm"].max_input_tokens, by_id["glm"].max_tokens) == (272_000, None)  # glm-5's output: unknown
    assert (by_id["claude-custom"].max_input_tokens, by_id["claude-custom"].max_tokens) == (200_000, 64_000)
    assert by_id["mystery"].max_input_tokens is None
    assert page.has_more is False and page.first_id == "glm" and page.last_id == "claude-via-ccm/mystery"
    assert all(m.type == "model" and m.created_at.year == 1970 for m in page.data)
    # Never a provider name or an actual model.
    raw = httpx.get(f"{served.url}/v1/models", trust_env=False).text
    assert (
        "gw" not in raw.replace("glm", "") and "glm-5" not in raw and "gpt-5" not in raw and "unknown-model" not in raw
    )


def test_anthropic_sdk_retrieves_one_even_with_a_slash_and_404s_another(served: InProcessProxy) -> None:
    client = anthropic.Anthropic(base_url=served.url, api_key="ccm", max_retries=0)
    assert client.models.retrieve("claude-via-ccm/glm").display_name == "glm"
    assert client.models.retrieve("GLM").id == "glm"
    with pytest.raises(anthropic.NotFoundError) as caught:
        client.models.retrieve("gpt-5")  # an actual model, not a name
    assert caught.value.body == {
        "type": "error",
        "error": {"type": "not_found_error", "message": "model 'gpt-5' is not configured (GET /v1/models lists them)"},
    }


def test_paging_is_accepted(served: InProcessProxy) -> None:
    client = anthropic.Anthropic(base_url=served.url, api_key="ccm", max_retries=0)
    first = client.models.list(limit=2)
    assert [m.id for m in first.data] == ["glm", "claude-via-ccm/glm"] and first.has_more is True
    assert [m.id for m in first.iter_pages().__next__().data] == ["glm", "claude-via-ccm/glm"]
    assert [m.id for m in client.models.list(limit=2)] == [
        "glm",
        "claude-via-ccm/glm",
        "claude-custom",
        "mystery",
        "claude-via-ccm/mystery",
    ]  # the SDK follows after_id
    before = client.models.list(before_id="mystery", limit=1)
    assert [m.id for m in before.data] == ["claude-custom"]
    with pytest.raises(anthropic.BadRequestError) as caught:
        client.models.list(limit=0)
    assert "limit: must be an integer from 1 to 1000" in str(caught.value)


def test_openai_sdk_reads_the_same_answer(served: InProcessProxy) -> None:
    client = openai.OpenAI(base_url=f"{served.url}/v1", api_key="ccm", max_retries=0)
    listed = client.models.list()
    assert [(m.id, m.object, m.owned_by, m.created) for m in listed.data][:2] == [
        ("glm", "model", "ccm", 0),
        ("claude-via-ccm/glm", "model", "ccm", 0),
    ]
    assert client.models.retrieve("claude-via-ccm/mystery").id == "claude-via-ccm/mystery"
    with pytest.raises(openai.NotFoundError) as caught:
        client.models.retrieve("nope")
    assert caught.value.body == {
        "message": "model 'nope' is not configured (GET /v1/models lists them)",
        "type": "invalid_request_error",
        "param": "model",
        "code": "model_not_found",
    }


def test_the_router_key_guards_it_with_each_clients_error_shape(proxy: Px) -> None:
    served = proxy(config(api_key=ROUTER_KEY))
    with pytest.raises(openai.AuthenticationError) as oai:
        openai.OpenAI(base_url=f"{served.url}/v1", api_key="wrong", max_retries=0).models.list()
    assert isinstance(oai.value.body, dict) and oai.value.body["code"] == "invalid_api_key"
    with pytest.raises(anthropic.AuthenticationError) as ant:
        anthropic.Anthropic(base_url=served.url, api_key="wrong", max_retries=0).models.list()
    assert ant.value.body == {
        "type": "error",
        "error": {"type": "authentication_error", "message": "invalid or missing router key (server.api_key)"},
    }
    assert next(m.id for m in openai.OpenAI(base_url=f"{served.url}/v1", api_key=ROUTER_KEY).models.list()) == "glm"
    assert anthropic.Anthropic(base_url=served.url, api_key=ROUTER_KEY).models.retrieve("mystery").id == "mystery"


def test_claude_codes_discovery_request_is_served_without_building_quart(served: InProcessProxy) -> None:
    """Claude Code 2.1.332's request as captured: Bearer token, anthropic-version, limit=1000, no redirect."""
    headers = {"authorization": "Bearer ccm", "anthropic-version": "2023-06-01", "user-agent": "claude-code/2.1.332"}
    response = httpx.get(f"{served.url}/v1/models?limit=1000", headers=headers, trust_env=False)
    assert response.status_code == 200
    ids = [item["id"] for item in response.json()["data"]]
    assert [i for i in ids if "claude" in i or "anthropic" in i] == [
        "claude-via-ccm/glm",
        "claude-custom",
        "claude-via-ccm/mystery",
    ]  # what Claude Code keeps: every configured name
    assert served.app._quart is None
    head = httpx.head(f"{served.url}/v1/models", trust_env=False)
    assert head.status_code == 200 and head.content == b""
    post = httpx.post(f"{served.url}/v1/models", headers={"anthropic-version": "2023-06-01"}, trust_env=False)
    assert post.status_code == 405 and post.json()["error"]["type"] == "invalid_request_error"
    page = httpx.get(f"{served.url}/v1/models", headers={"origin": "https://evil.example"}, trust_env=False)
    assert page.status_code == 403


def test_a_listed_alias_routes_as_its_name(upstreams: Callable[[], Any], proxy: Px) -> None:
    """What /model offers is what routing takes: `claude-via-ccm/glm` is the configured model glm."""
    from tests.fakes.upstream import Reply, anthropic_message

    up = upstreams().script(Reply(200, json=anthropic_message()))
    served = proxy(config().replace("http://127.0.0.1:9", up.url))
    client = anthropic.Anthropic(base_url=served.url, api_key="ccm", max_retries=0)
    raw = client.messages.with_raw_response.create(
        model="claude-via-ccm/glm[1m]", max_tokens=10, messages=[{"role": "user", "content": "hi"}]
    )
    assert (raw.headers["x-ccm-route"], raw.headers["x-ccm-model"]) == ("default", "glm")
    assert up.received[0].json["model"] == "glm-5"
    assert raw.parse().model == "claude-via-ccm/glm[1m]"  # the answer names what the client asked for
