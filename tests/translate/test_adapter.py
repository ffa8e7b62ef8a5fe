"""The openai adapter's HTTP side: URL, auth and headers, state handed from build to the answer."""

from __future__ import annotations

import orjson
import pytest
from pydantic import ValidationError

from ccm.providers.openai import ADAPTER
from ccm.providers.registry import adapter_for
from config.catalog import BUILT_WIRES
from tests.translate.helpers import make_ctx

BODY = {"model": "claude-x", "max_tokens": 100, "messages": [{"role": "user", "content": "hi"}]}


def test_registry_and_built_wires() -> None:
    assert adapter_for("openai") is ADAPTER and ADAPTER.wire == "openai"
    assert "openai" in BUILT_WIRES


@pytest.mark.parametrize(
    ("provider_type", "base_url", "url"),
    [
        ("openai", None, "https://api.openai.com/v1/chat/completions"),
        ("openrouter", None, "https://openrouter.ai/api/v1/chat/completions"),
        ("deepseek", None, "https://api.deepseek.com/v1/chat/completions"),
        ("groq", None, "https://api.groq.com/openai/v1/chat/completions"),
        ("openai-compatible", "http://127.0.0.1:11434/v1/", "http://127.0.0.1:11434/v1/chat/completions"),
        ("openai-compatible", "http://h/v1/chat/completions", "http://h/v1/chat/completions"),
    ],
)
def test_urls(provider_type: str, base_url: str | None, url: str) -> None:
    assert ADAPTER.build(BODY, make_ctx(provider_type, "m", base_url=base_url)).url == url


def test_headers() -> None:
    ctx = make_ctx("openrouter", "m", stream=True)
    ctx.client_headers = {"anthropic-beta": "x", "x-api-key": "client-key", "anthropic-version": "2023-06-01"}
    request = ADAPTER.build(BODY, ctx)
    assert request.headers["authorization"] == "Bearer sk-test"
    assert request.headers["accept"] == "text/event-stream"
    assert request.headers["X-Title"] and "HTTP-Referer" not in request.headers
    assert not any(k.lower().startswith(("anthropic", "x-api-key")) for k in request.headers)
    local = ADAPTER.build(BODY, make_ctx("openai-compatible", "m", api_key=None, stream=False, base_url="http://h/v1"))
    assert "authorization" not in local.headers and local.headers["accept"] == "application/json"
    assert "X-Title" not in local.headers


def test_build_does_not_mutate_and_sets_state() -> None:
    ctx = make_ctx()
    before = orjson.dumps(BODY)
    request = ADAPTER.build(BODY, ctx)
    assert orjson.dumps(BODY) == before
    assert ctx.state["openai"]["input_estimate"] > 0
    assert orjson.loads(request.body)["model"] == "gpt-4o"


def test_validator_is_not_vacuous() -> None:
    from tests.translate.helpers import validate_openai_request

    bad = {"model": "m", "messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"u": 1}}]}]}
    with pytest.raises(ValidationError):
        validate_openai_request(bad)
    with pytest.raises(AssertionError):
        validate_openai_request({"model": "m", "messages": [], "top_q": 1})
