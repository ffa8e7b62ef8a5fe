"""Gemini answers (JSON and `alt=sse` streams) as Anthropic messages and events: parts, signatures,
finish reasons, usage, errors."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from ccm.providers.base import InvalidUpstream
from ccm.providers.gemini import ADAPTER, needs_plain_parameters
from ccm.translate.anthropic_events import message_from_events
from ccm.translate.gemini.signature import call_signature
from tests.translate.gemini_helpers import (
    events,
    first_call_signature,
    gemini_ctx,
    response,
    run,
    sse,
    usage,
    validate_gemini_request,
)

SIG = "CiQBjz1rX0tO0sGp7hDq8fa+Vn9o2yG/Lw=="
BASH = {"name": "Bash", "input_schema": {"type": "object", "properties": {"command": {"type": "string"}}}}


def answer(data: Any, ctx: Any = None) -> dict[str, Any]:
    ctx = ctx or gemini_ctx(stream=False)
    ADAPTER.build({"max_tokens": 10, "messages": [{"role": "user", "content": "x"}]}, ctx)
    return ADAPTER.translate_message(orjson.dumps(data), "application/json", ctx)


def streamed(*chunks: dict[str, Any], ctx: Any = None) -> tuple[dict[str, Any], Any]:
    ctx = ctx or gemini_ctx()
    ADAPTER.build({"max_tokens": 10, "messages": [{"role": "user", "content": "x"}]}, ctx)
    frames = run(ctx, [sse(*chunks)])
    return message_from_events(events(frames)), frames


def test_text_answer_with_usage_in_anthropic_terms() -> None:
    message = answer(response({"text": "Hello"}, {"text": " world"}, usage=usage(100, 7, thoughts=3, cached=40)))
    assert message["content"] == [{"type": "text", "text": "Hello world"}]
    assert message["stop_reason"] == "end_turn" and message["model"] == "claude-opus-5-5"
    assert message["usage"] == {
        "input_tokens": 60,
        "output_tokens": 10,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 40,
    }


def test_thoughts_become_signed_thinking_that_returns_to_the_same_model() -> None:
    ctx = gemini_ctx("gemini-3-pro-preview", stream=False)
    message = answer(
        response(
            {"text": "Let me think", "thought": True},
            {"text": " harder", "thought": True, "thoughtSignature": SIG},
            {"text": "Done."},
            usage=usage(),
        ),
        ctx,
    )
    thinking, text = message["content"]
    assert thinking["type"] == "thinking" and thinking["thinking"] == "Let me think harder"
    assert thinking["signature"].startswith("ccm1:") and text == {"type": "text", "text": "Done."}
    follow = {
        "max_tokens": 10,
        "messages": [
            {"role": "user", "content": "x"},
            {"role": "assistant", "content": message["content"]},
            {"role": "user", "content": "more"},
        ],
    }
    same = orjson.loads(ADAPTER.build(follow, gemini_ctx("gemini-3-pro-preview")).body)
    validate_gemini_request(same)
    assert same["contents"][1]["parts"] == [
        {"text": "Let me think harder", "thought": True, "thoughtSignature": SIG},
        {"text": "Done."},
    ]
    other = orjson.loads(ADAPTER.build(follow, gemini_ctx("gemini-2.5-pro")).body)
    assert other["contents"][1]["parts"] == [{"text": "Done."}]


def test_function_calls_get_toolu_ids_that_carry_the_signature_back() -> None:
    ctx = gemini_ctx("gemini-3-pro-preview", stream=False)
    message = answer(
        response(
            {"functionCall": {"name": "Bash", "args": {"command": "ls"}}, "thoughtSignature": SIG},
            {"functionCall": {"name": "Bash", "args": {"command": "pwd"}}},
            usage=usage(),
        ),
        ctx,
    )
    first, second = message["content"]
    assert message["stop_reason"] == "tool_use"
    assert first["type"] == second["type"] == "tool_use" and first["id"] != second["id"]
    assert first["id"].startswith("toolu_") and second["id"].startswith("toolu_")
    assert first["input"] == {"command": "ls"} and second["input"] == {"command": "pwd"}
    follow = {
        "max_tokens": 10,
        "tools": [BASH],
        "messages": [
            {"role": "user", "content": "x"},
            {"role": "assistant", "content": message["content"]},
            {
                "role": "user",
                "content": [
                    {"type": "tool_result", "tool_use_id": first["id"], "content": "a"},
                    {"type": "tool_result", "tool_use_id": second["id"], "content": "b"},
                ],
            },
        ],
    }
    sent = orjson.loads(ADAPTER.build(follow, gemini_ctx("gemini-3-pro-preview")).body)
    validate_gemini_request(sent)
    parts = sent["contents"][1]["parts"]
    assert parts[0]["thoughtSignature"] == SIG and "thoughtSignature" not in parts[1]
    assert [p["functionResponse"]["name"] for p in sent["contents"][2]["parts"]] == ["Bash", "Bash"]
    elsewhere = orjson.loads(ADAPTER.build(follow, gemini_ctx("gemini-3-pro-preview", name="other")).body)
    assert first_call_signature(elsewhere) == "skip_thought_signature_validator"


def test_shortened_tool_names_map_back() -> None:
    long = "mcp__a_server_with_a_really_long_name__and_a_tool_named_even_longer_than_that_x"
    ctx = gemini_ctx(stream=False)
    ADAPTER.build(
        {
            "max_tokens": 5,
            "tools": [{"name": long, "input_schema": {}}],
            "messages": [{"role": "user", "content": "x"}],
        },
        ctx,
    )
    short = ctx.state["gemini"]["declarations"]
    assert short == [long]
    gemini_name = next(iter(ctx.state["gemini"]["tool_names"]))
    data = response({"functionCall": {"name": gemini_name, "args": {}}}, usage=usage())
    message = ADAPTER.translate_message(orjson.dumps(data), "application/json", ctx)
    assert message["content"][0]["name"] == long


def test_a_signature_on_the_last_text_part_returns_on_that_part() -> None:
    message, _ = streamed(
        response({"text": "Hi"}, finish=None),
        response({"text": " there"}, finish=None),
        response({"text": "", "thoughtSignature": SIG}, usage=usage()),
    )
    assert [b["type"] for b in message["content"]] == ["text", "thinking"]
    assert message["content"][0]["text"] == "Hi there"
    follow = {
        "max_tokens": 10,
        "messages": [
            {"role": "user", "content": "x"},
            {"role": "assistant", "content": message["content"]},
            {"role": "user", "content": "y"},
        ],
    }
    sent = orjson.loads(ADAPTER.build(follow, gemini_ctx()).body)
    assert sent["contents"][1]["parts"] == [{"text": "Hi there", "thoughtSignature": SIG}]


@pytest.mark.parametrize(
    ("finish", "parts", "stop"),
    [
        ("MAX_TOKENS", [{"text": "partial"}], "max_tokens"),
        ("SAFETY", [{"text": "I was say"}], "refusal"),
        ("RECITATION", [], "refusal"),
        ("PROHIBITED_CONTENT", [{"text": "x"}], "refusal"),
        ("OTHER", [{"text": "x"}], "end_turn"),
        ("STOP", [{"text": "x"}, {"functionCall": {"name": "Bash", "args": {}}}], "tool_use"),
    ],
)
def test_finish_reasons(finish: str, parts: list[dict[str, Any]], stop: str) -> None:
    message = answer(response(*parts, finish=finish, usage=usage()))
    assert message["stop_reason"] == stop
    texts = [b["text"] for b in message["content"] if b["type"] == "text"]
    assert texts == [p["text"] for p in parts if "text" in p]


@pytest.mark.parametrize(
    "data",
    [
        response(finish="MALFORMED_FUNCTION_CALL", usage=usage()),
        response({"text": "x"}, finish="UNEXPECTED_TOOL_CALL", usage=usage()),
        response({"text": "thinking only", "thought": True}, finish="MAX_TOKENS", usage=usage()),
        response(finish="STOP", usage=usage()),
        {"candidates": [{"content": {"parts": [{"text": "cut"}]}}]},
        {"something": "else"},
    ],
)
def test_unusable_or_cut_answers_are_invalid(data: dict[str, Any]) -> None:
    with pytest.raises(InvalidUpstream):
        answer(data)


def test_a_blocked_prompt_is_a_refusal() -> None:
    message = answer({"promptFeedback": {"blockReason": "SAFETY"}, "usageMetadata": usage(5, 0)})
    assert message["stop_reason"] == "refusal" and message["content"] == []


def test_grounding_sources_are_returned_as_text() -> None:
    grounding = {
        "groundingChunks": [
            {"web": {"uri": "https://a.example/x", "title": "A"}},
            {"web": {"uri": "https://b.example"}},
        ]
    }
    message = answer(response({"text": "News."}, usage=usage(), groundingMetadata=grounding))
    text = message["content"][0]["text"]
    assert text.startswith("News.") and "[A](https://a.example/x)" in text and "https://b.example" in text


def test_stream_events_are_well_formed_and_complete_only_with_a_finish_reason() -> None:
    ctx = gemini_ctx()
    ADAPTER.build({"max_tokens": 10, "messages": [{"role": "user", "content": "x"}]}, ctx)
    body = sse(
        response({"text": "plan", "thought": True}, finish=None),
        response({"text": "Hel"}, finish=None),
        response({"text": "lo"}, finish="STOP"),
        {"usageMetadata": usage(20, 2)},
    )
    translator = ADAPTER.stream(ctx, "text/event-stream")
    frames = translator.feed(body) + translator.finish()
    names = [f.event for f in frames]
    assert names[0] == "message_start" and names[-2:] == ["message_delta", "message_stop"]
    assert translator.complete and translator.usage.input_tokens == 20 and translator.usage.output_tokens == 2
    cut = ADAPTER.stream(ctx, "text/event-stream")
    frames = cut.feed(sse(response({"text": "Hel"}, finish=None)))
    assert cut.finish() == [] and not cut.complete
    assert "message_stop" not in [f.event for f in frames]


def test_an_error_event_mid_stream_is_an_anthropic_error() -> None:
    ctx = gemini_ctx()
    ADAPTER.build({"max_tokens": 10, "messages": [{"role": "user", "content": "x"}]}, ctx)
    err = {"error": {"code": 429, "message": "Resource has been exhausted", "status": "RESOURCE_EXHAUSTED"}}
    frames = run(ctx, [sse(response({"text": "a"}, finish=None), err)])
    assert frames[-1].event == "error"
    assert frames[-1].data == {
        "type": "error",
        "error": {"type": "rate_limit_error", "message": "Resource has been exhausted"},
    }


def test_an_event_that_is_not_json_is_invalid() -> None:
    ctx = gemini_ctx()
    ADAPTER.build({"max_tokens": 10, "messages": [{"role": "user", "content": "x"}]}, ctx)
    with pytest.raises(InvalidUpstream):
        run(ctx, [sse(response({"text": "a"}, finish=None)) + b"data: {not json\n\n"])


def test_either_answer_form_serves_either_client() -> None:
    data = response({"text": "ok"}, usage=usage())
    ctx = gemini_ctx()
    ADAPTER.build({"max_tokens": 10, "messages": [{"role": "user", "content": "x"}]}, ctx)
    frames = run(ctx, [orjson.dumps(data)[:10], orjson.dumps(data)[10:]], "application/json")
    assert message_from_events(events(frames))["content"] == [{"type": "text", "text": "ok"}]
    message = ADAPTER.translate_message(sse(data), "text/event-stream", ctx)
    assert message["content"] == [{"type": "text", "text": "ok"}]


def test_errors_carry_retry_delay_and_name_the_tool() -> None:
    body = {
        "error": {
            "code": 429,
            "message": "Quota exceeded",
            "status": "RESOURCE_EXHAUSTED",
            "details": [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "2.5s"}],
        }
    }
    err = ADAPTER.parse_error(429, {}, orjson.dumps(body))
    assert err.status == 429 and err.error_type == "rate_limit_error" and err.retry_after == "3"
    assert "Quota exceeded" in err.message
    ctx = gemini_ctx()
    ADAPTER.build(
        {
            "max_tokens": 5,
            "tools": [BASH, {"name": "Read", "input_schema": {}}],
            "messages": [{"role": "user", "content": "x"}],
        },
        ctx,
    )
    schema = [
        {
            "error": {
                "code": 400,
                "status": "INVALID_ARGUMENT",
                "message": "Invalid JSON payload received. Unknown name \"const\" at 'tools[0].function_declarations[1].parameters': Cannot find field.",
            }
        }
    ]
    named = ADAPTER.parse_error(400, {}, orjson.dumps(schema), ctx)
    assert named.message.startswith("tool 'Read': ") and named.error_type == "invalid_request_error"
    assert ADAPTER.parse_error(503, {"retry-after": "7"}, b"upstream connect error").retry_after == "7"


def test_plain_parameters_fallback_detection() -> None:
    refused = b'{"error": {"code": 400, "message": "Unknown name \\"parametersJsonSchema\\" at tools[0]"}}'
    assert needs_plain_parameters(400, refused)
    assert not needs_plain_parameters(400, b'{"error": {"message": "other"}}')
    assert not needs_plain_parameters(500, refused)


def test_call_signature_is_none_for_plain_and_foreign_ids() -> None:
    assert call_signature("toolu_abc", "00000000") is None
    assert call_signature(None, "00000000") is None
