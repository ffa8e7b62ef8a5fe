"""Anthropic stream events in, Chat Completions out: an answer any mapping gave, for a Chat client.

    chat = ChatEncoder(model="glm", include_usage=True)
    sse = chat.events(events)          # Anthropic events (dicts) -> `data: {chunk}` lines, `data: [DONE]` at the end
    sse = chat.error("api_error", "the upstream stream ended before the answer was complete")
    chat.completion()                  # the whole answer as a `chat.completion` (a non-streaming client's)

The first chunk carries `role`; text is `content`, thinking `reasoning_content` (the field DeepSeek, vLLM and
LiteLLM use; the official SDK keeps it as an extra field); each tool_use block is one entry of
`tool_calls` whose first delta has its `id`, `type` and `name` and whose arguments follow as they arrive.
`finish_reason` comes with `message_stop` (stop, length, tool_calls, content_filter), then the usage
chunk (when the client asked with `stream_options.include_usage`) and `data: [DONE]`. A stream that never
reaches `message_stop` gets no finish and no `[DONE]`: its end is the error chunk (`data: {"error": ...}`),
which the SDK raises as an APIError.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

Event = Mapping[str, Any]
DONE = b"data: [DONE]\n\n"
PING = b": ping\n\n"
FINISH = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "pause_turn": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}


def token_counts(usage: Mapping[str, Any]) -> tuple[int, int, int]:
    """(input, cached input, output) of Anthropic usage in OpenAI's meaning: Anthropic's input excludes
    what was read from or written to the cache, OpenAI's (Chat and Responses alike) includes it."""
    cached = _count(usage.get("cache_read_input_tokens"))
    prompt = _count(usage.get("input_tokens")) + cached + _count(usage.get("cache_creation_input_tokens"))
    return prompt, cached, _count(usage.get("output_tokens"))


def openai_usage(usage: Mapping[str, Any]) -> dict[str, Any]:
    """Anthropic usage (input excludes cached input) in OpenAI's meaning (prompt tokens include it)."""
    prompt, cached, completion = token_counts(usage)
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": cached},
    }


def error_payload(error_type: str, message: str) -> dict[str, Any]:
    """OpenAI's error object for an in-band error (ccm.api.openai_errors has the same words for HTTP)."""
    kind = "server_error" if error_type in ("api_error", "overloaded_error", "timeout_error") else error_type
    return {"message": message, "type": kind, "param": None, "code": None}


@dataclass(slots=True)
class _Call:
    id: str
    name: str
    arguments: list[str] = field(default_factory=list)
    whole: str | None = None
    """The input a block brought at its start (a replayed whole message), when no delta follows."""


class ChatEncoder:
    def __init__(self, *, model: str, include_usage: bool = False, created: int | None = None) -> None:
        self.model = model
        self.include_usage = include_usage
        self.created = int(time.time()) if created is None else created
        self.id = "chatcmpl-ccm"
        self.started = False
        self.finished = False
        """message_stop or an error was written: nothing follows."""
        self.text: list[str] = []
        self.reasoning: list[str] = []
        self.calls: list[_Call] = []
        self.finish_reason: str | None = None
        self.usage: dict[str, Any] = {}
        self._blocks: dict[int, str | int] = {}
        """Block index -> "text" / "thinking" / the tool call's position; blocks ccm cannot show are absent."""

    # -- stream ---------------------------------------------------------------------------------------

    def events(self, events: Iterable[Event]) -> bytes:
        out: list[bytes] = []
        for event in events:
            if not self.finished:
                out += self._event(event)
        return b"".join(out)

    def error(self, error_type: str, message: str) -> bytes:
        if self.finished:
            return b""
        self.finished = True
        return b"data: " + orjson.dumps({"error": error_payload(error_type, message)}) + b"\n\n"

    def _event(self, event: Event) -> list[bytes]:
        kind = event.get("type")
        if kind == "message_start":
            return self._start(event.get("message") or {})
        if kind == "content_block_start":
            return self._block(int(event["index"]), event.get("content_block") or {})
        if kind == "content_block_delta":
            return self._delta(int(event["index"]), event.get("delta") or {})
        if kind == "message_delta":
            self._note(event)
            return []
        if kind == "message_stop":
            return self._end()
        if kind == "error":
            error = event.get("error") or {}
            return [self.error(str(error.get("type") or "api_error"), str(error.get("message") or ""))]
        if kind == "ping":
            return [PING]
        return []  # content_block_stop and anything newer say nothing a Chat client reads

    def _start(self, message: Mapping[str, Any]) -> list[bytes]:
        if self.started:
            return []
        self.started = True
        raw_id = str(message.get("id") or "")
        self.id = "chatcmpl-" + (raw_id[4:] if raw_id.startswith("msg_") else raw_id or "ccm")
        self.usage = dict(message.get("usage") or {})
        return [self._chunk({"role": "assistant", "content": ""})]

    def _block(self, index: int, block: Mapping[str, Any]) -> list[bytes]:
        kind = block.get("type")
        if kind in ("text", "thinking"):
            self._blocks[index] = str(kind)
            text = block.get(kind)
            return self._delta(index, {"type": f"{kind}_delta", kind: text}) if isinstance(text, str) and text else []
        if kind != "tool_use":
            return []  # server tools, redacted thinking: nothing a Chat client can read
        position = len(self.calls)
        call = _Call(str(block.get("id") or f"call_{position}"), str(block.get("name") or ""))
        given = block.get("input")
        if isinstance(given, dict) and given:
            call.whole = orjson.dumps(given).decode()
        self.calls.append(call)
        self._blocks[index] = position
        head = {"index": position, "id": call.id, "type": "function", "function": {"name": call.name, "arguments": ""}}
        return [self._chunk({"tool_calls": [head]})]

    def _delta(self, index: int, delta: Mapping[str, Any]) -> list[bytes]:
        target = self._blocks.get(index)
        kind = delta.get("type")
        if target == "text" and kind == "text_delta":
            text = str(delta.get("text") or "")
            self.text.append(text)
            return [self._chunk({"content": text})] if text else []
        if target == "thinking" and kind == "thinking_delta":
            text = str(delta.get("thinking") or "")
            self.reasoning.append(text)
            return [self._chunk({"reasoning_content": text})] if text else []
        if isinstance(target, int) and kind == "input_json_delta":
            piece = str(delta.get("partial_json") or "")
            if not piece:
                return []
            call = self.calls[target]
            call.whole = None
            call.arguments.append(piece)
            return [self._chunk({"tool_calls": [{"index": target, "function": {"arguments": piece}}]})]
        return []

    def _note(self, event: Event) -> None:
        delta = event.get("delta") or {}
        reason = delta.get("stop_reason")
        if isinstance(reason, str):
            self.finish_reason = FINISH.get(reason, "stop")
        usage = event.get("usage")
        if isinstance(usage, Mapping):
            self.usage.update({k: v for k, v in usage.items() if v is not None})

    def _end(self) -> list[bytes]:
        out = [self._arguments_left()] if any(c.whole for c in self.calls) else []
        self.finished = True
        out.append(self._chunk({}, finish_reason=self.finish_reason or "stop"))
        if self.include_usage:
            out.append(self._frame({**self._head(), "choices": [], "usage": openai_usage(self.usage)}))
        return [*out, DONE]

    def _arguments_left(self) -> bytes:
        """Arguments a block brought whole at its start (no delta came): sent before the finish."""
        pieces = [{"index": i, "function": {"arguments": c.whole}} for i, c in enumerate(self.calls) if c.whole]
        for call in self.calls:
            if call.whole:
                call.arguments, call.whole = [call.whole], None
        return self._chunk({"tool_calls": pieces})

    def _head(self) -> dict[str, Any]:
        return {"id": self.id, "object": "chat.completion.chunk", "created": self.created, "model": self.model}

    def _chunk(self, delta: dict[str, Any], finish_reason: str | None = None) -> bytes:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
        return self._frame({**self._head(), "choices": [choice]})

    @staticmethod
    def _frame(data: dict[str, Any]) -> bytes:
        return b"data: " + orjson.dumps(data) + b"\n\n"

    # -- whole ----------------------------------------------------------------------------------------

    def completion(self) -> dict[str, Any]:
        """What was encoded, as one `chat.completion` (drive `events` with the whole message's events)."""
        message: dict[str, Any] = {"role": "assistant", "content": "".join(self.text) or None, "refusal": None}
        if self.reasoning:
            message["reasoning_content"] = "".join(self.reasoning)
        if self.calls:
            message["tool_calls"] = [
                {
                    "id": c.id,
                    "type": "function",
                    "function": {"name": c.name, "arguments": c.whole or "".join(c.arguments) or "{}"},
                }
                for c in self.calls
            ]
        choice = {"index": 0, "message": message, "logprobs": None, "finish_reason": self.finish_reason or "stop"}
        return {
            "id": self.id,
            "object": "chat.completion",
            "created": self.created,
            "model": self.model,
            "choices": [choice],
            "usage": openai_usage(self.usage),
        }


def _count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0
