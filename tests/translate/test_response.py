"""Non-streaming Chat Completions answers -> Anthropic messages, through the real adapter."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from anthropic.types import Message

from ccm.providers.base import InvalidUpstream
from ccm.providers.openai import ADAPTER
from ccm.translate.signature import is_ccm_signature
from tests.translate.helpers import chunk, make_ctx, sse_bytes


def completion(message: dict[str, Any], finish: str | None = "stop", usage: dict[str, Any] | None = None) -> bytes:
    data = {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1,
        "model": "gpt-4o",
        "choices": [{"index": 0, "message": {"role": "assistant", **message}, "finish_reason": finish}],
        "usage": usage or {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
    }
    return orjson.dumps(data)


def translate(content: bytes, content_type: str = "application/json", ctx: Any = None) -> dict[str, Any]:
    ctx = ctx or make_ctx(stream=False)
    message = ADAPTER.translate_message(content, content_type, ctx)
    Message.model_validate(message)  # the anthropic SDK accepts it as a Message
    return message


def test_text_answer() -> None:
    message = translate(completion({"content": "Hello!"}))
    assert message["content"] == [{"type": "text", "text": "Hello!"}]
    assert message["model"] == "claude-opus-5-5" and message["id"].startswith("msg_")
    assert message["stop_reason"] == "end_turn"
    assert message["usage"] == {
        "input_tokens": 10,
        "output_tokens": 5,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
    }


@pytest.mark.parametrize(
    ("finish", "stop_reason"),
    [
        ("stop", "end_turn"),
        ("length", "max_tokens"),
        ("tool_calls", "tool_use"),
        ("function_call", "tool_use"),
        ("content_filter", "refusal"),
        (None, "end_turn"),
        ("something_new", "end_turn"),
    ],
)
def test_finish_reasons(finish: str | None, stop_reason: str) -> None:
    assert translate(completion({"content": "x"}, finish))["stop_reason"] == stop_reason


KIMI_ID = "ccmx_" + b"functions.Read:1".hex()  # an upstream id Anthropic would refuse, encoded reversibly


def test_tool_calls_become_tool_use_blocks() -> None:
    calls = [
        {"id": "call_1", "type": "function", "function": {"name": "Bash", "arguments": '{"command": "ls"}'}},
        {"id": "functions.Read:1", "type": "function", "function": {"name": "Read", "arguments": "{'path': 'a',}"}},
        {"id": "call_3", "type": "function", "function": {"name": "Edit", "arguments": "{broken"}},
    ]
    message = translate(completion({"content": "Let me look.", "tool_calls": calls}, "stop"))
    assert message["stop_reason"] == "tool_use"  # some servers say "stop" with tool calls
    assert message["content"] == [
        {"type": "text", "text": "Let me look."},
        {"type": "tool_use", "id": "call_1", "name": "Bash", "input": {"command": "ls"}},
        {"type": "tool_use", "id": KIMI_ID, "name": "Read", "input": {"path": "a"}},
        {"type": "tool_use", "id": "call_3", "name": "Edit", "input": {"_invalid_json": "{broken"}},
    ]


def test_shortened_tool_names_are_mapped_back() -> None:
    long_name = "mcp__server__" + "y" * 70
    ctx = make_ctx(stream=False)
    body = {"model": "m", "max_tokens": 10, "messages": [{"role": "user", "content": "x"}]}
    body["tools"] = [{"name": long_name, "input_schema": {"type": "object"}}]
    sent = orjson.loads(ADAPTER.build(body, ctx).body)
    short = sent["tools"][0]["function"]["name"]
    calls = [{"id": "c1", "type": "function", "function": {"name": short, "arguments": "{}"}}]
    message = translate(completion({"content": None, "tool_calls": calls}, "tool_calls"), ctx=ctx)
    assert message["content"][0]["name"] == long_name


@pytest.mark.parametrize("field", ["reasoning_content", "reasoning"])
def test_reasoning_becomes_a_signed_thinking_block_first(field: str) -> None:
    message = translate(completion({"content": "42", field: "Let me compute."}))
    thinking, answer = message["content"]
    assert thinking["type"] == "thinking" and thinking["thinking"] == "Let me compute."
    assert is_ccm_signature(thinking["signature"])
    assert answer == {"type": "text", "text": "42"}


def test_inline_think_tags_become_thinking() -> None:
    message = translate(completion({"content": "<think>\nhmm\n</think>\n\nAnswer"}))
    assert [b["type"] for b in message["content"]] == ["thinking", "text"]
    assert message["content"][0]["thinking"] == "\nhmm\n" and message["content"][1]["text"] == "Answer"


def test_cached_tokens_are_cache_reads() -> None:
    usage = {"prompt_tokens": 100, "completion_tokens": 7, "prompt_tokens_details": {"cached_tokens": 60}}
    assert translate(completion({"content": "x"}, usage=usage))["usage"] == {
        "input_tokens": 40,
        "output_tokens": 7,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 60,
    }
    deepseek = {"prompt_tokens": 100, "completion_tokens": 7, "prompt_cache_hit_tokens": 30}
    assert translate(completion({"content": "x"}, usage=deepseek))["usage"]["cache_read_input_tokens"] == 30


def test_refusal() -> None:
    message = translate(completion({"content": None, "refusal": "I can't help with that."}))
    assert message["content"] == [{"type": "text", "text": "I can't help with that."}]
    assert message["stop_reason"] == "refusal"


def test_web_search_citations_become_sources() -> None:
    annotations = [
        {"type": "url_citation", "url_citation": {"url": "https://a.example", "title": "A", "start_index": 0}},
        {"type": "url_citation", "url_citation": {"url": "https://a.example", "title": "A"}},
        {"type": "url_citation", "url_citation": {"url": "https://b.example"}},
    ]
    message = translate(completion({"content": "Found it.", "annotations": annotations}))
    assert message["content"][0]["text"] == (
        "Found it.\n\nSources:\n- [A](https://a.example)\n- [https://b.example](https://b.example)"
    )


def test_sse_answer_to_a_non_streaming_request() -> None:
    body = sse_bytes([chunk({"content": "Hel"}), chunk({"content": "lo"}), chunk({}, "stop", {"prompt_tokens": 3})])
    for content_type in ("text/event-stream", "application/json"):  # mislabelled too
        message = translate(body, content_type)
        assert message["content"] == [{"type": "text", "text": "Hello"}]
        assert message["stop_reason"] == "end_turn" and message["usage"]["input_tokens"] == 3


@pytest.mark.parametrize(
    "content",
    [
        b"not json",
        b'{"error": {"message": "upstream exploded", "code": 500}}',
        b'{"object": "list", "data": []}',
        b'{"object": "chat.completion", "choices": [], "prompt_filter_results": []}',
        b"",
    ],
)
def test_unusable_answers_raise_invalid_upstream(content: bytes) -> None:
    with pytest.raises(InvalidUpstream):
        ADAPTER.translate_message(content, "application/json", make_ctx(stream=False))


def test_cut_sse_answer_to_a_non_streaming_request() -> None:
    with pytest.raises(InvalidUpstream, match="cut"):
        ADAPTER.translate_message(
            sse_bytes([chunk({"role": "assistant"})], done=False), "text/event-stream", make_ctx()
        )


def test_sse_error_in_a_non_streaming_answer() -> None:
    body = sse_bytes([{"error": {"message": "overloaded", "type": "overloaded_error"}}])
    with pytest.raises(InvalidUpstream, match="overloaded"):
        ADAPTER.translate_message(body, "text/event-stream", make_ctx(stream=False))


def test_missing_usage_is_estimated() -> None:
    data = orjson.loads(completion({"content": "x" * 400}))
    del data["usage"]
    message = translate(orjson.dumps(data))
    assert message["usage"]["output_tokens"] == 100


def test_reasoning_details_in_a_whole_answer() -> None:
    from ccm.translate.signature import signature_details

    details = [{"type": "reasoning.encrypted", "data": "gemini-thought-signature", "index": 0}]
    message = translate(completion({"content": "x", "reasoning_details": details}))
    assert message["content"][0]["thinking"] == ""
    assert signature_details(message["content"][0]["signature"]) == details
