"""Responses API stream events in, Anthropic stream events out (as dicts; the provider encodes them).

    stream = ResponsesStream(model="claude-opus-5-5", origin=ReasoningOrigin("chatgpt", "gpt-5.5"))
    events = stream.sse(name, data)   # one SSE event; InvalidUpstream when it is not a Responses event
    events = stream.event(parsed)     # the same for a parsed payload (NotAResponse)
    stream.writer.complete            # True once response.completed / response.incomplete was translated

The events' order is the shared writer's (ccm.translate.stream_writer); what this wire adds:
- nothing before the first content (a thinking, text or tool_use block) or a terminal event: the events
  before it (`response.created`, `codex.*` metadata) say nothing the client needs, and an error among them
  (a `response.failed` for quota) is then the first and only event, which the dispatcher fails over on;
- the end only when the upstream said the answer ended: a stream that stops before that gets nothing
  more (`close()` is [] and the dispatcher sends `event: error`);
- one thinking block per reasoning item, signed when the item is done with a ccm signature carrying its
  final `encrypted_content`; a reasoning item finished again later, after other items, under another id
  (OpenRouter sends `reasoning_text.done` and `output_item.done` after the message, and its ids need not
  match the deltas'), is recognised by its text and not sent twice;
- a tool call is sent whole (one input_json_delta) when its item is done, so a call cut off never reaches
  the client; calls that interleave are told apart by item id.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from ccm.translate.anthropic import InvalidUpstream
from ccm.translate.anthropic_events import Event
from ccm.translate.responses.input import ReasoningOrigin
from ccm.translate.responses.response import (
    NotAResponse,
    anthropic_usage,
    message_sources,
    message_text,
    reasoning_text,
    stop_reason,
    to_anthropic_message,
    tool_use_block,
    upstream_error,
)
from ccm.translate.signature import sign_thinking
from ccm.translate.stream_writer import AnthropicStreamWriter
from ccm.translate.usage import estimate_output_tokens

_TERMINAL = frozenset({"response.completed", "response.incomplete"})
_TEXT_DELTAS = frozenset({"response.output_text.delta", "response.refusal.delta"})
_THINKING_DELTAS = frozenset({"response.reasoning_summary_text.delta", "response.reasoning_text.delta"})


@dataclass(slots=True)
class _Reasoning:
    text: list[str] = field(default_factory=list)
    part: Any = None
    encrypted: str | None = None


@dataclass(slots=True)
class _Call:
    call_id: Any = None
    name: str = ""
    deltas: list[str] = field(default_factory=list)
    arguments: str | None = None


class ResponsesStream:
    ends_with = "response.completed"

    def __init__(
        self,
        *,
        model: str,
        origin: ReasoningOrigin,
        message_id: str | None = None,
        tool_names: Mapping[str, str] | None = None,
        input_estimate: int = 0,
    ) -> None:
        self.origin = origin
        self.tool_names = dict(tool_names or {})
        self.writer = AnthropicStreamWriter(
            model=model, message_id=message_id, input_estimate=input_estimate, sign=self._sign
        )
        self.usage: dict[str, int] | None = None
        self._reasoning: dict[Any, _Reasoning] = {}
        self._calls: dict[Any, _Call] = {}
        self._done: set[Any] = set()
        """Item ids whose content reached the client (or that were dropped as cut)."""
        self._texted: set[Any] = set()
        self._thought: set[str] = set()
        """The text of every thinking block sent: a late copy of one is not a new block."""
        self._tools = 0
        self._tool_chars = 0

    # -- input ----------------------------------------------------------------------------------------

    def sse(self, name: str, data: str) -> list[Event]:
        try:
            parsed = orjson.loads(data)
        except orjson.JSONDecodeError:
            raise InvalidUpstream(f"the upstream sent an event that is not JSON: {data[:200]!r}") from None
        return self.event(parsed)

    def whole(self, data: Any) -> list[Event]:
        """A whole `response` object (a JSON body to a streaming request) as the events."""
        if isinstance(data, dict) and data.get("error") and not data.get("output"):
            return self._error(data["error"])
        message = to_anthropic_message(
            data,
            model=self.writer.model,
            origin=self.origin,
            message_id=self.writer.message_id,
            tool_names=self.tool_names,
            input_estimate=self.writer.input_estimate,
        )
        return self.writer.message(message)

    def event(self, data: Any) -> list[Event]:
        if self.writer.finished:
            return []
        if not isinstance(data, Mapping) or not isinstance(data.get("type"), str):
            raise NotAResponse(f"not a Responses stream event: {orjson.dumps(data).decode()[:200]}")
        kind: str = data["type"]
        try:
            return self._dispatch(kind, data)
        except (KeyError, TypeError, AttributeError) as exc:
            raise NotAResponse(f"a malformed {kind} event ({type(exc).__name__}: {exc})") from exc

    def close(self) -> list[Event]:
        """The upstream closed. Nothing to add: a finished answer is complete, any other was cut."""
        return []

    def _dispatch(self, kind: str, data: Mapping[str, Any]) -> list[Event]:
        if kind in _TEXT_DELTAS:
            return self._text(data.get("item_id"), _string(data["delta"]))
        if kind in _THINKING_DELTAS:
            return self._thinking(data.get("item_id"), _string(data["delta"]), data.get("summary_index"))
        if kind == "response.function_call_arguments.delta":
            self._call(data.get("item_id")).deltas.append(_string(data["delta"]))
            return []
        if kind == "response.function_call_arguments.done":
            self._call(data.get("item_id")).arguments = _string(data["arguments"])
            return []
        if kind == "response.output_item.added":
            self._added(_mapping(data["item"]))
            return []
        if kind == "response.output_item.done":
            return self._item_done(_mapping(data["item"]))
        if kind in _TERMINAL:
            return self._end(_mapping(data["response"]))
        if kind == "response.failed":
            response = _mapping(data["response"])
            return self._error(response.get("error") or {"message": "the upstream's response failed"})
        if kind == "error":
            return self._error(data.get("error") if isinstance(data.get("error"), Mapping) else data)
        return []  # lifecycle, parts, annotations, web search progress, codex.* metadata: nothing to say

    # -- items ----------------------------------------------------------------------------------------

    def _added(self, item: Mapping[str, Any]) -> None:
        kind, item_id = item.get("type"), item.get("id")
        if kind == "function_call":
            call = self._call(item_id)
            call.call_id = item.get("call_id") or call.call_id
            call.name = str(item.get("name") or call.name)
        elif kind == "reasoning":
            encrypted = item.get("encrypted_content")
            self._reasoning.setdefault(item_id, _Reasoning()).encrypted = (
                encrypted if isinstance(encrypted, str) else None
            )

    def _call(self, item_id: Any) -> _Call:
        return self._calls.setdefault(item_id, _Call())

    def _item_done(self, item: Mapping[str, Any]) -> list[Event]:
        kind, item_id = item.get("type"), item.get("id")
        if item_id in self._done:
            return []
        if kind == "reasoning":
            return self._reasoning_done(item)
        if kind == "message":
            events: list[Event] = []
            if item_id not in self._texted:
                events += self._text(item_id, message_text(item))
            sources = message_sources(item)
            if sources and item_id in self._texted:
                events += self._text(item_id, sources)
            if self.writer.is_open("text", item_id):
                events += self.writer.close()
            self._done.add(item_id)
            return events
        if kind == "function_call":
            return self._call_done(item)
        return []

    def _reasoning_done(self, item: Mapping[str, Any]) -> list[Event]:
        item_id = item.get("id")
        state = self._reasoning.setdefault(item_id, _Reasoning())
        encrypted = item.get("encrypted_content")
        if isinstance(encrypted, str) and encrypted:
            state.encrypted = encrypted
        events: list[Event] = []
        if not state.text:
            text = reasoning_text(item)
            if text and text in self._thought:  # streamed already, under another id (or none)
                self._done.add(item_id)
                return []
            if text and self.writer.open_kind == "thinking":
                open_state = self._reasoning.get(self.writer.open_key) or _Reasoning()
                if "".join(open_state.text) == text:  # the open block is this item, streamed under another id
                    open_state.encrypted = state.encrypted or open_state.encrypted
                    self._done.add(item_id)
                    return self.writer.close()
            if text:
                events += self._thinking(item_id, text, None)
            elif state.encrypted:  # reasoning with no summary: a signature-only block carries it back
                events += self.writer.open("thinking", item_id)
        if self.writer.is_open("thinking", item_id):
            events += self.writer.close()
        self._done.add(item_id)
        return events

    def _call_done(self, item: Mapping[str, Any]) -> list[Event]:
        item_id = item.get("id")
        self._done.add(item_id)
        call = self._calls.pop(item_id, None) or _Call()
        if item.get("status") == "incomplete":
            return []  # cut off (max_output_tokens): never sent as a tool call
        name = str(item.get("name") or call.name)
        if not name:
            return []
        arguments = item.get("arguments")
        if not isinstance(arguments, str) or not arguments:
            arguments = call.arguments if call.arguments is not None else "".join(call.deltas)
        whole = {"call_id": item.get("call_id") or call.call_id, "id": item_id, "name": name, "arguments": arguments}
        block = tool_use_block(whole, self.tool_names, f"toolu_{self.writer.message_id[-12:]}_{self._tools}")
        self._tools += 1
        self._tool_chars += len(arguments)
        return self.writer.tool_use(block)

    # -- blocks ---------------------------------------------------------------------------------------

    def _text(self, item_id: Any, text: str) -> list[Event]:
        if not text:
            return []
        events = self.writer.text(text, item_id)
        self._texted.add(item_id)
        return events

    def _thinking(self, item_id: Any, text: str, part: Any) -> list[Event]:
        if not text:
            return []
        state = self._reasoning.setdefault(item_id, _Reasoning())
        if state.text and part is not None and part != state.part:
            text = "\n\n" + text  # summary parts, a blank line apart
        state.part = part
        state.text.append(text)
        return self.writer.thinking(text, item_id)

    def _sign(self, text: str, item_id: Any) -> str:
        """A reasoning item's block is signed over all its text, with its final encrypted_content; the
        text is remembered, so a late copy of the item is not sent as a second block."""
        state = self._reasoning.get(item_id) or _Reasoning()
        whole = "".join(state.text)
        self._thought.add(whole)
        details = [self.origin.state(state.encrypted)] if state.encrypted else None
        return sign_thinking(whole, details)

    # -- the end --------------------------------------------------------------------------------------

    def _end(self, response: Mapping[str, Any]) -> list[Event]:
        """response.completed / response.incomplete: items the stream did not carry (a server that sends
        only the final response) come from its `output`; then the closing events."""
        events: list[Event] = []
        output = response.get("output")
        for item in output if isinstance(output, list) else []:
            if not isinstance(item, Mapping) or (item.get("id") is None and self.writer.index):
                continue  # without an id nothing tells whether it was streamed: what came is the answer
            events += self._item_done(item)
        self.usage = anthropic_usage(
            response.get("usage"),
            input_estimate=self.writer.input_estimate,
            output_estimate=estimate_output_tokens(self.writer.chars + self._tool_chars),
        )
        return events + self.writer.end(stop_reason(response, has_tool_use=self._tools > 0), self.usage)

    def _error(self, error: Any) -> list[Event]:
        return self.writer.error(upstream_error(error))


def _string(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected a string, got {type(value).__name__}")
    return value


def _mapping(value: Any) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise TypeError(f"expected an object, got {type(value).__name__}")
    return value
