"""Replay every real Claude Code request through the OpenAI translation, for every OpenAI-format
provider type, and hold the upstream body to the openai SDK's request types."""

from __future__ import annotations

import orjson
import pytest

from ccm.providers.base import InvalidUpstream
from ccm.providers.openai import ADAPTER
from config.catalog import CATALOG
from tests.translate.helpers import fixture_names, load_fixture, make_ctx, validate_openai_request

OPENAI_TYPES = sorted(t for t, spec in CATALOG.items() if spec.wire == "openai")
MODELS = {
    "openai": "gpt-5",
    "openrouter": "anthropic/claude-sonnet-4.5",
    "deepseek": "deepseek-chat",
    "moonshot": "kimi-k2-thinking",
    "groq": "moonshotai/kimi-k2-instruct",
}


@pytest.mark.parametrize("stream", [True, False])
@pytest.mark.parametrize("provider_type", OPENAI_TYPES)
@pytest.mark.parametrize("fixture", fixture_names())
def test_fixture_translates_to_valid_chat_completions(fixture: str, provider_type: str, stream: bool) -> None:
    body = load_fixture(fixture)
    original = orjson.dumps(body)
    ctx = make_ctx(provider_type, MODELS.get(provider_type, "some-model"), stream=stream, base_url="http://h/v1")
    if fixture == "web-search-request" and provider_type != "openrouter":
        with pytest.raises(InvalidUpstream, match=r"router\.websearch"):
            ADAPTER.build(body, ctx)
        return
    request = ADAPTER.build(body, ctx)
    sent = orjson.loads(request.body)
    validate_openai_request(sent)
    assert orjson.dumps(body) == original, "the client's body was mutated"
    assert sent.get("stream", False) is stream
    assert "anthropic-beta" not in request.headers and "x-api-key" not in request.headers
    text = request.body.decode()
    assert "cache_control" not in text or provider_type == "openrouter"
    assert "x-anthropic-billing-header" not in text
    assert '"$schema"' not in text
    assert "context_management" not in sent and "safeguards" not in sent and "output_config" not in sent
    names = [t["function"]["name"] for t in sent.get("tools", [])]
    assert "DeferredToolPlaceholder" not in names
    assert all(len(n) <= 64 for n in names)
