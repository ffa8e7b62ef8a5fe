"""The proxy end to end with Google upstreams: the official anthropic SDK talks to ccm, ccm talks to fake
Gemini (AI Studio) and Vertex AI servers on 127.0.0.1 that check requests as the real ones do
(tests/fakes/google.py): signatures, turn rules, google-genai's request types, auth headers."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import anthropic
import httpx
import pytest

from tests.e2e.harness import InProcessProxy, make_config
from tests.fakes.google import DUMMY, FakeGemini, FakeTokenServer, rate_limited, service_account_file, usage
from tests.fakes.upstream import FakeUpstream, Reply, anthropic_stream, openai_completion
from tests.translate.helpers import load_fixture

Px = Callable[[str], InProcessProxy]
KEY = "gm-key"
TOKEN = "ya29.static-token"
KNOWN = {"model", "max_tokens", "messages", "system", "tools", "tool_choice", "thinking", "temperature", "top_p"}
KNOWN |= {"top_k", "stop_sequences", "metadata"}


@pytest.fixture
def google() -> Iterator[Callable[..., FakeGemini]]:
    started: list[FakeGemini] = []

    def make(**kw: Any) -> FakeGemini:
        fake = FakeGemini(**kw)
        fake.start()
        started.append(fake)
        return fake

    yield make
    for fake in started:
        fake.stop()


def gemini_provider(fake: FakeGemini, name: str = "gem") -> dict[str, Any]:
    return {"name": name, "provider_type": "gemini", "base_url": f"{fake.url}/v1beta", "api_key": KEY}


def vertex_provider(url: str, name: str = "vx", **extra: Any) -> dict[str, Any]:
    base = {"name": name, "provider_type": "vertex-ai", "base_url": f"{url}/v1", "project_id": "proj"}
    base.update({"location": "us-east5", "auth_type": "apikey", "api_key": TOKEN})
    base.update(extra)
    return base


def sdk(p: InProcessProxy) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=p.url, api_key="client-key", max_retries=0, timeout=60)


def create(client: anthropic.Anthropic, body: dict[str, Any], **headers: str) -> Any:
    """A captured Claude Code body through the SDK (fields it does not type go as extra_body)."""
    kwargs = {k: v for k, v in body.items() if k in KNOWN}
    extra = {k: v for k, v in body.items() if k not in KNOWN and k != "stream"}
    if body.get("stream"):
        with client.messages.stream(**kwargs, extra_body=extra, extra_headers=headers) as stream:
            return stream.get_final_message()
    return client.messages.create(**kwargs, extra_body=extra, extra_headers=headers)


def test_non_streaming_text(google: Callable[..., FakeGemini], proxy: Px) -> None:
    gem = google()
    gem.script(gem.answer({"text": "Hello from Gemini"}, usage_metadata=usage(120, 6, thoughts=4, cached=100)))
    p = proxy(make_config([gemini_provider(gem)], {"m": [("gem", "gemini-2.5-pro")]}))
    raw = sdk(p).messages.with_raw_response.create(
        model="m", max_tokens=50, system="Be kind.", messages=[{"role": "user", "content": "hello"}]
    )
    message = raw.parse()
    assert [b.model_dump() for b in message.content] == [
        {"type": "text", "text": "Hello from Gemini", "citations": None}
    ]
    assert message.model == "m" and message.stop_reason == "end_turn"
    assert (message.usage.input_tokens, message.usage.output_tokens, message.usage.cache_read_input_tokens) == (
        20,
        10,
        100,
    )
    assert raw.headers["x-ccm-provider"] == "gem" and raw.headers["x-ccm-actual-model"] == "gemini-2.5-pro"
    got = gem.received[0]
    assert got.path == "/v1beta/models/gemini-2.5-pro:generateContent"
    assert got.headers["x-goog-api-key"] == KEY and got.headers["user-agent"].startswith("ccm/")
    assert got.json["systemInstruction"] == {"parts": [{"text": "Be kind."}]}


def test_streaming_thinking_and_text(google: Callable[..., FakeGemini], proxy: Px) -> None:
    gem = google()
    gem.script(gem.answer({"text": "Weighing it", "thought": True}, {"text": "The answer is 42."}))
    p = proxy(make_config([gemini_provider(gem)], {"m": [("gem", "gemini-3-flash-preview")]}))
    with sdk(p).messages.stream(
        model="m",
        max_tokens=2000,
        thinking={"type": "enabled", "budget_tokens": 1024},
        messages=[{"role": "user", "content": "question"}],
    ) as stream:
        message = stream.get_final_message()
    thinking, text = message.content
    assert thinking.type == "thinking" and thinking.thinking == "Weighing it" and thinking.signature.startswith("ccm1:")
    assert text.type == "text" and text.text == "The answer is 42."
    got = gem.received[0]
    assert got.path == "/v1beta/models/gemini-3-flash-preview:streamGenerateContent?alt=sse"
    assert got.json["generationConfig"]["thinkingConfig"] == {"thinkingLevel": "low", "includeThoughts": True}


def _follow_up(first: Any) -> dict[str, Any]:
    """Claude Code's captured follow-up, with the assistant turn and tool ids ccm actually returned."""
    body = copy.deepcopy(load_fixture("interactive-tool-result-followup"))
    content = [b.model_dump(exclude_none=True) for b in first.content]
    for block in content:
        if block["type"] == "text":
            block.pop("citations", None)
    call = next(b for b in content if b["type"] == "tool_use")
    assistant = next(i for i, m in enumerate(body["messages"]) if m["role"] == "assistant")
    body["messages"][assistant]["content"] = content
    for message in body["messages"][assistant + 1 :]:
        for block in message["content"] if isinstance(message["content"], list) else []:
            if block.get("type") == "tool_result":
                block["tool_use_id"] = call["id"]
    return body


def _model_turn_calls(body: dict[str, Any]) -> list[dict[str, Any]]:
    model = [c for c in body["contents"] if c["role"] == "model"][-1]
    return [p for p in model["parts"] if "functionCall" in p]


def test_signed_function_call_round_trip_through_claude_code_requests(
    google: Callable[..., FakeGemini], proxy: Px
) -> None:
    gem = google()
    signature = gem.signature()
    call = {"functionCall": {"name": "Bash", "args": {"command": "echo hi", "description": "Echo"}}}
    gem.script(
        gem.answer({"text": "Running it.", "thought": True}, {**call, "thoughtSignature": signature}),
        gem.answer({"text": "It printed hi."}),
    )
    p = proxy(make_config([gemini_provider(gem)], {"m": [("gem", "gemini-3-pro-preview")]}))
    client = sdk(p)
    first_body = {**load_fixture("interactive-main-request"), "model": "m"}
    first = create(client, first_body)
    assert first.stop_reason == "tool_use"
    tool_use = next(b for b in first.content if b.type == "tool_use")
    assert tool_use.name == "Bash" and tool_use.input == call["functionCall"]["args"]
    second = create(client, {**_follow_up(first), "model": "m"})
    assert [b.text for b in second.content if b.type == "text"] == ["It printed hi."]
    sent = gem.received[1].json
    calls = _model_turn_calls(sent)
    assert calls[0]["thoughtSignature"] == signature
    response = [p for p in sent["contents"][-1]["parts"] if "functionResponse" in p]
    assert response and response[0]["functionResponse"]["name"] == "Bash"


def test_after_failover_from_an_openai_provider_the_dummy_signature_is_used(
    google: Callable[..., FakeGemini], upstreams: Callable[[], FakeUpstream], proxy: Px
) -> None:
    oa = upstreams()
    tool_call = {"id": "call_abc123", "name": "Bash", "arguments": '{"command": "ls"}'}
    oa.script(
        Reply(200, json=openai_completion(None, tool_calls=[tool_call], finish_reason="tool_calls")),
        Reply(500, json={"error": {"message": "down"}}),
    )
    gem = google()
    gem.script(gem.answer({"text": "Listed."}))
    providers = [
        {"name": "oa", "provider_type": "openai-compatible", "base_url": f"{oa.url}/v1", "api_key": "sk-x"},
        gemini_provider(gem),
    ]
    p = proxy(make_config(providers, {"m": [("oa", "gpt-x"), ("gem", "gemini-3-pro-preview")]}))
    client = sdk(p)
    first = create(client, {**load_fixture("interactive-main-request"), "model": "m", "stream": False})
    assert first.stop_reason == "tool_use"
    second = create(client, {**_follow_up(first), "model": "m", "stream": False})
    assert [b.text for b in second.content if b.type == "text"] == ["Listed."]
    assert _model_turn_calls(gem.received[0].json)[0]["thoughtSignature"] == DUMMY


def test_a_cut_stream_ends_with_an_error_event(google: Callable[..., FakeGemini], proxy: Px) -> None:
    gem = google()
    chunk = {"candidates": [{"content": {"role": "model", "parts": [{"text": "Half an ans"}]}}]}
    gem.script(gem.raw(Reply.stream([b"data: " + json.dumps(chunk).encode() + b"\r\n\r\n"])))
    p = proxy(make_config([gemini_provider(gem)], {"m": [("gem", "gemini-2.5-flash")]}))
    with httpx.Client(timeout=20) as client:
        response = client.post(
            f"{p.url}/v1/messages",
            json={"model": "m", "max_tokens": 20, "stream": True, "messages": [{"role": "user", "content": "x"}]},
        )
    text = response.text
    assert "Half an ans" in text and "event: error" in text and "message_stop" not in text


def test_unusable_answer_fails_over(google: Callable[..., FakeGemini], proxy: Px) -> None:
    bad, good = google(), google()
    bad.script(bad.answer(finish="MALFORMED_FUNCTION_CALL"))
    good.script(good.answer({"text": "fine"}))
    p = proxy(
        make_config(
            [gemini_provider(bad, "bad"), gemini_provider(good, "good")],
            {"m": [("bad", "gemini-2.5-pro"), ("good", "gemini-2.5-pro")]},
        )
    )
    raw = sdk(p).messages.with_raw_response.create(
        model="m", max_tokens=20, messages=[{"role": "user", "content": "x"}]
    )
    assert raw.parse().content[0].text == "fine" and raw.headers["x-ccm-provider"] == "good"


def test_rate_limit_passes_its_retry_delay_on(google: Callable[..., FakeGemini], proxy: Px) -> None:
    gem = google()
    gem.script(rate_limited("3s"))
    p = proxy(make_config([gemini_provider(gem)], {"m": [("gem", "gemini-2.5-pro")]}))
    with pytest.raises(anthropic.RateLimitError) as caught:
        sdk(p).messages.create(model="m", max_tokens=20, messages=[{"role": "user", "content": "x"}])
    assert caught.value.response.headers.get("retry-after") == "3"


def test_long_context_routes_a_200_kb_request_to_gemini_and_back(
    google: Callable[..., FakeGemini], upstreams: Callable[[], FakeUpstream], proxy: Px
) -> None:
    default = upstreams().script(Reply.stream(anthropic_stream("from the default model")))
    gem = google()
    gem.script(gem.answer({"text": "read it all"}))
    providers = [
        {"name": "main", "provider_type": "anthropic-compatible", "base_url": default.url, "api_key": "k" * 16},
        gemini_provider(gem),
    ]
    config = make_config(
        providers,
        {"m": [("main", "claude-x")], "long": [("gem", "gemini-2.5-pro")]},
        router={"long_context": "long", "long_context_threshold": 40000},  # 200 KB is ~51k tokens
    )
    p = proxy(config)
    body = copy.deepcopy(load_fixture("thinking-tool-result-followup"))
    filler = body["messages"][0]["content"]
    pad = "Captured file contents: " + ("lorem ipsum dolor sit amet " * 4200)
    body["messages"][0]["content"] = (
        [*filler, {"type": "text", "text": pad}] if isinstance(filler, list) else filler + pad
    )
    assert len(json.dumps(body)) > 200_000
    body["model"] = "m"
    with httpx.Client(timeout=30) as client:
        response = client.post(f"{p.url}/v1/messages", json=body)
    assert response.status_code == 200, response.text
    assert response.headers["x-ccm-route"] == "long_context" and response.headers["x-ccm-provider"] == "gem"
    deltas = [json.loads(line[6:]) for line in response.text.splitlines() if line.startswith("data: ")]
    text = "".join(d["delta"].get("text", "") for d in deltas if d["type"] == "content_block_delta")
    assert text == "read it all" and deltas[-1]["type"] == "message_stop"
    assert default.received == [] and len(gem.received[0].body) > 150_000


def test_vertex_gemini_on_a_regional_endpoint(google: Callable[..., FakeGemini], proxy: Px) -> None:
    vx = google(bearer=TOKEN)
    vx.script(vx.answer({"text": "from Vertex"}))
    p = proxy(make_config([vertex_provider(vx.url)], {"m": [("vx", "gemini-2.5-pro")]}))
    with sdk(p).messages.stream(model="m", max_tokens=20, messages=[{"role": "user", "content": "x"}]) as stream:
        message = stream.get_final_message()
    assert message.content[0].text == "from Vertex"
    assert vx.received[0].path == (
        "/v1/projects/proj/locations/us-east5/publishers/google/models/gemini-2.5-pro:streamGenerateContent?alt=sse"
    )


def test_claude_on_vertex_uses_raw_predict_and_leaves_out_refused_betas(
    upstreams: Callable[[], FakeUpstream], proxy: Px
) -> None:
    vx = upstreams().script(Reply.stream(anthropic_stream("Claude via Vertex")))
    p = proxy(make_config([vertex_provider(vx.url)], {"m": [("vx", "claude-sonnet-4-5@20250929")]}))
    betas = "oauth-2025-04-20,interleaved-thinking-2025-05-14,effort-2025-11-24"
    with sdk(p).messages.stream(
        model="m", max_tokens=20, messages=[{"role": "user", "content": "x"}], extra_headers={"anthropic-beta": betas}
    ) as stream:
        message = stream.get_final_message()
    assert message.content[0].text == "Claude via Vertex" and message.model == "m"
    got = vx.received[0]
    assert (
        got.path
        == "/v1/projects/proj/locations/us-east5/publishers/anthropic/models/claude-sonnet-4-5@20250929:streamRawPredict"
    )
    assert got.headers["authorization"] == f"Bearer {TOKEN}"
    assert got.headers["anthropic-beta"] == "interleaved-thinking-2025-05-14"
    assert "model" not in got.json and got.json["anthropic_version"] == "vertex-2023-10-16"


def test_claude_on_vertex_drops_the_betas_it_names_and_retries_once(
    upstreams: Callable[[], FakeUpstream], proxy: Px
) -> None:
    refusal = (
        "Unexpected value(s) `context-1m-2025-08-07` for the `anthropic-beta` header. Please consult our documentation."
    )
    vx = upstreams().script(Reply.error(400, refusal, "invalid_request_error"), Reply.stream(anthropic_stream("ok")))
    p = proxy(make_config([vertex_provider(vx.url)], {"m": [("vx", "claude-opus-4-1@20250805")]}))
    headers = {"anthropic-beta": "context-1m-2025-08-07,interleaved-thinking-2025-05-14"}
    with sdk(p).messages.stream(
        model="m", max_tokens=20, messages=[{"role": "user", "content": "x"}], extra_headers=headers
    ) as stream:
        assert stream.get_final_message().content[0].text == "ok"
    assert vx.received[1].headers["anthropic-beta"] == "interleaved-thinking-2025-05-14"


def test_vertex_with_application_default_credentials(
    google: Callable[..., FakeGemini], proxy: Px, tmp_path: Path
) -> None:
    tokens = FakeTokenServer().start()
    try:
        key = service_account_file(tmp_path / "sa.json", f"{tokens.url}/token")
        vx = google(bearer="access-1")
        vx.script(vx.answer({"text": "with ADC"}))
        provider = vertex_provider(vx.url, auth_type="adc", credentials_file=str(key))
        provider.pop("api_key")
        p = proxy(make_config([provider], {"m": [("vx", "gemini-2.5-flash")]}))
        client = sdk(p)
        for _ in range(2):
            message = client.messages.create(model="m", max_tokens=20, messages=[{"role": "user", "content": "x"}])
            assert message.content[0].text == "with ADC"
        assert tokens.grants == 1
    finally:
        tokens.stop()


def test_a_schema_error_names_the_tool(google: Callable[..., FakeGemini], proxy: Px) -> None:
    from tests.fakes.google import google_error

    gem = google()
    refusal = "Invalid JSON payload received. Unknown name \"const\" at 'tools[0].function_declarations[1].parameters': Cannot find field."
    gem.script(gem.raw(google_error(400, refusal)))
    p = proxy(make_config([gemini_provider(gem)], {"m": [("gem", "gemini-2.5-pro")]}))
    tools = [
        {"name": "Bash", "input_schema": {"type": "object"}},
        {"name": "mcp__db__query", "input_schema": {"type": "object"}},
    ]
    with httpx.Client(timeout=20) as client:
        response = client.post(
            f"{p.url}/v1/messages",
            json={"model": "m", "max_tokens": 20, "tools": tools, "messages": [{"role": "user", "content": "x"}]},
        )
    assert response.status_code == 400
    assert "tool 'mcp__db__query'" in response.json()["error"]["message"]


def test_a_switch_from_ai_studio_to_vertex_sends_no_foreign_signature(
    google: Callable[..., FakeGemini], proxy: Px
) -> None:
    gem, vx = google(), google(bearer=TOKEN)
    call = {"functionCall": {"name": "Bash", "args": {"command": "ls"}}, "thoughtSignature": gem.signature()}
    gem.script(gem.answer(call), google_error_reply(503))
    vx.script(vx.answer({"text": "continued on Vertex"}))
    providers = [gemini_provider(gem), vertex_provider(vx.url)]
    p = proxy(make_config(providers, {"m": [("gem", "gemini-3-pro-preview"), ("vx", "gemini-3-pro-preview")]}))
    client = sdk(p)
    first = create(client, {**load_fixture("interactive-main-request"), "model": "m", "stream": False})
    second = create(client, {**_follow_up(first), "model": "m"})
    assert [b.text for b in second.content if b.type == "text"] == ["continued on Vertex"]
    assert _model_turn_calls(vx.received[0].json)[0]["thoughtSignature"] == DUMMY


def google_error_reply(status: int) -> Reply:
    from tests.fakes.google import google_error

    return google_error(status, "The service is currently unavailable.", "UNAVAILABLE")
