"""One rule for "is this body SSE?", the same on every wire (some gateways label SSE as JSON, or start it
with a `:` keep-alive comment), and the one translated-stream wrapper every translated wire shares."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
import pytest

from ccm.providers.anthropic import ADAPTER as ANTHROPIC
from ccm.providers.base import RequestContext
from ccm.providers.gemini import ADAPTER as GEMINI
from ccm.providers.openai import ADAPTER as OPENAI
from ccm.providers.responses import ADAPTER as RESPONSES
from ccm.providers.translated import is_sse
from ccm.translate.anthropic_events import message_from_events
from tests.fakes.responses import responses_stream
from tests.fakes.upstream import anthropic_stream, openai_stream
from tests.translate import gemini_helpers, responses_helpers
from tests.translate.helpers import make_ctx

KEEP_ALIVE = b"\n: keep-alive\n\n"
BODY = {"max_tokens": 10, "messages": [{"role": "user", "content": "x"}]}


@pytest.mark.parametrize(
    ("content", "content_type", "expected"),
    [
        (b'{"a": 1}', "text/event-stream", True),
        (b"", "Text/Event-Stream; charset=utf-8", True),
        (b"data: {}\n\n", "application/json", True),
        (b"  \r\nevent: message_start\n", "application/json", True),
        (b": ping\n\ndata: {}\n\n", "", True),
        (b':{"a": 1}', "application/json", True),
        (b'{"a": 1}', "application/json", False),
        (b' ["data:"]', "", False),
        (b"", "application/json", False),
    ],
)
def test_one_rule_says_what_is_sse(content: bytes, content_type: str, expected: bool) -> None:
    assert is_sse(content, content_type) is expected


def _gemini() -> bytes:
    return gemini_helpers.sse(gemini_helpers.response({"text": "hello"}, usage=gemini_helpers.usage()))


WIRES: dict[str, tuple[Any, Callable[[bool], RequestContext], Callable[[], bytes]]] = {
    "anthropic": (ANTHROPIC, lambda stream: make_ctx("anthropic", stream=stream), lambda: b"".join(anthropic_stream())),
    "openai": (OPENAI, lambda stream: make_ctx(stream=stream), lambda: b"".join(openai_stream())),
    "responses": (
        RESPONSES,
        lambda stream: responses_helpers.make_ctx(stream=stream),
        lambda: b"".join(responses_stream("hello")),
    ),
    "gemini": (GEMINI, lambda stream: gemini_helpers.gemini_ctx(stream=stream), _gemini),
}


def _text(message: dict[str, Any]) -> str:
    return "".join(b["text"] for b in message["content"] if b["type"] == "text")


@pytest.mark.parametrize("wire", sorted(WIRES))
def test_every_wire_reads_sse_labelled_as_json_as_sse(wire: str) -> None:
    adapter, make, answer = WIRES[wire]
    ctx = make(False)
    adapter.build(BODY, ctx)
    message = adapter.translate_message(KEEP_ALIVE + answer(), "application/json", ctx)
    assert _text(message) == "hello"


@pytest.mark.parametrize("wire", ["openai", "responses", "gemini"])
@pytest.mark.parametrize("split", [1, 7, 20, 10_000])
def test_a_streaming_request_answered_with_mislabelled_sse_is_streamed(wire: str, split: int) -> None:
    adapter, make, answer = WIRES[wire]
    ctx = make(True)
    adapter.build(BODY, ctx)
    translator = adapter.stream(ctx, "application/json")
    raw = KEEP_ALIVE + answer()
    frames = [f for i in range(0, len(raw), split) for f in translator.feed(raw[i : i + split])]
    frames += translator.finish()
    assert translator.complete
    assert _text(message_from_events(f.data for f in frames if f.data is not None)) == "hello"


@pytest.mark.parametrize(
    ("wire", "end"), [("openai", b'"stop"'), ("responses", b"response.completed"), ("gemini", b"STOP")]
)
def test_a_cut_tail_is_never_a_clean_end(wire: str, end: bytes) -> None:
    """The upstream closes inside the event that would have ended the answer: a cut, never message_stop."""
    adapter, make, answer = WIRES[wire]
    ctx = make(True)
    adapter.build(BODY, ctx)
    raw = answer()
    translator = adapter.stream(ctx, "text/event-stream")
    frames = translator.feed(raw[: raw.index(end) + 2]) + translator.finish()
    assert not translator.complete and "message_stop" not in [f.event for f in frames]


def test_a_json_answer_is_replayed_once_however_it_is_split() -> None:
    data = orjson.dumps(gemini_helpers.response({"text": "hello"}, usage=gemini_helpers.usage()))
    ctx = gemini_helpers.gemini_ctx()
    GEMINI.build(BODY, ctx)
    translator = GEMINI.stream(ctx, "application/json")
    frames = [f for i in range(0, len(data), 3) for f in translator.feed(data[i : i + 3])] + translator.finish()
    assert [f.event for f in frames].count("message_start") == 1 and translator.complete
