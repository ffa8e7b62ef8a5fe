"""An Anthropic Messages request as a Chat Completions request, for one provider profile.

    req = to_openai_request(body, profile_for("deepseek", "deepseek-chat"), stream=True)
    req.body          -> the Chat Completions JSON (a dict; the caller serialises it)
    req.tool_names    -> {openai name: anthropic name} for names that had to be shortened
    req.web_search    -> True when the provider's own web search answers a web_search server tool

Anthropic-only fields (context_management, safeguards, container, mcp_servers, service_tier, the
thinking display, deferred tools nobody loaded) are dropped on purpose; what a provider rejects is
stripped per its profile. The body passed in is never mutated.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from ccm.translate.openai.messages import MessageConverter
from ccm.translate.profile import Profile
from ccm.translate.request_parts import (
    answer_schema,
    object_schema,
    offered_tools,
    requested_effort,
    tool_renamer,
)
from ccm.translate.tool_names import openai_tool_name

USER_MAX = 64


class UnsupportedRequest(Exception):
    """The request needs something this provider cannot do (e.g. web search): fail over to another."""


@dataclass(slots=True)
class OpenAIRequest:
    body: dict[str, Any]
    tool_names: dict[str, str] = field(default_factory=dict)
    web_search: bool = False


def to_openai_request(body: Mapping[str, Any], profile: Profile, *, stream: bool) -> OpenAIRequest:
    rename, names = tool_renamer(openai_tool_name)
    converter = MessageConverter(profile, rename)
    messages = converter.system(body.get("system")) + converter.messages(body.get("messages"))
    out: dict[str, Any] = {"model": profile.model, "messages": messages}

    tools, web_tool = _tools(body.get("tools"), body.get("messages"), profile, rename)
    web_search = False
    if web_tool is not None:
        web_search = _web_search(out, web_tool, profile, has_other_tools=bool(tools))
    if tools:
        out["tools"] = tools
        choice = _tool_choice(body.get("tool_choice"), rename)
        if choice is not None:
            out["tool_choice"] = choice
        tc = body.get("tool_choice")
        if isinstance(tc, dict) and tc.get("disable_parallel_tool_use"):
            out["parallel_tool_calls"] = False

    _sampling(out, body, profile)
    _reasoning(out, body, profile)
    _output_format(out, body, profile)
    _user(out, body, profile)
    if stream:
        out["stream"] = True
        if not profile.has("no-stream-usage"):
            out["stream_options"] = {"include_usage": True}
    return OpenAIRequest(out, names, web_search)


# -- tools ------------------------------------------------------------------------------------------------


def _tools(
    tools: Any, messages: Any, profile: Profile, rename: Any
) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """Client tools as functions, and the web_search server tool if one was offered (ccm.translate.
    request_parts.offered_tools says which tools are)."""
    out: list[dict[str, Any]] = []
    web: dict[str, Any] | None = None
    for tool, web_search in offered_tools(tools, messages):
        if web_search:
            web = tool
            continue
        parameters = object_schema(tool.get("input_schema"))
        function: dict[str, Any] = {"name": rename(str(tool["name"])), "parameters": parameters}
        if tool.get("description"):
            function["description"] = tool["description"]
        out.append({"type": "function", "function": function})
    limit = profile.max_tools
    return (out[:limit] if limit else out), web


def _tool_choice(choice: Any, rename: Any) -> Any:
    kind = choice.get("type") if isinstance(choice, dict) else None
    if kind == "any":
        return "required"
    if kind == "tool" and choice.get("name"):
        return {"type": "function", "function": {"name": rename(str(choice["name"]))}}
    if kind in ("auto", "none"):
        return kind
    return None


def _web_search(out: dict[str, Any], tool: dict[str, Any], profile: Profile, *, has_other_tools: bool) -> bool:
    """Map the web_search server tool to the provider's own search, or refuse when it has none."""
    if profile.has("openrouter"):
        plugin: dict[str, Any] = {"id": "web"}
        if isinstance(tool.get("max_uses"), int):
            plugin["max_results"] = max(1, min(10, tool["max_uses"]))
        out["plugins"] = [plugin]
        return True
    if profile.has("web-search-options"):
        out["web_search_options"] = {}
        return True
    if has_other_tools:
        return False  # a side tool among others: answer without it
    raise UnsupportedRequest(
        f"{profile.provider_type} model '{profile.model}' cannot search the web: set router.websearch to a "
        "model served by OpenRouter (web plugin, e.g. 'openrouter,openai/gpt-4o-mini') or by OpenAI's "
        "search models (e.g. 'openai,gpt-4o-search-preview')"
    )


# -- parameters -------------------------------------------------------------------------------------------


def _sampling(out: dict[str, Any], body: Mapping[str, Any], profile: Profile) -> None:
    max_tokens = body.get("max_tokens")
    if isinstance(max_tokens, int) and max_tokens > 0:
        if profile.max_output_tokens:
            max_tokens = min(max_tokens, profile.max_output_tokens)
        out["max_completion_tokens" if profile.has("max-completion-tokens") else "max_tokens"] = max_tokens
    if not profile.has("no-sampling"):
        for key in ("temperature", "top_p"):
            if isinstance(body.get(key), int | float):
                out[key] = body[key]
    if profile.has("top-k") and isinstance(body.get("top_k"), int):
        out["top_k"] = body["top_k"]
    stops = body.get("stop_sequences")
    if isinstance(stops, list):
        stops = [s for s in stops if isinstance(s, str) and s]
        if profile.max_stops:
            stops = stops[: profile.max_stops]
        if stops:
            out["stop"] = stops


def _reasoning(out: dict[str, Any], body: Mapping[str, Any], profile: Profile) -> None:
    effort = requested_effort(body)
    if effort == "off":
        if profile.reasoning_off:
            out["reasoning_effort"] = profile.reasoning_off
        return
    if effort is None:
        return
    if profile.has("openrouter"):
        thinking = body.get("thinking")
        budget = thinking.get("budget_tokens") if isinstance(thinking, dict) else None
        out["reasoning"] = {"max_tokens": budget} if isinstance(budget, int) else {"effort": effort}
    elif profile.has("reasoning-effort"):
        out["reasoning_effort"] = effort


def _output_format(out: dict[str, Any], body: Mapping[str, Any], profile: Profile) -> None:
    """output_config.format (JSON schema answers, e.g. session titles) as response_format, or as an
    instruction where the provider has no structured output."""
    schema = answer_schema(body)
    if schema is None:
        return
    if profile.has("json-schema"):
        out["response_format"] = {"type": "json_schema", "json_schema": {"name": "response", "schema": schema}}
        return
    instruction = (
        "Answer with only a JSON object, no other text, that matches this JSON schema: " + orjson.dumps(schema).decode()
    )
    messages = out["messages"]
    if messages and messages[0]["role"] == "system" and isinstance(messages[0]["content"], str):
        messages[0] = {**messages[0], "content": messages[0]["content"] + "\n\n" + instruction}
    else:
        messages.insert(0, {"role": "system", "content": instruction})


def _user(out: dict[str, Any], body: Mapping[str, Any], profile: Profile) -> None:
    """metadata.user_id as `user`; Claude Code's is a JSON string longer than the 64 characters allowed."""
    metadata = body.get("metadata")
    user = metadata.get("user_id") if isinstance(metadata, dict) else None
    if not profile.has("user") or not isinstance(user, str) or not user:
        return
    if len(user) > USER_MAX:
        user = "ccm-" + hashlib.sha256(user.encode()).hexdigest()[:40]
    out["user"] = user
