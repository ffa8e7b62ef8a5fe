"""Anthropic Messages SSE answers that call a tool (the text-only one is tests.fakes.upstream.anthropic_stream).

    Reply.stream(tool_use_stream("Bash", {"command": "echo hi"}))

The stream is what the real API sends for a tool call: `message_start`, optionally a signed `thinking`
block (as Claude Code's captures got), a `tool_use` block whose input arrives as `input_json_delta`
pieces, then `message_delta` with `stop_reason: "tool_use"` and `message_stop`.
"""

from __future__ import annotations

import json
from typing import Any

from tests.fakes.upstream import anthropic_message, sse


def _block(index: int, block: dict[str, Any], deltas: list[dict[str, Any]]) -> list[bytes]:
    out = [sse("content_block_start", {"type": "content_block_start", "index": index, "content_block": block})]
    out += [sse("content_block_delta", {"type": "content_block_delta", "index": index, "delta": d}) for d in deltas]
    out.append(sse("content_block_stop", {"type": "content_block_stop", "index": index}))
    return out


def split(text: str, pieces: int) -> list[str]:
    """`text` in about `pieces` consecutive parts (at least one, possibly empty)."""
    step = max(1, -(-len(text) // max(1, pieces)))
    return [text[i : i + step] for i in range(0, len(text), step)] or [""]


def tool_use_stream(
    name: str,
    tool_input: dict[str, Any],
    *,
    tool_id: str = "toolu_fake01",
    model: str = "fake-model",
    thinking: str | None = None,
    pieces: int = 3,
) -> list[bytes]:
    """An SSE answer that asks the client to run one tool; the input JSON is streamed in `pieces` parts."""
    start = {"type": "message_start", "message": {**anthropic_message("", model), "content": [], "stop_reason": None}}
    out = [sse("message_start", start), sse("ping", {"type": "ping"})]
    index = 0
    if thinking is not None:
        deltas = [
            {"type": "thinking_delta", "thinking": thinking},
            {"type": "signature_delta", "signature": "fake-sig"},
        ]
        out += _block(index, {"type": "thinking", "thinking": "", "signature": ""}, deltas)
        index += 1
    deltas = [{"type": "input_json_delta", "partial_json": p} for p in split(json.dumps(tool_input), pieces)]
    out += _block(index, {"type": "tool_use", "id": tool_id, "name": name, "input": {}}, deltas)
    out += [
        sse(
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": "tool_use", "stop_sequence": None},
                "usage": {"output_tokens": 12},
            },
        ),
        sse("message_stop", {"type": "message_stop"}),
    ]
    return out
