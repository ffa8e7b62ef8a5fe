"""Responses API stream events in, Anthropic stream events out (as dicts; the provider encodes them).

    stream = ResponsesStream(model="claude-opus-5-5", origin=ReasoningOrigin("chatgpt", "gpt-5.5"))
    events = stream.event(parsed)     # one `data:` payload; NotAResponse when it is not a Responses event
    stream.complete                   # True once response.completed / response.incomplete was translated

Guarantees, whatever the upstream does:
- nothing before the first content (a thinking, text or tool_use block) or a terminal event: the events
  before it (`response.created`, `codex.*` metadata) say nothing the client needs, and an error among them
  (a `response.failed` for quota) is then the first and only event, which the dispatcher fails over on;
- `message_start` once, blocks with increasing indexes, each started before its deltas and stopped before
  the next starts, `message_delta` (stop_reason + usage) and `message_stop` last, and only when the
  upstream said the answer ended: a stream that stops before that gets nothing more (`close()` is [] and
  the dispatcher sends `event: error`);
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

from ccm.translate.openai.response import new_message_id
from ccm.translate.responses.input import ReasoningOrigin
from ccm.translate.responses.response import (
    NotAResponse,
    anthropic_usage,
    estimate_output_tokens,
    message_sources,
    message_text,
    reasoning_text,
    stop_reason,
    tool_use_block,
    upstream_error,
)
from ccm.translate.signature import sign_thinking

Event = dict[str, Any]
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
    def __init__(
        self,
        *,
        model: str,
        origin: ReasoningOrigin,
        message_id: str | None = None,
        tool_names: Mapping[str, str] | None = None,
        input_estimate: int = 0,
    ) -> None:
        self.model = model
        self.origin = origin
        self.message_id = message_id or new_message_id()
        self.tool_names = dict(tool_names or {})
        self.input_estimate = input_estimate
        self.started = False
        self.finished = False
        """A terminal event (or an error) was translated: nothing more follows."""
        self.complete = False
        self.usage: dict[str, int] | None = None
        self._index = 0
        self._open: tuple[str, Any] | None = None  # ("thinking" | "text", item id)
        self._reasoning: dict[Any, _Reasoning] = {}
        self._calls: dict[Any, _Call] = {}
        self._done: set[Any] = set()
        """Item ids whose content reached the client (or that were dropped as cut)."""
        self._texted: set[Any] = set()
        self._thought: set[str] = set()
        """The text of every thinking block sent: a late copy of one is not a new block."""
        self._tools = 0
        self._chars = 0

    # -- input ----------------------------------------------------------------------------------------

    def event(self, data: Any) -> list[Event]:
        if self.finished:
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
            if self._open == ("text", item_id):
                events += self._close_block()
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
            if text and self._open is not None and self._open[0] == "thinking":
                open_state = self._reasoning.get(self._open[1]) or _Reasoning()
                if "".join(open_state.text) == text:  # the open block is this item, streamed under another id
                    open_state.encrypted = state.encrypted or open_state.encrypted
                    self._done.add(item_id)
                    return self._close_block()
            if text:
                events += self._thinking(item_id, text, None)
            elif state.encrypted:  # reasoning with no summary: a signature-only block carries it back
                events += self._open_block("thinking", item_id)
        if self._open == ("thinking", item_id):
            events += self._close_block()
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
        block = tool_use_block(whole, self.tool_names, f"toolu_{self.message_id[-12:]}_{self._tools}")
        self._tools += 1
        self._chars += len(arguments)
        events = self._close_block() + self._start()
        delta = {"type": "input_json_delta", "partial_json": orjson.dumps(block["input"]).decode()}
        events += [
            {"type": "content_block_start", "index": self._index, "content_block": {**block, "input": {}}},
            {"type": "content_block_delta", "index": self._index, "delta": delta},
            {"type": "content_block_stop", "index": self._index},
        ]
        self._index += 1
        return events

    # -- blocks ---------------------------------------------------------------------------------------

    def _text(self, item_id: Any, text: str) -> list[Event]:
        if not text:
            return []
        events: list[Event] = []
        if self._open != ("text", item_id):
            events += self._close_block() + self._open_block("text", item_id)
        self._texted.add(item_id)
        self._chars += len(text)
        delta = {"type": "text_delta", "text": text}
        return [*events, {"type": "content_block_delta", "index": self._index, "delta": delta}]

    def _thinking(self, item_id: Any, text: str, part: Any) -> list[Event]:
        if not text:
            return []
        state = self._reasoning.setdefault(item_id, _Reasoning())
        events: list[Event] = []
        if self._open != ("thinking", item_id):
            events += self._close_block() + self._open_block("thinking", item_id)
        if state.text and part is not None and part != state.part:
            text = "\n\n" + text  # summary parts, a blank line apart
        state.part = part
        state.text.append(text)
        self._chars += len(text)
        delta = {"type": "thinking_delta", "thinking": text}
        return [*events, {"type": "content_block_delta", "index": self._index, "delta": delta}]

    def _open_block(self, kind: str, item_id: Any) -> list[Event]:
        events = self._start()
        self._open = (kind, item_id)
        block = (
            {"type": "text", "text": ""} if kind == "text" else {"type": "thinking", "thinking": "", "signature": ""}
        )
        return [*events, {"type": "content_block_start", "index": self._index, "content_block": block}]

    def _close_block(self) -> list[Event]:
        if self._open is None:
            return []
        kind, item_id = self._open
        events: list[Event] = []
        if kind == "thinking":
            state = self._reasoning.get(item_id) or _Reasoning()
            text = "".join(state.text)
            self._thought.add(text)
            details = [self.origin.state(state.encrypted)] if state.encrypted else None
            delta = {"type": "signature_delta", "signature": sign_thinking(text, details)}
            events.append({"type": "content_block_delta", "index": self._index, "delta": delta})
        events.append({"type": "content_block_stop", "index": self._index})
        self._open = None
        self._index += 1
        return events

    def _start(self) -> list[Event]:
        if self.started:
            return []
        self.started = True
        usage = anthropic_usage(None, input_estimate=self.input_estimate)
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

    # -- the end --------------------------------------------------------------------------------------

    def _end(self, response: Mapping[str, Any]) -> list[Event]:
        """response.completed / response.incomplete: items the stream did not carry (a server that sends
        only the final response) come from its `output`; then the closing events."""
        events: list[Event] = []
        output = response.get("output")
        for item in output if isinstance(output, list) else []:
            if not isinstance(item, Mapping) or (item.get("id") is None and self._index):
                continue  # without an id nothing tells whether it was streamed: what came is the answer
            events += self._item_done(item)
        events += self._close_block() + self._start()
        self.usage = anthropic_usage(
            response.get("usage"),
            input_estimate=self.input_estimate,
            output_estimate=estimate_output_tokens(self._chars),
        )
        self.finished = self.complete = True
        delta = {"stop_reason": stop_reason(response, has_tool_use=self._tools > 0), "stop_sequence": None}
        return [*events, {"type": "message_delta", "delta": delta, "usage": self.usage}, {"type": "message_stop"}]

    def _error(self, error: Any) -> list[Event]:
        self.finished = True
        return [{"type": "error", "error": upstream_error(error)}]


def _string(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected a string, got {type(value).__name__}")
    return value


def _mapping(value: Any) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise TypeError(f"expected an object, got {type(value).__name__}")
    return value
