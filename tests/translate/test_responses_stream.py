"""Responses streams (and whole answers) into Anthropic ones: streams scripted as the backend sends them."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from ccm.providers.base import InvalidUpstream
from ccm.providers.responses import ADAPTER
from ccm.translate.anthropic_events import message_from_events
from ccm.translate.signature import signature_details
from tests.fakes.responses import (
    event,
    failed,
    output_items,
    response,
    responses_stream,
    usage,
)
from tests.translate.responses_helpers import assert_well_formed, build, events, make_ctx, run_stream, sse_of, user

ENC = "gAAAAB-final-encrypted"
CALLS = [("call_a", "Bash", {"command": "ls -la"}), ("call_b", "Read", {"file_path": "/etc/hosts"})]


def answer(chunks: list[bytes], **kw: Any) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    ctx = make_ctx(**kw)
    evs = events(run_stream(ctx, chunks))
    assert_well_formed(evs)
    return evs, message_from_events(evs)


def test_text() -> None:
    _, message = answer(responses_stream("Hello there!", usage_=usage(120, 7, cached=100)))
    assert message["content"] == [{"type": "text", "text": "Hello there!"}]
    assert message["model"] == "claude-opus-5-5" and message["stop_reason"] == "end_turn"
    assert message["usage"] == {
        "input_tokens": 20,
        "output_tokens": 7,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 100,
    }


def test_reasoning_with_two_summary_parts_is_one_signed_thinking_block() -> None:
    chunks = responses_stream("Done.", summary=["First I look.", "Then I answer."], encrypted=ENC)
    _, message = answer(chunks)
    thinking, text = message["content"]
    assert thinking["type"] == "thinking" and thinking["thinking"] == "First I look.\n\nThen I answer."
    state = signature_details(thinking["signature"])
    assert state == [
        {"type": "ccm.api.quart_json.reasoning", "provider": "chatgpt", "model": "gpt-5.5", "encrypted_content": ENC}
    ]
    assert text == {"type": "text", "text": "Done."}


def test_reasoning_without_summary_is_a_signature_only_block_and_round_trips() -> None:
    ctx = make_ctx()
    message = message_from_events(events(run_stream(ctx, responses_stream("ok", encrypted=ENC))))
    assert message["content"][0]["type"] == "thinking" and message["content"][0]["thinking"] == ""
    history = {"role": "assistant", "content": message["content"]}
    _, sent = build({"model": "m", "max_tokens": 5, "messages": [user("a"), history, user("b")]}, make_ctx())
    assert sent["input"][1] == {"type": "reasoning", "summary": [], "encrypted_content": ENC}


@pytest.mark.parametrize("interleave", [False, True])
def test_parallel_calls(interleave: bool) -> None:
    _, message = answer(responses_stream("Both.", CALLS, interleave=interleave, pieces=4))
    assert message["content"] == [
        {"type": "text", "text": "Both."},
        {"type": "tool_use", "id": "call_a", "name": "Bash", "input": {"command": "ls -la"}},
        {"type": "tool_use", "id": "call_b", "name": "Read", "input": {"file_path": "/etc/hosts"}},
    ]
    assert message["stop_reason"] == "tool_use"


def test_long_tool_names_are_mapped_back() -> None:
    long_name = "mcp__server_with_a_long_name__and_a_tool_whose_name_goes_well_past_64_chars"
    ctx = make_ctx()
    body = {"model": "m", "max_tokens": 5, "tools": [{"name": long_name, "input_schema": {}}], "messages": [user("x")]}
    short = build(body, ctx)[1]["tools"][0]["name"]
    message = message_from_events(events(run_stream(ctx, responses_stream(None, [("c1", short, {})]))))
    assert message["content"][0]["name"] == long_name


def test_message_with_only_item_done_and_leading_codex_events() -> None:
    lead = [event("codex.rate_limits", primary={"used_percent": 12}), event("codex.response.metadata")]
    item = output_items("Whole text at once.")[0]
    chunks = [
        *lead,
        event("response.created", response=response([], "in_progress")),
        event("response.in_progress", response=response([], "in_progress")),
        event("response.output_item.added", item={**item, "content": []}),
        event("response.output_item.done", item=item),
        event("response.completed", response=response([item])),
    ]
    _, message = answer(chunks)
    assert message["content"] == [{"type": "text", "text": "Whole text at once."}]


def test_only_the_final_response_carries_the_output() -> None:
    items = output_items("From the final response.", CALLS[:1], summary=["Thought."], encrypted=ENC)
    chunks = [event("response.created", response=response([])), event("response.completed", response=response(items))]
    _, message = answer(chunks)
    assert [b["type"] for b in message["content"]] == ["thinking", "text", "tool_use"]


def test_nothing_is_sent_before_the_first_content() -> None:
    ctx = make_ctx()
    translator = ADAPTER.stream(ctx, "text/event-stream")
    chunks = responses_stream("hi")
    assert translator.feed(sse_of(chunks[:2])) == []  # response.created, output_item.added
    assert [f.event for f in translator.feed(chunks[3])][:2] == ["message_start", "content_block_start"]


def test_incomplete_max_output_tokens() -> None:
    chunks = responses_stream("Cut sh", terminal="response.incomplete", incomplete_reason="max_output_tokens")
    _, message = answer(chunks)
    assert message["stop_reason"] == "max_tokens" and message["content"][0]["text"] == "Cut sh"


def test_incomplete_in_the_middle_of_a_call_never_sends_the_call() -> None:
    chunks = responses_stream("Let me", CALLS[:1], pieces=4)
    call_start = next(i for i, c in enumerate(chunks) if b"function_call_arguments.delta" in c)
    cut = chunks[: call_start + 2]
    cut.append(
        event(
            "response.incomplete",
            response=response([], "incomplete", incomplete_details={"reason": "max_output_tokens"}),
        )
    )
    _, message = answer(cut)
    assert [b["type"] for b in message["content"]] == ["text"] and message["stop_reason"] == "max_tokens"


@pytest.mark.parametrize(
    ("code", "error_type", "text"),
    [
        ("context_length_exceeded", "invalid_request_error", "prompt is too long"),
        ("insufficient_quota", "rate_limit_error", "quota"),
        ("usage_limit_reached", "rate_limit_error", "quota"),
        ("usage_not_included", "permission_error", "quota"),
        ("rate_limit_exceeded", "rate_limit_error", "quota"),
        ("server_error", "api_error", "quota"),
    ],
)
def test_response_failed_is_the_first_and_only_frame(code: str, error_type: str, text: str) -> None:
    message = "Your input exceeds the context window" if code == "context_length_exceeded" else "quota problem"
    chunks = [event("response.created", response=response([])), failed(code, message), *responses_stream("late")]
    frames = run_stream(make_ctx(), chunks)
    assert [f.event for f in frames] == ["error"]
    error = frames[0].data["error"]  # type: ignore[index]
    assert error["type"] == error_type and text in error["message"]


def test_top_level_error_event_after_content_ends_the_stream() -> None:
    chunks = responses_stream("partial answer")[:4]
    chunks.append(event("error", code="server_is_overloaded", message="Selected model is at capacity."))
    ctx = make_ctx()
    translator = ADAPTER.stream(ctx, "text/event-stream")
    frames = translator.feed(sse_of(chunks)) + translator.finish()
    kinds = [f.event for f in frames]
    assert kinds[0] == "message_start" and kinds[-1] == "error" and "message_stop" not in kinds
    assert frames[-1].data["error"]["type"] == "overloaded_error"  # type: ignore[index]
    assert translator.complete is False


def test_a_stream_cut_before_the_terminal_event_is_never_completed() -> None:
    chunks = responses_stream("All of it", CALLS)
    for end in range(len(chunks) - 1):
        translator = ADAPTER.stream(make_ctx(), "text/event-stream")
        frames = translator.feed(sse_of(chunks[:end])) + translator.finish()
        assert translator.complete is False
        assert "message_stop" not in [f.event for f in frames]
    whole = ADAPTER.stream(make_ctx(), "text/event-stream")
    whole.feed(sse_of(chunks))
    assert whole.complete is True and whole.usage.input_tokens == 20


@pytest.mark.parametrize(
    "bad",
    [
        b"data: {not json\n\n",
        b'data: {"no": "type"}\n\n',
        b"data: [1, 2]\n\n",
        b'data: {"type": "response.output_text.delta", "item_id": "m", "delta": 5}\n\n',
        b'data: {"type": "response.output_item.done"}\n\n',
    ],
)
def test_an_event_that_is_not_a_responses_event_is_invalid(bad: bytes) -> None:
    for prefix in ([], responses_stream("x")[:4]):
        translator = ADAPTER.stream(make_ctx(), "text/event-stream")
        with pytest.raises(InvalidUpstream):
            translator.feed(sse_of(prefix) + bad)


def test_a_json_body_serves_a_streaming_client() -> None:
    body = orjson.dumps(response(output_items("from JSON", CALLS[:1])))
    evs = events(run_stream(make_ctx(backend=False), [body[:10], body[10:]], "application/json"))
    assert_well_formed(evs)
    assert [b["type"] for b in message_from_events(evs)["content"]] == ["text", "tool_use"]
    error = orjson.dumps({"error": {"type": "insufficient_quota", "message": "no credit"}})
    assert [f.event for f in run_stream(make_ctx(backend=False), [error], "application/json")] == ["error"]


def test_translate_message_takes_json_and_whole_sse_bodies() -> None:
    ctx = make_ctx(stream=False)
    sse = sse_of(responses_stream("streamed", summary=["hm"], encrypted=ENC))
    message = ADAPTER.translate_message(sse, "text/event-stream", ctx)
    assert [b["type"] for b in message["content"]] == ["thinking", "text"] and message["stop_reason"] == "end_turn"
    whole = ADAPTER.translate_message(orjson.dumps(response(output_items("json"))), "application/json", ctx)
    assert whole["content"] == [{"type": "text", "text": "json"}] and whole["model"] == "claude-opus-5-5"
    with pytest.raises(InvalidUpstream, match=r"response\.completed"):
        ADAPTER.translate_message(sse_of(responses_stream("cut")[:-1]), "text/event-stream", ctx)
    with pytest.raises(InvalidUpstream, match="rate_limit_error"):
        ADAPTER.translate_message(sse_of([failed("insufficient_quota", "out")]), "text/event-stream", ctx)
    with pytest.raises(InvalidUpstream):
        ADAPTER.translate_message(orjson.dumps(response([], "failed", error={"code": "x", "message": "y"})), "", ctx)
    with pytest.raises(InvalidUpstream):
        ADAPTER.translate_message(b"{nope", "application/json", ctx)


def test_web_search_citations_become_a_sources_list() -> None:
    chunks = responses_stream("ccm routes Claude Code.")
    done = next(i for i, c in enumerate(chunks) if b"output_item.done" in c)
    item = output_items("ccm routes Claude Code.")[0]
    cite = {"type": "url_citation", "url": "https://example.com/ccm", "title": "ccm", "start_index": 0, "end_index": 3}
    item["content"][0]["annotations"] = [cite]
    chunks[done] = event("response.output_item.done", item=item)
    _, message = answer(chunks)
    assert message["content"] == [
        {"type": "text", "text": "ccm routes Claude Code.\n\nSources:\n- [ccm](https://example.com/ccm)"}
    ]
    whole = ADAPTER.translate_message(orjson.dumps(response([item])), "application/json", make_ctx())
    assert whole["content"] == message["content"]


def test_a_long_tool_call_keeps_the_client_alive_with_pings(monkeypatch: pytest.MonkeyPatch) -> None:
    import ccm.providers.responses as wire

    monkeypatch.setattr(wire, "BUSY_PING_S", 0.0)
    chunks = responses_stream("Writing.", CALLS[:1], pieces=6)
    translator = ADAPTER.stream(make_ctx(), "text/event-stream")
    frames = [f for c in chunks for f in translator.feed(c)] + translator.finish()
    kinds = [f.event for f in frames]
    first_tool = kinds.index("content_block_start", kinds.index("content_block_stop"))
    assert "ping" in kinds[kinds.index("content_block_stop") : first_tool]  # while the arguments stream in
    assert "ping" not in kinds[: kinds.index("message_start")] and translator.complete
    assert_well_formed(events(frames))
