"""Any chunking and any cut of an upstream stream, through the real window and relay: the client gets the
whole answer ending in message_stop, or a stream ending in `event: error`; never a clean partial.

The window (ccm.dispatch.attempt._window) and the relay (ccm.dispatch.relay.relay_stream) run as in the proxy, over an async
iterator of the cut bytes instead of a socket; a cut before the first content is a failed attempt
(InvalidUpstream: the dispatcher fails over), which is just as safe.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ccm.dispatch.attempt import _error_before_content, _window
from ccm.dispatch.relay import Done, relay_stream
from ccm.providers.anthropic import ADAPTER as ANTHROPIC
from ccm.providers.base import InvalidUpstream, StreamTranslator
from ccm.providers.openai import ADAPTER as OPENAI
from ccm.sse import SSEParser
from ccm.translate.anthropic_events import message_from_events
from tests.fakes.upstream import anthropic_stream, sse
from tests.translate.helpers import make_ctx
from tests.translate.test_properties import RAW as OPENAI_RAW

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

TOOL = {"type": "tool_use", "id": "toolu_1", "name": "Write", "input": {}}
ANTHROPIC_RAW = b"".join(
    [
        *anthropic_stream("héllo wörld, a whole answer", pieces=4)[:-3],  # up to the text block's last delta
        sse("content_block_stop", {"type": "content_block_stop", "index": 0}),
        sse("content_block_start", {"type": "content_block_start", "index": 1, "content_block": TOOL}),
        sse(
            "content_block_delta",
            {
                "type": "content_block_delta",
                "index": 1,
                "delta": {"type": "input_json_delta", "partial_json": '{"file_'},
            },
        ),
        sse(
            "content_block_delta",
            {
                "type": "content_block_delta",
                "index": 1,
                "delta": {"type": "input_json_delta", "partial_json": 'path": "/a.py", "content": "print(1)"}'},
            },
        ),
        sse("content_block_stop", {"type": "content_block_stop", "index": 1}),
        sse(
            "message_delta",
            {"type": "message_delta", "delta": {"stop_reason": "tool_use"}, "usage": {"output_tokens": 9}},
        ),
        sse("message_stop", {"type": "message_stop"}),
    ]
)


async def _chunks(pieces: list[bytes]) -> AsyncIterator[bytes]:
    for piece in pieces:
        yield piece


async def _client_view(translator: StreamTranslator, pieces: list[bytes]) -> bytes | None:
    """The bytes the client would get, or None when the attempt failed inside the window."""
    chunks = _chunks(pieces)
    try:
        first, rest = await _window(chunks, translator)
    except InvalidUpstream:
        return None
    if _error_before_content(first) is not None:  # as try_mapping: a failed attempt, never sent
        return None
    done = Done(200, 1)
    out = b""
    async for part in relay_stream(first, chunks, translator, httpx.Response(200), done, lambda _: None, rest):
        out += part
    return out


def _accumulate(body: bytes) -> tuple[list[str], dict[str, Any] | None]:
    events = SSEParser().feed(body)
    names = [e.event for e in events]
    if names[-1] != "message_stop":
        return names, None
    return names, message_from_events(orjson.loads(e.data) for e in events if e.event != "ping")


def _pieces(raw: bytes, cut: int, splits: list[int]) -> list[bytes]:
    data = raw[:cut]
    points = sorted({s % (len(data) + 1) for s in splits})
    return [data[a:b] for a, b in zip([0, *points], [*points, len(data)], strict=True) if data[a:b]]


def _check(make: Any, raw: bytes, cut: int, splits: list[int]) -> None:
    whole = asyncio.run(_client_view(make(), [raw]))
    assert whole is not None
    names, reference = _accumulate(whole)
    assert reference is not None, names
    body = asyncio.run(_client_view(make(), _pieces(raw, cut, splits)))
    if body is None:
        return  # failed inside the window: the dispatcher fails over, the client saw nothing
    names, message = _accumulate(body)
    if message is None:
        assert names[-1] == "error", names  # a cut ends with an error, never silently
        return
    assert message["content"] == reference["content"] and message["stop_reason"] == reference["stop_reason"]


def cuts(raw: bytes) -> st.SearchStrategy[int]:
    """Any byte, and (as often) exactly between two events: a cut there leaves no partial event to trip on."""
    boundaries = [i + 2 for i in range(len(raw)) if raw.startswith(b"\n\n", i)]
    return st.one_of(st.integers(0, len(raw)), st.sampled_from(boundaries))


@SETTINGS
@given(cut=cuts(ANTHROPIC_RAW), splits=st.lists(st.integers(0, 10_000), max_size=12))
def test_anthropic_passthrough_cut_anywhere(cut: int, splits: list[int]) -> None:
    _check(lambda: ANTHROPIC.stream(make_ctx("anthropic"), "text/event-stream"), ANTHROPIC_RAW, cut, splits)


@SETTINGS
@given(cut=cuts(OPENAI_RAW), splits=st.lists(st.integers(0, 10_000), max_size=12))
def test_openai_cut_anywhere(cut: int, splits: list[int]) -> None:
    _check(lambda: OPENAI.stream(make_ctx(), "text/event-stream"), OPENAI_RAW, cut, splits)


def test_the_whole_streams_are_complete() -> None:
    """The property above could pass vacuously if the references failed: they do not."""
    for make, raw in (
        (lambda: ANTHROPIC.stream(make_ctx("anthropic"), "text/event-stream"), ANTHROPIC_RAW),
        (lambda: OPENAI.stream(make_ctx(), "text/event-stream"), OPENAI_RAW),
    ):
        body = asyncio.run(_client_view(make(), [raw]))
        assert body is not None and _accumulate(body)[1] is not None
        cut = asyncio.run(_client_view(make(), [raw[: len(raw) * 2 // 3]]))
        assert cut is not None and _accumulate(cut)[0][-1] == "error"
