"""OpenAI Chat Completions answers, streamed (`data:` chunks, then `data: [DONE]`) or whole.

    Reply.stream(chat_stream(text="hello"))
    Reply.stream(chat_stream(tool_calls=[("call_1", "Bash", {"command": "echo hi"})]))
    Reply(200, json=chat_completion(text="hello"))

Streams follow what api.openai.com sends: the first chunk carries `role`, a tool call's first delta carries
its `id`, `type` and `name` with empty `arguments`, the arguments follow in pieces, the last choice chunk
has `finish_reason`, and (as with `stream_options.include_usage`) a final chunk with `choices: []` and usage.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from tests.fakes.anthropic_sse import split
from tests.fakes.upstream import sse

DONE = b"data: [DONE]\n\n"
ToolCall = tuple[str, str, dict[str, Any]]
"""(id, function name, arguments)."""


def chunk(
    delta: dict[str, Any] | None,
    *,
    finish_reason: str | None = None,
    model: str = "fake-model",
    usage: dict[str, int] | None = None,
) -> dict[str, Any]:
    """One `chat.completion.chunk`; `delta=None` gives the usage-only chunk (no choices)."""
    data: dict[str, Any] = {
        "id": "chatcmpl-fake",
        "object": "chat.completion.chunk",
        "created": 1_700_000_000,
        "model": model,
        "choices": [] if delta is None else [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
    }
    if usage is not None:
        data["usage"] = usage
    return data


def chat_stream(
    text: str | None = None,
    tool_calls: Sequence[ToolCall] = (),
    *,
    model: str = "fake-model",
    pieces: int = 3,
    usage: bool = True,
) -> list[bytes]:
    """A streamed answer with some text and/or tool calls, ending with `data: [DONE]`."""
    frames = [chunk({"role": "assistant", "content": ""}, model=model)]
    if text:
        frames += [chunk({"content": p}, model=model) for p in split(text, pieces)]
    for i, (call_id, name, arguments) in enumerate(tool_calls):
        head = {"index": i, "id": call_id, "type": "function", "function": {"name": name, "arguments": ""}}
        frames.append(chunk({"tool_calls": [head]}, model=model))
        frames += [
            chunk({"tool_calls": [{"index": i, "function": {"arguments": p}}]}, model=model)
            for p in split(json.dumps(arguments), pieces)
        ]
    frames.append(chunk({}, finish_reason="tool_calls" if tool_calls else "stop", model=model))
    if usage:
        frames.append(chunk(None, model=model, usage={"prompt_tokens": 20, "completion_tokens": 8, "total_tokens": 28}))
    return [sse(None, f) for f in frames] + [DONE]


def chat_completion(
    text: str | None = None, tool_calls: Sequence[ToolCall] = (), *, model: str = "fake-model"
) -> dict[str, Any]:
    """A whole (non-streaming) `chat.completion`."""
    message: dict[str, Any] = {"role": "assistant", "content": text}
    if tool_calls:
        message["tool_calls"] = [
            {"id": call_id, "type": "function", "function": {"name": name, "arguments": json.dumps(arguments)}}
            for call_id, name, arguments in tool_calls
        ]
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": "tool_calls" if tool_calls else "stop"}],
        "usage": {"prompt_tokens": 20, "completion_tokens": 8, "total_tokens": 28},
    }
