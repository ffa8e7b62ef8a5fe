"""The one Anthropic stream writer every translated wire uses: its events obey the stream grammar whatever
the order of calls (a property test over random call sequences), checked once here for all wires."""

from __future__ import annotations

from typing import Any

from anthropic.types import Message
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ccm.translate.anthropic_events import message_from_events
from ccm.translate.stream_writer import AnthropicStreamWriter

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
USAGE = {"input_tokens": 3, "output_tokens": 2, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}
DELTAS = {"text": {"text_delta"}, "thinking": {"thinking_delta", "signature_delta"}, "tool_use": {"input_json_delta"}}


def grammar_violation(events: list[dict[str, Any]]) -> str | None:
    """What breaks Anthropic's stream grammar in these events (a whole stream, or one cut short), or None."""
    kinds = [e["type"] for e in events]
    if "error" in kinds and kinds.index("error") != len(kinds) - 1:
        return "an event after the error"
    if kinds.count("message_start") > 1 or ("message_start" in kinds and kinds[0] != "message_start"):
        return "message_start is not first and once"
    if kinds[:1] not in ([], ["message_start"], ["error"]):
        return f"the stream begins with {kinds[0]}"
    open_block: dict[str, Any] | None = None
    signed = False
    next_index = 0
    for position, event in enumerate(events[1:], 1):
        kind = event["type"]
        if kind == "content_block_start":
            if open_block is not None or event["index"] != next_index:
                return f"block {event['index']} starts while {open_block} is open (expected {next_index})"
            open_block, signed = event["content_block"], False
        elif kind == "content_block_delta":
            if open_block is None or event["index"] != next_index:
                return f"a delta for block {event['index']}, which is not open"
            if event["delta"]["type"] not in DELTAS[open_block["type"]]:
                return f"a {event['delta']['type']} in a {open_block['type']} block"
            signed = signed or event["delta"]["type"] == "signature_delta"
        elif kind == "content_block_stop":
            if open_block is None or event["index"] != next_index:
                return f"a stop for block {event['index']}, which is not open"
            if open_block["type"] == "thinking" and not signed:
                return f"thinking block {next_index} closes unsigned"
            open_block, next_index = None, next_index + 1
        elif kind == "message_delta":
            if open_block is not None or kinds[position + 1 :] != ["message_stop"]:
                return "message_delta is not followed by message_stop alone, with every block closed"
        elif kind == "message_stop":
            if kinds[position - 1] != "message_delta":
                return "message_stop without message_delta"
        elif kind != "error":
            return f"an unexpected {kind} event"
    return None


def signer(text: str, key: Any) -> str:
    return f"sig:{key}:{text}"


def writer() -> AnthropicStreamWriter:
    return AnthropicStreamWriter(model="claude-x", message_id="msg_1", input_estimate=7, sign=signer)


def test_a_plain_answer() -> None:
    w = writer()
    events = w.text("Hel") + w.text("lo") + w.end("end_turn", USAGE)
    assert events == [
        {
            "type": "message_start",
            "message": {
                "id": "msg_1",
                "type": "message",
                "role": "assistant",
                "model": "claude-x",
                "content": [],
                "stop_reason": None,
                "stop_sequence": None,
                "usage": {
                    "input_tokens": 7,
                    "output_tokens": 0,
                    "cache_creation_input_tokens": 0,
                    "cache_read_input_tokens": 0,
                },
            },
        },
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hel"}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "lo"}},
        {"type": "content_block_stop", "index": 0},
        {"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": None}, "usage": USAGE},
        {"type": "message_stop"},
    ]
    assert w.complete and w.finished and w.stop_reason == "end_turn" and w.usage == USAGE and w.chars == 5


def test_thinking_is_signed_when_another_block_begins() -> None:
    w = writer()
    events = w.thinking("hm", key="r1") + w.thinking(" ok", key="r1") + w.thinking("again", key="r2")
    events += w.tool_use({"type": "tool_use", "id": "toolu_1", "name": "Bash", "input": {"a": 1}})
    events += w.end("tool_use", USAGE)
    assert grammar_violation(events) is None
    message = message_from_events(events)
    assert message["content"] == [
        {"type": "thinking", "thinking": "hm ok", "signature": "sig:r1:hm ok"},
        {"type": "thinking", "thinking": "again", "signature": "sig:r2:again"},
        {"type": "tool_use", "id": "toolu_1", "name": "Bash", "input": {"a": 1}},
    ]
    delta = next(e for e in events if e.get("delta", {}).get("type") == "input_json_delta")
    assert delta["delta"]["partial_json"] == '{"a":1}' and w.blocks == 3


def test_an_error_first_is_the_only_event_and_ends_everything() -> None:
    w = writer()
    assert w.error({"type": "overloaded_error", "message": "busy"}) == [
        {"type": "error", "error": {"type": "overloaded_error", "message": "busy"}}
    ]
    assert w.finished and not w.complete and not w.started
    assert w.text("late") + w.end("end_turn", USAGE) + w.error({"type": "api_error", "message": "x"}) == []


def test_an_error_after_content_never_closes_cleanly() -> None:
    w = writer()
    events = w.text("partial") + w.error({"type": "api_error", "message": "cut"})
    assert [e["type"] for e in events][-1] == "error" and grammar_violation(events) is None
    assert w.end("end_turn", USAGE) == [] and not w.complete


def test_nothing_follows_the_end() -> None:
    w = writer()
    events = w.end("end_turn", USAGE)
    assert [e["type"] for e in events] == ["message_start", "message_delta", "message_stop"]
    assert w.start() + w.open("text") + w.close() + w.signature_only("s") + w.end("end_turn", USAGE) == []


def test_a_whole_message_replaces_the_stream() -> None:
    w = writer()
    message = {
        "id": "msg_2",
        "type": "message",
        "role": "assistant",
        "model": "claude-x",
        "content": [{"type": "text", "text": "Whole"}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": USAGE,
    }
    events = w.message(message)
    assert grammar_violation(events) is None and message_from_events(events)["content"] == message["content"]
    assert w.complete and w.usage == USAGE and w.message(message) == [] and w.text("more") == []


# -- any sequence of calls ----------------------------------------------------------------------------------

keys = st.sampled_from([None, "a", "b"])
calls = st.one_of(
    st.tuples(st.just("start")),
    st.tuples(st.just("open"), st.sampled_from(["text", "thinking"]), keys),
    st.tuples(st.just("text"), st.text(max_size=5), keys),
    st.tuples(st.just("thinking"), st.text(max_size=5), keys),
    st.tuples(st.just("close")),
    st.tuples(st.just("tool_use"), st.dictionaries(st.text(max_size=3), st.integers(-(2**53), 2**53), max_size=2)),
    st.tuples(st.just("signature_only"), st.text(max_size=5)),
    st.tuples(st.just("end"), st.sampled_from(["end_turn", "tool_use", "max_tokens"])),
    st.tuples(st.just("error"), st.text(max_size=5)),
)


def call(w: AnthropicStreamWriter, step: tuple[Any, ...], n: int) -> list[dict[str, Any]]:
    name, *args = step
    if name == "tool_use":
        return w.tool_use({"type": "tool_use", "id": f"toolu_{n}", "name": "T", "input": args[0]})
    if name == "end":
        return w.end(args[0], USAGE)
    if name == "error":
        return w.error({"type": "api_error", "message": args[0]})
    result: list[dict[str, Any]] = getattr(w, name)(*args)
    return result


def expected_content(steps: list[tuple[Any, ...]]) -> list[dict[str, Any]]:
    """What the calls up to the first end or error should build, by a model written independently."""
    blocks: list[dict[str, Any]] = []
    current: tuple[str, Any] | None = None
    for n, (name, *args) in enumerate(steps):
        if name in ("end", "error"):
            break
        if name in ("text", "thinking", "open") and (name != "open" and not args[0]):
            continue
        if name in ("text", "thinking", "open"):
            kind, key = (args[0], args[1]) if name == "open" else (name, args[1])
            if current != (kind, key):
                blocks.append({"type": "text", "text": ""} if kind == "text" else {"type": "thinking", "thinking": ""})
                current = (kind, key)
                blocks[-1]["key"] = key
            if name != "open":
                blocks[-1][kind] += args[0]
        elif name == "close":
            current = None
        elif name == "tool_use":
            blocks.append({"type": "tool_use", "id": f"toolu_{n}", "name": "T", "input": args[0]})
            current = None
        elif name == "signature_only":
            blocks.append({"type": "thinking", "thinking": "", "signature": args[0]})
            current = None
    for block in blocks:
        key = block.pop("key", None)
        if block["type"] == "thinking" and "signature" not in block:
            block["signature"] = signer(block["thinking"], key)
    return blocks


@SETTINGS
@given(steps=st.lists(calls, max_size=25))
def test_any_sequence_of_calls_is_a_well_formed_stream(steps: list[tuple[Any, ...]]) -> None:
    w = writer()
    events: list[dict[str, Any]] = []
    for n, step in enumerate(steps):
        events += call(w, step, n)
    assert grammar_violation(events) is None, events
    first_end = next((s[0] for s in steps if s[0] in ("end", "error")), None)
    kinds = [e["type"] for e in events]
    if first_end == "end":
        assert w.complete and kinds[-1] == "message_stop"
        message = message_from_events(events)
        Message.model_validate(message)
        assert message["content"] == expected_content(steps)
    else:
        assert not w.complete and "message_stop" not in kinds
        assert (kinds[-1:] == ["error"]) == (first_end == "error")
        ended = events + w.close() + w.end("end_turn", USAGE)  # what a cut stream would have been
        if first_end is None:
            assert message_from_events(ended)["content"] == expected_content(steps)
