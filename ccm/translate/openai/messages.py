"""Anthropic `system` + `messages` into Chat Completions messages.

The shapes differ in ways that break naive proxies:
- tool results live inside a user turn in Anthropic and are separate `tool` messages in OpenAI, which must
  come right after the assistant message holding the calls, one per call, before any other message;
- images inside tool results cannot go in a `tool` message: they follow in a user message;
- thinking blocks are Anthropic's; only the ones ccm signed go back, as the provider's reasoning field,
  and only to providers that need them (DeepSeek, Kimi), plus OpenRouter's opaque reasoning_details;
- cache_control is copied only where the provider takes it; empty text is never sent.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import orjson

from ccm.translate.anthropic import is_ccm_signature
from ccm.translate.profile import Profile
from ccm.translate.request_parts import (
    BILLING_PREFIX,
    EMPTY_RESULT,
    IMAGE_OMITTED,
    NO_RESULT,
    data_url,
    image_url,
    roles,
    search_result_text,
    tool_reference_text,
    tool_result_content,
)
from ccm.translate.signature import signature_details
from ccm.translate.tool_names import openai_tool_call_id

Message = dict[str, Any]
Part = dict[str, Any]


class MessageConverter:
    """Converts one request's messages; `rename` maps an Anthropic tool name to the OpenAI one."""

    def __init__(self, profile: Profile, rename: Callable[[str], str]) -> None:
        self.profile = profile
        self.rename = rename
        self.cache = profile.has("cache-control")
        self.reasoning_field = profile.reasoning_field
        self.openrouter = profile.has("openrouter")

    # -- system ---------------------------------------------------------------------------------------

    def system(self, system: Any) -> list[Message]:
        """The top-level `system` (string or text blocks) as one system message."""
        if isinstance(system, str):
            return [{"role": "system", "content": system}] if system.strip() else []
        if not isinstance(system, list):
            return []
        blocks = [
            b
            for b in system
            if isinstance(b, dict) and isinstance(b.get("text"), str) and not b["text"].startswith(BILLING_PREFIX)
        ]
        content = self._text_content(blocks, "\n\n")
        return [{"role": "system", "content": content}] if content else []

    def _text_content(self, blocks: Iterable[dict[str, Any]], sep: str) -> str | list[Part]:
        """Text blocks as a string, or as parts when a cache breakpoint must survive."""
        texts = [b for b in blocks if isinstance(b.get("text"), str) and b["text"]]
        if self.cache and any(b.get("cache_control") for b in texts):
            return [self._text_part(b) for b in texts]
        return sep.join(b["text"] for b in texts)

    def _text_part(self, block: dict[str, Any]) -> Part:
        part: Part = {"type": "text", "text": block["text"]}
        if self.cache and isinstance(block.get("cache_control"), dict):
            part["cache_control"] = block["cache_control"]
        return part

    # -- messages -------------------------------------------------------------------------------------

    def messages(self, messages: Any) -> list[Message]:
        out: list[Message] = []
        for role, content in roles(messages):
            if role == "assistant":
                out.extend(self._assistant(content))
            elif role == "system":
                out.extend(self._system_message(content))
            else:
                out.extend(self._user(content))
        return pair_tool_calls(out)

    def _system_message(self, content: Any) -> list[Message]:
        """A `role: "system"` message inside `messages` (Claude Code sends them): kept at its place."""
        if isinstance(content, str):
            return [{"role": "system", "content": content}] if content.strip() else []
        blocks = [b for b in content if isinstance(b, dict)] if isinstance(content, list) else []
        text = self._text_content(blocks, "\n\n")
        return [{"role": "system", "content": text}] if text else []

    def _user(self, content: Any) -> list[Message]:
        if isinstance(content, str):
            return [{"role": "user", "content": content}] if content else []
        if not isinstance(content, list):
            return []
        tools: list[Message] = []
        parts: list[Part] = []
        tool_images: list[Part] = []
        for block in content:
            if not isinstance(block, dict):
                continue
            kind = block.get("type")
            if kind == "tool_result":
                message, images = self._tool_result(block)
                tools.append(message)
                tool_images.extend(images)
            else:
                part = self._part(block)
                if part is not None:
                    parts.append(part)
        out = list(tools)
        if tool_images:
            note: Part = {"type": "text", "text": "Images returned by the tool calls above:"}
            out.append({"role": "user", "content": [note, *tool_images]})
        if parts:
            out.append({"role": "user", "content": self._user_content(parts)})
        return out

    def _user_content(self, parts: list[Part]) -> str | list[Part]:
        """Plain text as a string (some providers reject part arrays), parts when needed."""
        if all(p["type"] == "text" and "cache_control" not in p for p in parts):
            return "\n\n".join(p["text"] for p in parts)
        return parts

    def _part(self, block: dict[str, Any]) -> Part | None:
        kind = block.get("type")
        if kind == "text":
            return self._text_part(block) if block.get("text") else None
        if kind == "image":
            return image_part(block.get("source"))
        if kind == "document":
            return document_part(block)
        if kind == "tool_reference":
            return {"type": "text", "text": tool_reference_text(block)}
        if kind == "search_result":
            return {"type": "text", "text": search_result_text(block)}
        return None  # thinking in a user turn, server-tool results, unknown blocks: nothing to send

    def _tool_result(self, block: dict[str, Any]) -> tuple[Message, list[Part]]:
        text, images = tool_result_content(block, self._part, _text_of)
        if not text:
            text = "(see the image below)" if images else EMPTY_RESULT
        call_id = openai_tool_call_id(str(block.get("tool_use_id") or ""))
        body: str | list[Part] = text
        if self.cache and isinstance(block.get("cache_control"), dict):  # Claude Code's last breakpoint
            body = [{"type": "text", "text": text, "cache_control": block["cache_control"]}]
        message: Message = {"role": "tool", "tool_call_id": call_id, "content": body}
        return message, images

    def _assistant(self, content: Any) -> list[Message]:
        if isinstance(content, str):
            return [{"role": "assistant", "content": content}] if content else []
        if not isinstance(content, list):
            return []
        texts: list[dict[str, Any]] = []
        calls: list[dict[str, Any]] = []
        reasoning: list[str] = []
        details: list[Any] = []
        for block in content:
            if not isinstance(block, dict):
                continue
            kind = block.get("type")
            if kind == "text" and block.get("text"):
                texts.append(block)
            elif kind == "tool_use":
                calls.append(
                    {
                        "id": openai_tool_call_id(str(block.get("id") or "")),
                        "type": "function",
                        "function": {
                            "name": self.rename(str(block.get("name") or "")),
                            "arguments": orjson.dumps(block.get("input") or {}).decode(),
                        },
                    }
                )
            elif kind == "thinking" and is_ccm_signature(block.get("signature")):
                if block.get("thinking"):
                    reasoning.append(block["thinking"])
                # ccm's own reasoning state for another wire (Responses' encrypted reasoning) stays there.
                own = (d for d in signature_details(block["signature"]) or () if not _ccm_state(d))
                details.extend(own)
            # Anthropic-signed thinking, redacted_thinking and server-tool blocks cannot be replayed to
            # another provider: dropped.
        if not texts and not calls:
            return []
        message: Message = {"role": "assistant", "content": self._text_content(texts, "\n\n") if texts else None}
        if calls:
            message["tool_calls"] = calls
        if reasoning and self.reasoning_field:
            message[self.reasoning_field] = "\n\n".join(reasoning)
        if details and self.openrouter:
            message["reasoning_details"] = details  # Claude/Gemini signatures, OpenAI encrypted reasoning
        return [message]


def _ccm_state(detail: Any) -> bool:
    return isinstance(detail, dict) and str(detail.get("type", "")).startswith("ccm.")


def _text_of(part: Part) -> str | None:
    return part["text"] if part["type"] == "text" else None


def image_part(source: Any) -> Part | None:
    if not isinstance(source, dict):
        return None
    url = image_url(source)
    if url is None:
        return {"type": "text", "text": IMAGE_OMITTED}
    return {"type": "image_url", "image_url": {"url": url}}


def document_part(block: dict[str, Any]) -> Part | None:
    source: dict[str, Any] = block["source"] if isinstance(block.get("source"), dict) else {}
    kind = source.get("type")
    title = block.get("title") or "document"
    if kind == "text" and source.get("data"):
        return {"type": "text", "text": f"{title}:\n{source['data']}"}
    if kind == "content" and isinstance(source.get("content"), list):
        texts = [c.get("text", "") for c in source["content"] if isinstance(c, dict)]
        return {"type": "text", "text": f"{title}:\n" + "\n".join(t for t in texts if t)}
    if kind == "base64" and source.get("data"):
        data = data_url(source, "application/pdf")
        return {"type": "file", "file": {"filename": f"{title}.pdf", "file_data": data}}
    if kind == "url" and source.get("url"):
        return {"type": "text", "text": f"{title}: {source['url']}"}
    return None


def pair_tool_calls(messages: list[Message]) -> list[Message]:
    """Every assistant `tool_calls` message immediately followed by exactly one `tool` message per call.

    A call without a result gets a stand-in result; a result without a call (history edited or compacted)
    becomes user text, since a dangling `tool` message is a 400 everywhere.
    """
    out: list[Message] = []
    i = 0
    while i < len(messages):
        message = messages[i]
        i += 1
        if message["role"] == "tool":
            out.append(_orphan(message))
            continue
        out.append(message)
        calls = message.get("tool_calls") if message["role"] == "assistant" else None
        if not calls:
            continue
        ids = [call["id"] for call in calls]
        answers: dict[str, Message] = {}
        strays: list[Message] = []
        while i < len(messages) and messages[i]["role"] == "tool":
            result = messages[i]
            i += 1
            if result["tool_call_id"] in ids and result["tool_call_id"] not in answers:
                answers[result["tool_call_id"]] = result
            else:
                strays.append(_orphan(result))
        for call_id in ids:
            out.append(answers.get(call_id) or {"role": "tool", "tool_call_id": call_id, "content": NO_RESULT})
        out.extend(strays)
    return out


def _orphan(result: Message) -> Message:
    content = result["content"]
    text = content if isinstance(content, str) else "".join(p.get("text", "") for p in content)
    return {"role": "user", "content": f"Result of tool call {result['tool_call_id']}:\n{text}"}
