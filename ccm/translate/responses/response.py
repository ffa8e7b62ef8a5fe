"""A whole Responses API answer (`object: "response"`) as an Anthropic message, and the pieces the stream
translator shares: usage, stop reason, thinking blocks and error types.

    message = to_anthropic_message(response, model="claude-opus-5-5", origin=origin)

Reasoning items become thinking blocks (their summary as the text) signed with a ccm signature that carries
the item's `encrypted_content`, so the next turn can send it back; function calls become tool_use blocks
under their original names; usage follows Anthropic's split (cached input is not input).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from ccm.translate import answer_parts
from ccm.translate.answer_parts import new_message_id, sources_list
from ccm.translate.anthropic import InvalidUpstream
from ccm.translate.openai.errors import classify
from ccm.translate.responses.errors import usage_reset
from ccm.translate.responses.input import ReasoningOrigin
from ccm.translate.signature import sign_thinking
from ccm.translate.usage import count, counts, estimate_output_tokens


class NotAResponse(InvalidUpstream, ValueError):
    """The upstream's answer is not a usable Responses answer (or it failed): another provider should answer."""


#: Error codes in `response.failed` / `error` events and error bodies, by the Anthropic type they mean.
#: Quota and plan limits are rate limits (Claude Code waits or the dispatcher fails over); a model the plan
#: does not include is a permission problem of this provider.
ERROR_CODES: dict[str, str] = {
    "usage_limit_reached": "rate_limit_error",
    "insufficient_quota": "rate_limit_error",
    "rate_limit_exceeded": "rate_limit_error",
    "rate_limit_error": "rate_limit_error",
    "usage_not_included": "permission_error",
    "context_length_exceeded": "invalid_request_error",
    "invalid_prompt": "invalid_request_error",
    "invalid_request_error": "invalid_request_error",
    "invalid_encrypted_content": "invalid_request_error",
    "server_is_overloaded": "overloaded_error",
    "slow_down": "overloaded_error",
    "server_error": "api_error",
}
_STATUS = {"rate_limit_error": 429, "permission_error": 403, "invalid_request_error": 400, "overloaded_error": 529}
_CAPACITY = re.compile(r"at capacity|overloaded", re.I)


def anthropic_usage(usage: Any, *, input_estimate: int = 0, output_estimate: int = 0) -> dict[str, int]:
    """Responses usage in Anthropic's shape: input_tokens excludes cached input (cache reads)."""
    if not isinstance(usage, Mapping):
        return counts(input_estimate, output_estimate)
    details = usage.get("input_tokens_details")
    cached = count(details.get("cached_tokens")) if isinstance(details, Mapping) else 0
    prompt = count(usage.get("input_tokens"))
    return counts(max(prompt - cached, 0), count(usage.get("output_tokens")), cache_read=cached)


def stop_reason(response: Mapping[str, Any], *, has_tool_use: bool) -> str:
    """tool_use when calls came back; max_tokens / refusal from an incomplete answer's reason."""
    details = response.get("incomplete_details")
    reason = details.get("reason") if isinstance(details, Mapping) else None
    if response.get("status") == "incomplete" or reason:
        if reason == "content_filter":
            return "refusal"
        if not has_tool_use:
            return "max_tokens"
    return "tool_use" if has_tool_use else "end_turn"


def upstream_error(error: Any) -> dict[str, str]:
    """A Responses error object (`response.error`, an `error` event, an error body) as Anthropic's
    {"type", "message"}; a context-length error is worded as Anthropic words it."""
    if not isinstance(error, Mapping):
        return {"type": "api_error", "message": str(error or "the upstream failed")}
    inner = error.get("error")
    if isinstance(inner, Mapping):
        error = inner
    message = str(error.get("message") or error.get("code") or error.get("type") or "the upstream failed")
    code = str(error.get("code") or error.get("type") or "")
    kind = ERROR_CODES.get(code)
    if kind is None:
        kind = "overloaded_error" if _CAPACITY.search(message) else "api_error"
    if kind == "invalid_request_error":
        kind, message = classify(400, message)
    reset = usage_reset(error) if kind == "rate_limit_error" else ""
    if reset and reset not in message:
        message = f"{message} ({reset})"
    return {"type": kind, "message": message}


def status_for(error_type: str) -> int:
    return _STATUS.get(error_type, 502)


def thinking_block(text: str, encrypted_content: str | None, origin: ReasoningOrigin) -> dict[str, Any]:
    details = [origin.state(encrypted_content)] if encrypted_content else None
    return {"type": "thinking", "thinking": text, "signature": sign_thinking(text, details)}


def reasoning_text(item: Mapping[str, Any]) -> str:
    """A reasoning item's readable text: its summary parts (a blank line apart), else its raw content."""
    for key in ("summary", "content"):
        parts = item.get(key)
        texts = (
            [p["text"] for p in parts if isinstance(p, Mapping) and isinstance(p.get("text"), str)]
            if isinstance(parts, list)
            else []
        )
        if any(texts):
            return "\n\n".join(t for t in texts if t)
    return ""


def message_text(item: Mapping[str, Any]) -> str:
    """A message item's text (output_text and refusal parts)."""
    content = item.get("content")
    parts = content if isinstance(content, list) else []
    texts = [
        p.get("text") if p.get("type") == "output_text" else p.get("refusal") for p in parts if isinstance(p, Mapping)
    ]
    return "".join(t for t in texts if isinstance(t, str))


def message_sources(item: Mapping[str, Any]) -> str:
    """Web-search citations (`url_citation` annotations of a message item) as a Sources list."""
    content = item.get("content")
    links: dict[str, Any] = {}
    for part in content if isinstance(content, list) else []:
        annotations = part.get("annotations") if isinstance(part, Mapping) else None
        for cite in annotations if isinstance(annotations, list) else []:
            url = cite.get("url") if isinstance(cite, Mapping) and cite.get("type") == "url_citation" else None
            if isinstance(url, str) and url not in links:
                links[url] = cite.get("title") or url
    return sources_list((title, url) for url, title in links.items())


def tool_use_block(item: Mapping[str, Any], tool_names: Mapping[str, str], fallback_id: str) -> dict[str, Any]:
    """A function_call item as a tool_use block (its call_id is the id a result answers)."""
    name = str(item.get("name") or "")
    call_id = item.get("call_id") or item.get("id")
    return answer_parts.tool_use_block(call_id, name, item.get("arguments"), tool_names, fallback_id)


def to_anthropic_message(
    response: Any,
    *,
    model: str,
    origin: ReasoningOrigin,
    message_id: str | None = None,
    tool_names: Mapping[str, str] | None = None,
    input_estimate: int = 0,
) -> dict[str, Any]:
    """A whole `response` object as an Anthropic message; NotAResponse when it is none, failed, or still
    in progress."""
    if isinstance(response, Mapping) and isinstance(response.get("response"), Mapping):
        response = response["response"]  # a terminal event's payload
    if not isinstance(response, Mapping) or not isinstance(response.get("output"), list):
        raise NotAResponse("the upstream answer is not a Responses API response")
    status = response.get("status")
    if status == "failed" or response.get("error"):
        raise NotAResponse(upstream_error(response.get("error"))["message"])
    if status not in (None, "completed", "incomplete"):
        raise NotAResponse(f"the upstream answer is not finished (status {status!r})")
    names = tool_names or {}
    message_id = message_id or new_message_id()
    blocks: list[dict[str, Any]] = []
    chars = 0
    for n, item in enumerate(i for i in response["output"] if isinstance(i, Mapping)):
        kind = item.get("type")
        if kind == "reasoning":
            text = reasoning_text(item)
            encrypted = item.get("encrypted_content")
            if text or encrypted:
                blocks.append(thinking_block(text, encrypted if isinstance(encrypted, str) else None, origin))
            chars += len(text)
        elif kind == "message":
            text = message_text(item) + message_sources(item)
            if text:
                blocks.append({"type": "text", "text": text})
            chars += len(text)
        elif kind == "function_call" and item.get("name") and item.get("status") != "incomplete":
            blocks.append(tool_use_block(item, names, f"toolu_{message_id[-12:]}_{n}"))
            chars += len(str(item.get("arguments") or ""))
    has_tools = any(b["type"] == "tool_use" for b in blocks)
    usage = anthropic_usage(
        response.get("usage"), input_estimate=input_estimate, output_estimate=estimate_output_tokens(chars)
    )
    return {
        "id": message_id,
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": blocks,
        "stop_reason": stop_reason(response, has_tool_use=has_tools),
        "stop_sequence": None,
        "usage": usage,
    }
