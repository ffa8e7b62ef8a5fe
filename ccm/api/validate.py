"""Request validation for /v1/messages and count_tokens, before routing.

A malformed request gets a 400 that names the field, instead of a silent rewrite downstream (a missing
`messages` once went to OpenAI providers as `[]`, and `"max_tokens": "lots"` was dropped). Only the shape
every wire format relies on is checked; unknown fields, and fields ccm does not read, pass untouched.

    problem = validate_messages_request(body, count_tokens=False)
    if problem is not None:
        return anthropic_error(400, "invalid_request_error", problem)
"""

from __future__ import annotations

from typing import Any

__all__ = ["ROLES", "validate_messages_request"]

ROLES = ("user", "assistant", "system")
"""`system` too: Claude Code sends system messages mid-conversation, sometimes last."""


def validate_messages_request(body: object, *, count_tokens: bool) -> str | None:
    """The 400 message for the first problem found (`messages.2.content: must be ...`), or None."""
    if not isinstance(body, dict):
        return "request body must be a JSON object"
    model = body.get("model")
    if not isinstance(model, str) or not model:
        return "model: must be a non-empty string"
    if not model.isprintable():  # it goes back in x-ccm-model, where a control character cannot stand
        return "model: must not contain control characters"
    problem = _messages(body.get("messages"))
    if problem:
        return problem
    if "max_tokens" in body or not count_tokens:
        if "max_tokens" not in body:
            return "max_tokens: required"
        if not _count(body["max_tokens"]):  # 0 pre-warms Anthropic's prompt cache (ccm.dispatch.prewarm)
            return "max_tokens: must be an integer >= 0"
    if "stream" in body and not isinstance(body["stream"], bool):
        return "stream: must be true or false"
    if "tools" in body:
        tools = body["tools"]
        if not isinstance(tools, list):
            return "tools: must be a list of tools"
        for i, tool in enumerate(tools):
            if not isinstance(tool, dict):
                return f"tools.{i}: must be an object"
            if not isinstance(tool.get("name"), str):
                return f"tools.{i}.name: must be a string"
    problem = _thinking(body.get("thinking"))
    if problem:
        return problem
    if "system" in body:
        return _system(body["system"])
    return None


def _count(value: object) -> bool:
    # bool is an int subclass in Python, never a token count in JSON.
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _messages(messages: object) -> str | None:
    if not isinstance(messages, list) or not messages:
        return "messages: must be a non-empty list of messages"
    for i, message in enumerate(messages):
        if not isinstance(message, dict):
            return f"messages.{i}: must be an object with a role and content"
        if message.get("role") not in ROLES:
            return f'messages.{i}.role: must be "user", "assistant" or "system"'
        if "content" not in message:
            return f"messages.{i}.content: required"
        problem = _content(message["content"], f"messages.{i}.content")
        if problem:
            return problem
    return None


def _content(content: object, where: str) -> str | None:
    if isinstance(content, str):
        return None
    if not isinstance(content, list):
        return f"{where}: must be a string or a list of blocks"
    for j, block in enumerate(content):
        if not _is_block(block):
            return f'{where}.{j}: must be a block (an object with a string "type")'
        problem = _block(block, f"{where}.{j}")
        if problem:
            return problem
    return None


def _block(block: dict[str, Any], where: str) -> str | None:
    """What a translator reads without looking twice: an image's source, a tool result's own blocks."""
    kind = block["type"]
    if kind == "image" and not isinstance(block.get("source"), dict):
        return f"{where}.source: must be an object"
    if kind == "tool_result" and isinstance(block.get("content"), list):
        return _content(block["content"], f"{where}.content")
    return None


def _thinking(thinking: object) -> str | None:
    if isinstance(thinking, dict) and "budget_tokens" in thinking:
        budget = thinking["budget_tokens"]
        if not isinstance(budget, int) or isinstance(budget, bool):
            return "thinking.budget_tokens: must be an integer"
    return None


def _is_block(block: Any) -> bool:
    return isinstance(block, dict) and isinstance(block.get("type"), str)


def _system(system: object) -> str | None:
    if isinstance(system, str):
        return None
    if not isinstance(system, list):
        return "system: must be a string or a list of text blocks"
    for j, block in enumerate(system):
        if not (isinstance(block, dict) and block.get("type") == "text" and isinstance(block.get("text"), str)):
            return f'system.{j}: must be a text block ({{"type": "text", "text": "..."}})'
    return None
