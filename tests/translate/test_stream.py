"""Chat Completions streams -> Anthropic event sequences, through the real adapter, bytes in."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from anthropic.types import Message

from ccm.providers.base import Frame, InvalidUpstream
from ccm.translate.anthropic_events import message_from_events
from ccm.translate.signature import is_ccm_signature
from tests.translate.helpers import chunk, events, make_ctx, run_stream, sse_bytes

USAGE = {"prompt_tokens": 50, "completion_tokens": 9, "total_tokens": 59}


def call(index: int, id_: str | None = None, name: str | None = None, args: str | None = None) -> dict[str, Any]:
    function: dict[str, Any] = {}
    if name is not None:
        function["name"] = name
    if args is not None:
        function["arguments"] = args
    item: dict[str, Any] = {"index": index, "function": function}
    if id_ is not None:
        item.update(id=id_, type="function")
    return item


def stream(chunks: list[Any], *, done: bool = True, ctx: Any = None, split: int | None = None) -> list[Frame]:
    raw = sse_bytes(chunks, done=done)
    pieces = [raw] if split is None else [raw[i : i + split] for i in range(0, len(raw), split)]
    return run_stream(ctx or make_ctx(), pieces)


def check_sequence(evs: list[dict[str, Any]]) -> dict[str, Any]:
    """The Anthropic stream grammar holds; returns the accumulated message (validated by the SDK type)."""
    assert evs[0]["type"] == "message_start"
    assert [e["type"] for e in evs[-2:]] == ["message_delta", "message_stop"]
    open_index: int | None = None
    expected = 0
    for event in evs[1:-2]:
        kind = event["type"]
        if kind == "content_block_start":
            assert open_index is None and event["index"] == expected
            open_index = event["index"]
        elif kind == "content_block_delta":
            assert event["index"] == open_index, "a delta for a block that was not started"
        elif kind == "content_block_stop":
            assert event["index"] == open_index
            open_index, expected = None, expected + 1
        else:
            raise AssertionError(f"unexpected {kind} mid-message")
    assert open_index is None
    message = message_from_events(evs)
    Message.model_validate(message)
    for block in message["content"]:
        if block["type"] == "thinking":
            assert is_ccm_signature(block["signature"])
    return message


def test_text_stream_with_usage_in_a_final_chunk() -> None:
    chunks = [
        chunk({"role": "assistant", "content": ""}),
        chunk({"content": "Hel"}),
        chunk({"content": "lo"}),
        chunk({}, "stop"),
        chunk(choices=False, usage=USAGE),
    ]
    frames = stream(chunks)
    assert frames[0].raw.startswith(b"event: message_start\ndata: {")
    message = check_sequence(events(frames))
    assert message["content"] == [{"type": "text", "text": "Hello"}]
    assert message["stop_reason"] == "end_turn" and message["model"] == "claude-opus-5-5"
    assert message["usage"]["input_tokens"] == 50 and message["usage"]["output_tokens"] == 9


def test_reasoning_closes_before_text() -> None:
    chunks = [
        chunk({"reasoning_content": "Think "}),
        chunk({"reasoning_content": "hard."}),
        chunk({"content": "Done."}),
        chunk({}, "stop", USAGE),
    ]
    evs = events(stream(chunks))
    message = check_sequence(evs)
    assert [b["type"] for b in message["content"]] == ["thinking", "text"]
    assert message["content"][0]["thinking"] == "Think hard."
    signature = [e for e in evs if e.get("delta", {}).get("type") == "signature_delta"]
    assert len(signature) == 1 and signature[0]["index"] == 0


def test_openrouter_reasoning_field_and_inline_think_tags() -> None:
    message = check_sequence(events(stream([chunk({"reasoning": "r"}), chunk({"content": "t"}), chunk({}, "stop")])))
    assert [b["type"] for b in message["content"]] == ["thinking", "text"]
    pieces = ["<thi", "nk>plan", "</think>", "\n\nAnswer"]
    message = check_sequence(events(stream([chunk({"content": p}) for p in pieces] + [chunk({}, "stop")])))
    assert message["content"][0]["thinking"] == "plan" and message["content"][1]["text"] == "Answer"


def test_text_and_parallel_tool_calls_with_arguments_split_across_chunks() -> None:
    chunks = [
        chunk({"content": "Checking."}),
        chunk({"tool_calls": [call(0, "call_a", "Bash", "")]}),
        chunk({"tool_calls": [call(0, args='{"comm')]}),
        chunk({"tool_calls": [call(0, args='and": "l')]}),
        chunk({"tool_calls": [call(1, "call_b", "Read", '{"file_path"')]}),
        chunk({"tool_calls": [call(0, args='s"}')]}),  # interleaved: back to call 0
        chunk({"tool_calls": [call(1, args=': "/a.txt"}')]}),
        chunk({}, "tool_calls"),
        chunk(choices=False, usage=USAGE),
    ]
    message = check_sequence(events(stream(chunks)))
    assert message["content"] == [
        {"type": "text", "text": "Checking."},
        {"type": "tool_use", "id": "call_a", "name": "Bash", "input": {"command": "ls"}},
        {"type": "tool_use", "id": "call_b", "name": "Read", "input": {"file_path": "/a.txt"}},
    ]
    assert message["stop_reason"] == "tool_use"


def test_every_call_at_index_zero_with_new_ids() -> None:
    """Some servers number every call 0 and send each whole: a new id means a new call."""
    chunks = [
        chunk({"tool_calls": [call(0, "c1", "Bash", '{"command": "a"}')]}),
        chunk({"tool_calls": [call(0, "c2", "Bash", '{"command": "b"}')]}),
        chunk({}, "stop"),
    ]
    message = check_sequence(events(stream(chunks)))
    assert [b["input"]["command"] for b in message["content"]] == ["a", "b"]
    assert message["stop_reason"] == "tool_use"


def test_tool_call_without_id_gets_one_and_broken_arguments_are_repaired() -> None:
    chunks = [
        chunk({"tool_calls": [{"function": {"name": "Bash", "arguments": "{'command': 'ls',"}}]}),
        chunk({}, "length"),
    ]
    message = check_sequence(events(stream(chunks)))
    block = message["content"][0]
    assert block["id"].startswith("toolu_") and block["input"] == {"command": "ls"}
    assert message["stop_reason"] == "max_tokens"


def test_split_in_the_middle_of_utf8_and_sse_lines() -> None:
    chunks = [chunk({"content": "héllo wörld 🎉 "}), chunk({"content": "日本語"}), chunk({}, "stop", USAGE)]
    whole = check_sequence(events(stream(chunks)))
    for size in (1, 2, 3, 5, 13):
        assert check_sequence(events(stream(chunks, split=size)))["content"] == whole["content"]
    assert whole["content"][0]["text"] == "héllo wörld 🎉 日本語"


def test_crlf_line_endings() -> None:
    raw = sse_bytes([chunk({"content": "a"}), chunk({}, "stop")]).replace(b"\n", b"\r\n")
    message = check_sequence(events(run_stream(make_ctx(), [raw[:7], raw[7:]])))
    assert message["content"] == [{"type": "text", "text": "a"}]


def test_done_without_finish_reason_ends_properly() -> None:
    chunks = [
        chunk({"reasoning_content": "hm"}),
        chunk({"content": "partial"}),
        chunk({"tool_calls": [call(0, "c", "Bash", '{"a": 1}')]}),
    ]
    message = check_sequence(events(stream(chunks, done=True)))
    assert [b["type"] for b in message["content"]] == ["thinking", "text", "tool_use"]
    assert message["stop_reason"] == "tool_use"
    assert message["usage"]["output_tokens"] > 0  # estimated when the upstream never reports it


def test_a_connection_closed_without_finish_reason_is_a_cut() -> None:
    chunks = [chunk({"content": "partial"}), chunk({"tool_calls": [call(0, "c", "Bash", '{"a": 1}')]})]
    frames = stream(chunks, done=False)
    kinds = [f.event for f in frames]
    assert "message_stop" not in kinds and "message_delta" not in kinds
    assert not any(f.data and (f.data.get("content_block") or {}).get("type") == "tool_use" for f in frames)


def test_done_after_cut_tool_arguments_is_a_cut() -> None:
    """A Write cut mid-arguments must never reach Claude Code as tool_use (it would write a broken file)."""
    args = '{"file_path": "/tmp/x.py", "content": "def main():\\n    print(\\"hel'
    frames = stream([chunk({"tool_calls": [call(0, "c", "Write", args)]})], done=True)
    kinds = [f.event for f in frames]
    assert "message_stop" not in kinds
    assert not any(f.data and (f.data.get("content_block") or {}).get("type") == "tool_use" for f in frames)


def test_sloppy_but_complete_arguments_are_still_repaired() -> None:
    frames = stream([chunk({"tool_calls": [call(0, "c", "Bash", "{'command': 'ls',}")]}), chunk({}, "tool_calls")])
    message = check_sequence(events(frames))
    assert message["content"][-1]["input"] == {"command": "ls"}


def test_a_cut_with_nothing_usable_returns_no_closing_frames() -> None:
    frames = stream([chunk({"role": "assistant"})], done=False)
    assert [f.event for f in frames] == ["message_start"]  # the dispatcher reports the cut


def test_nothing_at_all() -> None:
    assert run_stream(make_ctx(), [b""]) == []
    assert run_stream(make_ctx(), [b": keep-alive\n\n"]) == []


def test_error_before_any_chunk_is_the_first_frame() -> None:
    frames = stream([{"error": {"message": "Rate limit reached", "type": "rate_limit_exceeded", "code": 429}}])
    assert [f.event for f in frames] == ["error"]
    assert frames[0].data == {"type": "error", "error": {"type": "rate_limit_error", "message": "Rate limit reached"}}


def test_error_mid_stream_ends_with_an_error_event() -> None:
    chunks = [
        chunk({"content": "Hal"}),
        {"error": {"message": "Internal error", "code": 502}},
        chunk({"content": "more"}),
    ]
    frames = stream(chunks)
    assert [f.event for f in frames] == ["message_start", "content_block_start", "content_block_delta", "error"]
    assert frames[-1].data["error"] == {"type": "api_error", "message": "Internal error"}


def test_openrouter_finish_reason_error() -> None:
    chunks = [
        chunk({"content": "x"}),
        {**chunk({}, "error"), "error": {"message": "Provider disconnected", "code": 502}},
    ]
    frames = stream(chunks)
    assert frames[-1].event == "error" and "Provider disconnected" in frames[-1].data["error"]["message"]


@pytest.mark.parametrize("first", [b"data: not json\n\n", b'data: {"hello": "world"}\n\n', b"data: [DONE]\n\n"])
def test_an_invalid_first_event_is_an_invalid_upstream(first: bytes) -> None:
    with pytest.raises(InvalidUpstream):
        run_stream(make_ctx(), [first])


def test_invalid_json_mid_stream_is_an_error_event() -> None:
    raw = sse_bytes([chunk({"content": "a"})], done=False) + b"data: {broken\n\n"
    frames = run_stream(make_ctx(), [raw])
    assert frames[-1].event == "error"


def test_json_answer_to_a_streaming_request_is_replayed_as_events() -> None:
    body = {
        "id": "x",
        "object": "chat.completion",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "Whole"}, "finish_reason": "stop"}],
        "usage": USAGE,
    }
    raw = orjson.dumps(body)
    frames = run_stream(make_ctx(), [raw[:10], raw[10:]], content_type="application/json")
    message = check_sequence(events(frames))
    assert message["content"] == [{"type": "text", "text": "Whole"}]
    error = run_stream(make_ctx(), [b'{"error": {"message": "nope", "code": 503}}'], content_type="application/json")
    assert [f.event for f in error] == ["error"]


def test_usage_inside_the_choice_moonshot_style() -> None:
    chunks = [
        chunk({"content": "a"}),
        {**chunk({}, "stop"), "choices": [{"index": 0, "delta": {}, "finish_reason": "stop", "usage": USAGE}]},
    ]
    message = check_sequence(events(stream(chunks, done=False)))
    assert message["usage"]["input_tokens"] == 50


def test_translator_reports_usage_and_completion() -> None:
    from ccm.providers.openai import ADAPTER

    translator = ADAPTER.stream(make_ctx(), "text/event-stream")
    translator.feed(
        sse_bytes(
            [chunk({"content": "a"}), chunk({}, "stop", {**USAGE, "prompt_tokens_details": {"cached_tokens": 20}})]
        )
    )
    translator.finish()
    assert translator.complete
    assert (
        translator.usage.input_tokens,
        translator.usage.cache_read_input_tokens,
        translator.usage.output_tokens,
    ) == (30, 20, 9)


def test_empty_text_and_role_only_chunks_send_no_empty_blocks() -> None:
    chunks = [
        chunk({"role": "assistant", "content": ""}),
        chunk({"content": ""}),
        chunk({"content": "x"}),
        chunk({}, "stop"),
    ]
    evs = events(stream(chunks))
    assert sum(e["type"] == "content_block_start" for e in evs) == 1


def test_web_search_sources_are_appended_to_the_text() -> None:
    annotation = {"type": "url_citation", "url_citation": {"url": "https://a.example", "title": "A"}}
    chunks = [chunk({"content": "Answer."}), chunk({"annotations": [annotation]}), chunk({}, "stop")]
    message = check_sequence(events(stream(chunks)))
    assert message["content"][0]["text"] == "Answer.\n\nSources:\n- [A](https://a.example)"


def test_openrouter_reasoning_details_ride_in_the_signature() -> None:
    """Claude/Gemini on OpenRouter need their reasoning_details back verbatim: merged per index from the
    fragments, carried in the ccm signature, returned on the next request."""
    from ccm.translate.openai.request import to_openai_request
    from ccm.translate.profile import profile_for
    from ccm.translate.signature import signature_details

    fmt = "anthropic-claude-v1"
    chunks = [
        chunk(
            {
                "reasoning": "Let me ",
                "reasoning_details": [{"type": "reasoning.text", "text": "Let me ", "index": 0, "format": fmt}],
            }
        ),
        chunk(
            {
                "reasoning": "see.",
                "reasoning_details": [{"type": "reasoning.text", "text": "see.", "index": 0, "format": fmt}],
            }
        ),
        chunk({"reasoning_details": [{"type": "reasoning.text", "signature": "EqQBsig", "index": 0, "format": fmt}]}),
        chunk({"content": "Answer"}),
        chunk({"tool_calls": [call(0, "c1", "Bash", "{}")]}),
        chunk({"reasoning_details": [{"type": "reasoning.encrypted", "data": "late-state", "index": 1}]}),
        chunk({}, "tool_calls"),
    ]
    message = check_sequence(events(stream(chunks, ctx=make_ctx("openrouter", "anthropic/claude-sonnet-4.5"))))
    assert [b["type"] for b in message["content"]] == ["thinking", "text", "thinking", "tool_use"]
    first, late = message["content"][0], message["content"][2]
    assert first["thinking"] == "Let me see."
    assert signature_details(first["signature"]) == [
        {"type": "reasoning.text", "text": "Let me see.", "index": 0, "format": fmt, "signature": "EqQBsig"}
    ]
    assert late["thinking"] == "" and signature_details(late["signature"]) == [
        {"type": "reasoning.encrypted", "data": "late-state", "index": 1}
    ]
    history = {
        "model": "m",
        "max_tokens": 100,
        "messages": [
            {"role": "user", "content": "go"},
            {"role": "assistant", "content": message["content"]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "c1", "content": "ok"}]},
        ],
    }
    sent = to_openai_request(history, profile_for("openrouter", "anthropic/claude-sonnet-4.5"), stream=True).body
    assert sent["messages"][1]["reasoning_details"] == signature_details(first["signature"]) + signature_details(
        late["signature"]
    )  # type: ignore[operator]
    other = to_openai_request(history, profile_for("deepseek", "deepseek-chat"), stream=True).body
    assert "reasoning_details" not in other["messages"][1]


def test_encrypted_reasoning_only_opens_an_empty_thinking_block() -> None:
    chunks = [
        chunk({"reasoning_details": [{"type": "reasoning.encrypted", "data": "opaque", "index": 0}]}),
        chunk({"content": "Hi"}),
        chunk({}, "stop"),
    ]
    message = check_sequence(events(stream(chunks)))
    assert message["content"][0]["type"] == "thinking" and message["content"][0]["thinking"] == ""
    assert message["content"][1] == {"type": "text", "text": "Hi"}


def test_a_ping_goes_out_while_a_long_tool_call_is_held(monkeypatch: pytest.MonkeyPatch) -> None:
    """Arguments are held until the call completes; the client hears pings meanwhile, not silence."""
    import ccm.providers.openai as provider

    monkeypatch.setattr(provider, "BUSY_PING_S", 0.0)
    translator = provider.ADAPTER.stream(make_ctx(), "text/event-stream")
    first = translator.feed(sse_bytes([chunk({"tool_calls": [call(0, "c1", "Write", '{"content": "')]})], done=False))
    assert [f.event for f in first] == ["message_start"]
    more = translator.feed(sse_bytes([chunk({"tool_calls": [call(0, args="x" * 100)]})], done=False))
    assert [f.event for f in more] == ["ping"] and more[0].raw == b'event: ping\ndata: {"type":"ping"}\n\n'
