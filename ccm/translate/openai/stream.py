"""Chat Completions stream chunks in, Anthropic stream events out (as dicts; the provider encodes them).

    stream = OpenAIStream(model="claude-opus-5-5")
    events = stream.chunk(parsed_chunk)     # [] until the first valid chunk, then message_start first
    events = stream.done()                  # `data: [DONE]`: the end (unless a tool call was cut)
    events = stream.close()                 # the upstream closed: the end only after a finish_reason

Guarantees, whatever the upstream does:
- `message_start` first, once, on the first valid chunk; blocks get increasing indexes; a block is started
  before any delta and stopped before the next starts; `message_delta` (stop_reason + usage) then
  `message_stop` last.
- Reasoning (`reasoning_content` / `reasoning` / a leading `<think>`) is a thinking block that closes,
  signed, before text or tools start.
- Tool calls are collected whole (ids and names arrive only in a call's first fragment, arguments in many;
  several calls may interleave by index) and emitted as tool_use blocks once the answer ends, each with
  one input_json_delta of repaired JSON, so Claude Code never parses a broken fragment.
- An `error` object before any chunk: one `error` event (the dispatcher fails over); after: `error`
  event and nothing more.
- A cut is never an answer (DESIGN.md): the stream is over only at a `finish_reason`, or at `[DONE]`
  when every tool call's arguments parse. `close()` after anything else returns [] and `finished` stays
  False, so the caller ends the client's stream with an error; repairs of sloppy JSON are for complete
  answers only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from ccm.translate.anthropic import error_type_for
from ccm.translate.openai.response import (
    NotACompletion,
    anthropic_usage,
    content_parts,
    details_text,
    estimate_output_tokens,
    new_message_id,
    sources_text,
    stop_reason,
    tool_use_block,
)
from ccm.translate.signature import sign_thinking
from ccm.translate.think_tags import ThinkTagSplitter

Event = dict[str, Any]


@dataclass(slots=True)
class _ToolCall:
    raw_id: Any
    name: str = ""
    arguments: list[str] = field(default_factory=list)


class OpenAIStream:
    def __init__(
        self,
        *,
        model: str,
        message_id: str | None = None,
        tool_names: Mapping[str, str] | None = None,
        input_estimate: int = 0,
    ) -> None:
        self.model = model
        self.message_id = message_id or new_message_id()
        self.tool_names = dict(tool_names or {})
        self.input_estimate = input_estimate
        self.started = False
        self.finished = False
        """message_stop (or a terminal error) was emitted: nothing more follows."""
        self.usage: dict[str, int] | None = None
        self.stop_reason: str | None = None
        self._index = 0
        self._open: str | None = None  # "thinking" | "text"
        self._thinking: list[str] = []
        self._details: dict[Any, dict[str, Any]] = {}  # OpenRouter reasoning_details, merged by index
        self._late_details: list[dict[str, Any]] = []
        self._tools: dict[Any, _ToolCall] = {}
        self._last_tool: Any = None
        self._finish_reason: str | None = None
        self._annotations: list[Any] = []
        self._splitter = ThinkTagSplitter()
        self._chars = 0
        self._blocks = 0

    # -- input ----------------------------------------------------------------------------------------

    def chunk(self, data: Any) -> list[Event]:
        """One parsed `data:` payload. NotACompletion when the first one is not a chunk at all."""
        if self.finished:
            return []
        if isinstance(data, Mapping) and data.get("error") and not _choices(data):
            return self._error(data["error"])
        if not isinstance(data, Mapping) or not isinstance(data.get("choices", []), list) or not _is_chunk(data):
            if not self.started:
                raise NotACompletion("the upstream's first event is not a chat completion chunk")
            return []  # a stray keep-alive or vendor event mid-stream
        events = self._start()
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
        if self.finished:
            return []
        if self._finish_reason is None and any(_cut(call) for call in self._tools.values()):
            return []  # a server that says [DONE] after a cut connection: still a cut
        return self._start() + self._end()

    def close(self) -> list[Event]:
        """The upstream closed the stream: the end when it had said so (a finish_reason, its usage may
        never come); [] otherwise, and the caller reports a cut stream."""
        if self.finished or not self.started or self._finish_reason is None:
            return []
        return self._end()

    def error(self, message: str, error_type: str = "api_error") -> list[Event]:
        """An error the caller detected (e.g. invalid JSON mid-stream)."""
        return self._error({"message": message, "type": error_type})

    # -- internals ------------------------------------------------------------------------------------

    def _start(self) -> list[Event]:
        if self.started:
            return []
        self.started = True
        usage = {
            "input_tokens": self.input_estimate,
            "output_tokens": 0,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
        }
        message: dict[str, Any] = {
            "id": self.message_id,
            "type": "message",
            "role": "assistant",
            "model": self.model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": usage,
        }
        return [{"type": "message_start", "message": message}]

    def _delta(self, delta: Mapping[str, Any]) -> list[Event]:
        events: list[Event] = []
        details = delta.get("reasoning_details")
        text = next((v for k in ("reasoning_content", "reasoning") if isinstance(v := delta.get(k), str) and v), "")
        if isinstance(details, list) and details:
            if not text:
                text = details_text(details)
            if not text and self._open != "thinking":
                if self._blocks:  # state arriving after the answer began: carried by a block of its own
                    self._late_details.extend(d for d in details if isinstance(d, Mapping))
                    details = None
                else:
                    events += self._open_block("thinking", {"type": "thinking", "thinking": "", "signature": ""})
            if details:
                self._merge_details(details)
        if text:
            events += self._thinking_piece(text)
        content = delta.get("content")
        for part_kind, part in content_parts(content):  # a string, or parts (Mistral's thinking among them)
            if part_kind == "thinking":
                events += self._thinking_piece(part)
                continue
            for kind, piece in self._splitter.feed(part):
                events += self._thinking_piece(piece) if kind == "thinking" else self._text_piece(piece)
        if not content and isinstance(delta.get("refusal"), str) and delta["refusal"]:
            events += self._text_piece(delta["refusal"])
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

    def _thinking_piece(self, text: str) -> list[Event]:
        events: list[Event] = []
        if self._open != "thinking":
            events += self._close_block()
            events += self._open_block("thinking", {"type": "thinking", "thinking": "", "signature": ""})
        self._thinking.append(text)
        self._chars += len(text)
        delta = {"type": "thinking_delta", "thinking": text}
        return [*events, {"type": "content_block_delta", "index": self._index, "delta": delta}]

    def _text_piece(self, text: str) -> list[Event]:
        events: list[Event] = []
        if self._open != "text":
            events += self._close_block()
            events += self._open_block("text", {"type": "text", "text": ""})
        self._chars += len(text)
        delta = {"type": "text_delta", "text": text}
        return [*events, {"type": "content_block_delta", "index": self._index, "delta": delta}]

    def _open_block(self, kind: str, block: dict[str, Any]) -> list[Event]:
        self._open = kind
        self._blocks += 1
        return [{"type": "content_block_start", "index": self._index, "content_block": block}]

    def _close_block(self) -> list[Event]:
        if self._open is None:
            return []
        events: list[Event] = []
        if self._open == "thinking":
            signature = sign_thinking("".join(self._thinking), list(self._details.values()) or None)
            self._thinking, self._details = [], {}
            delta = {"type": "signature_delta", "signature": signature}
            events.append({"type": "content_block_delta", "index": self._index, "delta": delta})
        events.append({"type": "content_block_stop", "index": self._index})
        self._open = None
        self._index += 1
        return events

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
            self._chars += len(arguments)
        elif isinstance(arguments, Mapping):  # some servers send the object itself
            current.arguments.append(orjson.dumps(arguments).decode())
        self._last_tool = key

    def _flush_content(self) -> list[Event]:
        events: list[Event] = []
        for kind, piece in self._splitter.flush():
            events += self._thinking_piece(piece) if kind == "thinking" else self._text_piece(piece)
        sources = sources_text(self._annotations)
        self._annotations = []
        if sources:
            events += self._text_piece(sources)
        events += self._close_block()
        if self._late_details:
            events += self._open_block("thinking", {"type": "thinking", "thinking": "", "signature": ""})
            self._merge_details(self._late_details)
            self._late_details = []
            events += self._close_block()
        for n, call in enumerate(self._tools.values()):
            if not call.name:
                continue  # a fragment that never got a name cannot be called
            block = tool_use_block(
                call.raw_id, call.name, "".join(call.arguments), self.tool_names, f"toolu_{self.message_id[-12:]}_{n}"
            )
            partial = orjson.dumps(block["input"]).decode()
            start = {**block, "input": {}}
            delta = {"type": "input_json_delta", "partial_json": partial}
            events += [
                {"type": "content_block_start", "index": self._index, "content_block": start},
                {"type": "content_block_delta", "index": self._index, "delta": delta},
                {"type": "content_block_stop", "index": self._index},
            ]
            self._index += 1
            self._blocks += 1
        self._tools = {}
        return events

    def _end(self) -> list[Event]:
        has_tools = any(call.name for call in self._tools.values())
        events = self._flush_content()
        self.stop_reason = stop_reason(self._finish_reason, has_tool_use=has_tools)
        usage = self.usage or anthropic_usage(
            None, input_estimate=self.input_estimate, output_estimate=estimate_output_tokens(self._chars)
        )
        self.usage = usage
        self.finished = True
        delta = {"stop_reason": self.stop_reason, "stop_sequence": None}
        return [*events, {"type": "message_delta", "delta": delta, "usage": usage}, {"type": "message_stop"}]

    def _error(self, error: Any) -> list[Event]:
        self.finished = True
        return [{"type": "error", "error": upstream_error(error)}]


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
