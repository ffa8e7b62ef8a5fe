"""An Anthropic Messages request as an OpenAI Responses API request, for one of two profiles.

    req = to_responses_request(body, model="gpt-5.5", backend=True, stream=False,
                               origin=ReasoningOrigin("chatgpt", "gpt-5.5"), session="d671...")
    req.body         -> the Responses JSON (a dict; the caller serialises it)
    req.stream       -> True: the ChatGPT backend streams whatever the client asked
    req.tool_names   -> {sent name: anthropic name} for names that had to be shortened

`backend=True` is the ChatGPT backend behind a Plus/Pro login (what the Codex CLI talks to): always
`stream: true` and `store: false`, the system prompt as `instructions` (required, even empty), none of
`max_output_tokens`/`temperature`/`top_p`/`user`/`metadata`/`truncation`/`previous_response_id`, which it
refuses. `backend=False` is the public `/v1/responses` with an API key: the same translation, plus
`max_output_tokens` and sampling where the model takes them, and `stream` as the client asked. Both send
`store: false` (ccm keeps no server-side state: the reasoning round-trips in thinking signatures) and a
`prompt_cache_key` stable for the session, so the provider's prompt cache holds across turns.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from ccm.translate.profile import profile_for
from ccm.translate.request_parts import (
    answer_schema,
    object_schema,
    offered_tools,
    requested_effort,
    system_text,
    tool_renamer,
)
from ccm.translate.responses.input import InputConverter, ReasoningOrigin
from ccm.translate.tool_names import openai_tool_name

INCLUDE_REASONING = ["reasoning.encrypted_content"]
CACHE_KEY_MAX = 64


@dataclass(slots=True)
class ResponsesRequest:
    body: dict[str, Any]
    stream: bool
    tool_names: dict[str, str] = field(default_factory=dict)


def to_responses_request(
    body: Mapping[str, Any],
    *,
    model: str,
    backend: bool,
    stream: bool,
    origin: ReasoningOrigin,
    session: str | None = None,
    max_output_tokens: int | None = None,
) -> ResponsesRequest:
    """`session` is the client's session id (`x-claude-code-session-id`), if it sent one;
    `max_output_tokens` the mapping's own limit (public API only)."""
    rename, names = tool_renamer(openai_tool_name)
    converter = InputConverter(rename, origin)
    out: dict[str, Any] = {"model": model, "instructions": system_text(body.get("system"))}
    out["input"] = converter.items(body.get("messages"))
    tools = _tools(body.get("tools"), body.get("messages"), rename)
    if tools:
        out["tools"] = tools
        choice = _tool_choice(body.get("tool_choice"), rename)
        if choice is not None:
            out["tool_choice"] = choice
        tc = body.get("tool_choice")
        out["parallel_tool_calls"] = not (isinstance(tc, dict) and tc.get("disable_parallel_tool_use"))
    _reasoning(out, body, model, backend=backend)
    _text_format(out, body)
    out["store"] = False
    out["prompt_cache_key"] = cache_key(session, body.get("messages"))
    if not backend:
        _limits(out, body, model, max_output_tokens)
    upstream_stream = True if backend else stream
    if upstream_stream:
        out["stream"] = True
    return ResponsesRequest(out, upstream_stream, names)


def cache_key(session: str | None, messages: Any) -> str:
    """The session's id, or (for clients that send none) a hash of its first user message, which stays the
    same for every turn of a conversation."""
    if session and session.strip():
        return session.strip()[:CACHE_KEY_MAX]
    first = (
        next(
            (m.get("content") for m in messages if isinstance(m, dict) and m.get("role") == "user"),
            None,
        )
        if isinstance(messages, list)
        else None
    )
    digest = hashlib.sha256(orjson.dumps(first, option=orjson.OPT_SORT_KEYS)).hexdigest()[:32]
    return f"ccm-{digest}"


def _tools(tools: Any, messages: Any, rename: Callable[[str], str]) -> list[dict[str, Any]]:
    """Client tools as functions, and web search as the API's own `web_search` tool, in their order
    (ccm.translate.request_parts.offered_tools says which tools are)."""
    out: list[dict[str, Any]] = []
    for tool, web_search in offered_tools(tools, messages):
        if web_search:
            if not any(t.get("type") == "web_search" for t in out):
                out.append({"type": "web_search"})
            continue
        function: dict[str, Any] = {
            "type": "function",
            "name": rename(str(tool["name"])),
            "parameters": object_schema(tool.get("input_schema")),
            "strict": False,
        }
        if tool.get("description"):
            function["description"] = tool["description"]
        out.append(function)
    return out


def _tool_choice(choice: Any, rename: Callable[[str], str]) -> Any:
    kind = choice.get("type") if isinstance(choice, dict) else None
    if kind == "any":
        return "required"
    if kind == "tool" and choice.get("name"):
        return {"type": "function", "name": rename(str(choice["name"]))}
    if kind in ("auto", "none"):
        return kind
    return None


def _reasoning(out: dict[str, Any], body: Mapping[str, Any], model: str, *, backend: bool) -> None:
    """Effort from `thinking` (a budget) or adaptive thinking's `output_config.effort`; the model's default
    when Claude Code states none. Summaries are asked for (they become the thinking text) and the encrypted
    reasoning is included, to go back on the next turn. On the public API only reasoning models take the
    `reasoning` object; every ChatGPT backend model is one."""
    profile = profile_for("openai", model)
    if not backend and not profile.has("reasoning-effort"):
        return
    reasoning: dict[str, Any] = {"summary": "auto"}
    effort = requested_effort(body)
    if effort == "off":
        if profile.reasoning_off:
            reasoning["effort"] = profile.reasoning_off
    elif effort is not None:
        reasoning["effort"] = effort
    out["reasoning"] = reasoning
    out["include"] = list(INCLUDE_REASONING)


def _text_format(out: dict[str, Any], body: Mapping[str, Any]) -> None:
    """output_config.format (JSON-schema answers, e.g. Claude Code's session titles) as text.format."""
    schema = answer_schema(body)
    if schema is not None:
        out["text"] = {"format": {"type": "json_schema", "name": "response", "schema": schema, "strict": False}}


def _limits(out: dict[str, Any], body: Mapping[str, Any], model: str, mapping_limit: int | None) -> None:
    """Public API only: max_output_tokens (clamped to the model's limit) and sampling where allowed."""
    profile = profile_for("openai", model, mapping_limit)
    max_tokens = body.get("max_tokens")
    if isinstance(max_tokens, int) and max_tokens > 0:
        if profile.max_output_tokens:
            max_tokens = min(max_tokens, profile.max_output_tokens)
        out["max_output_tokens"] = max_tokens
    if not profile.has("no-sampling"):
        for key in ("temperature", "top_p"):
            value = body.get(key)
            if isinstance(value, int | float) and not isinstance(value, bool):
                out[key] = value
