"""Chat Completions stream chunks in, Anthropic stream events out (as dicts; the provider encodes them).

    stream = OpenAIStream(model="claude-opus-5-5")
    events = stream.sse(name, data)         # one SSE event: [] until the first valid chunk, then message_start
    events = stream.chunk(parsed_chunk)     # the same for a parsed chunk
    events = stream.done()                  # `data: [DONE]`: the end (unless a tool call was cut)
    events = stream.close()                 # the upstream closed: the end only after a finish_reason

The events' order is the shared writer's (ccm.translate.stream_writer); what this wire adds:
- `message_start` on the first valid chunk (a stream that begins otherwise is InvalidUpstream).
- Reasoning (`reasoning_content` / `reasoning` / a leading `<think>`) is a thinking block that closes,
  signed, before text or tools start.
- Tool calls are collected whole (ids and names arrive only in a call's first fragment, arguments in many;
  several calls may interleave by index) and emitted as tool_use blocks once the answer ends, each with
  one input_json_delta of repaired JSON, so Claude Code never parses a broken fragment.
- An `error` object before any chunk: one `error` event (the dispatcher fails over); after: `error`
  event and nothing more. So is an event that is not JSON after the first chunk.
- A cut is never an answer: the stream is over only at a `finish_reason`, or at `[DONE]`
  when every tool call's arguments parse. `close()` after anything else returns [] and the answer stays
  unfinished, so the caller ends the client's stream with an error; repairs of sloppy JSON are for complete
  answers only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from ccm.translate.answer_parts import tool_use_block
from ccm.translate.anthropic import InvalidUpstream, error_type_for
from ccm.translate.anthropic_events import Event
from ccm.translate.openai.response import (
    NotACompletion,
    anthropic_usage,
    content_parts,
    details_text,
    sources_text,
    stop_reason,
    to_anthropic_message,
)
from ccm.translate.signature import sign_thinking
from ccm.translate.stream_writer import AnthropicStreamWriter
from ccm.translate.think_tags import ThinkTagSplitter
from ccm.translate.usage import estimate_output_tokens


@dataclass(slots=True)
class _ToolCall:
    raw_id: Any
    name: str = ""
    arguments: list[str] = field(default_factory=list)


class OpenAIStream:
    ends_with = "a finish_reason (or [DONE])"

    def __init__(
        self,
        *,
        model: str,
        message_id: str | None = None,
        tool_names: Mapping[str, str] | None = None,
        input_estimate: int = 0,
    ) -> None:
        self.tool_names = dict(tool_names or {})
        self.writer = AnthropicStreamWriter(
            model=model, message_id=message_id, input_estimate=input_estimate, sign=self._sign
        )
        self.usage: dict[str, int] | None = None
        self._details: dict[Any, dict[str, Any]] = {}  # OpenRouter reasoning_details, merged by index
        self._late_details: list[dict[str, Any]] = []
        self._tools: dict[Any, _ToolCall] = {}
        self._last_tool: Any = None
        self._finish_reason: str | None = None
        self._annotations: list[Any] = []
        self._splitter = ThinkTagSplitter()
        self._tool_chars = 0

    # -- input ----------------------------------------------------------------------------------------

    def sse(self, name: str, data: str) -> list[Event]:
        """One SSE event. InvalidUpstream when the first one is not a chunk (or [DONE] comes first)."""
        if data.strip() == "[DONE]":
            if not self.writer.started:
                raise InvalidUpstream("the upstream's stream ended before any answer ([DONE] first)")
            return self.done()
        try:
            parsed = orjson.loads(data)
        except orjson.JSONDecodeError:
            if not self.writer.started:
                raise InvalidUpstream(f"the upstream's first event is not JSON: {data[:200]!r}") from None
            return self.error("the upstream sent an invalid JSON event mid-stream")
        if name == "error" and isinstance(parsed, dict) and "error" not in parsed:
            parsed = {"error": parsed}
        return self.chunk(parsed)

    def whole(self, data: Any) -> list[Event]:
        """A whole chat.completion (an answer to a streaming request in one JSON body) as the events."""
        if isinstance(data, dict) and data.get("error") and not data.get("choices"):
            return self._error(data["error"])
        message = to_anthropic_message(
            data,
            model=self.writer.model,
            message_id=self.writer.message_id,
            tool_names=self.tool_names,
            input_estimate=self.writer.input_estimate,
        )
        self.usage = message["usage"]
        return self.writer.message(message)

    def chunk(self, data: Any) -> list[Event]:
        """One parsed `data:` payload. NotACompletion when the first one is not a chunk at all."""
        if self.writer.finished:
            return []
        if isinstance(data, Mapping) and data.get("error") and not _choices(data):
            return self._error(data["error"])
        if not isinstance(data, Mapping) or not isinstance(data.get("choices", []), list) or not _is_chunk(data):
            if not self.writer.started:
                raise NotACompletion("the upstream's first event is not a chat completion chunk")
            return []  # a stray keep-alive or vendor event mid-stream
        events = self.writer.start()
        for choice in _choices(data)[:1]:
            if choice.get("finish_reason") == "error":
                return events + self._error(data.get("error") or choice.get("error") or "the upstream failed")
            delta = choice.get("delta") or choice.get("message") or {}
            if isinstance(delta, Mapping):
                events += self._delta(delta)
            if choice.get("usage"):  # Moonshot puts usage in the choice
                self.usage = anthropic_usage(choice["usage"])
            if choice.get("finish_reason"):
                self._finish_reason = str(choice["finish_reason"])
        usage = data.get("usage") or (data.get("x_groq") or {}).get("usage")
        if usage:
            self.usage = anthropic_usage(usage)
        if self._finish_reason is not None and self.usage is not None:
            events += self._end()
        return events

    def done(self) -> list[Event]:
        """`data: [DONE]`: the answer is over, unless a tool call's arguments were cut off before it."""
        if self.writer.finished:
            return []
        if self._finish_reason is None and any(_cut(call) for call in self._tools.values()):
            return []  # a server that says [DONE] after a cut connection: still a cut
        return self.writer.start() + self._end()

    def close(self) -> list[Event]:
        """The upstream closed the stream: the end when it had said so (a finish_reason, its usage may
        never come); [] otherwise, and the caller reports a cut stream."""
        if self.writer.finished or not self.writer.started or self._finish_reason is None:
            return []
        return self._end()

    def error(self, message: str, error_type: str = "api_error") -> list[Event]:
        """An error the caller detected (e.g. invalid JSON mid-stream)."""
        return self._error({"message": message, "type": error_type})

    # -- internals ------------------------------------------------------------------------------------

    def _delta(self, delta: Mapping[str, Any]) -> list[Event]:
        events: list[Event] = []
        details = delta.get("reasoning_details")
        text = next((v for k in ("reasoning_content", "reasoning") if isinstance(v := delta.get(k), str) and v), "")
        if isinstance(details, list) and details:
            if not text:
                text = details_text(details)
            if not text and self.writer.open_kind != "thinking":
                if self.writer.blocks:  # state arriving after the answer began: carried by a block of its own
                    self._late_details.extend(d for d in details if isinstance(d, Mapping))
                    details = None
                else:
                    events += self.writer.open("thinking")
            if details:
                self._merge_details(details)
        if text:
            events += self.writer.thinking(text)
        content = delta.get("content")
        for part_kind, part in content_parts(content):  # a string, or parts (Mistral's thinking among them)
            if part_kind == "thinking":
                events += self.writer.thinking(part)
                continue
            for kind, piece in self._splitter.feed(part):
                events += self.writer.thinking(piece) if kind == "thinking" else self.writer.text(piece)
        if not content and isinstance(delta.get("refusal"), str) and delta["refusal"]:
            events += self.writer.text(delta["refusal"])
            self._finish_reason = self._finish_reason or "content_filter"
        if isinstance(delta.get("annotations"), list):
            self._annotations.extend(delta["annotations"])
        calls = delta.get("tool_calls")
        if isinstance(calls, list):
            for call in calls:
                if isinstance(call, Mapping):
                    self._tool_piece(call)
        legacy = delta.get("function_call")
        if isinstance(legacy, Mapping):
            self._tool_piece({"index": "legacy", "function": legacy})
        return events

    def _sign(self, text: str, key: Any) -> str:
        """A thinking block's signature carries the reasoning_details merged while it was open."""
        details, self._details = list(self._details.values()) or None, {}
        return sign_thinking(text, details)

    def _merge_details(self, items: list[Any]) -> None:
        """Streamed reasoning_details come in fragments per `index`: texts concatenate, the rest is set."""
        for item in items:
            if not isinstance(item, Mapping):
                continue
            key = item.get("index", ("n", len(self._details)))
            current = self._details.setdefault(key, {})
            for name, value in item.items():
                if name in ("text", "summary", "data") and isinstance(value, str):
                    current[name] = current.get(name, "") + value
                elif value is not None:
                    current[name] = value

    def _tool_piece(self, call: Mapping[str, Any]) -> None:
        """Collect one tool-call fragment. Calls are told apart by `index`; a new id at a known index (some
        servers number every call 0) or a fragment with neither index nor id continue as the rules say."""
        raw_function = call.get("function")
        function: Mapping[str, Any] = raw_function if isinstance(raw_function, Mapping) else {}
        raw_id = call.get("id")
        key = call.get("index")
        if key is None:
            key = raw_id if raw_id else self._last_tool
        if key is None:
            key = 0
        current = self._tools.get(key)
        if current is not None and raw_id and current.raw_id and raw_id != current.raw_id:
            key = (key, len(self._tools))  # a different call reusing the index
            current = None
        if current is None:
            current = self._tools[key] = _ToolCall(raw_id)
        elif raw_id and not current.raw_id:
            current.raw_id = raw_id
        name = function.get("name")
        if isinstance(name, str) and name and not current.name:
            current.name = name
        elif isinstance(name, str) and name and current.name != name and not current.arguments:
            current.name += name  # a name streamed in pieces
        arguments = function.get("arguments")
        if isinstance(arguments, str) and arguments:
            current.arguments.append(arguments)
            self._tool_chars += len(arguments)
        elif isinstance(arguments, Mapping):  # some servers send the object itself
            current.arguments.append(orjson.dumps(arguments).decode())
        self._last_tool = key

    def _flush_content(self) -> list[Event]:
        events: list[Event] = []
        for kind, piece in self._splitter.flush():
            events += self.writer.thinking(piece) if kind == "thinking" else self.writer.text(piece)
        sources = sources_text(self._annotations)
        self._annotations = []
        if sources:
            events += self.writer.text(sources)
        events += self.writer.close()
        if self._late_details:
            events += self.writer.open("thinking")
            self._merge_details(self._late_details)
            self._late_details = []
            events += self.writer.close()
        for n, call in enumerate(self._tools.values()):
            if not call.name:
                continue  # a fragment that never got a name cannot be called
            block = tool_use_block(
                call.raw_id,
                call.name,
                "".join(call.arguments),
                self.tool_names,
                f"toolu_{self.writer.message_id[-12:]}_{n}",
            )
            events += self.writer.tool_use(block)
        self._tools = {}
        return events

    def _end(self) -> list[Event]:
        has_tools = any(call.name for call in self._tools.values())
        events = self._flush_content()
        chars = self.writer.chars + self._tool_chars
        usage = self.usage or anthropic_usage(
            None, input_estimate=self.writer.input_estimate, output_estimate=estimate_output_tokens(chars)
        )
        self.usage = usage
        return events + self.writer.end(stop_reason(self._finish_reason, has_tool_use=has_tools), usage)

    def _error(self, error: Any) -> list[Event]:
        return self.writer.error(upstream_error(error))


def _cut(call: _ToolCall) -> bool:
    """Whether a named call's arguments stop short of one JSON value (strictly: no repair here)."""
    if not call.name:
        return False
    text = "".join(call.arguments).strip()
    if not text:
        return False
    try:
        orjson.loads(text)
    except orjson.JSONDecodeError:
        return True
    return False


def _is_chunk(data: Mapping[str, Any]) -> bool:
    kind = data.get("object")
    return "choices" in data or (isinstance(kind, str) and kind.startswith("chat.completion"))


def _choices(data: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    choices = data.get("choices")
    return [c for c in choices if isinstance(c, Mapping)] if isinstance(choices, list) else []


def upstream_error(error: Any) -> dict[str, str]:
    """An OpenAI-style error object (or string) as Anthropic's {"type", "message"}."""
    if not isinstance(error, Mapping):
        return {"type": "api_error", "message": str(error)}
    message = str(error.get("message") or error.get("msg") or orjson.dumps(error).decode())
    code = error.get("code")
    kind = str(error.get("type") or "")
    status = code if isinstance(code, int) else int(code) if isinstance(code, str) and code.isdigit() else None
    if status is not None and 400 <= status < 600:
        return {"type": error_type_for(status), "message": message}
    text = f"{kind} {code}".lower()
    if "rate" in text or "quota" in text:
        return {"type": "rate_limit_error", "message": message}
    if "overload" in text or "capacity" in text:
        return {"type": "overloaded_error", "message": message}
    if "invalid_request" in text or "context_length" in text:
        return {"type": "invalid_request_error", "message": message}
    return {"type": "api_error", "message": message}
