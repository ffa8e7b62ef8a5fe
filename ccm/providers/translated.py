"""What every translated wire (OpenAI Chat, Responses, Gemini, Gemini on Vertex) does with the upstream's
bytes, written once: is it SSE, the stream of frames, the answer as one message.

    stream = TranslatedStream(OpenAIStream(...), content_type, busy_ping_s=5.0)
    frames = stream.feed(chunk)         # Anthropic Frames, split anywhere
    frames = stream.finish()            # the upstream closed
    stream.complete, stream.usage       # the answer ended properly; its usage
    message = whole_message(stream, content)    # an SSE body to a non-streaming request
    is_sse(content, content_type)       # the one rule for "is this body SSE?" (anthropic.py uses it too)
    is_sse_type(content_type)           # its content-type half, for a stream whose body is yet to come

The wire's own translator (ccm.translate.<wire>.stream) maps its events onto the shared Anthropic stream
writer; this module only finds the events in the bytes.
"""

from __future__ import annotations

import time
from typing import Any, Protocol

import orjson

from ccm.sse import SSEParser, encode
from ccm.translate.anthropic import Frame, InvalidUpstream, Usage
from ccm.translate.anthropic_events import message_from_events
from ccm.translate.stream_writer import AnthropicStreamWriter

Event = dict[str, Any]
_PING: Event = {"type": "ping"}


def looks_like_sse(body: bytes) -> bool:
    """A body that begins as SSE does (a `data:` or `event:` field, or a `:` comment), after white space:
    what gives away SSE sent under another content type."""
    return body.lstrip().startswith((b"data:", b"event:", b":"))


def is_sse_type(content_type: str) -> bool:
    return "event-stream" in content_type.lower()


def is_sse(content: bytes, content_type: str) -> bool:
    """Whether a body is SSE: by its content type, or (mislabelled) by its first bytes."""
    return is_sse_type(content_type) or looks_like_sse(content)


class WireStream(Protocol):
    """One wire's pure stream translator, as the wrapper drives it."""

    writer: AnthropicStreamWriter
    """What it wrote so far: started, finished."""
    ends_with: str
    """What tells this wire's answer ended (for the message of a cut answer)."""

    def sse(self, name: str, data: str) -> list[Event]:
        """One SSE event (raise InvalidUpstream for one that is not this wire's)."""
        ...

    def whole(self, data: Any) -> list[Event]:
        """A whole JSON answer to a streaming request (a gateway that ignored `stream`)."""
        ...

    def close(self) -> list[Event]:
        """The upstream closed: the end when the wire said it ended, else []: a cut."""
        ...


class TranslatedStream:
    """Bytes of a translated answer in (SSE, or one JSON body; split anywhere), Anthropic Frames out.

    A JSON body (by content type) is buffered and replayed once it parses; one that turns out to be SSE is
    parsed as such from there. `busy_ping_s`: while the wire holds something back (a tool call is sent
    whole), the client hears a ping this often instead of silence.
    """

    def __init__(self, wire: WireStream, content_type: str, *, busy_ping_s: float | None = None) -> None:
        self._wire = wire
        self._writer = wire.writer
        self._parser = SSEParser()
        self._json: bytearray | None = bytearray() if "json" in content_type.lower() else None
        self._replayed = False
        self._busy_ping_s = busy_ping_s
        self._last_frame = time.monotonic()
        self.usage = Usage(input_tokens=wire.writer.input_estimate)
        self.complete = False

    @property
    def ends_with(self) -> str:
        return self._wire.ends_with

    def feed(self, chunk: bytes) -> list[Frame]:
        if self._json is not None:
            self._json += chunk
            return self._whole(final=False)
        events: list[Event] = []
        for sse in self._parser.feed(chunk):
            if not self._writer.finished:
                events += self._wire.sse(sse.event, sse.data)
        if self._busy_ping_s is not None:
            now = time.monotonic()
            if events:
                self._last_frame = now
            elif self._writer.started and not self._writer.finished and now - self._last_frame >= self._busy_ping_s:
                self._last_frame = now
                events = [_PING]
        return self._frames(events)

    def finish(self) -> list[Frame]:
        if self._json is not None:
            return self._whole(final=True)
        events: list[Event] = []
        try:
            for sse in self._parser.flush():
                if not self._writer.finished:
                    events += self._wire.sse(sse.event, sse.data)
        except InvalidUpstream:
            return self._frames(events)  # the unterminated tail of a cut stream: never a clean end
        return self._frames(events + self._wire.close())

    def _whole(self, *, final: bool) -> list[Frame]:
        assert self._json is not None
        if self._replayed or self._writer.finished:
            return []
        body = bytes(self._json)
        text = body.strip()
        if looks_like_sse(text):  # mislabelled SSE: parsed as such from here on
            self._json = None
            return self.feed(body.lstrip()) + (self.finish() if final else [])
        if not final and not text.endswith(b"}"):
            return []
        try:
            data = orjson.loads(text)
        except orjson.JSONDecodeError:
            if final:
                raise InvalidUpstream("the upstream answered with invalid JSON") from None
            return []  # a `}` inside the body, not its end
        self._replayed = True
        return self._frames(self._wire.whole(data) + self._wire.close())

    def _frames(self, events: list[Event]) -> list[Frame]:
        frames: list[Frame] = []
        for event in events:
            kind = event["type"]
            frames.append(Frame(kind, encode(kind, event), event))
            if kind == "message_stop":
                self.complete = True
            elif kind == "message_delta":
                counts = event.get("usage") or {}
                self.usage = Usage(
                    input_tokens=counts.get("input_tokens", 0),
                    output_tokens=counts.get("output_tokens", 0),
                    cache_read_input_tokens=counts.get("cache_read_input_tokens", 0),
                    cache_creation_input_tokens=counts.get("cache_creation_input_tokens", 0),
                )
        return frames


def whole_message(stream: TranslatedStream, content: bytes) -> dict[str, Any]:
    """A whole body through the stream (an SSE answer to a non-streaming request) as one Anthropic
    message; InvalidUpstream for an error, a cut, or events that do not make a message."""
    frames = stream.feed(content) + stream.finish()
    events = [f.data for f in frames if f.data is not None]
    error = next((e.get("error") or {} for e in events if e.get("type") == "error"), None)
    if error is not None:
        raise InvalidUpstream(f"the upstream failed: {error.get('type')}: {error.get('message')}")
    if not stream.complete:
        raise InvalidUpstream(f"the upstream's answer was cut: it ended before {stream.ends_with}")
    try:
        return message_from_events(events)
    except (ValueError, KeyError, IndexError, TypeError) as exc:
        raise InvalidUpstream(f"the upstream's streamed answer is unusable: {exc}") from exc
