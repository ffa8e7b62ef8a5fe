"""Real Claude Code requests (tests/fixtures/claude-code) replayed through the proxy to OpenAI-format
upstreams: the upstream must receive valid Chat Completions JSON (held to the openai SDK's types), and the
client a well-formed Anthropic answer; count_tokens never leaves the proxy."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from anthropic.types import Message

from ccm.sse import SSEParser
from ccm.translate.anthropic_events import message_from_events
from tests.conftest import FIXTURES, fixture_names
from tests.e2e.harness import InProcessProxy, make_config
from tests.fakes.upstream import FakeUpstream, Received, Reply, openai_completion, openai_stream
from tests.translate.helpers import validate_openai_request

_SKIP_HEADERS = {"content-length", "host", "connection", "accept-encoding"}


def fixtures() -> list[str]:
    return fixture_names()


def load(name: str) -> tuple[dict[str, Any], dict[str, str], str]:
    body = json.loads((FIXTURES / f"{name}.json").read_text())
    meta = json.loads((FIXTURES / f"{name}.headers.json").read_text())
    headers = {k: v for k, v in meta["headers"] if k.lower() not in _SKIP_HEADERS}
    return body, headers, meta["path"]


def answer(rec: Received) -> Reply:
    body = rec.json
    if body.get("stream"):
        return Reply.stream(openai_stream("ok", reasoning="thinking it over"))
    return Reply(200, json=openai_completion("ok", reasoning="thinking it over"))


@pytest.fixture
def replay(
    upstreams: Callable[[], FakeUpstream], proxy: Callable[[str], InProcessProxy]
) -> tuple[InProcessProxy, FakeUpstream, FakeUpstream]:
    main, search = upstreams(), upstreams()
    main.script(Reply(handler=answer))
    search.script(Reply(handler=answer))
    providers = [
        {"name": "ds", "provider_type": "deepseek", "base_url": f"{main.url}/v1", "api_key": "sk-ds-123456"},
        {"name": "or", "provider_type": "openrouter", "base_url": f"{search.url}/v1", "api_key": "sk-or-123456"},
    ]
    models = {
        "main": [("ds", "deepseek-chat")],
        "web": [("or", "openai/gpt-4o-mini")],
        "glm-4.6": [("ds", "deepseek-chat")],
    }
    return proxy(make_config(providers, models, router={"websearch": "web"})), main, search


@pytest.mark.parametrize("name", fixtures())
def test_fixture_through_openai_upstream(replay: tuple[InProcessProxy, FakeUpstream, FakeUpstream], name: str) -> None:
    p, main, search = replay
    body, headers, path = load(name)
    response = httpx.post(f"{p.url}{path}", content=json.dumps(body), headers=headers, trust_env=False, timeout=30)
    assert response.status_code == 200, response.text
    if "count_tokens" in path:
        assert response.json()["input_tokens"] > 0
        assert main.received == [] and search.received == []
        return
    up = search if name == "web-search-request" else main
    got = up.received[-1]
    assert got.path == "/v1/chat/completions"
    assert not any(k.startswith("anthropic") or k == "x-api-key" for k in got.headers)
    sent = got.json
    validate_openai_request(sent)
    assert sent.get("stream", False) == bool(body.get("stream"))
    if response.headers["content-type"].startswith("text/event-stream"):
        events = [e.json() for e in SSEParser().feed(response.content)]
        message = message_from_events(events)
    else:
        message = response.json()
    Message.model_validate(message)
    assert message["model"] == body["model"]
    assert [b["type"] for b in message["content"]] == ["thinking", "text"]
    assert message["content"][0]["signature"].startswith("ccm1:")
