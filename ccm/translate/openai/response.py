"""A Chat Completions answer as an Anthropic message (non-streaming), and the pieces the stream shares.

    message = to_anthropic_message(completion, model="claude-opus-5-5", message_id="msg_...")

Reasoning (`reasoning_content`, `reasoning`, or a leading `<think>` in the text) becomes a signed thinking
block before the text; tool calls become tool_use blocks with repaired arguments and their original names;
usage follows Anthropic's split (cached prompt tokens are not input tokens).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ccm.translate.answer_parts import new_message_id, sources_list, tool_use_block
from ccm.translate.anthropic import InvalidUpstream
from ccm.translate.signature import sign_thinking
from ccm.translate.think_tags import split_think_tags
from ccm.translate.usage import count, counts, estimate_output_tokens

STOP_REASONS = {
    "stop": "end_turn",
    "eos": "end_turn",
    "end_turn": "end_turn",
    "length": "max_tokens",
    "max_tokens": "max_tokens",
    "tool_calls": "tool_use",
    "function_call": "tool_use",
    "tool_use": "tool_use",
    "content_filter": "refusal",
}


class NotACompletion(InvalidUpstream, ValueError):
    """The upstream's 2xx body is not a chat completion (nor a chunk, in a stream): another provider should
    answer."""


def stop_reason(finish_reason: Any, *, has_tool_use: bool) -> str:
    """Anthropic's stop_reason; tool_use whenever tool calls came back (some servers say "stop")."""
    reason = STOP_REASONS.get(finish_reason, "end_turn") if isinstance(finish_reason, str) else "end_turn"
    if has_tool_use and reason == "end_turn":
        return "tool_use"
    return reason


def anthropic_usage(usage: Any, *, input_estimate: int = 0, output_estimate: int = 0) -> dict[str, int]:
    """OpenAI usage in Anthropic's shape. Cached prompt tokens (OpenAI/OpenRouter prompt_tokens_details,
    DeepSeek prompt_cache_hit_tokens, Moonshot cached_tokens) are cache reads, not input tokens."""
    if not isinstance(usage, Mapping):
        return counts(input_estimate, output_estimate)
    raw_details = usage.get("prompt_tokens_details")
    details: Mapping[str, Any] = raw_details if isinstance(raw_details, Mapping) else {}
    prompt = count(usage.get("prompt_tokens")) or count(usage.get("input_tokens"))
    cached = count(details.get("cached_tokens")) or count(usage.get("prompt_cache_hit_tokens"))
    cached = cached or count(usage.get("cached_tokens"))
    written = count(details.get("cache_write_tokens"))
    output = count(usage.get("completion_tokens")) or count(usage.get("output_tokens"))
    return counts(max(prompt - cached - written, 0), output, cache_read=cached, cache_creation=written)


def thinking_block(text: str, details: list[Any] | None = None) -> dict[str, Any]:
    return {"type": "thinking", "thinking": text, "signature": sign_thinking(text, details)}


def sources_text(annotations: Any) -> str:
    """Web-search citations (`url_citation` annotations) as a Sources list appended to the answer."""
    links: dict[str, Any] = {}
    for item in annotations if isinstance(annotations, list) else []:
        cite = item.get("url_citation") if isinstance(item, Mapping) else None
        if isinstance(cite, Mapping) and isinstance(cite.get("url"), str) and cite["url"] not in links:
            links[cite["url"]] = cite.get("title") or cite["url"]
    return sources_list((title, url) for url, title in links.items())


def details_text(details: list[Any]) -> str:
    """Readable reasoning inside reasoning_details (text or summary items), for a thinking block's text."""
    parts = []
    for item in details:
        if isinstance(item, Mapping):
            value = item.get("text") if item.get("type") == "reasoning.text" else item.get("summary")
            if isinstance(value, str):
                parts.append(value)
    return "".join(parts)


def reasoning_text(message: Mapping[str, Any]) -> str:
    for key in ("reasoning_content", "reasoning"):
        value = message.get(key)
        if isinstance(value, str) and value:
            return value
    return ""


def _thinking_text(value: Any) -> str:
    """The text of Mistral's `thinking` value: a list of `{"type": "text", "text": ...}` chunks (or a string)."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "".join(
            item if isinstance(item, str) else str(item.get("text") or "")
            for item in value
            if isinstance(item, str) or (isinstance(item, Mapping) and isinstance(item.get("text"), str))
        )
    return ""


def content_parts(content: Any) -> list[tuple[str, str]]:
    """`message.content` (or a delta's) as ("thinking" | "text", text) pieces in order: a string is text; a
    parts list may carry reasoning as Mistral's magistral models send it on this wire,
    `{"type": "thinking", "thinking": [{"type": "text", "text": ...}]}`, before its text parts.
    https://docs.mistral.ai/capabilities/reasoning/"""
    if isinstance(content, str):
        return [("text", content)] if content else []
    out: list[tuple[str, str]] = []
    for part in content if isinstance(content, list) else []:
        if not isinstance(part, Mapping):
            continue
        if part.get("type") == "thinking":
            text = _thinking_text(part.get("thinking"))
            if text:
                out.append(("thinking", text))
        elif isinstance(part.get("text"), str) and part["text"]:
            out.append(("text", part["text"]))
    return out


def content_text(content: Any) -> str:
    """`message.content` as text: a string, or the text parts of a parts list some servers return."""
    return "".join(text for kind, text in content_parts(content) if kind == "text")


def to_anthropic_message(
    completion: Any,
    *,
    model: str,
    message_id: str | None = None,
    tool_names: Mapping[str, str] | None = None,
    input_estimate: int = 0,
) -> dict[str, Any]:
    """A whole chat.completion as an Anthropic message; NotACompletion when it is not one."""
    if not isinstance(completion, Mapping) or not isinstance(completion.get("choices"), list):
        raise NotACompletion("the upstream answer is not a chat completion")
    if not completion["choices"]:  # e.g. a prompt stopped by the provider's content filter
        raise NotACompletion("the upstream answer has no choices")
    names = tool_names or {}
    choice = completion["choices"][0]
    message = choice.get("message") if isinstance(choice, Mapping) else None
    if not isinstance(message, Mapping):
        message = {}
    blocks: list[dict[str, Any]] = []
    reasoning = reasoning_text(message)
    raw_details = message.get("reasoning_details")
    details = [d for d in raw_details if isinstance(d, Mapping)] if isinstance(raw_details, list) else []
    if not reasoning and details:
        reasoning = details_text(details)
    parts = content_parts(message.get("content"))
    if not reasoning:
        reasoning = "".join(text for kind, text in parts if kind == "thinking")
    text = "".join(text for kind, text in parts if kind == "text")
    if not reasoning and not details:
        reasoning, text = split_think_tags(text)
    if reasoning or details:
        blocks.append(thinking_block(reasoning, details or None))
    refusal = message.get("refusal")
    if not text and isinstance(refusal, str):
        text = refusal
    text += sources_text(message.get("annotations"))
    if text:
        blocks.append({"type": "text", "text": text})
    calls = message.get("tool_calls")
    for i, call in enumerate(calls if isinstance(calls, list) else []):
        function = call.get("function") if isinstance(call, Mapping) else None
        if isinstance(function, Mapping) and function.get("name"):
            fallback = f"toolu_{(message_id or 'ccm')[-12:]}_{i}"
            blocks.append(tool_use_block(call.get("id"), function["name"], function.get("arguments"), names, fallback))
    legacy = message.get("function_call")
    if not calls and isinstance(legacy, Mapping) and legacy.get("name"):
        blocks.append(tool_use_block(None, legacy["name"], legacy.get("arguments"), names, "toolu_ccm_0"))
    has_tools = any(b["type"] == "tool_use" for b in blocks)
    finish = choice.get("finish_reason") if isinstance(choice, Mapping) else None
    if isinstance(refusal, str) and refusal and not message.get("content"):
        finish = "content_filter"
    usage = completion.get("usage") or (choice.get("usage") if isinstance(choice, Mapping) else None)
    chars = len(reasoning) + len(text) + sum(len(str(b.get("input"))) for b in blocks if b["type"] == "tool_use")
    return {
        "id": message_id or new_message_id(),
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": blocks,
        "stop_reason": stop_reason(finish, has_tool_use=has_tools),
        "stop_sequence": None,
        "usage": anthropic_usage(usage, input_estimate=input_estimate, output_estimate=estimate_output_tokens(chars)),
    }
