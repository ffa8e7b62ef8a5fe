"""What the two same-wire adapters share (ccm.providers.same_wire_chat, ccm.providers.same_wire_responses):
an OpenAI client's request goes to a mapping on its own wire with only `model` changed, and the upstream's
events come back as they were sent (the answer's `model` named as the client asked, as everywhere).

Dispatch reads frames by their Anthropic event names (the failover window ends at the first content event,
an `error` frame before it is a failed attempt, the relay stops at `complete`). A same-wire stream labels
each upstream event with the name of its role, while its `raw` bytes stay the upstream's:

    HELD      events before the answer says anything (`response.created`, a role-only first chunk)
    CONTENT   text, reasoning or a tool call's piece, and everything after the first of them
    END       the wire's own end ([DONE], response.completed): the answer is complete
    "error"   an upstream error event; its data is Anthropic's {"error": {"type", "message"}}
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson

from ccm.providers.base import Frame, InvalidUpstream, Usage
from ccm.sse import SSEEvent, SSEParser

HELD = "message_start"
CONTENT = "content_block_delta"
END = "message_stop"
ERROR = "error"


def error_frame(raw: bytes, error: dict[str, str]) -> Frame:
    """An upstream error event: the client's bytes, and Anthropic's shape for dispatch to classify."""
    return Frame(ERROR, raw, {"type": "error", "error": error})


def parse(event: SSEEvent) -> dict[str, Any]:
    try:
        data = orjson.loads(event.data)
    except orjson.JSONDecodeError:
        raise InvalidUpstream(f"the upstream sent an event that is not JSON: {event.data[:200]!r}") from None
    if not isinstance(data, dict):
        raise InvalidUpstream(f"the upstream sent an event that is not a JSON object: {event.data[:200]!r}")
    return data


def obj(value: Any) -> dict[str, Any]:
    """`value` when it is a JSON object, else an empty one (an upstream's optional field)."""
    return value if isinstance(value, dict) else {}


def usage_of(counts: dict[str, int]) -> Usage:
    """Anthropic-meaning counts (ccm.translate.*.anthropic_usage) as the record's Usage."""
    return Usage(
        counts.get("input_tokens", 0),
        counts.get("output_tokens", 0),
        counts.get("cache_read_input_tokens", 0),
        counts.get("cache_creation_input_tokens", 0),
    )


class SameWireStream:
    """Bytes of a same-wire answer in (SSE, or one JSON body; split anywhere), labelled frames out.

    A wire supplies `event` (one parsed SSE event -> its frames), `close` (the upstream closed: the frames
    that end a complete answer, or [] for a cut) and `replay` (a whole JSON answer to a streaming request,
    as the frames of a stream)."""

    def __init__(
        self,
        event: Callable[[SSEEvent], list[Frame]],
        close: Callable[[], list[Frame]],
        replay: Callable[[Any], list[Frame]],
        content_type: str,
        input_estimate: int,
    ) -> None:
        self._event, self._close, self._replay = event, close, replay
        self._parser = SSEParser()
        self._json: bytearray | None = bytearray() if "json" in content_type.lower() else None
        self.usage = Usage(input_tokens=input_estimate)
        self.complete = False

    def feed(self, chunk: bytes) -> list[Frame]:
        if self._json is not None:
            self._json += chunk
            return []
        frames: list[Frame] = []
        for event in self._parser.feed(chunk):
            if not self.complete:
                frames += self._event(event)
        return frames

    def finish(self) -> list[Frame]:
        if self._json is not None:
            body, self._json = bytes(self._json).strip(), None
            if body.startswith((b"data:", b"event:", b":")):  # mislabelled SSE
                return self.feed(body) + self.finish()
            try:
                data = orjson.loads(body)
            except orjson.JSONDecodeError:
                raise InvalidUpstream("the upstream answered with invalid JSON") from None
            return self._replay(data)
        frames: list[Frame] = []
        try:
            for event in self._parser.flush():
                if not self.complete:
                    frames += self._event(event)
        except InvalidUpstream:
            return frames  # the unterminated tail of a cut stream: never a clean end
        return frames if self.complete else frames + self._close()
