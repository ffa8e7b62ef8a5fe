"""Between a whole Anthropic message and its stream of events, both ways.

Some upstreams answer a streaming request with one JSON body, or a non-streaming one with SSE; these two
functions let either answer serve either client:

    events = events_from_message(message)     # message_start ... message_stop
    message = message_from_events(events)     # what the SDK's stream accumulator would build
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import orjson

Event = dict[str, Any]


def events_from_message(message: dict[str, Any]) -> list[Event]:
    usage = dict(message.get("usage") or {})
    start_usage = {**usage, "output_tokens": 0}
    head = {**message, "content": [], "stop_reason": None, "stop_sequence": None, "usage": start_usage}
    events: list[Event] = [{"type": "message_start", "message": head}]
    for index, block in enumerate(message.get("content") or []):
        kind = block.get("type")
        start: dict[str, Any]
        deltas: list[dict[str, Any]]
        if kind == "text":
            start = {"type": "text", "text": ""}
            deltas = [{"type": "text_delta", "text": block.get("text", "")}]
        elif kind == "thinking":
            start = {"type": "thinking", "thinking": "", "signature": ""}
            deltas = [
                {"type": "thinking_delta", "thinking": block.get("thinking", "")},
                {"type": "signature_delta", "signature": block.get("signature", "")},
            ]
        elif kind == "tool_use":
            start = {**block, "input": {}}
            deltas = [{"type": "input_json_delta", "partial_json": orjson.dumps(block.get("input") or {}).decode()}]
        else:
            start, deltas = block, []
        events.append({"type": "content_block_start", "index": index, "content_block": start})
        events += [{"type": "content_block_delta", "index": index, "delta": d} for d in deltas]
        events.append({"type": "content_block_stop", "index": index})
    delta = {"stop_reason": message.get("stop_reason"), "stop_sequence": message.get("stop_sequence")}
    events.append({"type": "message_delta", "delta": delta, "usage": usage})
    events.append({"type": "message_stop"})
    return events


def message_from_events(events: Iterable[Event]) -> dict[str, Any]:
    """Accumulate a stream into the final message (ValueError on an `error` event or no message_start)."""
    message: dict[str, Any] | None = None
    partial: dict[int, list[str]] = {}
    for event in events:
        kind = event.get("type")
        if kind == "error":
            raise ValueError(str((event.get("error") or {}).get("message") or "stream error"))
        if kind == "message_start":
            message = {**event["message"], "content": [], "usage": dict(event["message"].get("usage") or {})}
            continue
        if message is None:
            continue
        if kind == "content_block_start":
            message["content"].append(dict(event["content_block"]))
        elif kind == "content_block_delta":
            block = message["content"][event["index"]]
            delta = event["delta"]
            dtype = delta.get("type")
            if dtype == "text_delta":
                block["text"] = block.get("text", "") + delta["text"]
            elif dtype == "thinking_delta":
                block["thinking"] = block.get("thinking", "") + delta["thinking"]
            elif dtype == "signature_delta":
                block["signature"] = delta["signature"]
            elif dtype == "input_json_delta":
                partial.setdefault(event["index"], []).append(delta["partial_json"])
        elif kind == "content_block_stop":
            pieces = partial.pop(event["index"], None)
            if pieces is not None:
                text = "".join(pieces)
                message["content"][event["index"]]["input"] = orjson.loads(text) if text else {}
        elif kind == "message_delta":
            message.update({k: v for k, v in (event.get("delta") or {}).items()})
            message["usage"].update({k: v for k, v in (event.get("usage") or {}).items() if v is not None})
    if message is None:
        raise ValueError("the stream carried no message_start")
    return message
