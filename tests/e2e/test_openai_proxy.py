"""The proxy end to end with OpenAI-format upstreams: the official anthropic SDK talks to ccm, ccm talks
Chat Completions to a fake OpenAI-compatible server on 127.0.0.1, and the SDK's accumulated message must be
exactly the expected one."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import anthropic
import httpx
import pytest

from tests.e2e.harness import InProcessProxy, make_config
from tests.fakes.upstream import (
    FakeUpstream,
    Received,
    Reply,
    openai_completion,
    openai_error,
    openai_stream,
    sse,
)
from tests.translate.helpers import validate_openai_request

Up = Callable[[], FakeUpstream]
Px = Callable[[str], InProcessProxy]
KEY = "sk-provider-key-123456"
BASH = {
    "name": "Bash",
    "description": "Run a command",
    "input_schema": {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "properties": {"command": {"type": "string"}},
        "required": ["command"],
        "additionalProperties": False,
    },
}
READ = {"name": "Read", "input_schema": {"type": "object", "properties": {"file_path": {"type": "string"}}}}


def provider(name: str, url: str, ptype: str = "openai-compatible") -> dict[str, Any]:
    return {"name": name, "provider_type": ptype, "base_url": f"{url}/v1", "api_key": KEY}


def start(proxy: Px, *mappings: tuple[str, str, str], **router: Any) -> InProcessProxy:
    """mappings: (provider name, fake url, provider type), tried in order for model "m"."""
    providers = [provider(name, url, ptype) for name, url, ptype in mappings]
    return proxy(make_config(providers, {"m": [(name, f"actual-{name}") for name, _, _ in mappings]}, router=router))


def sdk(p: InProcessProxy) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=p.url, api_key="client-key", max_retries=0)


def sent(up: FakeUpstream, i: int = 0) -> dict[str, Any]:
    got = up.received[i]
    assert got.path == "/v1/chat/completions"
    assert got.headers["authorization"] == f"Bearer {KEY}"
    assert "anthropic-beta" not in got.headers and "x-api-key" not in got.headers
    body = got.json
    validate_openai_request(body)
    return body


def dump(message: Any) -> dict[str, Any]:
    data = message.model_dump(exclude_none=True)
    data.pop("id")
    return data


def test_non_streaming_text(upstreams: Up, proxy: Px) -> None:
    up = upstreams().script(Reply(200, json=openai_completion("Hi there!", prompt_tokens=12, completion_tokens=3)))
    p = start(proxy, ("oa", up.url, "openai-compatible"))
    raw = sdk(p).messages.with_raw_response.create(
        model="m", max_tokens=50, system="Be kind.", messages=[{"role": "user", "content": "hello"}]
    )
    message = raw.parse()
    assert message.id.startswith("msg_")
    assert dump(message) == {
        "type": "message",
        "role": "assistant",
        "model": "m",
        "content": [{"type": "text", "text": "Hi there!"}],
        "stop_reason": "end_turn",
        "usage": {
            "input_tokens": 12,
            "output_tokens": 3,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
        },
    }
    assert raw.headers["x-ccm-provider"] == "oa" and raw.headers["x-ccm-actual-model"] == "actual-oa"
    body = sent(up)
    assert body["model"] == "actual-oa"
    assert body["messages"] == [{"role": "system", "content": "Be kind."}, {"role": "user", "content": "hello"}]
    assert body["max_tokens"] == 50 and "stream" not in body


def test_streaming_reasoning_text_and_parallel_tool_calls(upstreams: Up, proxy: Px) -> None:
    calls = [
        {"id": "call_1", "name": "Bash", "arguments": '{"command": "ls -la /tmp"}'},
        {"id": "call_2", "name": "Read", "arguments": '{"file_path": "/etc/hostname"}'},
    ]
    chunks = openai_stream(
        "I'll look at both.", reasoning="The user wants two things.", tool_calls=calls, pieces=4, arg_pieces=5
    )
    up = upstreams().script(Reply.stream(chunks))
    p = start(proxy, ("ds", up.url, "deepseek"))
    with sdk(p).messages.stream(
        model="m",
        max_tokens=32000,
        tools=[BASH, READ],  # type: ignore[list-item]
        thinking={"type": "enabled", "budget_tokens": 4000},
        messages=[{"role": "user", "content": "look around"}],
    ) as stream:
        final = stream.get_final_message()
    content = final.model_dump(exclude_none=True)["content"]
    assert content[0]["type"] == "thinking" and content[0]["thinking"] == "The user wants two things."
    assert content[0]["signature"].startswith("ccm1:")
    assert content[1] == {"type": "text", "text": "I'll look at both."}
    tools = [{k: b[k] for k in ("type", "id", "name", "input")} for b in content[2:]]
    assert tools == [
        {"type": "tool_use", "id": "call_1", "name": "Bash", "input": {"command": "ls -la /tmp"}},
        {"type": "tool_use", "id": "call_2", "name": "Read", "input": {"file_path": "/etc/hostname"}},
    ]
    assert final.stop_reason == "tool_use"
    assert (final.usage.input_tokens, final.usage.output_tokens) == (10, 5)
    body = sent(up)
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}
    assert body["max_tokens"] == 32000  # a DeepSeek model ccm has no limit for is not clamped (the host checks)
    assert body["tools"][0]["function"]["parameters"]["required"] == ["command"]
    assert "$schema" not in json.dumps(body["tools"])


def test_reasoning_round_trip_across_turns(upstreams: Up, proxy: Px) -> None:
    """DeepSeek/Kimi need the previous turn's reasoning back: the SDK replays our signed thinking block,
    and the next upstream request carries it as reasoning_content."""
    calls = [{"id": "call_1", "name": "Bash", "arguments": '{"command": "date"}'}]
    up = upstreams().script(
        Reply.stream(openai_stream("", reasoning="Need the date.", tool_calls=calls)),
        Reply.stream(openai_stream("It is Monday.")),
    )
    p = start(proxy, ("kimi", up.url, "moonshot"))
    client = sdk(p)
    history: list[Any] = [{"role": "user", "content": "what day is it?"}]
    with client.messages.stream(model="m", max_tokens=1000, tools=[BASH], messages=history) as s:  # type: ignore[list-item]
        first = s.get_final_message()
    assert [b.type for b in first.content] == ["thinking", "tool_use"]
    history += [
        {"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in first.content]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "call_1", "content": "Monday"}]},
    ]
    with client.messages.stream(model="m", max_tokens=1000, tools=[BASH], messages=history) as s:  # type: ignore[list-item]
        assert s.get_final_message().content[0].text == "It is Monday."  # type: ignore[union-attr]
    second = sent(up, 1)["messages"]
    assert second[1] == {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {"id": "call_1", "type": "function", "function": {"name": "Bash", "arguments": '{"command":"date"}'}}
        ],
        "reasoning_content": "Need the date.",
    }
    assert second[2] == {"role": "tool", "tool_call_id": "call_1", "content": "Monday"}


def test_long_tool_names_are_mapped_back(upstreams: Up, proxy: Px) -> None:
    long_name = "mcp__an_mcp_server_with_a_long_name__and_an_even_longer_tool_name_here"
    tool = {**BASH, "name": long_name}

    def answer(rec: Received) -> Reply:
        short = rec.json["tools"][0]["function"]["name"]
        return Reply(200, json=openai_completion(None, tool_calls=[{"id": "c1", "name": short, "arguments": "{}"}]))

    up = upstreams().script(Reply(handler=answer))
    p = start(proxy, ("oa", up.url, "openai"))
    message = sdk(p).messages.create(
        model="m", max_tokens=10, tools=[tool], messages=[{"role": "user", "content": "x"}]
    )  # type: ignore[list-item]
    assert message.content[0].name == long_name  # type: ignore[union-attr]
    assert len(sent(up)["tools"][0]["function"]["name"]) == 64


def test_upstream_answers_sse_to_a_non_streaming_request_and_json_to_a_streaming_one(upstreams: Up, proxy: Px) -> None:
    up = upstreams().script(
        Reply.stream(openai_stream("from a stream")),
        Reply(200, json=openai_completion("from a body")),
    )
    p = start(proxy, ("oa", up.url, "openai-compatible"))
    client = sdk(p)
    message = client.messages.create(model="m", max_tokens=10, messages=[{"role": "user", "content": "x"}])
    assert message.content[0].text == "from a stream"  # type: ignore[union-attr]
    with client.messages.stream(model="m", max_tokens=10, messages=[{"role": "user", "content": "x"}]) as s:
        assert s.get_final_message().content[0].text == "from a body"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("reply", "status", "error_type", "text"),
    [
        (
            openai_error(429, "Rate limit reached", headers={"retry-after": "7"}),
            429,
            "rate_limit_error",
            "Rate limit reached",
        ),
        # ccm's own key refused: 403, so Claude Code stops and shows the fix instead of retrying for minutes.
        (openai_error(401, "Incorrect API key"), 403, "permission_error", "Incorrect API key"),
        (openai_error(404, "The model does not exist"), 404, "not_found_error", "The model does not exist"),
        (openai_error(503, "Service unavailable"), 503, "api_error", "Service unavailable"),
        (
            openai_error(400, "This model's maximum context length is 8192 tokens", "context_length_exceeded"),
            400,
            "invalid_request_error",
            "prompt is too long",
        ),
    ],
)
def test_upstream_errors_become_anthropic_errors(
    upstreams: Up, proxy: Px, reply: Reply, status: int, error_type: str, text: str
) -> None:
    up = upstreams().script(reply)
    p = start(proxy, ("oa", up.url, "openai-compatible"))
    with pytest.raises(anthropic.APIStatusError) as caught:
        sdk(p).messages.create(model="m", max_tokens=10, messages=[{"role": "user", "content": "x"}])
    assert caught.value.status_code == status
    error = caught.value.body["error"]  # type: ignore[index]
    assert error["type"] == error_type and text in error["message"]
    if status == 429:
        assert caught.value.response.headers["retry-after"] == "7"


def test_failover_on_an_error_before_the_first_chunk(upstreams: Up, proxy: Px) -> None:
    bad, good = upstreams(), upstreams()
    bad.script(Reply.stream([sse(None, {"error": {"message": "overloaded", "code": 529}})]))
    good.script(Reply.stream(openai_stream("second provider")))
    p = start(proxy, ("bad", bad.url, "openai-compatible"), ("good", good.url, "groq"))
    raw = httpx.post(
        f"{p.url}/v1/messages",
        json={"model": "m", "max_tokens": 10, "stream": True, "messages": [{"role": "user", "content": "x"}]},
        trust_env=False,
    )
    assert raw.headers["x-ccm-provider"] == "good" and raw.headers["x-ccm-attempts"] == "2"
    assert raw.text.startswith("event: message_start") and "overloaded" not in raw.text
    with sdk(p).messages.stream(model="m", max_tokens=10, messages=[{"role": "user", "content": "x"}]) as s:
        assert s.get_final_message().content[0].text == "second provider"  # type: ignore[union-attr]


def test_error_mid_stream_reaches_the_client_as_an_error_event(upstreams: Up, proxy: Px) -> None:
    chunks = openai_stream("partial answer", done=False)[:3] + [sse(None, {"error": {"message": "upstream died"}})]
    up = upstreams().script(Reply.stream(chunks))
    p = start(proxy, ("oa", up.url, "openai-compatible"))
    request = {"model": "m", "max_tokens": 10, "messages": [{"role": "user", "content": "x"}]}
    with pytest.raises(anthropic.APIStatusError, match="upstream died"), sdk(p).messages.stream(**request) as s:  # type: ignore[arg-type]
        s.get_final_message()


def test_stream_cut_without_done_or_finish_reason_ends_with_an_error(upstreams: Up, proxy: Px) -> None:
    """A cut is never an answer: the SDK sees an error, never a clean end of a partial answer."""
    chunks = openai_stream("all of it", done=False)[:-2]  # no finish_reason, no usage, no [DONE]
    up = upstreams().script(Reply.stream(chunks))
    p = start(proxy, ("oa", up.url, "openai-compatible"))
    with (
        pytest.raises(anthropic.APIStatusError, match="ended before the answer was complete"),
        sdk(p).messages.stream(model="m", max_tokens=10, messages=[{"role": "user", "content": "x"}]) as s,
    ):
        s.get_final_message()
    assert httpx.get(f"{p.url}/api/requests", trust_env=False).json()[0]["status"] == 502


def test_a_write_cut_mid_arguments_never_reaches_the_client_as_tool_use(upstreams: Up, proxy: Px) -> None:
    cut = '{"file_path": "/tmp/main.py", "content": "def main():\\n    print(\\"hel'
    chunks = [
        {"id": "c", "object": "chat.completion.chunk", "choices": [{"index": 0, "delta": {"content": "Writing."}}]},
        {
            "id": "c",
            "object": "chat.completion.chunk",
            "choices": [
                {
                    "index": 0,
                    "delta": {
                        "tool_calls": [
                            {
                                "index": 0,
                                "id": "call_1",
                                "type": "function",
                                "function": {"name": "Write", "arguments": cut},
                            }
                        ]
                    },
                }
            ],
        },
    ]
    for done in (False, True):
        raw = [f"data: {json.dumps(c)}\n\n".encode() for c in chunks] + ([b"data: [DONE]\n\n"] if done else [])
        up = upstreams().script(Reply.stream(raw))
        p = start(proxy, ("oa", up.url, "openai-compatible"))
        with httpx.stream(
            "POST",
            f"{p.url}/v1/messages",
            json={"model": "m", "max_tokens": 10, "stream": True, "messages": [{"role": "user", "content": "x"}]},
            trust_env=False,
        ) as response:
            body = b"".join(response.iter_bytes())
        assert b"event: error" in body and b"tool_use" not in body and b"message_stop" not in body


def test_web_search_side_request(upstreams: Up, proxy: Px) -> None:
    web = [{"type": "web_search_20250305", "name": "web_search", "max_uses": 8}]
    completion = openai_completion("ccm routes Claude Code.")
    completion["choices"][0]["message"]["annotations"] = [
        {"type": "url_citation", "url_citation": {"url": "https://example.com/ccm", "title": "ccm"}}
    ]
    orouter, groq = upstreams(), upstreams()
    orouter.script(Reply(200, json=completion))
    p = start(proxy, ("or", orouter.url, "openrouter"))
    message = sdk(p).messages.create(
        model="m", max_tokens=100, tools=web, messages=[{"role": "user", "content": "search ccm"}]
    )  # type: ignore[arg-type]
    assert message.content[0].text == "ccm routes Claude Code.\n\nSources:\n- [ccm](https://example.com/ccm)"  # type: ignore[union-attr]
    assert sent(orouter)["plugins"] == [{"id": "web", "max_results": 8}]
    q = start(proxy, ("gq", groq.url, "groq"))
    with pytest.raises(anthropic.APIStatusError, match=r"router\.websearch"):
        sdk(q).messages.create(model="m", max_tokens=100, tools=web, messages=[{"role": "user", "content": "search"}])  # type: ignore[arg-type]
    assert groq.received == []


def test_count_tokens_is_answered_locally(upstreams: Up, proxy: Px) -> None:
    up = upstreams()
    p = start(proxy, ("oa", up.url, "openai"))
    count = sdk(p).messages.count_tokens(model="m", messages=[{"role": "user", "content": "foo " * 100}])
    assert count.input_tokens > 0 and up.received == []
