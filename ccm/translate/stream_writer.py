"""The one writer of Anthropic stream events that every translated wire (Chat Completions, Responses,
Gemini) uses: a translator maps its upstream's events onto these calls and never builds an event itself.

    writer = AnthropicStreamWriter(model="claude-opus-5-5", input_estimate=120)
    writer.thinking("Let me see")     # message_start, then a thinking block and its delta
    writer.text("Hello")              # the thinking block closes (signed), a text block opens
    writer.tool_use(block)            # the text block closes; one whole tool_use block
    writer.end("tool_use", usage)     # message_delta, then message_stop: the answer is complete
    writer.error({"type": "api_error", "message": "..."})   # or instead: the last event

Whatever the order of calls, the events obey Anthropic's stream grammar, which Claude Code and the SDKs
rely on:
- `message_start` comes first and once (every call that writes content starts the message itself);
- blocks get consecutive indexes from 0, each started before its deltas and stopped before the next
  starts; text of another kind (or another key) closes the open block first;
- every thinking block closes with a `signature_delta` (Claude Code drops an unsigned thinking block);
- `message_delta` (stop_reason, usage) and `message_stop` end a complete answer, once;
- an error is the last event; a stream that had one never ends with a clean `message_stop`;
- nothing follows the end: every call after it returns no events.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import orjson

from ccm.translate.answer_parts import new_message_id
from ccm.translate.anthropic_events import events_from_message
from ccm.translate.signature import sign_thinking

Event = dict[str, Any]
#: How a thinking block is signed when it closes: (its text, its key) -> the signature. Each wire's
#: translator supplies its own, to carry the upstream's reasoning state in the signature.
Signer = Callable[[str, Any], str]


def _sign_text(text: str, key: Any) -> str:
    return sign_thinking(text)


class AnthropicStreamWriter:
    """Anthropic stream events for one answer, in an order that is always valid (see the module)."""

    def __init__(
        self, *, model: str, message_id: str | None = None, input_estimate: int = 0, sign: Signer | None = None
    ) -> None:
        self.model = model
        self.message_id = message_id or new_message_id()
        self.input_estimate = input_estimate
        self.sign = sign or _sign_text
        self.started = False
        self.finished = False
        """The answer's end or an error was written: nothing more follows."""
        self.complete = False
        """The answer ended properly (message_stop written)."""
        self.stop_reason: str | None = None
        self.usage: dict[str, int] | None = None
        self.index = 0
        """The open block's index, or the next block's when none is open."""
        self.blocks = 0
        """Blocks written so far (open or closed)."""
        self.chars = 0
        """Characters of text and thinking written: the output-token estimate when usage never comes."""
        self.open_kind: str | None = None
        self.open_key: Any = None
        self._thinking: list[str] = []

    def is_open(self, kind: str, key: Any = None) -> bool:
        return self.open_kind == kind and self.open_key == key

    def start(self) -> list[Event]:
        """message_start, unless already written (or the stream is over)."""
        if self.started or self.finished:
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

    # -- blocks ---------------------------------------------------------------------------------------

    def open(self, kind: str, key: Any = None) -> list[Event]:
        """A "text" or "thinking" block, unless one of that kind and key is open already. The key tells
        blocks of one kind apart (a Responses item id): another key closes the open block."""
        if self.finished or (self.open_kind == kind and self.open_key == key):
            return []
        events = self.start() + self.close()
        self.open_kind, self.open_key = kind, key
        self.blocks += 1
        block = (
            {"type": "text", "text": ""} if kind == "text" else {"type": "thinking", "thinking": "", "signature": ""}
        )
        events.append({"type": "content_block_start", "index": self.index, "content_block": block})
        return events

    def text(self, text: str, key: Any = None) -> list[Event]:
        if not text or self.finished:
            return []
        events = self.open("text", key)
        self.chars += len(text)
        events.append(
            {"type": "content_block_delta", "index": self.index, "delta": {"type": "text_delta", "text": text}}
        )
        return events

    def thinking(self, text: str, key: Any = None) -> list[Event]:
        if not text or self.finished:
            return []
        events = self.open("thinking", key)
        self._thinking.append(text)
        self.chars += len(text)
        delta = {"type": "thinking_delta", "thinking": text}
        events.append({"type": "content_block_delta", "index": self.index, "delta": delta})
        return events

    def close(self) -> list[Event]:
        """Stop the open block (a thinking block gets its signature first); [] when none is open."""
        if self.open_kind is None or self.finished:
            return []
        events: list[Event] = []
        if self.open_kind == "thinking":
            text, self._thinking = "".join(self._thinking), []
            delta = {"type": "signature_delta", "signature": self.sign(text, self.open_key)}
            events.append({"type": "content_block_delta", "index": self.index, "delta": delta})
        events.append({"type": "content_block_stop", "index": self.index})
        self.open_kind = self.open_key = None
        self.index += 1
        return events

    def tool_use(self, block: Mapping[str, Any], partial_json: str | None = None) -> list[Event]:
        """One whole tool_use block ({type, id, name, input}): its input goes as one input_json_delta
        (`partial_json` when the caller has it serialised), so a client never parses a broken fragment."""
        if self.finished:
            return []
        if partial_json is None:
            partial_json = orjson.dumps(block["input"]).decode()
        delta = {"type": "input_json_delta", "partial_json": partial_json}
        return self._whole({**block, "input": {}}, delta)

    def signature_only(self, signature: str) -> list[Event]:
        """An empty thinking block that only carries a signature (reasoning state with no readable text)."""
        if self.finished:
            return []
        block = {"type": "thinking", "thinking": "", "signature": ""}
        return self._whole(block, {"type": "signature_delta", "signature": signature})

    def _whole(self, block: dict[str, Any], delta: dict[str, Any]) -> list[Event]:
        events = self.start() + self.close()
        events += [
            {"type": "content_block_start", "index": self.index, "content_block": block},
            {"type": "content_block_delta", "index": self.index, "delta": delta},
            {"type": "content_block_stop", "index": self.index},
        ]
        self.index += 1
        self.blocks += 1
        return events

    # -- the end --------------------------------------------------------------------------------------

    def end(self, stop_reason: str, usage: dict[str, int]) -> list[Event]:
        """The open block closes, then message_delta and message_stop: the answer is complete."""
        if self.finished:
            return []
        events = self.close() + self.start()
        self.stop_reason, self.usage = stop_reason, usage
        self.finished = self.complete = True
        delta = {"stop_reason": stop_reason, "stop_sequence": None}
        return [*events, {"type": "message_delta", "delta": delta, "usage": usage}, {"type": "message_stop"}]

    def error(self, error: Mapping[str, str]) -> list[Event]:
        """An `error` event ({type, message}) as the last one. Before message_start it is the only event,
        which the dispatcher takes as a failed attempt."""
        if self.finished:
            return []
        self.finished = True
        return [{"type": "error", "error": dict(error)}]

    def message(self, message: dict[str, Any]) -> list[Event]:
        """A whole Anthropic message (an upstream that answered a streaming request with one JSON body)
        as the complete stream of its events, in place of anything else."""
        if self.started or self.finished:
            return []
        self.started = self.finished = self.complete = True
        self.stop_reason, self.usage = message.get("stop_reason"), message.get("usage")
        return events_from_message(message)
