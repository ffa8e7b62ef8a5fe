"""Anthropic `system` + `messages` as Responses API `instructions` + input items.

    converter = InputConverter(rename, origin=ReasoningOrigin("chatgpt", "gpt-5.5"))
    items = converter.items(body["messages"])

Where the shapes differ:
- system text is `instructions`; a mid-conversation `role: "system"` message is a `developer` item in
  place (the ChatGPT backend refuses `system` items);
- tool calls and results are items of their own (`function_call`, `function_call_output`), tied by a
  `call_id` of at most 64 characters; every call gets an output and every output has its call, since the
  API refuses either alone;
- reasoning goes back only as the `encrypted_content` a thinking block's ccm signature carries, and only
  to the provider and model that made it (any other would answer `invalid_encrypted_content`); items go
  without `id`, since with `store: false` an id names an item the server no longer has.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson

from ccm.translate.anthropic import is_ccm_signature
from ccm.translate.request_parts import (
    EMPTY_RESULT,
    IMAGE_OMITTED,
    NO_RESULT,
    data_url,
    image_url,
    plain_text,
    roles,
    search_result_text,
    tool_reference_text,
    tool_result_content,
)
from ccm.translate.signature import signature_details
from ccm.translate.tool_names import responses_call_id

Item = dict[str, Any]
Part = dict[str, Any]

#: The `type` of the reasoning state a ccm signature carries for this wire (see responses_stream).
REASONING_STATE = "ccm.api.quart_json.reasoning"


@dataclass(frozen=True, slots=True)
class ReasoningOrigin:
    """Who made a reasoning item: its encrypted content is only valid there."""

    provider: str
    model: str

    def state(self, encrypted_content: str) -> dict[str, str]:
        """What a thinking block's signature carries for this item."""
        return {
            "type": REASONING_STATE,
            "provider": self.provider,
            "model": self.model,
            "encrypted_content": encrypted_content,
        }

    def owns(self, state: Any) -> bool:
        return (
            isinstance(state, dict)
            and state.get("type") == REASONING_STATE
            and state.get("provider") == self.provider
            and state.get("model") == self.model
            and isinstance(state.get("encrypted_content"), str)
            and bool(state["encrypted_content"])
        )


class InputConverter:
    """Converts one request's messages; `rename` maps an Anthropic tool name to the one sent."""

    def __init__(self, rename: Callable[[str], str], origin: ReasoningOrigin) -> None:
        self.rename = rename
        self.origin = origin

    def items(self, messages: Any) -> list[Item]:
        out: list[Item] = []
        for role, content in roles(messages):
            if role == "assistant":
                out.extend(self._assistant(content))
            elif role == "system":
                out.extend(self._developer(content))
            else:
                out.extend(self._user(content))
        return pair_calls(out)

    def _developer(self, content: Any) -> list[Item]:
        text = plain_text(content)
        return [_message("developer", [{"type": "input_text", "text": text}])] if text.strip() else []

    def _user(self, content: Any) -> list[Item]:
        if isinstance(content, str):
            return [_message("user", [{"type": "input_text", "text": content}])] if content else []
        out: list[Item] = []
        parts: list[Part] = []
        for block in content if isinstance(content, list) else []:
            if not isinstance(block, dict):
                continue
            if block.get("type") == "tool_result":
                out.append(self._tool_result(block))
            else:
                part = input_part(block)
                if part is not None:
                    parts.append(part)
        if parts:
            out.append(_message("user", parts))
        return out

    def _tool_result(self, block: dict[str, Any]) -> Item:
        text, images = tool_result_content(block, input_part, _text_of)
        call_id = responses_call_id(str(block.get("tool_use_id") or ""))
        output: str | list[Part] = text or EMPTY_RESULT
        if images:
            output = ([{"type": "input_text", "text": text}] if text else []) + images
        return {"type": "function_call_output", "call_id": call_id, "output": output}

    def _assistant(self, content: Any) -> list[Item]:
        if isinstance(content, str):
            return [_assistant_text(content)] if content else []
        out: list[Item] = []
        texts: list[str] = []
        for block in content if isinstance(content, list) else []:
            if not isinstance(block, dict):
                continue
            kind = block.get("type")
            if kind == "text" and isinstance(block.get("text"), str) and block["text"]:
                texts.append(block["text"])
                continue
            if texts:  # keep the order the model produced: text, then what follows it
                out.append(_assistant_text("\n\n".join(texts)))
                texts = []
            if kind == "tool_use":
                out.append(
                    {
                        "type": "function_call",
                        "call_id": responses_call_id(str(block.get("id") or "")),
                        "name": self.rename(str(block.get("name") or "")),
                        "arguments": orjson.dumps(block.get("input") or {}).decode(),
                    }
                )
            elif kind == "thinking" and is_ccm_signature(block.get("signature")):
                out.extend(self._reasoning(block["signature"]))
            # Other providers' thinking, redacted_thinking and server-tool blocks cannot go back: dropped.
        if texts:
            out.append(_assistant_text("\n\n".join(texts)))
        return out

    def _reasoning(self, signature: str) -> list[Item]:
        items: list[Item] = []
        for state in signature_details(signature) or ():
            if self.origin.owns(state):
                items.append({"type": "reasoning", "summary": [], "encrypted_content": state["encrypted_content"]})
        return items


def _message(role: str, content: list[Part]) -> Item:
    return {"type": "message", "role": role, "content": content}


def _assistant_text(text: str) -> Item:
    return {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": text}]}


def _text_of(part: Part) -> str | None:
    return part["text"] if part["type"] == "input_text" else None


def input_part(block: dict[str, Any]) -> Part | None:
    """One Anthropic content block as a Responses input part (None: nothing to send)."""
    kind = block.get("type")
    if kind == "text":
        text = block.get("text")
        return {"type": "input_text", "text": text} if isinstance(text, str) and text else None
    if kind == "image":
        source = block.get("source")
        url = image_url(source) if isinstance(source, dict) else None
        if url is None:
            return {"type": "input_text", "text": IMAGE_OMITTED}
        return {"type": "input_image", "image_url": url, "detail": "auto"}
    if kind == "document":
        return _document(block)
    if kind == "tool_reference":
        return {"type": "input_text", "text": tool_reference_text(block)}
    if kind == "search_result":
        return {"type": "input_text", "text": search_result_text(block)}
    return None


def _document(block: dict[str, Any]) -> Part | None:
    source: dict[str, Any] = block["source"] if isinstance(block.get("source"), dict) else {}
    kind = source.get("type")
    title = str(block.get("title") or "document")
    if kind == "text" and source.get("data"):
        return {"type": "input_text", "text": f"{title}:\n{source['data']}"}
    if kind == "content" and isinstance(source.get("content"), list):
        return {"type": "input_text", "text": f"{title}:\n" + plain_text(source["content"])}
    if kind == "base64" and source.get("data"):
        data = data_url(source, "application/pdf")
        return {"type": "input_file", "filename": f"{title}.pdf", "file_data": data}
    if kind == "url" and source.get("url"):
        return {"type": "input_text", "text": f"{title}: {source['url']}"}
    return None


_ASSISTANT = frozenset({"function_call", "reasoning"})


def _is_assistant(item: Item) -> bool:
    return item["type"] in _ASSISTANT or (item["type"] == "message" and item["role"] == "assistant")


def pair_calls(items: list[Item]) -> list[Item]:
    """Each assistant turn's calls answered right after it, one output per call.

    A call without a result gets a stand-in output; a result without its call (history edited or compacted)
    becomes user text, since the API refuses an output it cannot match (`No tool call found ...`).
    """
    out: list[Item] = []
    i = 0
    while i < len(items):
        if items[i]["type"] == "function_call_output":
            out.append(_orphan(items[i]))
            i += 1
            continue
        if not _is_assistant(items[i]):
            out.append(items[i])
            i += 1
            continue
        turn: list[Item] = []
        while i < len(items) and _is_assistant(items[i]):
            turn.append(items[i])
            i += 1
        out.extend(turn)
        ids = [item["call_id"] for item in turn if item["type"] == "function_call"]
        answers: dict[str, Item] = {}
        strays: list[Item] = []
        while i < len(items) and items[i]["type"] == "function_call_output":
            result = items[i]
            i += 1
            if result["call_id"] in ids and result["call_id"] not in answers:
                answers[result["call_id"]] = result
            else:
                strays.append(_orphan(result))
        for call_id in dict.fromkeys(ids):
            out.append(
                answers.get(call_id) or {"type": "function_call_output", "call_id": call_id, "output": NO_RESULT}
            )
        out.extend(strays)
    return out


def _orphan(result: Item) -> Item:
    output = result["output"]
    text = output if isinstance(output, str) else "\n".join(p.get("text", "") for p in output if isinstance(p, dict))
    return _message("user", [{"type": "input_text", "text": f"Result of tool call {result['call_id']}:\n{text}"}])
