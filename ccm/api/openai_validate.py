"""Request validation for `/v1/chat/completions` and `/v1/responses`, before routing, as /v1/messages is
validated (ccm.api.validate): a malformed request gets a 400 naming the field instead of a rewrite
downstream. Only the shape every mapping relies on is checked; unknown fields pass untouched.

    problem = validate_chat(body)          # "messages.2.role: must be ..." or None
    problem = validate_responses(body)
"""

from __future__ import annotations

from typing import Any

__all__ = ["CHAT_ROLES", "validate_chat", "validate_responses"]

CHAT_ROLES = ("system", "developer", "user", "assistant", "tool", "function")


def validate_chat(body: object) -> str | None:
    """The 400 message for the first problem in a Chat Completions request, or None."""
    if not isinstance(body, dict):
        return "request body must be a JSON object"
    problem = _model(body) or _messages(body.get("messages"))
    problem = problem or _common(body, ("max_tokens", "max_completion_tokens", "n"))
    if problem:
        return problem
    for i, tool in enumerate(body.get("tools") or []):
        if tool.get("type", "function") == "function":
            function = tool.get("function")
            if not isinstance(function, dict) or not isinstance(function.get("name"), str) or not function["name"]:
                return f"tools.{i}.function.name: must be a non-empty string"
    for key in ("reasoning_effort",):
        if key in body and body[key] is not None and not isinstance(body[key], str):
            return f"{key}: must be a string"
    return _object(body, "stream_options") or _object(body, "response_format") or _object(body, "web_search_options")


def validate_responses(body: object) -> str | None:
    """The 400 message for the first problem in a Responses request, or None."""
    if not isinstance(body, dict):
        return "request body must be a JSON object"
    problem = _model(body) or _input(body) or _common(body, ("max_output_tokens",))
    if problem:
        return problem
    for i, tool in enumerate(body.get("tools") or []):
        if tool.get("type") == "function" and not (isinstance(tool.get("name"), str) and tool["name"]):
            return f"tools.{i}.name: must be a non-empty string"
    for key in ("instructions", "previous_response_id"):
        if body.get(key) is not None and not isinstance(body[key], str):
            return f"{key}: must be a string"
    problem = _object(body, "reasoning") or _object(body, "text")
    if problem:
        return problem
    effort = (body.get("reasoning") or {}).get("effort")
    if effort is not None and not isinstance(effort, str):
        return "reasoning.effort: must be a string"
    return None


def _model(body: dict[str, Any]) -> str | None:
    model = body.get("model")
    if not isinstance(model, str) or not model:
        return "model: must be a non-empty string"
    if not model.isprintable():  # it goes back in x-ccm-model, where a control character cannot stand
        return "model: must not contain control characters"
    return None


def _common(body: dict[str, Any], counts: tuple[str, ...]) -> str | None:
    """`stream`, the token counts and `tools`, which both wires share."""
    if "stream" in body and body["stream"] is not None and not isinstance(body["stream"], bool):
        return "stream: must be true or false"
    for key in counts:
        value = body.get(key)
        if value is not None and not (isinstance(value, int) and not isinstance(value, bool) and value >= 1):
            return f"{key}: must be an integer >= 1"
    tools = body.get("tools")
    if tools is None:
        return None
    if not isinstance(tools, list):
        return "tools: must be a list of tools"
    for i, tool in enumerate(tools):
        if not isinstance(tool, dict):
            return f"tools.{i}: must be an object"
        if "type" in tool and not isinstance(tool["type"], str):
            return f"tools.{i}.type: must be a string"
    return None


def _object(body: dict[str, Any], key: str) -> str | None:
    value = body.get(key)
    return f"{key}: must be an object" if value is not None and not isinstance(value, dict) else None


def _messages(messages: object) -> str | None:
    if not isinstance(messages, list) or not messages:
        return "messages: must be a non-empty list of messages"
    for i, message in enumerate(messages):
        if not isinstance(message, dict):
            return f"messages.{i}: must be an object with a role and content"
        role = message.get("role")
        if role not in CHAT_ROLES:
            return f"messages.{i}.role: must be one of {', '.join(CHAT_ROLES)}"
        content = message.get("content")
        if "content" not in message and role in ("system", "developer", "user", "tool"):
            return f"messages.{i}.content: required"
        if content is not None and not isinstance(content, str | list):
            return f"messages.{i}.content: must be a string or a list of content parts"
        for j, part in enumerate(content if isinstance(content, list) else []):
            if not (isinstance(part, dict) and isinstance(part.get("type"), str)):
                return f'messages.{i}.content.{j}: must be a content part (an object with a string "type")'
    return None


def _input(body: dict[str, Any]) -> str | None:
    items = body.get("input")
    if items is None:
        return None if body.get("previous_response_id") else "input: required (a string or a list of items)"
    if isinstance(items, str):
        return None
    if not isinstance(items, list):
        return "input: must be a string or a list of items"
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            return f"input.{i}: must be an object"
        kind = item.get("type")
        if kind is not None and not isinstance(kind, str):
            return f"input.{i}.type: must be a string"
        if kind in (None, "message"):
            if not isinstance(item.get("role"), str):
                return f"input.{i}.role: must be a string"
            content = item.get("content")
            if not isinstance(content, str | list):
                return f"input.{i}.content: must be a string or a list of content parts"
            for j, part in enumerate(content if isinstance(content, list) else []):
                if not (isinstance(part, dict) and isinstance(part.get("type"), str)):
                    return f'input.{i}.content.{j}: must be a content part (an object with a string "type")'
    return None
