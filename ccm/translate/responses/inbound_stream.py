"""Anthropic stream events in, Responses API events out: an answer any mapping gave, for a Responses client
(the Codex CLI, the openai SDK's `responses` API).

    encoder = ResponsesEncoder(model="glm", namespaces={"multi_agent_v1__spawn": ("multi_agent_v1", "spawn")})
    sse = encoder.events(events)       # Anthropic events (dicts) -> `event: response.*` SSE
    sse = encoder.error("api_error", "the upstream stream ended before the answer was complete")
    encoder.response                   # the response object so far; whole once the answer completed

The events follow what /v1/responses sends: `response.created` and `response.in_progress`, then for each
output item `response.output_item.added`, its parts and deltas, `response.output_item.done`, and at the end
`response.completed` (or `response.incomplete` when the answer hit max_output_tokens) with every item and
the usage. What each Anthropic block becomes:
- text: a `message` item (`output_text` deltas);
- thinking: a `reasoning` item whose summary is the thinking text and whose `encrypted_content` carries the
  whole block (text and signature), so the next turn gives it back as it was (ccm.translate.inbound_parts);
- tool_use: a `function_call` item (arguments as deltas; a tool offered in a namespace named back with it);
- the web search server tool's call: a `web_search_call` item (its results stay with the provider).
A stream that never reaches `message_stop` ends with `response.failed`, never `response.completed`.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from ccm.translate import inbound_parts as parts
from ccm.translate.openai.inbound_stream import PING, token_counts

Event = Mapping[str, Any]
#: ccm's error type -> the code /v1/responses puts in `response.error` (Codex reads these).
_CODES = {
    "rate_limit_error": "rate_limit_exceeded",
    "overloaded_error": "server_is_overloaded",
    "invalid_request_error": "invalid_prompt",
}


def responses_usage(usage: Mapping[str, Any]) -> dict[str, Any]:
    """Anthropic usage in the Responses API's meaning (input tokens include cached input)."""
    prompt, cached, output = token_counts(usage)
    return {
        "input_tokens": prompt,
        "input_tokens_details": {"cached_tokens": cached},
        "output_tokens": output,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": prompt + output,
    }


def error_code(error_type: str, message: str) -> str:
    if error_type == "invalid_request_error" and message.startswith("prompt is too long"):
        return "context_length_exceeded"
    return _CODES.get(error_type, "server_error")


@dataclass(slots=True)
class _Item:
    kind: str
    data: dict[str, Any]
    output_index: int
    pieces: list[str] = field(default_factory=list)
    block: dict[str, Any] = field(default_factory=dict)
    """The Anthropic block as it was built (a thinking block's text and signature, a call's start input)."""


class ResponsesEncoder:
    def __init__(
        self,
        *,
        model: str,
        namespaces: Mapping[str, tuple[str, str]] | None = None,
        created: int | None = None,
    ) -> None:
        self.namespaces = dict(namespaces or {})
        self.sequence = 0
        self.started = False
        self.finished = False
        """The end or an error was written: nothing follows."""
        self.response: dict[str, Any] = {
            "id": "resp_ccm",
            "object": "response",
            "created_at": int(time.time()) if created is None else created,
            "status": "in_progress",
            "model": model,
            "output": [],
            "usage": None,
            "error": None,
            "incomplete_details": None,
            "instructions": None,
            "metadata": {},
            "parallel_tool_calls": True,
            "temperature": None,
            "tool_choice": "auto",
            "tools": [],
            "top_p": None,
            "text": {"format": {"type": "text"}},
        }
        self._items: dict[int, _Item] = {}
        self._stop_reason: str | None = None
        self._usage: dict[str, Any] = {}

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
        out = self._start({}) if not self.started else []
        self.finished = True
        self.response.update(status="failed", error={"code": error_code(error_type, message), "message": message})
        return b"".join([*out, self._emit("response.failed", {"response": self.response})])

    def _event(self, event: Event) -> list[bytes]:
        kind = event.get("type")
        if kind == "message_start":
            return self._start(event.get("message") or {})
        if kind == "content_block_start":
            return self._open(int(event["index"]), dict(event.get("content_block") or {}))
        if kind == "content_block_delta":
            return self._delta(int(event["index"]), event.get("delta") or {})
        if kind == "content_block_stop":
            return self._close(int(event["index"]))
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
        return []

    def _emit(self, kind: str, data: dict[str, Any]) -> bytes:
        payload = {"type": kind, "sequence_number": self.sequence, **data}
        self.sequence += 1
        return b"event: " + kind.encode() + b"\ndata: " + orjson.dumps(payload) + b"\n\n"

    def _start(self, message: Mapping[str, Any]) -> list[bytes]:
        if self.started:
            return []
        self.started = True
        raw_id = str(message.get("id") or "")
        if raw_id.startswith("msg_"):
            self.response["id"] = "resp_" + raw_id[4:]
        self._usage = dict(message.get("usage") or {})
        return [
            self._emit("response.created", {"response": self.response}),
            self._emit("response.in_progress", {"response": self.response}),
        ]

    # -- items ----------------------------------------------------------------------------------------

    def _item_id(self, prefix: str) -> str:
        return f"{prefix}_{self.response['id'][5:]}_{len(self.response['output'])}"

    def _open(self, index: int, block: dict[str, Any]) -> list[bytes]:
        kind = block.get("type")
        data: dict[str, Any]
        if kind == "text":
            data = {"id": self._item_id("msg"), "type": "message", "status": "in_progress", "role": "assistant"}
            data["content"] = []
        elif kind in ("thinking", "redacted_thinking"):
            data = {"id": self._item_id("rs"), "type": "reasoning", "summary": []}
        elif kind == "tool_use":
            name = str(block.get("name") or "")
            space, inner = self.namespaces.get(name, (None, name))
            data = {"id": self._item_id("fc"), "type": "function_call", "status": "in_progress", "arguments": ""}
            data.update(call_id=str(block.get("id") or ""), name=inner)
            if space is not None:
                data["namespace"] = space
        elif kind == "server_tool_use" and block.get("name") == "web_search":
            data = {"id": self._item_id("ws"), "type": "web_search_call", "status": "in_progress"}
            data["action"] = {"type": "search"}
        else:
            return []  # search results, other server tools: nothing a Responses client replays
        item = _Item(str(kind), data, len(self.response["output"]), block=block)
        self._items[index] = item
        self.response["output"].append(data)
        out = [self._emit("response.output_item.added", {"output_index": item.output_index, "item": data})]
        if kind == "text":
            part = {"type": "output_text", "text": "", "annotations": []}
            out.append(self._emit("response.content_part.added", {**self._where(item), "part": part}))
        text = block.get("text") or block.get("thinking")
        if isinstance(text, str) and text:  # a block that came with its text (a replayed whole message)
            out += self._delta(index, {"type": f"{kind}_delta", str(kind): text})
        return out

    def _where(self, item: _Item, content: bool = True) -> dict[str, Any]:
        where: dict[str, Any] = {"item_id": item.data["id"], "output_index": item.output_index}
        if content:
            where["content_index"] = 0
        return where

    def _delta(self, index: int, delta: Mapping[str, Any]) -> list[bytes]:
        item = self._items.get(index)
        if item is None:
            return []
        kind = delta.get("type")
        if item.kind == "text" and kind == "text_delta":
            text = str(delta.get("text") or "")
            item.pieces.append(text)
            payload = {**self._where(item), "delta": text, "logprobs": []}
            return [self._emit("response.output_text.delta", payload)] if text else []
        if item.kind == "thinking" and kind == "thinking_delta":
            return self._thinking(item, str(delta.get("thinking") or ""))
        if item.kind == "thinking" and kind == "signature_delta":
            item.block["signature"] = str(delta.get("signature") or "")
            return []
        if kind == "input_json_delta" and item.kind in ("tool_use", "server_tool_use"):
            piece = str(delta.get("partial_json") or "")
            item.pieces.append(piece)
            if item.kind == "tool_use" and piece:
                payload = {**self._where(item, content=False), "delta": piece}
                return [self._emit("response.function_call_arguments.delta", payload)]
        return []

    def _thinking(self, item: _Item, text: str) -> list[bytes]:
        if not text:
            return []
        out: list[bytes] = []
        if not item.pieces:
            part = {"type": "summary_text", "text": ""}
            payload = {**self._where(item, content=False), "summary_index": 0, "part": part}
            out.append(self._emit("response.reasoning_summary_part.added", payload))
        item.pieces.append(text)
        payload = {**self._where(item, content=False), "summary_index": 0, "delta": text}
        return [*out, self._emit("response.reasoning_summary_text.delta", payload)]

    def _close(self, index: int) -> list[bytes]:
        item = self._items.pop(index, None)
        if item is None:
            return []
        if item.kind == "text":
            return self._close_text(item)
        if item.kind in ("thinking", "redacted_thinking"):
            return self._close_reasoning(item)
        if item.kind == "tool_use":
            return self._close_call(item)
        arguments = parts.tool_input("".join(item.pieces)) or item.block.get("input") or {}
        query = arguments.get("query") if isinstance(arguments, dict) else None
        item.data.update(status="completed", action={"type": "search", "query": str(query or "")})
        return [self._emit("response.output_item.done", {"output_index": item.output_index, "item": item.data})]

    def _close_text(self, item: _Item) -> list[bytes]:
        text = "".join(item.pieces)
        part = {"type": "output_text", "text": text, "annotations": []}
        item.data.update(status="completed", content=[{**part, "logprobs": []}])
        where = self._where(item)
        return [
            self._emit("response.output_text.done", {**where, "text": text, "logprobs": []}),
            self._emit("response.content_part.done", {**where, "part": part}),
            self._emit("response.output_item.done", {"output_index": item.output_index, "item": item.data}),
        ]

    def _close_reasoning(self, item: _Item) -> list[bytes]:
        out: list[bytes] = []
        text = "".join(item.pieces)
        if item.kind == "thinking":
            item.block["thinking"] = text
        if text:
            where = {**self._where(item, content=False), "summary_index": 0}
            part = {"type": "summary_text", "text": text}
            out.append(self._emit("response.reasoning_summary_text.done", {**where, "text": text}))
            out.append(self._emit("response.reasoning_summary_part.done", {**where, "part": part}))
            item.data["summary"] = [part]
        item.data["encrypted_content"] = parts.reasoning_blob(item.block)
        out.append(self._emit("response.output_item.done", {"output_index": item.output_index, "item": item.data}))
        return out

    def _close_call(self, item: _Item) -> list[bytes]:
        arguments = "".join(item.pieces)
        out: list[bytes] = []
        given = item.block.get("input")
        if not arguments and isinstance(given, dict) and given:  # the input came whole with the block
            arguments = orjson.dumps(given).decode()
            payload = {**self._where(item, content=False), "delta": arguments}
            out.append(self._emit("response.function_call_arguments.delta", payload))
        arguments = arguments or "{}"
        item.data.update(status="completed", arguments=arguments)
        done = {**self._where(item, content=False), "name": item.data["name"], "arguments": arguments}
        out.append(self._emit("response.function_call_arguments.done", done))
        out.append(self._emit("response.output_item.done", {"output_index": item.output_index, "item": item.data}))
        return out

    # -- the end --------------------------------------------------------------------------------------

    def _note(self, event: Event) -> None:
        delta = event.get("delta") or {}
        if isinstance(delta.get("stop_reason"), str):
            self._stop_reason = delta["stop_reason"]
        usage = event.get("usage")
        if isinstance(usage, Mapping):
            self._usage.update({k: v for k, v in usage.items() if v is not None})

    def _end(self) -> list[bytes]:
        out: list[bytes] = []
        for index in sorted(self._items):  # a block left open (never by ccm's own writer) still completes
            out += self._close(index)
        self.finished = True
        self.response["usage"] = responses_usage(self._usage)
        if self._stop_reason in ("max_tokens", "model_context_window_exceeded", "refusal"):
            reason = "content_filter" if self._stop_reason == "refusal" else "max_output_tokens"
            self.response.update(status="incomplete", incomplete_details={"reason": reason})
            return [*out, self._emit("response.incomplete", {"response": self.response})]
        self.response["status"] = "completed"
        return [*out, self._emit("response.completed", {"response": self.response})]
